"""The per-slot layout of the household series: the ``household_series`` view returns what the
settlement computed (flows, load and PV exactly; cost to 1e-12 relative), for built-in
mechanisms (derived rows) and plugins (explicit rows); migration 0006 keeps every stored value."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sqlalchemy import text

from p2pstore.registry import BUILTINS
from p2pstore.scenario import Scenario
from p2pstore.store import Store
from p2pstore.store.results import writer
from p2pstore.store.schema import migrate

from example_plugin import needs_example_plugin
from store_helpers import count

SERIES = ("load_kw", "pv_kw", "grid_import_kwh", "grid_export_kwh", "p2p_import_kwh", "p2p_export_kwh", "cost")


def _generated(scenario: Scenario):
    from p2pstore.simulate import simulate

    return simulate(scenario)


def _time_varying(scenario: Scenario):
    """The scenario's community with per-slot [N, H] tariffs (a different price every slot)."""
    from p2pstore.settlement import settle
    from p2pstore.simulate import simulate

    p = simulate(dataclasses.replace(scenario, mechanisms=("conventional",))).profiles
    rng = np.random.default_rng(3)
    n, h = p.load_kw.shape
    buy = p.lambda_buy[:, None] * (1 + 0.5 * np.sin(np.arange(h) / 7.0)) + rng.uniform(0, 0.01, (n, h))
    sell = p.lambda_sell[:, None] * rng.uniform(0.5, 1.0, (n, h))
    return settle(dataclasses.replace(p, lambda_buy=buy, lambda_sell=sell), scenario.mechanisms)


ALL = tuple(m.name for m in BUILTINS)
CASES = {
    "all-builtins": lambda: _generated(Scenario(days=2, consumers=2, prosumers=3, seed=7, mechanisms=ALL)),
    "20-minute-slots": lambda: _generated(Scenario(days=3, consumers=4, prosumers=6, seed=11, slot_minutes=20)),
    "time-varying-tariffs": lambda: _time_varying(Scenario(days=2, consumers=3, prosumers=4, seed=5,
                                                           mechanisms=ALL)),
    "plugin": lambda: _generated(Scenario(days=2, consumers=2, prosumers=4, seed=9,
                                          mechanisms=("conventional", "flat_p2p", "bill_sharing"))),
}


def _view_rows(store, run_id: int, mechanism: str) -> dict[str, np.ndarray]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM household_series WHERE run_id = :r AND mechanism = :m "
                                 "ORDER BY household, slot"), {"r": run_id, "m": mechanism}).mappings().all()
    return {c: np.array([r[c] for r in rows]) for c in ("household", "slot", *SERIES)}


def _expected(r, p) -> dict[str, np.ndarray]:
    """What the old layout stored verbatim: the settlement's arrays."""
    return {"load_kw": p.load_kw, "pv_kw": p.pv_kw, "grid_import_kwh": r.grid_import_kwh(),
            "grid_export_kwh": r.grid_export_kwh(), "p2p_import_kwh": r.p2p_import_kwh(),
            "p2p_export_kwh": r.p2p_export_kwh(), "cost": r.cost}


@pytest.mark.parametrize("case", [pytest.param(name, marks=needs_example_plugin if name == "plugin" else ())
                                  for name in CASES])
