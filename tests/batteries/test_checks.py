"""The checks of the battery specification (docs/batteries.md): energy conservation, bounds,
never charging and discharging at once, zero capacity = no battery bit for bit, the community
rule never enlarging a slot's grid exchange, and a hand-worked example per rule."""

from __future__ import annotations

import numpy as np
import pytest

from communities import SHARED, scenario_for, small_community
from handmade import make_profiles
from p2pstore import registry
from p2pstore.profiles import generate
from p2pstore.scenario import Scenario
from p2pstore.simulate import simulate

RULES = ("self_consumption", "community")
BUILTINS = tuple(m.name for m in registry.BUILTINS)


def _runs():
    for rule in RULES:
        for seed in (1, 2):
            yield rule, small_community(seed), scenario_for(small_community(seed), rule, SHARED)
        yield rule, generate(Scenario()), Scenario(battery_share=1.0, shared_battery_kwh=15.0, battery_dispatch=rule)


@pytest.mark.parametrize("rule,profiles,scenario", list(_runs()))
def test_conservation_bounds_and_no_simultaneous_charge_and_discharge(rule, profiles, scenario):
    b = simulate(scenario, profiles).batteries
    f, dt = b.fleet, b.slot_hours
    stored = f.efficiency * b.charge_kw.sum(axis=1) * dt - b.discharge_kw.sum(axis=1) * dt / f.efficiency
    np.testing.assert_allclose(b.soc_kwh[:, -1] - f.e_initial, stored, rtol=0, atol=1e-9)
    assert (b.soc_kwh >= f.e_min[:, None]).all() and (b.soc_kwh <= f.e_max[:, None]).all()
    assert (b.charge_kw >= 0).all() and (b.discharge_kw >= 0).all()
    assert (b.charge_kw <= f.power_kw[:, None]).all() and (b.discharge_kw <= f.power_kw[:, None]).all()
    assert not (b.charge_kw * b.discharge_kw).any()
    assert b.charge_kw.any() and b.discharge_kw.any()
    k = b.kpis()
    np.testing.assert_allclose(k["battery_losses_kwh"],
                               ((1 - f.efficiency) * b.charge_kw.sum(axis=1) * dt
                                + (1 / f.efficiency - 1) * b.discharge_kw.sum(axis=1) * dt).sum(), rtol=1e-9)


@pytest.mark.parametrize("rule", RULES)
def test_zero_capacity_batteries_leave_every_bill_bit_for_bit(rule):
    base = Scenario(mechanisms=BUILTINS, days=5)
    plain = simulate(base)
    zero = simulate(base.replace(battery_share=1.0, battery_kwh_per_kwp=0.0, shared_battery_kwh=0.0,
                                 battery_dispatch=rule))
    assert zero.batteries is not None and len(zero.batteries.labels) == 8
    assert not zero.batteries.charge_kw.any() and not zero.batteries.discharge_kw.any()
    for m in BUILTINS:
        got = zero.results[m].bills
        assert np.array_equal(got[:-1], plain.results[m].bills), m
        assert got[-1] == 0.0
        assert np.array_equal(zero.results[m].cost[:-1], plain.results[m].cost), m


def _exchange(load, pv, on):
    """Per slot: the community meter's net exchange |sum(L - PV)| where P2P is on, the sum of
    the households' own exchanges sum |L - PV| where it is off (kW)."""
    net = load - pv
    return np.where(on, np.abs(net.sum(axis=0)), np.abs(net).sum(axis=0))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("shared", [None, SHARED], ids=["homes", "homes+shared"])
def test_the_community_rule_never_enlarges_a_slots_grid_exchange(seed, shared):
    profiles = small_community(seed, n=6)
    s = simulate(scenario_for(profiles, "community", shared), profiles)
    on = profiles.p2p_allowed
    before = _exchange(profiles.load_kw, profiles.pv_kw, on)
    after = _exchange(s.flows.load_kw, s.flows.pv_kw, on)
    assert (after <= before + 1e-9).all()
    assert (after < before - 1e-6).any()


