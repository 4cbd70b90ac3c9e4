"""The battery stage against the loop-based oracle of the specification (battery_oracle.py):
both rules, with and without the shared battery, with P2P-off slots, flat and time-varying
tariffs; every battery series value to 1e-9 absolute, the bills of conventional, sdr, mmr_lit
and bs_lit to 1e-9 relative."""

from __future__ import annotations

import numpy as np
import pytest

from communities import HOMES, MECHANISMS, SHARED, oracle, scenario_for, small_community
from p2pstore.simulate import simulate

RULES = ("self_consumption", "community")


def _check(profiles, rule, shared, homes=HOMES):
    settlement = simulate(scenario_for(profiles, rule, shared, homes), profiles)
    series, bills = oracle(profiles, rule, shared, homes)
    b = settlement.batteries
    assert [str(x) for x in b.labels] == list(series)
    for k, label in enumerate(b.labels):
        charge, discharge, soc = series[str(label)]
        np.testing.assert_allclose(b.charge_kw[k], charge, rtol=0, atol=1e-9)
        np.testing.assert_allclose(b.discharge_kw[k], discharge, rtol=0, atol=1e-9)
        np.testing.assert_allclose(b.soc_kwh[k], soc, rtol=0, atol=1e-9)
    for m in MECHANISMS:
        got = settlement.results[m].bills
        assert got.shape == bills[m].shape
        np.testing.assert_allclose(got, bills[m], rtol=1e-9, atol=1e-9 * np.abs(bills[m]).max())
    return settlement


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("shared", [None, SHARED], ids=["homes", "homes+shared"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_communities_match_the_oracle(rule, shared, seed):
    s = _check(small_community(seed), rule, shared)
    assert s.batteries.charge_kw.any() and s.batteries.discharge_kw.any()  # the batteries did work


@pytest.mark.parametrize("rule", RULES)
def test_time_varying_tariffs_and_a_shared_battery_alone(rule):
    profiles = small_community(4, time_varying=True)
    _check(profiles, rule, SHARED)
    s = _check(profiles, rule, SHARED, homes=())
    assert list(s.batteries.labels) == ["community_battery"]


@pytest.mark.parametrize("rule", RULES)
def test_p2p_off_slots_fall_back_to_self_consumption(rule):
    """Every slot off: the community rule dispatches exactly as self-consumption and the shared
    battery idles."""
    profiles = small_community(5, off=range(24))
    s = _check(profiles, rule, SHARED)
    base = simulate(scenario_for(profiles, "self_consumption", SHARED), profiles)
    np.testing.assert_array_equal(s.batteries.charge_kw, base.batteries.charge_kw)
    assert not s.batteries.charge_kw[-1].any() and not s.batteries.discharge_kw[-1].any()


def test_a_notebook_sized_community_matches_the_oracle():
    """The reference notebook's community (10 households, 30 days of 15-minute slots, its P2P-off
    windows and outages) with a battery on every prosumer and a shared one, under the community rule."""
    from p2pstore.profiles import generate
    from p2pstore.scenario import Scenario

    profiles = generate(Scenario())
    homes = tuple((i, 4.0 + i % 3, 2.0, 0.95, 0.1, 1.0, 0.5) for i in range(3, 10))
    for rule in RULES:
        _check(profiles, rule, (20.0, 10.0, 0.9, 0.1, 0.9, 0.5), homes)


def test_a_rule_registered_as_a_plugin_settles_like_the_built_in(monkeypatch):
    """The calling convention of a third rule: the built-in functions registered under other
    names run through the generic, checked loop and give the built-ins' series."""
    from p2pstore.batteries import builtin_rules, rules

    profiles = small_community(6)
    for name, function in (("mine_community", builtin_rules.community), ("mine_own", builtin_rules.self_consumption)):
        rules.register(name, function)
        try:
            got = simulate(scenario_for(profiles, name, SHARED), profiles).batteries
        finally:
            rules.unregister(name)
        want = simulate(scenario_for(profiles, name.replace("mine_", "").replace("own", "self_consumption"),
                                     SHARED), profiles).batteries
        for a in ("charge_kw", "discharge_kw", "soc_kwh"):
            np.testing.assert_allclose(getattr(got, a), getattr(want, a), rtol=0, atol=1e-9)


def test_a_plugin_rule_that_breaks_a_bound_is_refused_in_one_line():
    from p2pstore.batteries import rules
    from p2pstore.errors import InputError

    rules.register("greedy", lambda slot: (slot.charge_room_kw * 2 + 1, slot.zeros))
    try:
        with pytest.raises(InputError, match=r"^dispatch rule 'greedy' in slot \d+: exceeded a battery's headroom$"):
            simulate(scenario_for(small_community(1), "greedy", None), small_community(1))
    finally:
        rules.unregister("greedy")


def test_the_blocked_scan_of_self_consumption_is_the_slot_by_slot_clamp():
    from p2pstore.batteries.dispatch import clamped_cumsum

    rng = np.random.default_rng(3)
    steps = rng.uniform(-2.0, 2.0, (500, 7))
    lo, hi, start = rng.uniform(0.0, 1.0, 7), rng.uniform(4.0, 6.0, 7), rng.uniform(1.0, 4.0, 7)
    scanned = np.empty_like(steps)
    clamped_cumsum(steps, start, lo, hi, scanned)
    energy, looped = start.copy(), np.empty_like(steps)
    for h in range(len(steps)):  # the recursion it stands for, one slot at a time
        energy = np.maximum(np.minimum(energy + steps[h], hi), lo)
        looped[h] = energy
    np.testing.assert_allclose(scanned, looped, rtol=0, atol=1e-12)
    profiles = small_community(7, slots=500, off=())
    _check(profiles, "self_consumption", None)
