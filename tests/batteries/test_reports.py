"""Battery sections of the reports: the state of charge over a week in a run's report, the
value of storage per kWh of capacity in a sweep's, computed as documented."""

from __future__ import annotations

import pytest

from p2pstore.jobs.execute import run_scenario
from p2pstore.reports.battery_figures import battery_sweep_section, storage_value
from p2pstore.reports.figure_style import DEFAULT_OPTIONS
from p2pstore.reports.report_page import Report
from p2pstore.reports.run_report import single_run_report
from p2pstore.reports.sweep_report import many_runs_report
from p2pstore.scenario import Scenario

MECHS = ("conventional", "sdr")


@pytest.fixture
def store(tmp_path):
    from p2pstore.store import Store

    st = Store(f"sqlite:///{tmp_path / 'r.db'}")
    yield st
    st.close()


def _slugs(report) -> list[str]:
    return [f[0] for f in report.figures]


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_a_battery_runs_report_shows_its_batteries(store):
    run_id, _ = run_scenario(Scenario(days=8, battery_share=0.5, shared_battery_kwh=20.0, mechanisms=MECHS), store)
    assert "battery-soc-week" in _slugs(single_run_report(store, run_id))
    plain, _ = run_scenario(Scenario(days=2, mechanisms=MECHS), store)
    assert "battery-soc-week" not in _slugs(single_run_report(store, plain))


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_a_capacity_sweep_reports_the_value_of_storage(store):
    ids = [run_scenario(Scenario(days=3, seed=seed, battery_share=1.0, battery_kwh_per_kwp=k, mechanisms=MECHS),
                        store, batch="cap")[0] for k in (0.0, 1.0, 2.0) for seed in (1, 2)]
    metrics, params = store.metrics(run_ids=ids), store.run_params(ids)
    value = storage_value(metrics, params)
    assert len(value) == 2 * 2 * 2  # capacities > 0 x seeds x mechanisms
    wide = metrics.pivot_table(index=["run_id", "mechanism"], columns="metric", values="value").reset_index()
    row = value.iloc[0]
    seed_runs = params[params["seed"] == row["seed"]]
    base_id = int(seed_runs[seed_runs["battery_kwh_per_kwp"] == 0.0]["run_id"].iloc[0])
    bill = wide.set_index(["run_id", "mechanism"])["community_bill"]
    cap = wide.set_index(["run_id", "mechanism"])["battery_capacity_kwh"][(row["run_id"], row["mechanism"])]
    assert row["value_per_kwh"] == pytest.approx(
        (bill[(base_id, row["mechanism"])] - bill[(row["run_id"], row["mechanism"])]) / cap, rel=1e-12)
    assert "value-per-kwh" in _slugs(many_runs_report(store, batch="cap", by="battery_kwh_per_kwp"))
    # without a parameter to group by, the value is drawn against each run's capacity (kWh)
    by_capacity = Report(title="cap")
    battery_sweep_section(by_capacity, metrics, params, None, "Rs", DEFAULT_OPTIONS)
    assert _slugs(by_capacity) == ["value-per-kwh"]