def _two_households(allowed=None):
    """Household A (prosumer) and B (consumer), four one-hour slots (docs/batteries.md)."""
    return make_profiles([[1, 1, 3, 2], [1, 2, 1, 1]], [[4, 2, 0, 0], [0, 0, 0, 0]], [5.0, 6.0], [3.0, 0.0],
                         allowed, slot_hours=1.0, kinds=["prosumer", "consumer"])


def test_hand_worked_self_consumption():
    """A's battery: C = 4 kWh, P = 2 kW, eta = 0.8, soc 0..1, starting at 1 kWh. n_A = 3, 1, -3, -2.
    Slot 0: hc = min(2, 3 / 0.8) = 2, c = 2, E = 1 + 0.8 * 2 = 2.6. Slot 1: hc = min(2, 1.4 / 0.8)
    = 1.75, c = 1, E = 3.4. Slot 2: hd = min(2, 3.4 * 0.8) = 2, d = 2, E = 3.4 - 2 / 0.8 = 0.9.
    Slot 3: hd = min(2, 0.9 * 0.8) = 0.72, d = 0.72, E = 0.9 - 0.72 / 0.8 = 0."""
    p = _two_households()
    s = simulate(Scenario(mechanisms=("conventional",), batteries=(("P1", 4.0, 2.0, 0.8, 0.0, 1.0, 0.25),)), p)
    b = s.batteries
    np.testing.assert_allclose(b.charge_kw[0], [2, 1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(b.discharge_kw[0], [0, 0, 2, 0.72], atol=1e-12)
    np.testing.assert_allclose(b.soc_kwh[0], [2.6, 3.4, 0.9, 0.0], atol=1e-12)
    # A: exports 1 kWh at 3 in slot 0, imports 1 and 1.28 kWh at 5 in slots 2 and 3: 8.4 (13 without)
    np.testing.assert_allclose(s.results["conventional"].bills, [8.4, 30.0], rtol=1e-12)
    k = b.kpis()
    assert k["battery_throughput_kwh"] == pytest.approx(2.72)
    assert k["battery_losses_kwh"] == pytest.approx(3 - 2.72 + 1)   # charged - discharged - (0 - 1)
    assert k["battery_equivalent_cycles"] == pytest.approx(2.72 / 4)


def test_hand_worked_community():
    """A: C = 4, P = 2, empty; B: C = 2, P = 1, half full; eta = 1. n_A = 4, 3, -2, -1 and
    n_B = -3, -1, -1, -2, so s = 1, 2, -3, -3. Slot 0: hc = 2 and 1, T = 1: c = 2/3, 1/3.
    Slot 1: hc = 2 and 2/3, T = 2: c = 1.5, 0.5. Slot 2: hd = 2 and 1, T = 3: d = 2, 1.
    Slot 3: hd = 1/6 and 5/6, T = 1: d = 1/6, 5/6; both end empty."""
    p = make_profiles([[0, 0, 2, 1], [3, 1, 1, 2]], [[4, 3, 0, 0], [0, 0, 0, 0]], [5.0, 6.0], [3.0, 0.0],
                      slot_hours=1.0, kinds=["prosumer", "consumer"])
    rows = (("P1", 4.0, 2.0, 1.0, 0.0, 1.0, 0.0), ("C2", 2.0, 1.0, 1.0, 0.0, 1.0, 0.5))
    b = simulate(Scenario(mechanisms=("conventional",), batteries=rows, battery_dispatch="community"), p).batteries
    np.testing.assert_allclose(b.charge_kw, [[2 / 3, 1.5, 0, 0], [1 / 3, 0.5, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(b.discharge_kw, [[0, 0, 2, 1 / 6], [0, 0, 1, 5 / 6]], atol=1e-12)
    np.testing.assert_allclose(b.soc_kwh, [[2 / 3, 13 / 6, 1 / 6, 0], [4 / 3, 11 / 6, 5 / 6, 0]], atol=1e-12)
    # self-consumption would have filled A's battery from A's own surplus instead
    own = simulate(Scenario(mechanisms=("conventional",), batteries=rows), p).batteries
    np.testing.assert_allclose(own.charge_kw[0], [2, 2, 0, 0], atol=1e-12)
