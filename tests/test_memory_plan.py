"""The memory plan: the whole community when it fits, household chunks when it does not."""

from __future__ import annotations

import pytest

from p2pstore.errors import InputError
from p2pstore.limits import HOUSEHOLD_BLOCK, MEMORY_LIMIT_ENV, memory_limit_bytes, parse_size
from p2pstore.memory_plan import (CHUNK_BYTES_PER_CELL, CHUNK_TARGET_BYTES, MEMORY_BASE, PER_HOUSEHOLD_BYTES,
                                  plan_memory, series_bytes_per_cell)
from p2pstore.scenario import Scenario
from p2pstore.simulate import check_memory, estimate_peak_bytes

TOWN = Scenario(consumers=7_500, prosumers=17_500, days=365, mechanisms=["conventional", "sdr", "mmr_lit", "bs_lit"])
MONTH = Scenario(consumers=600, prosumers=1_400, days=30)


def test_sizes_parse_in_decimal_and_binary_units():
    assert parse_size("300MB") == 300 * 10**6
    assert parse_size("2GiB") == parse_size("2G") == 2 * 2**30
    assert parse_size("1.5 GB") == 1_500_000_000 and parse_size("4096") == 4096
    for bad in ("", "x", "-1MB", "0", "3PB", "1e9"):
        with pytest.raises(InputError, match="--memory-limit must be a positive size") as err:
            parse_size(bad)
        assert "\n" not in str(err.value)


def test_the_limit_comes_from_the_option_then_the_environment_then_the_machine(monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "3GB")
    assert memory_limit_bytes(123) == 123 and memory_limit_bytes() == 3 * 10**9
    monkeypatch.delenv(MEMORY_LIMIT_ENV)
    assert 2**26 < memory_limit_bytes() < 2**50


def test_a_community_that_fits_is_settled_at_once():
    plan = plan_memory(MONTH, "community", 64 * 2**30)
    assert not plan.chunked and plan.chunks == 1 and plan.peak_bytes == estimate_peak_bytes(MONTH, "community")
    assert plan.describe().startswith("settles 2,000 households x 2,880 slots at once: about ")


