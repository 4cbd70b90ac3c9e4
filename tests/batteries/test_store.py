"""Batteries in the store, on SQLite and PostgreSQL: ``batteries`` and ``battery_series`` hold
the dispatch exactly, ``household_series`` keeps the households' own load and PV and still sums
to the bills, the shared battery is the member ``community_battery`` of kind ``battery``, the
battery KPIs sit beside the others, and a bad battery file stores nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from p2pstore.cli import cli
from p2pstore.jobs.execute import run_scenario
from p2pstore.kpis import BATTERY_METRIC_NAMES
from p2pstore.jobs.build_profiles import import_profiles
from p2pstore.scenario import Scenario

SCENARIO = Scenario(days=2, battery_share=0.6, shared_battery_kwh=12.0, battery_dispatch="community",
                    mechanisms=("conventional", "mmr", "sdr", "bs_lit"))


@pytest.fixture
def store(db_url):
    from p2pstore.store import Store

    st = Store(db_url)
    yield st
    st.close()


def _read(store, sql: str) -> pd.DataFrame:
    with store.engine.connect() as conn:
        return pd.read_sql_query(sql, conn)


def test_a_battery_run_is_stored_whole(store):
    run_id, s = run_scenario(SCENARIO, store)
    b = s.batteries
    series = _read(store, f"SELECT * FROM battery_series WHERE run_id = {run_id} ORDER BY household, slot")
    for k, label in enumerate(b.labels):
        rows = series[series["household"] == label]
        assert rows["slot"].tolist() == list(range(s.profiles.n_slots))
        assert np.array_equal(rows["charge_kw"].to_numpy(), b.charge_kw[k])
        assert np.array_equal(rows["discharge_kw"].to_numpy(), b.discharge_kw[k])
        assert np.array_equal(rows["soc_kwh"].to_numpy(), b.soc_kwh[k])
    params = _read(store, f"SELECT * FROM batteries WHERE run_id = {run_id} ORDER BY household")
    assert sorted(params["household"]) == sorted(map(str, b.labels))
    assert set(params["dispatch"]) == {"community"}
    shared = params[params["household"] == "community_battery"].iloc[0]
    assert (shared["capacity_kwh"], shared["power_kw"]) == (12.0, 6.0)

    households = _read(store, f"SELECT household, kind FROM households WHERE run_id = {run_id} ORDER BY position")
    assert households["household"].iloc[-1] == "community_battery" and households["kind"].iloc[-1] == "battery"

    hs = _read(store, f"SELECT mechanism, household, slot, load_kw, pv_kw, cost FROM household_series "
                      f"WHERE run_id = {run_id}")
    bills = _read(store, f"SELECT mechanism, household, bill FROM bills WHERE run_id = {run_id}")
    summed = hs.groupby(["mechanism", "household"])["cost"].sum().rename("summed").reset_index()
    both = bills.merge(summed, on=["mechanism", "household"])
    assert len(both) == len(bills) == 4 * 11
    np.testing.assert_allclose(both["summed"], both["bill"], rtol=1e-9, atol=1e-9)
    first = str(b.labels[0])
    i = list(map(str, s.profiles.labels)).index(first)
    own = hs[(hs["household"] == first) & (hs["mechanism"] == "sdr")].sort_values("slot")
    assert np.array_equal(own["load_kw"].to_numpy(), s.profiles.load_kw[i])  # the household's own load
    assert not np.array_equal(own["load_kw"].to_numpy(), s.flows.load_kw[i])  # not the post-battery one

    metrics = _read(store, f"SELECT mechanism, metric, value FROM run_metrics WHERE run_id = {run_id}")
    kpis = b.kpis()
    for m in SCENARIO.mechanisms:
        mine = metrics[metrics["mechanism"] == m].set_index("metric")["value"]
        for name in BATTERY_METRIC_NAMES:
            assert mine[name] == pytest.approx(kpis[name], rel=1e-12)


def test_runs_without_batteries_store_no_battery_rows(store):
    run_id, s = run_scenario(Scenario(days=1), store)
    assert s.batteries is None
    for table in ("batteries", "battery_series"):
        assert _read(store, f"SELECT COUNT(*) AS n FROM {table}")["n"].iloc[0] == 0
    names = set(_read(store, f"SELECT metric FROM run_metrics WHERE run_id = {run_id}")["metric"])
    assert not names & set(BATTERY_METRIC_NAMES)


def test_series_none_keeps_the_batteries_and_kpis_but_no_series(store):
    run_id, _ = run_scenario(SCENARIO, store, series="none")
    assert _read(store, f"SELECT COUNT(*) AS n FROM batteries WHERE run_id = {run_id}")["n"].iloc[0] == 5
    assert _read(store, f"SELECT COUNT(*) AS n FROM battery_series WHERE run_id = {run_id}")["n"].iloc[0] == 0


def _count_runs(db_url) -> int:
    from p2pstore.store import Store

    with Store(db_url) as st:
        return int(_read(st, "SELECT COUNT(*) AS n FROM runs")["n"].iloc[0])


@pytest.mark.parametrize("row,message", [
    ("P1,-4,2,0.95,0.1,1,0.5", "line 3, column 'capacity_kwh': must be positive"),
    ("P1,nan,2,0.95,0.1,1,0.5", "line 3, column 'capacity_kwh': must be finite"),
    ("P9,4,2,0.95,0.1,1,0.5", "line 3, column 'household': no household 'P9' in the community"),
    ("P2,4,2,0.95,0.1,1,0.5", "line 3, column 'household': 'P2' has a battery already (line 2)"),
    ("P1,4,2,1.5,0.1,1,0.5", "line 3, column 'efficiency': must be in (0, 1]"),
    ("P1,4,2,0.9,0.6,0.5,0.5", "line 3, column 'soc_max': must be above soc_min"),
    ("P1,4,2,0.9,0.1,0.5,0.7", "line 3, column 'soc_initial': must lie between"),
    ("P1,4,x,0.9,0.1,0.5,0.3", "line 3, column 'power_kw': expected a number, got 'x'"),
])
def test_a_bad_battery_file_is_one_line_and_stores_nothing(db_url, tmp_path, row, message):
    path = tmp_path / "batteries.csv"
    path.write_text("household,capacity_kwh,power_kw,efficiency,soc_min,soc_max,soc_initial\n"
                    f"P2,5,2.5,0.95,0.1,1,0.5\n{row}\n")
    for command in (["run", "--days", "1"], ["enqueue", "--sweep", "battery_dispatch=self_consumption,community"]):
        result = CliRunner().invoke(cli, ["--db", db_url, *command, "--battery-file", str(path)])
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines() == [f"Error: {path}: {message}" + result.output.split(message)[1].rstrip()]
        assert "Traceback" not in result.output
    assert _count_runs(db_url) == 0


def test_batteries_on_a_profile_set_and_a_draw_of_it(store, tmp_path):
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "examples" / "profiles"
    import_profiles(store, "demo", load=examples / "load.csv", pv=examples / "pv.csv", tariffs=examples / "tariffs.csv")
    path = tmp_path / "batteries.csv"
    path.write_text("household,capacity_kwh,power_kw,efficiency,soc_min,soc_max,soc_initial\n"
                    "house-01,5,2.5,0.95,0.1,1,0.5\nhouse-07,5,2.5,0.95,0.1,1,0.5\n")
    _, whole = run_scenario(Scenario(profiles="demo", battery_file=str(path), shared_battery_kwh=10.0), store)
    assert list(whole.batteries.labels) == ["house-01", "house-07", "community_battery"]
    run_id, drawn = run_scenario(Scenario(profiles="demo", households=4, seed=2, battery_file=str(path)), store)
    labels = list(map(str, drawn.profiles.labels))
    assert list(drawn.batteries.labels) == [x for x in ("house-01", "house-07") if x in labels]  # the others unused
    stored = _read(store, f"SELECT household FROM batteries WHERE run_id = {run_id}")["household"].tolist()
    assert stored == list(drawn.batteries.labels)
    path.write_text("household,capacity_kwh,power_kw,efficiency,soc_min,soc_max,soc_initial\n"
                    "house-99,5,2.5,0.95,0.1,1,0.5\n")
    from p2pstore.errors import InputError

    with pytest.raises(InputError, match="line 2, column 'household': no household 'house-99'"):
        run_scenario(Scenario(profiles="demo", households=4, seed=2, battery_file=str(path)), store)


def _stored(store, run_id: int) -> dict[str, pd.DataFrame]:
    """Every table a ``--series community`` battery run stores, without its run id."""
    tables = {"households": store.households(run_id), "bills": store.bills(run_id),
              "daily_bills": store.daily_bills(run_id), "prices": store.prices(run_id),
              "community_series": store.community_series(run_id), "metrics": store.metrics(run_id),
              "batteries": _read(store, f"SELECT * FROM batteries WHERE run_id = {run_id} ORDER BY household")}
    return {name: df.drop(columns=["run_id"]).reset_index(drop=True) for name, df in tables.items()}


def test_a_battery_run_in_chunks_stores_what_the_whole_community_stores(store):
    from p2pstore.memory_plan import estimate_peak_bytes
    from p2pstore.simulate import check_memory

    scenario = Scenario(consumers=60, prosumers=150, days=2, battery_share=0.7, shared_battery_kwh=40.0,
                        mechanisms=("conventional", "sdr", "mmr_lit", "bs_lit"), seed=4)
    limit = estimate_peak_bytes(scenario, "community") - 1  # the whole community just misses it
    assert check_memory(scenario, "community", limit).chunks >= 2
    chunked_id, chunked = run_scenario(scenario, store, series="community", memory_limit=limit)
    whole_id, whole = run_scenario(scenario, store, series="community", memory_limit=64 * 2**30)
    assert chunked.results["sdr"].cost is None and whole.results["sdr"].cost is not None
    a, b = _stored(store, chunked_id), _stored(store, whole_id)
    assert set(a["metrics"]["metric"]) >= set(BATTERY_METRIC_NAMES)
    assert a["households"]["household"].iloc[-1] == "community_battery" and len(a["batteries"]) > 1
    for name, frame in b.items():
        pd.testing.assert_frame_equal(a[name], frame, check_exact=True, obj=name)  # the same bits
