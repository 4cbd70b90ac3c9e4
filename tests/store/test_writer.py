"""write_results: exact round trip, series modes, one transaction, the guarded final write."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from p2pstore.errors import InputError, NotFoundError
from p2pstore.store import bulk
from p2pstore.store.results import writer
from p2pstore.store.schema import MECHANISM_COLUMNS, RESULT_TABLES, SLOT_TABLES, tables_on

from store_helpers import SCENARIO, count


def _frame(store, sql: str, **params) -> dict[str, np.ndarray]:
    with store.engine.connect() as conn:
        result = conn.execute(text(sql), params)
        cols = list(result.keys())
        rows = result.fetchall()
    return {c: np.array([r[i] for r in rows]) for i, c in enumerate(cols)}


def test_full_round_trip_is_exact(store, settlement):
    run_id = store.create_run(SCENARIO)
    assert store.write_results(run_id, settlement, "full") is True
    p = settlement.profiles
    n, h = p.load_kw.shape
    labels = [str(x) for x in p.labels]
    mechs = list(settlement.results)

    hh = _frame(store, "SELECT * FROM households WHERE run_id = :r ORDER BY position", r=run_id)
    assert hh["household"].tolist() == labels
    assert hh["kind"].tolist() == [str(k) for k in p.kinds]
    np.testing.assert_array_equal(hh["lambda_buy"], p.lambda_buy)
    np.testing.assert_array_equal(hh["lambda_sell"], p.lambda_sell)
    np.testing.assert_allclose(hh["load_kwh"], p.load_kw.sum(axis=1) * p.slot_hours, rtol=1e-12)

    for m, r in settlement.results.items():
        bills = _frame(store, "SELECT * FROM bills WHERE run_id = :r AND mechanism = :m ORDER BY household",
                       r=run_id, m=m)
        order = np.argsort(labels)
        np.testing.assert_array_equal(bills["bill"], np.asarray(r.bills)[order])
        for key, values in r.household_totals().items():
            np.testing.assert_array_equal(bills[key], values[order])

        prices = _frame(store, "SELECT * FROM clearing_prices WHERE run_id = :r AND mechanism = :m ORDER BY slot",
                        r=run_id, m=m)
        np.testing.assert_array_equal(prices["slot"], np.arange(h))
        np.testing.assert_array_equal(prices["p2p_allowed"].astype(bool), p.p2p_allowed)
        for col in ("import_price", "export_price", "p2p_price"):
            expected = getattr(r, col)
            if expected is None:
                assert all(v is None for v in prices[col])
            else:
                np.testing.assert_array_equal(prices[col].astype(float), expected)
        assert str(prices["ts"][1])[:16].replace("T", " ") == str(p.timestamps()[1]).replace("T", " ")

        hs = _frame(store, "SELECT * FROM household_series WHERE run_id = :r AND mechanism = :m "
                           "ORDER BY household, slot", r=run_id, m=m)
        assert len(hs["slot"]) == n * h
        for col, full in (("load_kw", p.load_kw), ("pv_kw", p.pv_kw), ("cost", r.cost),
                          ("grid_import_kwh", r.grid_import_kwh()), ("p2p_export_kwh", r.p2p_export_kwh())):
            np.testing.assert_array_equal(hs[col].reshape(n, h), full[order])

        cs = _frame(store, "SELECT * FROM community_series WHERE run_id = :r AND mechanism = :m ORDER BY slot",
                    r=run_id, m=m)
        for col, values in r.community_series().items():
            np.testing.assert_array_equal(cs[col], values)

        daily = _frame(store, "SELECT * FROM daily_bills WHERE run_id = :r AND mechanism = :m ORDER BY day",
                       r=run_id, m=m)
        np.testing.assert_array_equal(daily["bill"], settlement.daily["bill"][m])
        np.testing.assert_array_equal(daily["day"], [1, 2])

    metrics = _frame(store, "SELECT * FROM run_metrics WHERE run_id = :r", r=run_id)
    stored = {(a, b): v for a, b, v in zip(metrics["mechanism"], metrics["metric"], metrics["value"])}
    for m, values in settlement.metrics.items():
        for k, v in values.items():
            assert (stored[(m, k)] is None) if not np.isfinite(v) else stored[(m, k)] == v
    assert sorted(set(metrics["mechanism"])) == sorted(mechs)

    run = store.get_run(run_id)
    assert run["status"] == "succeeded" and run["finished_at"] is not None and run["series"] == "full"


@pytest.mark.parametrize("series, community, household", [("full", True, True), ("community", True, False),
                                                         ("none", False, False)])
def test_series_modes(store, settlement, series, community, household):
    run_id = store.create_run(SCENARIO, series)
    assert store.write_results(run_id, settlement, series)
    n, h = settlement.profiles.load_kw.shape
    m = len(settlement.results)
    assert count(store, "clearing_prices", run_id) == m * h  # always
    assert count(store, "bills", run_id) == m * n
    assert count(store, "daily_bills", run_id) == m * 2
    assert count(store, "community_series", run_id) == (m * h if community else 0)
    assert count(store, "household_series", run_id) == (m * n * h if household else 0)
    with pytest.raises(InputError, match="series"):
        store.write_results(run_id, settlement, "some")


def test_rewrite_replaces_results(store, settlement):
    run_id = store.create_run(SCENARIO)
    store.write_results(run_id, settlement, "full")
    before = {t: count(store, t, run_id) for t in tables_on(store.dialect, RESULT_TABLES)}
    store.write_results(run_id, settlement, "community")
    assert count(store, "household_series", run_id) == 0
    assert count(store, "bills", run_id) == before["bills"]


def test_failure_mid_write_stores_nothing(store, settlement, monkeypatch):
    run_id = store.create_run(SCENARIO)
    real = writer.write_blocks
    written = []

    def failing(conn, table, blocks):
        if table == "household_slots":
            raise RuntimeError("disk on fire")
        written.append(table)
        return real(conn, table, blocks)

    monkeypatch.setattr(writer, "write_blocks", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.write_results(run_id, settlement, "full")
    slots = SLOT_TABLES[store.dialect][0]
    assert {"households", "bills", slots} <= set(written)  # they were sent, then rolled back
    for table in tables_on(store.dialect, RESULT_TABLES):
        assert count(store, table) == 0, table
    assert store.get_run(run_id)["status"] == "queued"


def test_driver_error_mid_write_is_one_line_and_stores_nothing(store, settlement):
    import types

    run_id = store.create_run(SCENARIO)
    bad = types.SimpleNamespace(**vars(settlement))
    bad.daily = dict(settlement.daily, day=np.ones_like(settlement.daily["day"]))  # duplicate key
    from p2pstore.errors import StoreError

    with pytest.raises(StoreError, match=f"cannot store results of run {run_id}") as err:
        store.write_results(run_id, bad, "full")
    assert "\n" not in str(err.value)
    for table in tables_on(store.dialect, RESULT_TABLES):
        assert count(store, table) == 0, table
    assert store.get_run(run_id)["status"] == "queued"


def test_guarded_final_write(store, settlement):
    from p2pstore.store.queue import runs

    run_id = store.create_run(SCENARIO)
    first = runs.claim_next(store.engine, "w1", 60)
    assert first.run_id == run_id
    assert runs.claim_next(store.engine, "w2", 60) is None  # already taken
    # a claim with another token cannot commit this run, whoever shows it
    forged = runs.Claim(run_id, runs.new_token(), "w1")
    assert store.write_results(run_id, settlement, claim=forged) is False
    assert count(store, "bills") == 0
    # the lease expired and a reaper put the run back in the queue: the first claim has lost it
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET lease_expires_at = NULL WHERE id = :r"), {"r": run_id})
    assert runs.reap_expired(store.engine) == {run_id: "queued"}
    assert store.write_results(run_id, settlement, claim=first) is False
    assert count(store, "household_series") == 0
    assert store.get_run(run_id)["status"] == "queued"
    # claimed again by the same worker: only the new claim commits
    second = runs.claim_next(store.engine, "w1", 60)
    assert second.token != first.token and store.get_run(run_id)["attempts"] == 2
    assert store.write_results(run_id, settlement, claim=first) is False
    assert store.write_results(run_id, settlement, claim=second) is True
    run = store.get_run(run_id)
    assert run["status"] == "succeeded" and run["worker"] == "w1" and run["claim_token"] == second.token
    assert count(store, "bills", run_id) == len(settlement.results) * settlement.profiles.n_households


def test_finished_at_is_the_commit_time(store, settlement):
    """A write held for a while before its commit is stamped when it commits, not when it began."""
    import datetime as dt
    import time

    from p2pstore.store.queue import runs

    run_id = store.create_run(SCENARIO)
    claim = runs.claim_next(store.engine, "w", 60)
    marks = {}

    def before_commit():
        marks["written"] = dt.datetime.now(dt.UTC)
        time.sleep(1.0)

    assert store.write_results(run_id, settlement, claim=claim, before_commit=before_commit)
    finished = store.get_run(run_id)["finished_at"]
    if finished.tzinfo is None:
        finished = finished.replace(tzinfo=dt.UTC)
    assert finished >= marks["written"] + dt.timedelta(seconds=0.9)


def test_missing_run(store, settlement):
    from p2pstore.store.queue import runs

    with pytest.raises(NotFoundError):
        store.write_results(12345, settlement)
    assert store.write_results(12345, settlement, claim=runs.Claim(12345, runs.new_token(), "w")) is False


def test_pg_copy_block_bytes_match_write_row(db_url, backend, settlement):
    """The numpy COPY encoding and psycopg's own write_row produce the same table contents."""
    first = next(writer._daily_bills(1, settlement))
    if backend != "postgresql":
        # SQLite has a single path; check that its row tuples are plain Python values
        rows = list(bulk._sqlite_rows(bulk.COLUMNS["daily_bills"], [first]))
        assert all(type(v) in (int, float, str, bool, type(None)) for v in rows[0])
        return
    from p2pstore.store import Store

    with Store(db_url) as store:
        a, b = store.create_run(SCENARIO), store.create_run(SCENARIO)
        table = "daily_bills"
        with store.engine.begin() as conn:
            bulk.write_blocks(conn, table, [next(writer._daily_bills(a, settlement))])
            raw = conn.connection.driver_connection
            types_ = bulk._pg_types(table)
            cols = bulk.COLUMNS[table]
            block = next(writer._daily_bills(b, settlement))
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT BINARY)") as cp:
                cp.set_types([types_[c] for c in cols])
                for row in bulk._pg_row_values(cols, types_, block):
                    cp.write_row(row)
        ra = _frame(store, "SELECT * FROM daily_bills WHERE run_id = :r ORDER BY mechanism, day", r=a)
        rb = _frame(store, "SELECT * FROM daily_bills WHERE run_id = :r ORDER BY mechanism, day", r=b)
        assert len(ra["day"])
        for col in ra:
            if col != "run_id":
                assert ra[col].tolist() == rb[col].tolist(), col


