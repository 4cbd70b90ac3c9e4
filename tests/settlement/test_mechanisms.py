"""Each mechanism on hand-made communities, including the notebook's edge branches."""

from __future__ import annotations

import numpy as np
import pytest

from handmade import make_profiles, two_house_community
from p2pstore.settlement import settle
from p2pstore.settlement.prices import dynamic_p2p_price, mmr_prices, p2p_fractions

ALL = ("conventional", "mmr", "bill_sharing")


def test_two_house_community_by_hand():
    s = settle(two_house_community(), ALL)
    conv, mmr, bs = (s.results[m] for m in ALL)
    # conventional: C1 2 kWh x 7 twice; P1 exports 2 kWh at 3, then imports 1 kWh at 5
    np.testing.assert_allclose(conv.cost, [[14, 14], [-6, 5]])
    # cp2p: slot 0 balanced -> mid 4.5; slot 1 all shortage -> buy_ref 6
    np.testing.assert_allclose(mmr.p2p_price, [4.5, 6.0])
    # MMR: balanced slot both sides at cp2p; shortage slot c_im = (0*6 + 3*6)/3 = 6, c_ex = cp2p
    np.testing.assert_allclose(mmr.import_price, [4.5, 6.0])
    np.testing.assert_allclose(mmr.export_price, [4.5, 6.0])
    np.testing.assert_allclose(mmr.cost, [[9, 12], [-9, 6]])
    # bill sharing: slot 0 all 2 kWh traded at 4.5; slot 1 nothing to trade -> own tariffs
    np.testing.assert_allclose(bs.cost, [[9, 14], [-9, 5]])
    assert s.totals() == pytest.approx({"conventional": 27, "mmr": 18, "bill_sharing": 19})
    np.testing.assert_allclose(mmr.p2p_import_share, [1, 0])
    np.testing.assert_allclose(mmr.p2p_export_share, [1, 0])
    np.testing.assert_allclose(bs.p2p_import_kwh(), [[2, 0], [0, 0]])
    np.testing.assert_allclose(bs.p2p_export_kwh(), [[0, 0], [2, 0]])
    assert np.all(conv.p2p_import_share == 0) and np.all(conv.p2p_export_share == 0)


def test_p2p_off_slot_uses_grid_prices():
    s = settle(two_house_community(allowed=[False, True]), ALL)
    mmr, bs, conv = s.results["mmr"], s.results["bill_sharing"], s.results["conventional"]
    np.testing.assert_allclose(mmr.import_price, [6.0, 6.0])
    np.testing.assert_allclose(mmr.export_price, [3.0, 6.0])
    np.testing.assert_allclose(mmr.cost, [[12, 12], [-6, 6]])
    np.testing.assert_allclose(bs.cost, conv.cost)
    assert np.all(mmr.p2p_import_share == 0) and np.all(bs.p2p_export_share == 0)


def test_surplus_and_partial_matching():
    # 1 slot, 1 h: C1 needs 1 kW, P1 exports 3 kW (load 0, pv 3) -> surplus, I=1, E=3
    p = make_profiles(load=[[1.0], [0.0]], pv=[[0.0], [3.0]], buy=[7, 5], sell=[0, 3])
    s = settle(p, ALL)
    cp = 4.5 + 1.5 * (1 - 3) / (1 + 3)  # mid + spread * net = 3.75
    mmr, bs = s.results["mmr"], s.results["bill_sharing"]
    assert mmr.p2p_price[0] == pytest.approx(cp)
    assert mmr.import_price[0] == pytest.approx(cp)
    assert mmr.export_price[0] == pytest.approx((1 * cp + 2 * 3) / 3)
    # bill sharing: C1's 1 kWh all from peers; P1 sells 1/3 of its 3 kWh to peers, 2 kWh to grid
    np.testing.assert_allclose(bs.cost[:, 0], [cp, -(1 * cp + 2 * 3)])
    np.testing.assert_allclose(bs.p2p_export_share, [1 / 3])


def test_balanced_branch_within_eps():
    # |PV - L| = 5e-7 <= 1e-6 although PV > L: both prices are cp2p (not the surplus mix)
    p = make_profiles(load=[[1.0], [0.0]], pv=[[0.0], [1.0 + 5e-7]], buy=[7, 5], sell=[0, 3])
    mmr = settle(p, ("mmr",)).results["mmr"]
    assert mmr.import_price[0] == mmr.export_price[0] == mmr.p2p_price[0]
    p = make_profiles(load=[[1.0], [0.0]], pv=[[0.0], [1.0 + 2e-6]], buy=[7, 5], sell=[0, 3])
    mmr = settle(p, ("mmr",)).results["mmr"]
    assert mmr.export_price[0] < mmr.import_price[0]


def test_empty_slot_costs_nothing_and_prices_mid():
    p = make_profiles(load=[[0.0, 1.0], [0.0, 0.0]], pv=[[0.0, 0.0], [0.0, 2.0]], buy=[7, 5], sell=[0, 3])
    s = settle(p, ALL)
    for r in s.results.values():
        assert np.all(r.cost[:, 0] == 0)
    assert s.results["mmr"].p2p_price[0] == 4.5  # L + PV < 1e-9 -> mid
    assert s.results["mmr"].import_price[0] == 4.5


def test_price_helpers_directly():
    cp = dynamic_p2p_price(np.array([0.0, 1.0, 3.0]), np.array([0.0, 3.0, 1.0]), 6.0, 3.0)
    np.testing.assert_allclose(cp, [4.5, 3.75, 5.25])
    c_im, c_ex = mmr_prices(np.array([1.0, 3.0]), np.array([3.0, 1.0]), cp[1:], 6.0, 3.0, np.array([True, True]))
    np.testing.assert_allclose(c_im, [3.75, (1 * 5.25 + 2 * 6) / 3])
    np.testing.assert_allclose(c_ex, [(1 * 3.75 + 2 * 3) / 3, 5.25])
    f_im, f_ex = p2p_fractions(np.array([0.0, 2.0, 4.0]), np.array([1.0, 0.0, 2.0]), np.array([True, True, False]))
    np.testing.assert_allclose(f_im, [0, 0, 0])
    np.testing.assert_allclose(f_ex, [0, 0, 0])
    f_im, f_ex = p2p_fractions(np.array([4.0]), np.array([2.0]), np.array([True]))
    np.testing.assert_allclose([f_im[0], f_ex[0]], [0.5, 1.0])


def test_unknown_mechanism_is_refused():
    from p2pstore.errors import UnknownMechanismError

    with pytest.raises(UnknownMechanismError, match=r"unknown mechanism 'auction' \(known: conventional, mmr, "
                                                    r"bill_sharing, sdr, mmr_lit, bs_lit, bs_lit_slot"):
        settle(two_house_community(), ("auction",))