def test_view_returns_the_settlement_arrays(store, case):
    settlement = CASES[case]()
    p = settlement.profiles
    n, h = p.load_kw.shape
    labels = np.array([str(x) for x in p.labels])
    order = np.argsort(labels)
    run_id = store.create_run(Scenario(days=1, mechanisms=tuple(settlement.results)))
    assert store.write_results(run_id, settlement, "full")

    derived = writer.derivable_mechanisms(settlement)
    builtin = {m.name for m in BUILTINS}
    assert derived == set(settlement.results) & builtin  # every built-in declares its cost's form
    assert count(store, "household_slots", run_id) == n * h
    assert count(store, "mechanism_slots", run_id) == len(derived) * h
    assert count(store, "household_series_explicit", run_id) == (len(settlement.results) - len(derived)) * n * h

    for mechanism, r in settlement.results.items():
        got = _view_rows(store, run_id, mechanism)
        assert got["household"].tolist() == np.repeat(labels[order], h).tolist()
        assert got["slot"].tolist() == np.tile(np.arange(h), n).tolist()
        for column, full in _expected(r, p).items():
            values = got[column].astype(np.float64).reshape(n, h)
            if column == "cost":
                np.testing.assert_allclose(values, full[order], rtol=1e-12, atol=0, err_msg=f"{mechanism} cost")
            else:  # bit for bit
                np.testing.assert_array_equal(values, full[order], err_msg=f"{mechanism} {column}")
        # the Store API and the export stream read the same rows (API: community order)
        api = store.series(run_id, mechanism)
        assert api["household"].tolist() == np.repeat(labels, h).tolist()
        for column, full in _expected(r, p).items():
            np.testing.assert_array_equal(api[column].to_numpy().reshape(n, h), got[column].astype(float)
                                          .reshape(n, h)[np.argsort(order)], err_msg=f"{mechanism} {column}")
    # the export stream computes derived rows in numpy: the view's values, bit for bit
    streamed = [row for c in store.stream_table("household_series", [run_id], chunk_rows=1000) for row in c.full_rows()]
    assert len(streamed) == len(settlement.results) * n * h == store.count_rows("household_series", [run_id])
    with store.engine.connect() as conn:
        view = {tuple(r[:4]): tuple(r) for r in conn.execute(
            text("SELECT * FROM household_series WHERE run_id = :r"), {"r": run_id})}
    assert all(view[row[:4]] == row for row in streamed)
    assert [row[1:3] for row in streamed[::h]] == [(m, str(x)) for m in settlement.results for x in p.labels]


@needs_example_plugin
def test_read_only_query_reads_the_view_and_its_tables(store):
    """``p2pstore query`` (on PostgreSQL: the reader role's gate function) reads the view and the
    tables it is made of, migrated in by 0006."""
    s = _generated(Scenario(days=1, consumers=1, prosumers=2, seed=4, mechanisms=("conventional", "flat_p2p")))
    run_id = store.create_run(Scenario(days=1, mechanisms=("conventional", "flat_p2p")))
    store.write_results(run_id, s, "full")
    n, h = s.profiles.load_kw.shape
    got = store.query(f"SELECT mechanism, COUNT(*) AS n FROM household_series WHERE run_id = {run_id} "
                      "GROUP BY mechanism ORDER BY mechanism")
    assert got.to_dict("list") == {"mechanism": ["conventional", "flat_p2p"], "n": [n * h, n * h]}
    for table, rows in (("household_slots", n * h), ("mechanism_slots", h), ("household_series_explicit", n * h)):
        assert store.query(f"SELECT COUNT(*) AS n FROM {table}")["n"].tolist() == [rows]


def test_a_cost_form_that_does_not_match_is_stored_explicitly(store):
    """A declared form that does not reproduce the cost is not relied on: explicit rows."""
    from p2pstore.settlement.result import AffineCost

    s = _generated(Scenario(days=1, consumers=1, prosumers=2, seed=4, mechanisms=("conventional", "mmr")))
    r = s.results["mmr"]
    wrong = dataclasses.replace(r, cost_form=AffineCost(0.0, r.cost_form.import_price_h * (1 + 1e-9), 0.0,
                                                        r.cost_form.export_price_h))
    s.results["mmr"] = wrong
    run_id = store.create_run(Scenario(days=1))
    store.write_results(run_id, s, "full")
    assert writer.derivable_mechanisms(s) == {"conventional"}
    got = _view_rows(store, run_id, "mmr")
    np.testing.assert_array_equal(got["cost"].astype(float), r.cost[np.argsort([str(x) for x in s.profiles.labels])]
                                  .ravel())


def test_rewrite_and_series_modes_leave_no_per_slot_rows(store):
    s = _generated(Scenario(days=1, consumers=1, prosumers=2, seed=4))
    run_id = store.create_run(Scenario(days=1))
    store.write_results(run_id, s, "full")
    store.write_results(run_id, s, "community")
    for table in ("household_slots", "mechanism_slots", "household_series_explicit", "household_series"):
        assert count(store, table, run_id) == 0, table


