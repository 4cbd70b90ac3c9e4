"""Stored runs of the literature mechanisms on SQLite and PostgreSQL: budget balance of the stored
KPIs, prices with NULL where undefined or P2P is off, and SDR's ratio with +Infinity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from p2pstore import run_scenario
from p2pstore.scenario import Scenario
from store_helpers import import_sdr_case

LIT = ("sdr", "mmr_lit", "bs_lit", "bs_lit_slot")


def test_stored_budget_balance_and_prices(store):
    scenario = Scenario(days=4, consumers=2, prosumers=4, seed=5, mechanisms=("conventional", "mmr", *LIT))
    run_id, settlement = run_scenario(scenario, store)
    off = ~settlement.profiles.p2p_allowed
    assert off.any()
    metrics = store.metrics(run_ids=[run_id], wide=True).set_index("mechanism")
    for m in LIT:
        bill = metrics.loc[m, "community_bill"]
        assert abs(metrics.loc[m, "budget_balance"]) <= 1e-9 * abs(bill), m
        assert metrics.loc[m, "value_tapping_index"] == pytest.approx(1.0, abs=1e-9), m
    assert metrics.loc["conventional", "budget_balance"] > 0

    prices = store.prices(run_id)
    for m in LIT:
        one = prices[prices["mechanism"] == m].reset_index(drop=True)
        r = settlement.results[m]
        assert one["import_price"][off].isna().all() and one["export_price"][off].isna().all(), m
        np.testing.assert_allclose(one["import_price"][~off], r.import_price[~off], rtol=1e-15, err_msg=m)
        np.testing.assert_allclose(one["export_price"].to_numpy(), r.export_price, rtol=1e-15, err_msg=m)
    sdr = prices[prices["mechanism"] == "sdr"].reset_index(drop=True)
    np.testing.assert_allclose(sdr["supply_demand_ratio"], settlement.results["sdr"].supply_demand_ratio, rtol=1e-15)
    assert prices[prices["mechanism"] != "sdr"]["supply_demand_ratio"].isna().all()
    # bill sharing per slot has no export price in the dark slots (nobody exports)
    slot = prices[prices["mechanism"] == "bs_lit_slot"].reset_index(drop=True)
    dark = settlement.flows.export_total_kw == 0
    assert dark.any() and slot["export_price"][dark].isna().all()
    assert slot["export_price"][~dark & ~off].notna().all()


def test_sdr_infinity_and_nulls_round_trip(store):
    import_sdr_case(store)  # spec case c7
    run_id, _ = run_scenario(Scenario(profiles="c7", mechanisms=LIT), store)
    prices = store.prices(run_id).set_index(["mechanism", "slot"])
    np.testing.assert_array_equal(prices.loc["sdr", "supply_demand_ratio"], [0.0, 0.5, 2.5, math.inf])
    np.testing.assert_array_equal(prices.loc["bs_lit_slot", "import_price"], [0.3, 0.15, 0.0, np.nan])
    np.testing.assert_allclose(prices.loc["bs_lit_slot", "export_price"], [np.nan, 0.0, 0.06, np.nan], rtol=1e-15)
    np.testing.assert_array_equal(prices.loc["mmr_lit", "p2p_price"], [0.2] * 4)
    assert prices.loc["sdr", "p2p_price"].isna().all()
    # SQL sees Infinity as a number greater than any other, and NULL as NULL
    rows = store.query(f"SELECT slot FROM clearing_prices WHERE run_id = {run_id} AND mechanism = 'sdr' "
                       "AND supply_demand_ratio > 1 ORDER BY slot")
    assert rows["slot"].tolist() == [2, 3]
    nulls = store.query(f"SELECT COUNT(*) AS n FROM clearing_prices WHERE run_id = {run_id} "
                        "AND mechanism = 'bs_lit_slot' AND export_price IS NULL")
    assert int(nulls["n"].iloc[0]) == 2
    bills = store.bills(run_id).set_index(["mechanism", "household"])["bill"]
    np.testing.assert_allclose(bills.loc["sdr"], [-0.05, 0.0375, 0.15625, 0.15625], rtol=1e-12)
