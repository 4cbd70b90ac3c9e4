"""Settlement against the reference notebook's own results (tests/golden/*.npz)."""

from __future__ import annotations

import numpy as np
import pytest

from golden_data import GOLDEN_FILES, MECHANISMS, assert_close, ids, load, profiles_from
from p2pstore.scenario import Scenario
from p2pstore.settlement import settle
from p2pstore.simulate import simulate


def test_golden_files_present():
    assert len(GOLDEN_FILES) >= 4


@pytest.fixture(params=GOLDEN_FILES, ids=ids(GOLDEN_FILES), scope="module")
def golden(request):
    return load(request.param)


@pytest.fixture(scope="module")
def settled(golden):
    return settle(profiles_from(golden), MECHANISMS)


def test_reference_tariffs(golden):
    p = profiles_from(golden)
    assert p.lambda_buy_ref == golden["lambda_buy_ref"]
    assert p.lambda_sell_ref == golden["lambda_sell_ref"]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_costs_and_bills(golden, settled, mechanism):
    r = settled.results[mechanism]
    assert r.cost.shape == golden[f"cost_{mechanism}"].shape
    assert_close(r.cost, golden[f"cost_{mechanism}"], f"{mechanism} per-slot cost")
    assert_close(r.bills, golden[f"bills_{mechanism}"], f"{mechanism} bills")
    np.testing.assert_array_equal(r.bills, r.cost.sum(axis=1))


def test_conventional_and_mmr_are_bit_identical(golden, settled):
    # dt = 0.25 is a power of two, so folding it into prices reorders no rounding.
    assert np.array_equal(settled.results["conventional"].cost, golden["cost_conventional"])
    assert np.array_equal(settled.results["mmr"].cost, golden["cost_mmr"])


def test_prices(golden, settled):
    mmr = settled.results["mmr"]
    assert_close(mmr.import_price, golden["c_im"], "c_im")
    assert_close(mmr.export_price, golden["c_ex"], "c_ex")
    assert_close(mmr.p2p_price, golden["cp2p"], "cp2p (mmr)")
    assert_close(settled.results["bill_sharing"].p2p_price, golden["cp2p_bs"], "cp2p (bill sharing)")
    conv = settled.results["conventional"]
    assert conv.import_price is None and conv.export_price is None and conv.p2p_price is None


def test_p2p_off_slots_use_reference_tariffs(golden, settled):
    off = ~golden["p2p_allowed"]
    assert off.any()
    mmr = settled.results["mmr"]
    assert np.all(mmr.import_price[off] == golden["lambda_buy_ref"])
    assert np.all(mmr.export_price[off] == golden["lambda_sell_ref"])
    bs, conv = settled.results["bill_sharing"], settled.results["conventional"]
    assert_close(bs.cost[:, off], conv.cost[:, off], "bill sharing = conventional where P2P is off")


def test_daily_table(golden, settled):
    d = settled.daily
    days = len(golden["daily_day"])
    np.testing.assert_array_equal(d["day"], golden["daily_day"])
    assert len(d["date"]) == days and str(d["date"][0]) == "2025-01-01"
    assert_close(d["avg_load_kwh_per_house"], golden["daily_avg_load_kwh_per_house"], "daily load")
    assert_close(d["avg_pv_kwh_per_prosumer"], golden["daily_avg_pv_kwh_per_prosumer"], "daily pv")
    for m in MECHANISMS:
        assert_close(d["bill"][m], golden[f"daily_bill_{m}"], f"daily bill {m}")


def test_end_to_end_from_scenario(golden):
    seed, nc, npro, days = (int(v) for v in golden["params"])
    s = simulate(Scenario(seed=seed, consumers=nc, prosumers=npro, days=days))
    for m in MECHANISMS:
        assert_close(s.results[m].cost, golden[f"cost_{m}"], m)
        assert_close(s.results[m].bills, golden[f"bills_{m}"], m)


def test_default_scenario_totals():
    s = simulate(Scenario())
    totals = {m: round(v, 2) for m, v in s.totals().items()}
    assert totals == {"conventional": 7010.37, "mmr": 6491.37, "bill_sharing": 6572.98}
