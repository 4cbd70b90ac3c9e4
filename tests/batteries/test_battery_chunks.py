"""Batteries settled in household chunks: the same bills, prices, KPIs and battery totals as the
whole community at once, bit for bit, for every fleet, rule and tariff shape (docs/scale.md)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from p2pstore.batteries.chunked import ChunkedBatteries
from p2pstore.batteries.params import COMMUNITY_BATTERY
from p2pstore.batteries.rules import register, unregister
from p2pstore.errors import InputError
from p2pstore.limits import HOUSEHOLD_BLOCK
from p2pstore.memory_plan import estimate_peak_bytes
from p2pstore.profiles import generate
from p2pstore.profiles.chunks import ProfilesChunks
from p2pstore.profiles.notebook_chunks import NotebookChunks
from p2pstore.profiles.standard_chunks import StandardChunks
from p2pstore.scenario import Scenario
from p2pstore.settlement.chunked import settle_chunked
from p2pstore.simulate import check_memory, simulate
from test_chunked import assert_same_settlement  # tests/settlement (conftest.py puts it on the path)

MECHANISMS = ("conventional", "sdr", "mmr_lit", "bs_lit", "mmr", "bill_sharing")
#: 70 consumers: prosumers (and so batteries) start inside a household block
BASE = dict(consumers=70, prosumers=150, days=2, mechanisms=MECHANISMS, inverter_outages=6, maintenance_windows=2,
            seed=5)
FLEETS = {
    "home": dict(battery_share=0.6),
    "shared": dict(shared_battery_kwh=60.0),
    "both": dict(battery_share=0.7, shared_battery_kwh=80.0, shared_battery_kw=25.0),
    "pinned": dict(batteries=(("C3", 5.0, 2.0, 0.9, 0.1, 0.95, 0.5), ("C64", 3.0, 1.5, 0.95, 0.0, 1.0, 1.0),
                              ("P1", 8.0, 3.0, 0.8, 0.2, 0.9, 0.2), ("P150", 2.0, 0.8, 0.92, 0.1, 1.0, 0.5)),
                   shared_battery_kwh=30.0),
}


def _whole(scenario, profiles):
    return simulate(scenario, profiles, memory_limit=64 * 2**30)


def assert_same(whole, chunked):
    """Every stored value of the chunked settlement is the whole one's, bit for bit."""
    assert_same_settlement(whole, chunked, MECHANISMS)  # bills, prices, totals, metrics (battery KPIs too)
    assert list(chunked.profiles.labels) == list(whole.profiles.labels)
    assert list(chunked.profiles.kinds) == list(whole.profiles.kinds)
    assert list(chunked.batteries.labels) == list(whole.batteries.labels)
    assert chunked.batteries.rule == whole.batteries.rule
    for f in dataclasses.fields(whole.batteries.fleet):
        np.testing.assert_array_equal(getattr(chunked.batteries.fleet, f.name), getattr(whole.batteries.fleet, f.name))
    for key, value in whole.batteries.per_battery().items():
        np.testing.assert_array_equal(chunked.batteries.per_battery()[key], value, err_msg=key)


@pytest.mark.parametrize("rule", ["self_consumption", "community"])
@pytest.mark.parametrize("fleet", sorted(FLEETS))
def test_chunked_batteries_are_the_whole_communitys(fleet, rule):
    s = Scenario(**BASE, **FLEETS[fleet], battery_dispatch=rule)
    whole = _whole(s, generate(s))
    assert whole.batteries.kpis()["battery_throughput_kwh"] > 0
    for size in (HOUSEHOLD_BLOCK, 3 * HOUSEHOLD_BLOCK + 5, 10_000):
        assert_same(whole, settle_chunked(NotebookChunks(s), MECHANISMS, size, stage=ChunkedBatteries(s)))


def test_time_of_use_tariffs_and_the_standard_generator():
    s = Scenario(**{**BASE, "generator": "standard"}, **FLEETS["both"], battery_dispatch="community")
    profiles = generate(s)
    hour = np.arange(profiles.n_slots) % profiles.periods_per_day * profiles.slot_hours
    evening = np.where((hour >= 17) & (hour < 21), 1.6, 0.9)  # a time-of-use tariff: dear evenings
    tou = dataclasses.replace(profiles, lambda_buy=np.outer(profiles.lambda_buy, evening),
                              lambda_sell=np.outer(profiles.lambda_sell, evening))
    whole = _whole(s, tou)
    assert_same(whole, settle_chunked(ProfilesChunks(tou), MECHANISMS, HOUSEHOLD_BLOCK, stage=ChunkedBatteries(s)))
    flat = _whole(s, profiles)
    assert_same(flat, settle_chunked(StandardChunks(s), MECHANISMS, HOUSEHOLD_BLOCK, stage=ChunkedBatteries(s)))


def test_two_chunk_processes_and_a_community_of_whole_blocks():
    s = Scenario(**{**BASE, "consumers": 50, "prosumers": 206}, **FLEETS["both"])  # 256 = 4 blocks
    whole = _whole(s, generate(s))
    assert whole.profiles.labels[-1] == COMMUNITY_BATTERY
    assert_same(whole, settle_chunked(NotebookChunks(s), MECHANISMS, HOUSEHOLD_BLOCK, workers=2,
                                      stage=ChunkedBatteries(s)))


def _chunked_limit(s) -> int:
    """A limit the whole community just misses: the run is planned in chunks."""
    return estimate_peak_bytes(s, "community") - 1


def test_a_limit_that_forces_chunks_settles_batteries_in_chunks():
    s = Scenario(**BASE, **FLEETS["both"], battery_dispatch="community")
    limit = _chunked_limit(s)
    plan = check_memory(s, "community", limit)
    assert plan.chunked and plan.chunks >= 2
    chunked = simulate(s, series="community", memory_limit=limit)
    assert not hasattr(chunked.batteries, "charge_kw")  # totals only: no [B, H] series of the town
    assert_same(_whole(s, generate(s)), chunked)


def test_what_cannot_settle_in_chunks_is_refused_in_one_line():
    register("charge_first", lambda slot: (slot.charge_room_kw, slot.zeros))
    try:
        s = Scenario(**BASE, battery_share=0.5, battery_dispatch="charge_first")
        with pytest.raises(InputError, match=r"^dispatch rule 'charge_first': a plugin dispatch rule sees every "
                                             r"battery in every slot.*memory limit"):
            check_memory(s, "community", _chunked_limit(s))
        assert not check_memory(s, "community", 64 * 2**30).chunked  # whole: settled as ever
    finally:
        unregister("charge_first")


def test_a_share_of_no_battery_is_a_run_without_batteries_in_chunks_too():
    s = Scenario(**BASE, battery_share=0.0)
    whole = _whole(s, generate(s))
    chunked = settle_chunked(NotebookChunks(s), MECHANISMS, HOUSEHOLD_BLOCK, stage=ChunkedBatteries(s))
    assert whole.batteries is None and chunked.batteries is None
    assert_same_settlement(whole, chunked, MECHANISMS)


def test_a_chunked_battery_run_keeps_no_per_slot_series():
    from p2pstore.batteries.chunked import check_chunkable

    with pytest.raises(InputError, match=r"^series=full stores every battery's per-slot series, which a run settled "
                                         r"in household chunks does not keep: use --series community or none"):
        check_chunkable(Scenario(**BASE, battery_share=0.5), "full")
    check_chunkable(Scenario(**BASE, battery_share=0.5), "community")