@pytest.mark.parametrize("backend", ["postgresql"])  # arrays are PostgreSQL's layout
def test_pg_array_rows_match_psycopg(db_url, backend):
    """PostgreSQL arrays encoded by numpy (NaN as a NULL element, -0.0, +-Infinity, the largest
    and smallest floats, times, flags) read back as psycopg's own encoding of the same lists."""
    import datetime as dt
    import struct

    from p2pstore.store import Store

    values = np.array([1.5, np.nan, -0.0, np.inf, -np.inf, 5e-324, 1.7976931348623157e308, 0.1 + 0.2])
    ts = np.arange("2025-03-30T00:00", "2025-03-30T02:00", np.timedelta64(15, "m"), dtype="datetime64[us]")
    flags = np.array([True, False, True, True, False, False, True, True])
    finite = np.where(np.isinf(values), 2.0, values)
    with Store(db_url) as store:
        a, b = store.create_run(SCENARIO), store.create_run(SCENARIO)
        with store.engine.begin() as conn:
            bulk.write_blocks(conn, "run_slot_arrays", [{"run_id": a, "ts": ts, "p2p_allowed": flags,
                                                         "load_kw": finite, "pv_kw": None}])
            bulk.write_blocks(conn, "mechanism_series_arrays", [
                {"run_id": a, "mechanism": 0, **dict.fromkeys(MECHANISM_COLUMNS), "supply_demand_ratio": values}])
            conn.exec_driver_sql("INSERT INTO run_slot_arrays (run_id, ts, p2p_allowed, load_kw) "
                                 "VALUES (%(r)s, %(ts)s, %(f)s, %(v)s::float8[])",
                                 {"r": b, "ts": [t.astype(dt.datetime) for t in ts], "f": flags.tolist(),
                                  "v": [None if np.isnan(v) else float(v) for v in finite]})
            conn.exec_driver_sql("INSERT INTO mechanism_series_arrays (run_id, mechanism, supply_demand_ratio) "
                                 "VALUES (%(r)s, 0, %(v)s::float8[])",
                                 {"r": b, "v": [None if np.isnan(v) else float(v) for v in values]})
        with store.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT s.ts, s.p2p_allowed, s.load_kw, s.pv_kw, m.supply_demand_ratio, "
                                        "m.cost FROM run_slot_arrays s JOIN mechanism_series_arrays m "
                                        "ON m.run_id = s.run_id ORDER BY s.run_id").all()
        with pytest.raises(InputError, match=r"non-finite value inf in mechanism_series_arrays\.cost"):
            with store.engine.begin() as conn:
                bulk.write_blocks(conn, "mechanism_series_arrays", [
                    {"run_id": a, "mechanism": 1, **dict.fromkeys(MECHANISM_COLUMNS), "cost": values}])
    bits = [[[None if v is None else struct.pack(">d", v) for v in row[k]] for k in (2, 4)] for row in rows]
    assert bits[0] == bits[1] and bits[0][1][2] == struct.pack(">d", -0.0) and bits[0][1][1] is None
    assert bits[0][1][3] == struct.pack(">d", np.inf) and len(bits[0][0]) == len(values)
    assert rows[0][:2] == rows[1][:2] and len(rows[0][0]) == len(ts)
    assert rows[0][3] is None is rows[1][3] and rows[0][5] is None is rows[1][5]


