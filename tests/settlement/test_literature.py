"""The literature's mechanisms (sdr, mmr_lit, bs_lit, bs_lit_slot): the hand-worked cases of the
specification (docs/mechanisms.md), checks against the publications (Liu et al. 2017 Fig. 5,
Long et al. 2017 Table I), agreement with a loop-based transcription (literature_oracle.py), and
budget balance as a property on random communities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import literature_oracle as oracle
from handmade import communities, make_profiles
from p2pstore.settlement import settle

LIT = oracle.MECHANISMS
NAN = math.nan


def c1():
    """Spec case c1_shortage_single_slot: one prosumer exports 2 kW, two consumers need 2 kW each."""
    return make_profiles(load=[[1], [2], [2]], pv=[[3], [0], [0]], buy=[0.30] * 3, sell=[0.10, 0, 0],
                         slot_hours=0.25)


def c2():
    """Spec case c2_surplus_mixed_prosumers: exports (3, 0, 1) kW, H2 imports 1 kW."""
    return make_profiles(load=[[1], [2], [0.5]], pv=[[4], [1], [1.5]], buy=[0.30] * 3, sell=[0.10] * 3,
                         slot_hours=0.25)


def c7(allowed=None):
    """Spec case c7_four_slot_day: night, morning shortage, noon surplus, a balanced empty slot."""
    load = [[1, 1, 0.5, 1], [1, 1, 0.5, 0.5], [1, 1, 1, 0], [1, 1, 1, 0]]
    pv = [[0, 2, 4, 1], [0, 1, 2, 0.5], [0, 0, 0, 0], [0, 0, 0, 0]]
    return make_profiles(load=load, pv=pv, buy=[0.30] * 4, sell=[0.10, 0.10, 0, 0], allowed=allowed,
                         slot_hours=0.25)


def close(actual, expected, what=""):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=1e-12, atol=1e-15,
                               err_msg=what)


# -- hand-worked cases ------------------------------------------------------------------------
# mechanism -> (bills, import prices, export prices); NaN = undefined (stored as NULL)
CASES = {
    "c1": (c1, {
        "conventional": ([-0.05, 0.15, 0.15], None, None),
        "sdr": ([-0.075, 0.1125, 0.1125], [0.225], [0.15]),
        "mmr_lit": ([-0.10, 0.125, 0.125], [0.25], [0.20]),
        "bs_lit": ([0.0, 0.075, 0.075], [0.15], [0.0]),
        "bs_lit_slot": ([0.0, 0.075, 0.075], [0.15], [0.0]),
    }),
    "c2": (c2, {
        "conventional": ([-0.075, 0.075, -0.025], None, None),
        "sdr": ([-0.075, 0.025, -0.025], [0.10], [0.10]),
        "mmr_lit": ([-0.09375, 0.05, -0.03125], [0.20], [0.125]),
        "bs_lit": ([-0.05625, 0.0, -0.01875], [0.0], [0.075]),
        "bs_lit_slot": ([-0.05625, 0.0, -0.01875], [0.0], [0.075]),
    }),
    "c7": (c7, {
        "conventional": ([-0.0375, 0.0375, 0.225, 0.225], None, None),
        "sdr": ([-0.05, 0.0375, 0.15625, 0.15625], [0.30, 0.225, 0.10, 0.10], [0.30, 0.15, 0.10, 0.10]),
        "mmr_lit": ([-0.0975, 0.0225, 0.1875, 0.1875], [0.30, 0.25, 0.20, 0.20], [0.20, 0.20, 0.14, 0.20]),
        "bs_lit": ([-0.009375, 0.028125, 0.140625, 0.140625], [0.1875] * 4, [0.05] * 4),
        "bs_lit_slot": ([0.0225, 0.0525, 0.1125, 0.1125], [0.30, 0.15, 0.0, NAN], [NAN, 0.0, 0.06, NAN]),
    }),
}
GRID_BILL = {"c1": [0.15], "c2": [-0.075], "c7": [0.30, 0.075, -0.075, 0.0]}


@pytest.mark.parametrize("case", CASES)
def test_hand_worked_cases(case):
    make, expected = CASES[case]
    s = settle(make(), tuple(expected))
    for mechanism, (bills, c_im, c_ex) in expected.items():
        r = s.results[mechanism]
        close(r.bills, bills, f"{case} {mechanism} bills")
        if c_im is not None:
            close(r.import_price, c_im, f"{case} {mechanism} import price")
            close(r.export_price, c_ex, f"{case} {mechanism} export price")
    for mechanism in LIT:  # every literature mechanism collects exactly the community meter's bill
        close(s.results[mechanism].bills.sum(), sum(GRID_BILL[case]), f"{case} {mechanism} total")
        assert abs(s.metrics[mechanism]["budget_balance"]) < 1e-15


def test_c7_per_slot_details():
    s = settle(c7(), LIT)
    sdr = s.results["sdr"]
    np.testing.assert_array_equal(sdr.supply_demand_ratio, [0.0, 0.5, 2.5, math.inf])
    assert sdr.p2p_price is None
    close(s.results["mmr_lit"].p2p_price, [0.20] * 4)
    # the per-slot literature mechanisms balance in every slot; bs_lit only over the horizon
    for m in ("sdr", "mmr_lit", "bs_lit_slot"):
        close(s.results[m].community_cost, GRID_BILL["c7"], m)
    close(s.results["bs_lit"].community_cost - np.array(GRID_BILL["c7"]), [-0.1125, 0.00625, 0.10625, 0.0])
    # every matched kWh is traded between peers: min(I, E) per slot = (0, 1, 2, 0) kW
    for m in LIT:
        close(s.results[m].p2p_import_kwh().sum(axis=0), [0, 0.25, 0.5, 0], m)


def test_p2p_off_slots_settle_conventionally_at_own_tariffs():
    allowed = [True, False, True, True]
    s = settle(c7(allowed), ("conventional", *LIT))
    conv = s.results["conventional"].cost
    for m in LIT:
        r = s.results[m]
        np.testing.assert_array_equal(r.cost[:, 1], conv[:, 1], err_msg=m)
        assert math.isnan(r.import_price[1]) and math.isnan(r.export_price[1]), m
        assert r.p2p_import_share[1] == 0 and r.p2p_export_share[1] == 0
    assert math.isnan(s.results["sdr"].supply_demand_ratio[1])
    assert math.isnan(s.results["mmr_lit"].p2p_price[1])
    # bs_lit's horizon is the P2P-on slots: imports 4 + 2 + 0, exports 0 + 5 + 0 kW;
    # the meter buys 4 kW (slot 0) and sells 3 kW (slot 2): c_im = 0.3 * 4 / 6, c_ex = 0.1 * 3 / 5
    close(s.results["bs_lit"].import_price[[0, 2, 3]], [0.2] * 3)
    close(s.results["bs_lit"].export_price[[0, 2, 3]], [0.06] * 3)
    for m in LIT:
        assert abs(s.metrics[m]["budget_balance"]) < 1e-15, m


def test_empty_sides_are_undefined_never_used():
    # slot 0: nobody exports; slot 1: nobody imports; slot 2: nothing at all
    p = make_profiles(load=[[2, 0, 0], [1, 0, 1]], pv=[[0, 3, 0], [0, 1, 1]], buy=[0.3, 0.2], sell=[0.1, 0.05],
                      slot_hours=0.5)
    s = settle(p, LIT)
    for m in LIT:
        assert np.isfinite(s.results[m].cost).all(), m
    slot = s.results["bs_lit_slot"]
    assert math.isnan(slot.export_price[0]) and math.isnan(slot.import_price[1])
    assert math.isnan(slot.import_price[2]) and math.isnan(slot.export_price[2])
    sdr = s.results["sdr"]
    np.testing.assert_array_equal(sdr.supply_demand_ratio, [0.0, math.inf, math.inf])
    close(sdr.import_price, [0.25, 0.075, 0.075])  # lb = 0.25, ls = 0.075


def test_liu_2017_fig_5():
    """Liu et al. (2017), caption of Fig. 5: Pr_sell = 0.5498 and Pr_buy = 0.7543 at
    lambda_sell = 0.4, lambda_buy = 1.0; eq. (9) puts that Pr_sell at SDR = 0.54590."""
    ratio = (0.4 / 0.5498 - 0.4) / 0.6
    p = make_profiles(load=[[0], [1]], pv=[[ratio], [0]], buy=[1.0, 1.0], sell=[0.4, 0.0])
    r = settle(p, ("sdr",)).results["sdr"]
    assert r.supply_demand_ratio[0] == pytest.approx(0.54590, abs=1e-5)
    assert r.export_price[0] == pytest.approx(0.5498, abs=1e-12)
    assert r.import_price[0] == pytest.approx(0.7543, abs=1e-4)


# Long et al. (2017), Table I: buy and sell kWh, then the costs (GBP) under conventional and BS.
LONG_TABLE_I = [
    (3.77, 9.55, 0.09, 0.09), (11.3, 9.07, 1.24, 0.89), (5.94, 8.46, 0.47, 0.35), (4.9, 13.8, 0.04, 0.08),
    (5.47, 11.9, 0.22, 0.19), (5.51, 0, 0.83, 0.58), (7.63, 0, 1.14, 0.80), (6.78, 0, 1.02, 0.71),
    (4.5, 0, 0.67, 0.47), (8.42, 0, 1.26, 0.88),
]


def long_table_community():
    """Ten households with Table I's daily totals over three 1-hour slots: A, where every import
    not matched happens; B, where every unmatched export happens; C, where consumers 6-10 buy
    m = 19.135 kWh that prosumers 1-5 sell (Table I's rounded aggregates imply 19.01 to 19.26)."""
    buy = np.array([row[0] for row in LONG_TABLE_I])
    sell = np.array([row[1] for row in LONG_TABLE_I])
    matched = 19.135
    consumers = sell == 0
    share_im = matched / buy[consumers].sum()
    share_ex = matched / sell.sum()
    in_c = np.where(consumers, buy * share_im, 0.0)
    load = np.column_stack([buy - in_c, np.zeros(10), in_c])
    pv = np.column_stack([np.zeros(10), sell * (1 - share_ex), sell * share_ex])
    return make_profiles(load, pv, buy=[0.15] * 10, sell=np.where(consumers, 0.0, 0.05), slot_hours=1.0)


def test_long_2017_table_i():
    s = settle(long_table_community(), ("conventional", "bs_lit", "mmr_lit"))
    bs = s.results["bs_lit"]
    assert round(bs.import_price[0], 3) == 0.105 and round(bs.export_price[0], 3) == 0.032
    for i, (_, _, conv_cost, bs_cost) in enumerate(LONG_TABLE_I):
        assert s.results["conventional"].bills[i] == pytest.approx(conv_cost, abs=0.006), i
        assert bs.bills[i] == pytest.approx(bs_cost, abs=0.012), i
    # "The total daily energy bill was the same for the three market paradigms": BS and MMR both
    # collect exactly the community meter's bill (5.04 in the table, from rounded rows).
    assert bs.bills.sum() == pytest.approx(s.results["mmr_lit"].bills.sum(), rel=1e-12)
    assert bs.bills.sum() == pytest.approx(5.04, abs=0.05)
    assert s.results["conventional"].bills.sum() == pytest.approx(6.99, abs=0.02)


# -- random communities -----------------------------------------------------------------------
def lit_communities():
    """Zeros, ties (L == PV), empty sides, P2P-off slots, flat or time-varying tariffs, sell tariffs
    that may be negative, communities without prosumers."""
    return communities(max_slots=10, min_households=1, buy=(0.05, 0.5), sell=(-0.05, 0.2), all_consumers=True,
                       ties=True, time_varying=True)


COMMON = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def grid_bill(p) -> np.ndarray:
    """[H] the community meter's bill for the net exchange, at the reference tariffs."""
    buy_ref, sell_ref = p.reference_tariffs()
    net = p.load_kw.sum(axis=0) - p.pv_kw.sum(axis=0)
    return p.slot_hours * (buy_ref * np.maximum(net, 0) - sell_ref * np.maximum(-net, 0))


def balanced(paid, owed, scale) -> bool:
    return abs(paid - owed) <= 1e-12 * max(1.0, scale)


@COMMON
@given(lit_communities())
def test_budget_balance(p):
    s = settle(p, LIT)
    g = grid_bill(p)
    on = p.p2p_allowed
    for m in ("sdr", "mmr_lit", "bs_lit_slot"):  # per P2P-on slot
        cost = s.results[m].cost
        for h in np.flatnonzero(on):
            assert balanced(cost[:, h].sum(), g[h], np.abs(cost[:, h]).sum()), (m, h)
    cost = s.results["bs_lit"].cost  # over the horizon
    assert balanced(cost[:, on].sum(), g[on].sum(), np.abs(cost[:, on]).sum())
    for m in LIT:
        assert abs(s.metrics[m]["budget_balance"]) <= 1e-12 * max(1.0, np.abs(s.results[m].cost).sum()), m


@COMMON
@given(lit_communities())
def test_matches_loop_reference(p):
    s = settle(p, ("conventional", *LIT))
    conventional = s.results["conventional"].cost
    on = p.p2p_allowed
    args = (p.load_kw.tolist(), p.pv_kw.tolist(), p.slot_hours, p.lambda_buy.tolist(), p.lambda_sell.tolist(),
            on.tolist())
    for m in LIT:
        cost, c_im, c_ex, ratio = oracle.settle(m, *args)
        r = s.results[m]
        np.testing.assert_allclose(r.cost, cost, rtol=1e-9, atol=1e-12, err_msg=m)
        np.testing.assert_allclose(r.bills, np.sum(cost, axis=1), rtol=1e-9, atol=1e-12, err_msg=m)
        np.testing.assert_allclose(r.import_price, c_im, rtol=1e-9, atol=1e-12, err_msg=m)
        np.testing.assert_allclose(r.export_price, c_ex, rtol=1e-9, atol=1e-12, err_msg=m)
        np.testing.assert_array_equal(r.cost[:, ~on], conventional[:, ~on], err_msg=m)
        if m == "sdr":
            np.testing.assert_allclose(r.supply_demand_ratio, ratio, rtol=1e-12, err_msg=m)