def test_a_town_is_chunked_within_its_limit():
    plan = check_memory(TOWN, "community", 3 * 10**9)
    assert plan.chunked and plan.chunk_households % HOUSEHOLD_BLOCK == 0
    assert plan.peak_bytes <= 3 * 10**9 and plan.chunks == -(-25_000 // plan.chunk_households)
    assert "in " in plan.describe() and "chunks of up to" in plan.describe() and "2.8 GiB" in plan.describe()
    # a huge limit does not make huge chunks
    big = plan_memory(TOWN, "community", 2**45)
    assert not big.chunked or big.peak_bytes - plan.peak_bytes < CHUNK_TARGET_BYTES


def test_the_month_chunks_at_300_megabytes():
    plan = plan_memory(MONTH, "community", parse_size("300MB"))
    assert plan.chunked and plan.chunks >= 2 and plan.peak_bytes <= 300 * 10**6


def test_series_full_is_chunked_with_room_for_writing_a_chunk():
    """``--series full`` writes a chunk's rows after the settlement, in the writing process: the
    chunk is sized so that both that and ``workers`` chunks being settled fit the limit."""
    plan = plan_memory(TOWN, "full", 3 * 10**9)
    assert plan.chunked and plan.streams_series and plan.peak_bytes <= 3 * 10**9
    assert ", household series written chunk by chunk" in plan.describe()
    assert not plan_memory(TOWN, "community", 3 * 10**9).streams_series
    plugin = Scenario(consumers=7_500, prosumers=17_500, days=365, mechanisms=["conventional", "flat_p2p"])
    assert series_bytes_per_cell(plugin, "full") > CHUNK_BYTES_PER_CELL > series_bytes_per_cell(TOWN, "full") > 0
    assert series_bytes_per_cell(TOWN, "community") == 0
    fixed = MEMORY_BASE + 25_000 * PER_HOUSEHOLD_BYTES
    one = plan_memory(plugin, "full", fixed + 35_040 * 130 * HOUSEHOLD_BLOCK)  # room for one worker only
    assert one.workers == 1 and one.chunk_households == HOUSEHOLD_BLOCK
    assert one.chunk_households * 35_040 * series_bytes_per_cell(plugin, "full") <= one.limit - fixed
    assert one.peak_bytes <= one.limit


def test_what_cannot_fit_is_refused_in_one_line():
    with pytest.raises(InputError, match="in chunks of 64 households.*has 190.7 MiB available") as err:
        plan_memory(TOWN, "none", 200 * 10**6)
    assert "\n" not in str(err.value)


def test_what_needs_the_whole_community_is_refused_when_it_does_not_fit():
    with pytest.raises(InputError, match="the whole community at once.*make it smaller") as err:
        check_memory(TOWN, "community", 3 * 10**9, chunks=False)
    assert "\n" not in str(err.value)
    assert not check_memory(MONTH, "community", 64 * 2**30, chunks=False).chunked


def test_a_town_with_batteries_is_planned_in_chunks_that_hold_them():
    town = Scenario(households=5_000, prosumer_share=0.7, days=365, battery_share=0.5, shared_battery_kwh=500.0)
    limit = parse_size("2GB")
    plan = check_memory(town, "community", limit)  # was refused: batteries settled whole communities only
    plain = plan_memory(Scenario(households=5_000, prosumer_share=0.7, days=365), "community", limit)
    assert plan.chunked and plan.chunk_households == HOUSEHOLD_BLOCK and plan.workers == 2
    assert plain.peak_bytes < plan.peak_bytes <= limit  # the batteries' chunks hold more
    assert "in 79 chunks of up to 64 households, 2 at a time" in plan.describe()
    with pytest.raises(InputError, match="series=full stores every battery's per-slot series"):
        check_memory(town, "full", limit)  # the households' series stream per chunk; the batteries' do not


def test_a_long_horizon_is_chunked_one_block_at_a_time_when_the_limit_holds_it():
    """Two years at 15 minutes: one block of households is above the chunk target, yet the
    run fits the limit in blocks, so it is planned (not refused), one block per chunk."""
    years = Scenario(consumers=900, prosumers=2_100, days=730, mechanisms=["conventional"])
    plan = plan_memory(years, "none", 10**9)
    assert plan.chunked and plan.chunk_households == HOUSEHOLD_BLOCK and plan.peak_bytes <= 10**9
    with pytest.raises(InputError, match="needs about .* of memory"):
        plan_memory(years, "none", 400 * 10**6)  # not even a block fits


def _stated_need(scenario, series: str, limit: int) -> int:
    """The bytes a refusal of ``scenario`` at ``limit`` says the run needs."""
    import re

    with pytest.raises(InputError) as err:
        plan_memory(scenario, series, limit)
    number, unit = re.search(r"needs about ([\d.]+) (\w+) of memory", str(err.value)).groups()
    return int(float(number) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[unit])


@pytest.mark.parametrize("scenario, series", [
    (Scenario(consumers=1, prosumers=1, days=365, mechanisms=["conventional", "sdr", "mmr_lit", "bs_lit"]), "full"),
    (Scenario(consumers=10, prosumers=20, days=730, mechanisms=["conventional"]), "none"),
    (Scenario(households=65, prosumer_share=0.5, days=30, mechanisms=["mmr", "bill_sharing"]), "full"),
    (TOWN, "none"),
])
def test_a_refusal_states_the_least_memory_the_run_takes(scenario, series):
    """The memory a refusal names runs the scenario, and a little less is refused again: it was
    once a 64-household chunk's for every community (2 households x a year: '465.8 MiB', when
    207 MiB settle them at once)."""
    need = _stated_need(scenario, series, MEMORY_BASE)
    plan = plan_memory(scenario, series, need + 2**20)  # the message rounds to 0.1 MiB
    assert plan.peak_bytes <= need + 2**20 and " 1 chunks" not in plan.describe()
    _stated_need(scenario, series, int(need * 0.99))
