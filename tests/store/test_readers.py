"""Store readers (the Python API) on SQLite and PostgreSQL: shapes, labels, filters, long id
lists, and the same numbers as ``p2pstore query``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from p2pstore import Scenario, Store
from p2pstore.cli import cli
from p2pstore.errors import NotFoundError
from p2pstore.simulate import simulate
from p2pstore.store.results import readers

MECHS = ["conventional", "mmr", "bill_sharing"]
LABELS = ["C1", "C2", "P1", "P2", "P3"]
SLOTS = 2 * 96


@pytest.fixture
def stored(db_url):
    """Three 2-day runs of a 2+3 community in batch "b" (series full, community, none)."""
    store = Store(db_url)
    runs = {}
    for seed, series in ((5, "full"), (6, "community"), (7, "none")):
        scenario = Scenario(seed=seed, consumers=2, prosumers=3, days=2)
        run_id = store.create_run(scenario, series=series, batch="b")
        settlement = simulate(scenario)
        assert store.write_results(run_id, settlement, series)
        runs[series] = (run_id, settlement)
    queued = store.create_run(Scenario(seed=8, consumers=1, prosumers=1, days=1), batch="other")
    try:
        yield store, runs, queued
    finally:
        store.engine.dispose()


def test_runs_and_scenarios(stored):
    store, runs, queued = stored
    ids = [runs[s][0] for s in ("full", "community", "none")]
    df = store.runs()
    assert list(df["run_id"]) == sorted([*ids, queued])
    assert {"run_id", "status", "batch", "series", "seed", "consumers", "prosumers", "days"} <= set(df.columns)
    full = df.set_index("run_id").loc[runs["full"][0]]
    assert (full["seed"], full["consumers"], full["prosumers"], full["days"]) == (5, 2, 3, 2)
    assert list(store.runs(batch="b")["run_id"]) == ids
    assert list(store.runs(status="queued")["run_id"]) == [queued]
    assert list(store.runs(status=["queued", "succeeded"], batch="other")["run_id"]) == [queued]
    assert store.runs(batch="missing").empty
    assert len(store.scenarios()) == 4
    params = store.run_params(ids)
    assert list(params["seed"]) == [5, 6, 7] and set(params["prosumer_sell_tariff"]) == {"3:3.8"}
    assert list(params["prosumer_sell_tariff_low"]) == [3.0] * 3


def test_result_readers(stored):
    store, runs, _ = stored
    run_id, settlement = runs["full"]

    hh = store.households(run_id)
    assert list(hh["household"]) == LABELS
    assert list(hh["kind"]) == ["consumer"] * 2 + ["prosumer"] * 3

    bills = store.bills(run_id)
    assert len(bills) == 3 * 5
    assert pd.api.types.is_string_dtype(bills["mechanism"]) and pd.api.types.is_string_dtype(bills["household"])
    assert list(dict.fromkeys(bills["mechanism"])) == MECHS
    for mech in MECHS:
        one = bills[bills["mechanism"] == mech]
        assert list(one["household"]) == LABELS
        np.testing.assert_allclose(one["bill"].to_numpy(), settlement.results[mech].bills, rtol=1e-12)
    assert set(store.bills(run_id, mechanism="mmr")["mechanism"]) == {"mmr"}

    daily = store.daily_bills([run_id])
    assert len(daily) == 3 * 2 and list(daily["day"][:2]) == [1, 2]
    for mech in MECHS:
        assert daily.loc[daily["mechanism"] == mech, "bill"].sum() == pytest.approx(
            settlement.results[mech].bills.sum(), rel=1e-9)

    prices = store.prices([run_id])
    assert len(prices) == 3 * SLOTS
    assert prices["p2p_allowed"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(prices["ts"])
    assert len(store.prices(run_id, mechanism=["mmr"])) == SLOTS

    series = store.series(run_id)
    assert len(series) == 3 * 5 * SLOTS
    np.testing.assert_allclose(
        series.loc[(series["mechanism"] == "mmr") & (series["household"] == "P2"), "cost"].to_numpy(),
        settlement.results["mmr"].cost[3], rtol=1e-12, atol=1e-12)
    assert len(store.series(run_id, mechanism="mmr", household=["C1", "P3"])) == 2 * SLOTS
    community = store.community_series(run_id)
    assert len(community) == 3 * SLOTS
    np.testing.assert_allclose(community.loc[community["mechanism"] == "bill_sharing", "cost"].to_numpy(),
                               settlement.results["bill_sharing"].cost.sum(axis=0), rtol=1e-9, atol=1e-9)


def test_series_modes(stored):
    store, runs, _ = stored
    assert store.series(runs["community"][0]).empty
    assert len(store.community_series(runs["community"][0])) == 3 * SLOTS
    assert store.series(runs["none"][0]).empty and store.community_series(runs["none"][0]).empty
    assert list(store.series(runs["none"][0]).columns)[:4] == ["run_id", "mechanism", "household", "slot"]


def test_metrics_long_and_wide(stored):
    store, runs, _ = stored
    long = store.metrics(batch="b")
    assert set(long["run_id"]) == {r for r, _ in runs.values()}
    assert {"run_id", "mechanism", "metric", "value", "batch", "seed", "prosumers"} <= set(long.columns)
    wide = store.metrics(batch="b", wide=True)
    assert len(wide) == 3 * 3
    for rec in long.sample(min(len(long), 20), random_state=0).itertuples():
        row = wide[(wide["run_id"] == rec.run_id) & (wide["mechanism"] == rec.mechanism)].iloc[0]
        assert row[rec.metric] == pytest.approx(rec.value, nan_ok=True)
    name = long["metric"].iloc[0]
    assert set(store.metrics(run_ids=[runs["full"][0]], metric=name)["metric"]) == {name}


def test_long_id_lists_and_unknown_ids(stored, monkeypatch):
    store, runs, queued = stored
    ids = [r for r, _ in runs.values()]
    many = list(range(1, 70_001))  # more than either driver's parameter limit in one statement
    assert sorted(store.runs(run_ids=many)["run_id"]) == sorted([*ids, queued])
    monkeypatch.setattr(readers, "ID_CHUNK", 2)  # force several chunks
    assert sorted(set(store.bills(ids)["run_id"])) == sorted(ids)
    assert sorted(set(store.metrics(run_ids=ids)["run_id"])) == sorted(ids)
    with pytest.raises(NotFoundError, match="no run with id 99999"):
        store.bills([ids[0], 99999])
    with pytest.raises(NotFoundError, match="no run with id 424242"):
        store.households(424242)
    with pytest.raises(NotFoundError, match="no batch named 'zz'"):
        store.metrics(batch="zz")


def test_api_equals_query_command(stored):
    store, runs, _ = stored
    run_id = runs["full"][0]
    url = store.engine.url.render_as_string(hide_password=False)

    def query(sql):
        result = CliRunner().invoke(cli, ["--db", url, "query", sql, "--format", "json"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return pd.DataFrame(json.loads(result.output))

    q = query(f"SELECT mechanism, household, bill FROM bills WHERE run_id = {run_id}")
    api = store.bills([run_id])
    merged = api.merge(q, on=["mechanism", "household"], suffixes=("", "_q"))
    assert len(merged) == len(api) == len(q)
    assert merged["bill"].to_numpy() == pytest.approx(merged["bill_q"].to_numpy(), rel=1e-15)

    q = query("SELECT run_id, mechanism, metric, value FROM run_metrics")
    api = store.metrics()
    merged = api.merge(q, on=["run_id", "mechanism", "metric"], suffixes=("", "_q"))
    assert len(merged) == len(api) == len(q)
    assert merged["value"].to_numpy(dtype=float) == pytest.approx(merged["value_q"].to_numpy(dtype=float),
                                                                  rel=1e-15, nan_ok=True)

    q = query(f"SELECT slot, p2p_price FROM clearing_prices WHERE run_id = {run_id} AND mechanism = 'mmr' ORDER BY slot")
    api = store.prices(run_id, mechanism="mmr")
    assert api["p2p_price"].to_numpy() == pytest.approx(q["p2p_price"].to_numpy(dtype=float), rel=1e-15, nan_ok=True)