def test_readers_never_see_half_a_run(store, settlement):
    """A concurrent reader sees a run's results all at once, together with 'succeeded'."""
    import threading

    run_id = store.create_run(SCENARIO)
    expected = len(settlement.results) * settlement.profiles.load_kw.size
    seen: set[tuple[str, int, int]] = set()
    done = threading.Event()

    def poll():
        while not done.is_set():
            with store.engine.connect() as conn:  # one snapshot: REPEATABLE-READ-like single query
                row = conn.execute(text(
                    "SELECT r.status, (SELECT COUNT(*) FROM household_series h WHERE h.run_id = r.id), "
                    "(SELECT COUNT(*) FROM bills b WHERE b.run_id = r.id) FROM runs r WHERE r.id = :r"),
                    {"r": run_id}).one()
            seen.add(tuple(row))

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for _ in range(3):
            assert store.write_results(run_id, settlement, "full")
    finally:
        done.set()
        reader.join()
    n_bills = len(settlement.results) * settlement.profiles.n_households
    assert seen <= {("queued", 0, 0), ("succeeded", expected, n_bills)}, seen


def test_non_finite_results_are_refused_on_both_backends(store, settlement):
    import types

    from p2pstore.settlement.result import MechanismResult

    run_id = store.create_run(SCENARIO)
    r = settlement.results["mmr"]
    cost = r.cost.copy()
    cost[1, 5] = np.nan
    bad_mmr = MechanismResult(**{**{f: getattr(r, f) for f in r.__dataclass_fields__}, "cost": cost,
                                 "bills": cost.sum(axis=1)})
    bad = types.SimpleNamespace(**{**vars(settlement), "results": {**settlement.results, "mmr": bad_mmr}})
    with pytest.raises(InputError, match=r"non-finite value nan in bills\.bill \(mechanism mmr"):
        store.write_results(run_id, bad, "full")
    for table in tables_on(store.dialect, RESULT_TABLES):
        assert count(store, table) == 0, table
    assert store.get_run(run_id)["status"] == "queued"


