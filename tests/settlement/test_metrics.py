"""KPIs on hand-made communities whose values are worked out by hand (see docs/metrics.md)."""

from __future__ import annotations

import pytest

from handmade import make_profiles, two_house_community
from p2pstore.settlement import settle
from p2pstore.settlement.metrics import METRIC_NAMES, gini

ALL = ("conventional", "mmr", "bill_sharing")


@pytest.fixture(scope="module")
def metrics():
    # Bills (see test_mechanisms): conventional [14+14, -6+5] = [28, -1] (27),
    # MMR [21, -3] (18), bill sharing [23, -4] (19).
    return settle(two_house_community(), ALL).metrics


def test_every_metric_is_reported(metrics):
    for m in ALL:
        assert tuple(metrics[m]) == METRIC_NAMES


def test_bills_and_savings(metrics):
    assert metrics["conventional"]["community_bill"] == pytest.approx(27)
    assert metrics["mmr"]["community_bill"] == pytest.approx(18)
    assert metrics["bill_sharing"]["community_bill"] == pytest.approx(19)
    assert metrics["conventional"]["savings_vs_conventional"] == 0
    assert metrics["mmr"]["savings_vs_conventional"] == pytest.approx(9)
    assert metrics["mmr"]["savings_vs_conventional_pct"] == pytest.approx(100 * 9 / 27)
    assert metrics["bill_sharing"]["savings_vs_conventional_pct"] == pytest.approx(100 * 8 / 27)


def test_energy_kpis(metrics):
    # load 6 kWh, PV 3 kWh, self-consumed 1 kWh (P1 in slot 0), 2 kWh traded in slot 0
    conv, mmr = metrics["conventional"], metrics["mmr"]
    assert conv["self_sufficiency"] == pytest.approx(1 / 6)
    assert mmr["self_sufficiency"] == pytest.approx(3 / 6)
    assert conv["self_consumption"] == pytest.approx(1 / 3)
    assert mmr["self_consumption"] == pytest.approx(1.0)
    for m in ALL:
        assert metrics[m]["energy_balance"] == pytest.approx(0.5)
        assert metrics[m]["net_grid_import_kwh"] == pytest.approx(3)
    assert conv["p2p_traded_kwh"] == 0 and mmr["p2p_traded_kwh"] == pytest.approx(2)
    assert conv["grid_import_kwh"] == pytest.approx(5) and conv["grid_export_kwh"] == pytest.approx(2)
    assert mmr["grid_import_kwh"] == pytest.approx(3) and mmr["grid_export_kwh"] == pytest.approx(0)


def test_budget_balance(metrics):
    # community net position: slot 0 balanced (0), slot 1 imports 3 kWh at buy_ref 6 -> grid 18
    assert metrics["conventional"]["budget_balance"] == pytest.approx(27 - 18)
    assert metrics["mmr"]["budget_balance"] == pytest.approx(0)
    assert metrics["bill_sharing"]["budget_balance"] == pytest.approx(1)


def test_participation_willingness():
    # One slot, nobody loads; P1 sells 1 kWh at own 3.0, P2 1 kWh at own 3.8 (sell_ref 3.4).
    # MMR pays every export 3.4: P1 gains, P2 loses, C1 (bill 0) is indifferent.
    p = make_profiles(load=[[0.0], [0.0], [0.0]], pv=[[0.0], [1.0], [1.0]], buy=[6, 6, 6], sell=[0, 3.0, 3.8])
    m = settle(p, ALL).metrics
    assert m["conventional"]["participation_willingness"] == 1.0
    assert m["mmr"]["participation_willingness"] == pytest.approx(2 / 3)
    # bill sharing: nobody imports, so everything is exported at own tariffs = conventional
    assert m["bill_sharing"]["participation_willingness"] == 1.0


def test_equality(metrics):
    # two households of opposite sign: G = 2 (a + b) / (2 * 2 * (a + b)) = 1/2
    for mech in ALL:
        assert metrics[mech]["equality"] == pytest.approx(0.5)
    p = make_profiles(load=[[1.0], [3.0]], pv=[[0.0], [0.0]], buy=[6, 6], sell=[0, 0])
    assert settle(p, ("conventional",)).metrics["conventional"]["equality"] == pytest.approx(0.75)


