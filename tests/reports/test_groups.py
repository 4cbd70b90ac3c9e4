"""Bills and savings by kind of household add up to the community KPIs stored for the run, and
compare across runs with the same statistics as ``compare`` (both backends)."""

from __future__ import annotations

import numpy as np
import pytest

from p2pstore.reports import bills_by_kind, compare_by_kind


def test_kinds_add_up_to_the_community_kpis(sweep):
    bills = sweep.store.bills(sweep.ids)
    kinds = bills_by_kind(bills)
    assert list(dict.fromkeys(kinds["kind"])) == ["consumer", "prosumer"]
    kpis = sweep.store.metrics(run_ids=sweep.ids, wide=True).set_index(["run_id", "mechanism"])
    totals = kinds.groupby(["run_id", "mechanism"])[["bill_total", "savings_vs_conventional", "households"]].sum()
    for (run_id, mech), row in totals.iterrows():
        assert row["bill_total"] == pytest.approx(kpis.loc[(run_id, mech), "community_bill"], rel=1e-12)
        assert row["savings_vs_conventional"] == pytest.approx(kpis.loc[(run_id, mech), "savings_vs_conventional"],
                                                                rel=1e-9, abs=1e-9)
    one = kinds[(kinds["run_id"] == sweep.ids[0]) & (kinds["kind"] == "consumer") & (kinds["mechanism"] == "mmr")].iloc[0]
    mine = bills[(bills["run_id"] == sweep.ids[0]) & (bills["kind"] == "consumer")]
    conv = mine[mine["mechanism"] == "conventional"]["bill"].sum()
    mmr = mine[mine["mechanism"] == "mmr"]["bill"].sum()
    assert one["households"] == 2 and one["savings_vs_conventional_pct"] == pytest.approx(100 * (conv - mmr) / abs(conv))
    assert (kinds.loc[kinds["mechanism"] == "conventional", "savings_vs_conventional"] == 0).all()


def test_kinds_compare_across_runs(sweep):
    table = compare_by_kind(sweep.store.bills(sweep.ids))
    row = table[(table["kind"] == "prosumer") & (table["mechanism"] == "mmr")
                & (table["metric"] == "savings_per_household")].iloc[0]
    per_run = bills_by_kind(sweep.store.bills(sweep.ids))
    values = per_run[(per_run["kind"] == "prosumer") & (per_run["mechanism"] == "mmr")]["savings_per_household"]
    assert row["n"] == len(sweep.ids) and row["mean"] == pytest.approx(values.mean())
    assert row["sd"] == pytest.approx(np.std(values, ddof=1))


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_battery_owners_are_a_group_of_their_own(db_url):
    from p2pstore import Scenario, Store, run_scenario
    from p2pstore.reports.groups import with_battery_kinds
    from p2pstore.reports.html import single_run_report
    from p2pstore.store.results.battery_owners import battery_owners

    store = Store(db_url)
    try:
        run_id = run_scenario(Scenario(days=2, consumers=2, prosumers=4, battery_share=0.5), store,
                              series="none").run_id
        owners = battery_owners(store.engine, [run_id])
        bills = store.bills([run_id])
        kinds = bills_by_kind(with_battery_kinds(bills, owners))
        page = single_run_report(store, run_id).to_html()
    finally:
        store.close()
    assert len(owners) == 2 and all(h.startswith("P") for _, h in owners)
    assert list(dict.fromkeys(kinds["kind"])) == ["consumer", "prosumer", "prosumer with battery"]
    assert kinds.groupby("kind")["households"].first().to_dict() == {
        "consumer": 2, "prosumer": 2, "prosumer with battery": 2}
    mmr = kinds[kinds["mechanism"] == "mmr"]["bill_total"].sum()
    assert mmr == pytest.approx(bills[bills["mechanism"] == "mmr"]["bill"].sum(), rel=1e-12)
    assert "<td>prosumer with battery</td>" in page