@pytest.mark.parametrize("column, value, problem", [
    ("import_price", np.inf, r"non-finite value inf in clearing_prices\.import_price \(mechanism mmr, row 3\)"),
    ("supply_demand_ratio", -np.inf, None),  # infinity is allowed in this column (either sign is stored)
])
def test_infinity_only_where_the_model_allows_it(store, settlement, column, value, problem):
    import dataclasses
    import types

    run_id = store.create_run(SCENARIO)
    r = settlement.results["mmr"]
    h = settlement.profiles.n_slots
    prices = np.where(np.arange(h) == 3, value, np.where(np.arange(h) == 4, np.nan, 1.0))
    bad = types.SimpleNamespace(**{**vars(settlement), "results": {
        **settlement.results, "mmr": dataclasses.replace(r, **{column: prices})}})
    if problem is not None:
        with pytest.raises(InputError, match=problem):
            store.write_results(run_id, bad, "none")
        assert count(store, "clearing_prices") == 0
        return
    assert store.write_results(run_id, bad, "none")
    stored = store.prices(run_id, "mmr")[column].to_numpy()
    assert stored[3] == value and np.isnan(stored[4]) and (np.delete(stored, [3, 4]) == 1.0).all()
    assert count(store, "clearing_prices", run_id) == len(settlement.results) * h


