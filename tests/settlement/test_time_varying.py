"""Time-varying ([N, H]) tariffs through every mechanism and KPI.

Two checks: a hand-worked two-household time-of-use case, and the rule that per-slot tariffs
equal in every slot settle exactly like the flat tariffs they repeat.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from golden_data import GOLDEN_FILES, MECHANISMS, load, profiles_from
from handmade import make_profiles
from p2pstore.profiles.base import per_slot
from p2pstore.settlement import settle


def tou_community():
    """C1 and P1 over two 1-hour slots, time-of-use tariffs.

    slot 0 (peak):     buy C1 8, P1 6; sell P1 4  -> refs buy 7, sell 4.
                       C1 loads 2 kW; P1 loads 1 kW, makes 3 kW: exports 2 -> balanced community.
    slot 1 (off-peak): buy C1 4, P1 2; sell P1 -1 (exporting costs money) -> refs buy 3, sell 0
                       (no positive sell tariff in the slot). C1 loads 1 kW; P1 makes 2 kW.
    """
    return make_profiles(load=[[2, 1], [1, 0]], pv=[[0, 0], [3, 2]],
                         buy=[[8, 4], [6, 2]], sell=[[0, 0], [4, -1]], kinds=["consumer", "prosumer"])


def test_reference_tariffs_per_slot():
    p = tou_community()
    assert p.time_varying_tariffs
    np.testing.assert_array_equal(p.lambda_buy_ref, [7.0, 3.0])
    np.testing.assert_array_equal(p.lambda_sell_ref, [4.0, 0.0])
    buy, sell = p.reference_tariffs()
    np.testing.assert_array_equal(buy, [7.0, 3.0])
    np.testing.assert_array_equal(sell, [4.0, 0.0])
    np.testing.assert_array_equal(p.mean_tariffs()[0], [6.0, 4.0])


def test_hand_worked_time_of_use():
    s = settle(tou_community(), MECHANISMS)
    conv, mmr, bs = (s.results[m] for m in MECHANISMS)
    # conventional: C1 2*8 + 1*4; P1 exports 2 kWh at 4, then 2 kWh at -1 (pays 2)
    np.testing.assert_allclose(conv.cost, [[16, 4], [-8, 2]], rtol=1e-12)
    # slot 0 balanced: everyone at cp2p = mid = (7 + 4) / 2 = 5.5.
    # slot 1 surplus: cp2p = 1.5 + 1.5 * (1 - 2) / 3 = 1; imports at 1, exports at
    # (1 * 1 + 1 * 0) / 2 = 0.5.
    np.testing.assert_allclose(mmr.p2p_price, [5.5, 1.0], rtol=1e-12)
    np.testing.assert_allclose(mmr.import_price, [5.5, 1.0], rtol=1e-12)
    np.testing.assert_allclose(mmr.export_price, [5.5, 0.5], rtol=1e-12)
    np.testing.assert_allclose(mmr.cost, [[11, 1], [-11, -1]], rtol=1e-12)
    # bill sharing, slot 1: C1's 1 kWh all from P1 at 1; half of P1's 2 kWh to C1 at 1, the other
    # half to the grid at -1: -(1 * 1 + 1 * -1) = 0.
    np.testing.assert_allclose(bs.cost, [[11, 1], [-11, 0]], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bs.bills, [12, -11], rtol=1e-12)

    # KPIs: the community's net position is 0 kW then -1 kW (sold at the slot's sell ref 0),
    # so its grid cost is 0 and budget balance is the community bill.
    m = s.metrics
    assert m["conventional"]["budget_balance"] == pytest.approx(14.0)
    assert m["mmr"]["budget_balance"] == pytest.approx(0.0, abs=1e-12)
    assert m["bill_sharing"]["budget_balance"] == pytest.approx(1.0)
    assert m["mmr"]["savings_vs_conventional"] == pytest.approx(14.0)

    daily = s.daily
    np.testing.assert_allclose(daily["bill"]["bill_sharing"], [1.0], rtol=1e-12)


@pytest.fixture(scope="module", params=GOLDEN_FILES[:2], ids=lambda p: p.stem)
def golden_profiles(request):
    return profiles_from(load(request.param))


def test_constant_per_slot_tariffs_settle_like_flat(golden_profiles):
    flat = golden_profiles
    h = flat.n_slots
    tiled = dataclasses.replace(flat, lambda_buy=np.repeat(flat.lambda_buy[:, None], h, axis=1),
                                lambda_sell=np.repeat(flat.lambda_sell[:, None], h, axis=1))
    assert tiled.time_varying_tariffs and not flat.time_varying_tariffs
    np.testing.assert_array_equal(tiled.lambda_buy_ref, per_slot(flat.lambda_buy_ref, h))
    np.testing.assert_allclose(tiled.lambda_sell_ref, per_slot(flat.lambda_sell_ref, h), rtol=1e-15)
    a, b = settle(flat, MECHANISMS), settle(tiled, MECHANISMS)
    for m in MECHANISMS:
        np.testing.assert_allclose(b.results[m].cost, a.results[m].cost, rtol=1e-12, atol=1e-12, err_msg=m)
        for k, v in a.metrics[m].items():
            assert b.metrics[m][k] == pytest.approx(v, rel=1e-12, abs=1e-12), (m, k)


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="tariffs must both be"):
        make_profiles(load=[[1, 1]], pv=[[0, 0]], buy=[[1, 2]], sell=[0], kinds=["consumer"])
    with pytest.raises(ValueError, match="expected 3 per-slot values"):
        per_slot(np.zeros(2), 3)