def test_gini_values():
    assert gini([1, 3]) == pytest.approx(0.25)
    assert gini([-1, -3]) == pytest.approx(0.25)
    assert gini([0, 0, 1]) == pytest.approx(2 / 3)
    assert gini([5, 5, 5]) == 0
    assert gini([0, 0]) == 0
    assert gini([-1, 1]) == pytest.approx(0.5)
    assert 0 <= gini([-10, 1, 2, 30]) <= 1


def test_undefined_ratios_are_none():
    # no PV at all -> self-consumption undefined; conventional bill 0 -> savings % undefined
    p = make_profiles(load=[[0.0]], pv=[[0.0]], buy=[6], sell=[3], kinds=["prosumer"])
    m = settle(p, ALL).metrics
    assert m["mmr"]["self_consumption"] is None
    assert m["mmr"]["self_sufficiency"] is None
    assert m["mmr"]["energy_balance"] is None
    assert m["mmr"]["savings_vs_conventional_pct"] is None


def test_conventional_baseline_computed_when_not_requested():
    m = settle(two_house_community(), ("bill_sharing",)).metrics
    assert list(m) == ["bill_sharing"]
    assert m["bill_sharing"]["savings_vs_conventional"] == pytest.approx(8)


def test_budget_balance_counts_p2p_on_slots_only():
    # slot 1 (P2P off) is short by 3 kW: bill sharing pays 2 * 7 + 1 * 5 = 19 there at own
    # tariffs, the meter would pay 3 * 6 = 18; that 1 no longer enters budget_balance (it did
    # when all slots counted, see test_budget_balance). Slot 0 (on) is balanced: G = 0.
    s = settle(two_house_community(allowed=[True, False]), ALL)
    assert s.metrics["conventional"]["budget_balance"] == pytest.approx(14 - 6)
    assert s.metrics["mmr"]["budget_balance"] == pytest.approx(0, abs=1e-12)
    assert s.metrics["bill_sharing"]["budget_balance"] == pytest.approx(0, abs=1e-12)


def test_zhou_indices_on_the_four_slot_case():
    from test_literature import c7

    m = settle(c7(), ("conventional", "sdr", "mmr_lit", "mmr")).metrics
    # |I - E| per slot = (4, 1, 3, 0) kW; gross energy sum L + sum PV = 12.5 + 10.5 kW; net imports 5 kW
    for values in m.values():
        assert values["energy_balance_index"] == pytest.approx(1 - 8 / 23)
        assert values["epari"] == pytest.approx(4 / 2)
        assert values["self_sufficiency_index"] == pytest.approx(1 - 5 / 12.5)
    assert m["sdr"]["self_sufficiency_index"] == pytest.approx(m["sdr"]["self_sufficiency"])
    # H2's bill under sdr equals its conventional bill: not strictly lower
    assert m["sdr"]["participation_index"] == 0.75 and m["sdr"]["participation_willingness"] == 1.0
    assert m["conventional"]["participation_index"] == 0.0
    assert m["conventional"]["value_tapping_index"] == 0.0
    assert m["sdr"]["value_tapping_index"] == pytest.approx(1.0, abs=1e-12)
    assert m["mmr_lit"]["value_tapping_index"] == pytest.approx(1.0, abs=1e-12)
    assert m["mmr"]["value_tapping_index"] > 1  # the notebook's MMR collects less than the meter's bill


def test_zhou_equality_index():
    from p2pstore.settlement.metrics import zhou_equality_index

    # incomes (-1, -3) are levelled up by 3 - 1e-9 to about (2, 0): IEI = 0.5
    assert zhou_equality_index([1.0, 3.0]) == pytest.approx(0.5, abs=1e-9)
    assert zhou_equality_index([2.0, 2.0, 2.0]) == 1.0
    # non-negative incomes are not shifted: (0, 1, 3) -> Gini 2 * 6 / (2 * 3 * 4) = 0.5
    assert zhou_equality_index([0.0, -1.0, -3.0]) == pytest.approx(1 - 12 / 24)


def test_every_metric_has_a_caption_and_source():
    from p2pstore.kpis import METRICS

    assert len({m.name for m in METRICS}) == len(METRICS)
    for m in METRICS:
        assert m.label and m.unit and m.source and m.meaning
        assert m.caption("EUR").startswith(m.label + " (")
    assert METRICS[0].caption("EUR") == "Community bill (EUR)"
    assert [m.name for m in METRICS if m.source.startswith("Zhou")] == [
        "value_tapping_index", "participation_index", "equality_index", "energy_balance_index", "epari",
        "self_sufficiency_index"]