# -- migration 0006 over stored data ------------------------------------------------------------
def _exec(url: str, sql: str, params=None) -> None:
    from p2pstore.store.engine import create_engine

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params or {})
    finally:
        engine.dispose()


def _rows(url: str, sql: str) -> list[tuple]:
    from p2pstore.store.engine import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_migration_keeps_every_stored_series_value(db_url):
    """(Ids above the sequences' next values: PostgreSQL does not advance them on explicit ids.)
    A database at 0005 filled as the old code stored it upgrades to the view without changing
    a value; runs written afterwards sit beside them; downgrading keeps both."""
    from alembic import command

    command.upgrade(migrate.alembic_config(db_url), "0005")
    s = _generated(Scenario(days=1, consumers=2, prosumers=3, seed=6))
    p = s.profiles
    scenario = Scenario(days=1, consumers=2, prosumers=3, seed=6)
    _exec(db_url, "INSERT INTO scenarios (id, spec_hash, spec_json, seed, consumers, prosumers, days) "
                  "VALUES (1000, :hash, :spec, 6, 2, 3, 1)", {"hash": scenario.spec_hash(), "spec": scenario.canonical_json()})
    _exec(db_url, "INSERT INTO runs (id, scenario_id, status, mechanisms, series, priority, attempts, max_attempts) "
                  "VALUES (1000, 1000, 'succeeded', 'conventional,mmr,bill_sharing', 'full', 0, 1, 3)")
    rows = []
    for k, label in enumerate(str(x) for x in p.labels):
        _exec(db_url, "INSERT INTO households VALUES (1000, :k, :l, :kind, :b, :s, 1, 1)",
              {"k": k, "l": label, "kind": str(p.kinds[k]), "b": float(p.lambda_buy[k]), "s": float(p.lambda_sell[k])})
        for m, r in s.results.items():
            e = _expected(r, p)
            rows += [(1000, m, label, h, *(float(e[c][k, h]) for c in SERIES)) for h in range(p.n_slots)]
    rows.append((1000, "mmr", "C1", 10_000, 1e-300, 1.7976931348623157e308, -0.0, 0.1 + 0.2, 1 / 3, 2.5e-17, -123.456))
    cols = "run_id, mechanism, household, slot, " + ", ".join(SERIES)
    from p2pstore.store.engine import create_engine

    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO household_series ({cols}) VALUES "
                          f"(:a0, :a1, :a2, :a3, :a4, :a5, :a6, :a7, :a8, :a9, :a10)"),
                     [{f"a{i}": v for i, v in enumerate(row)} for row in rows])
    engine.dispose()
    order = "ORDER BY run_id, mechanism, household, slot"
    before = _rows(db_url, f"SELECT {cols} FROM household_series {order}")
    assert sorted(before) == sorted(rows)

    assert migrate.upgrade(db_url) == ("0005", migrate.head_revision())
    assert _rows(db_url, f"SELECT {cols} FROM household_series {order}") == before
    assert _rows(db_url, "SELECT COUNT(*) FROM household_series_explicit") == [(len(rows),)]
    with Store(db_url) as store:  # a new run beside the migrated one, derived rows
        series = store.series(1000, "mmr")
        assert len(series) == p.n_households * p.n_slots + 1
        run_id = store.create_run(scenario)
        store.write_results(run_id, s, "full")
        new = _rows(db_url, f"SELECT {cols} FROM household_series WHERE run_id = {run_id} {order}")
        assert count(store, "mechanism_slots", run_id) == 3 * p.n_slots
    assert [row[4:] for row in new if row[1] != "bill_sharing"] == \
           [row[4:] for row in before if row[1] != "bill_sharing" and row[3] < p.n_slots]

    command.downgrade(migrate.alembic_config(db_url), "0005")
    assert _rows(db_url, f"SELECT {cols} FROM household_series WHERE run_id = 1000 {order}") == before
    assert _rows(db_url, f"SELECT {cols} FROM household_series WHERE run_id = {run_id} {order}") == new
    assert migrate.upgrade(db_url)[1] == migrate.head_revision()