@pytest.mark.parametrize("series", ["full", "community", "none"])
def test_write_progress_counts_every_row_written(store, settlement, series):
    import contextlib

    calls = []

    class Bar:
        def update(self, n):
            calls.append(n)

    def progress(total, label):
        calls.append(("total", total, label))
        return contextlib.nullcontext(Bar())

    run_id = store.create_run(SCENARIO)
    assert store.write_results(run_id, settlement, series, progress=progress)
    (_, total, label), *steps = calls
    written = sum(count(store, table, run_id) for table in tables_on(store.dialect, RESULT_TABLES))
    assert label == f"storing run {run_id}"
    assert sum(steps) == total == written


def test_sqlite_datetimes_text_and_reuse():
    """Slot times as SQLAlchemy's SQLite DateTime text; a second, equal column reuses the first's
    text, a different one of the same length does not."""
    import numpy as np

    from p2pstore.store.bulk import _sqlite_datetimes

    a = np.datetime64("2025-03-30T01:45", "m") + np.timedelta64(15, "m") * np.arange(4)
    first = _sqlite_datetimes(a)
    assert first == ["2025-03-30 01:45:00.000000", "2025-03-30 02:00:00.000000",
                     "2025-03-30 02:15:00.000000", "2025-03-30 02:30:00.000000"]
    assert _sqlite_datetimes(a.copy()) is first
    b = a + np.timedelta64(1, "D")
    assert _sqlite_datetimes(b)[0] == "2025-03-31 01:45:00.000000"
    c = np.array(["2024-02-29T23:59:59.123456"], dtype="datetime64[us]")
    assert _sqlite_datetimes(c) == ["2024-02-29 23:59:59.123456"]
    assert _sqlite_datetimes(c[:0]) == []


@pytest.mark.parametrize("limit", [999, 40])
def test_sqlite_multi_row_inserts_respect_the_connections_parameter_limit(tmp_path, settlement, limit):
    """SQLite before 3.32 allows 999 host parameters per statement (and a connection may lower
    it): the multi-row INSERTs size themselves from the connection's limit."""
    import sqlite3

    import sqlalchemy as sa

    from p2pstore.store import Store

    url = f"sqlite:///{tmp_path / 'limited.db'}"
    store = Store(url)  # migrated at the default limit

    @sa.event.listens_for(store.engine, "connect")
    def lower_limit(dbapi_conn, _):
        dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)

    store.engine.dispose()
    run_id = store.create_run(SCENARIO)
    assert store.write_results(run_id, settlement, "full") is True
    with store.engine.connect() as conn:
        assert conn.connection.dbapi_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) == limit
    n, h = settlement.profiles.load_kw.shape
    assert count(store, "household_slots") == n * h
    assert count(store, "clearing_prices") == len(settlement.results) * h
