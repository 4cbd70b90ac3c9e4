"""Scenario in, settlement out: profiles (generated unless given), then every requested mechanism.

:func:`check_memory` refuses, before anything is allocated or stored, a scenario whose run would
not fit the memory limit even in household chunks; :func:`simulate` settles the whole community
at once when it fits, else chunk by chunk (:mod:`p2pstore.memory_plan`).
"""

from __future__ import annotations

import dataclasses

from p2pstore.batteries import keys as battery_keys
from p2pstore.errors import InputError
from p2pstore.memory_plan import (MEMORY_BASE, MEMORY_PER_CELL, MEMORY_PER_CELL_MECHANISM,  # noqa: F401
                                  MEMORY_PER_CELL_MECHANISM_SERIES, MemoryPlan, estimate_peak_bytes, plan_memory)
from p2pstore.scenario import Scenario


def check_memory(scenario: Scenario, series: str = "none", available: int | None = None, *,
                 households: int | None = None, slots: int | None = None, chunks: bool = True) -> MemoryPlan:
    """The run's :class:`~p2pstore.memory_plan.MemoryPlan` within ``available`` bytes (default:
    ``--memory-limit``, else what this machine has available now); :class:`InputError` (one
    line) when it cannot fit, even in chunks (``chunks=False``: at once, for what needs the whole
    community, such as storing it as a profile set), or when a chunked run names a plugin that
    settles whole communities only. Nothing is refused while the community's size is unknown."""
    batteries = battery_keys.has_batteries(scenario)
    plan = plan_memory(scenario, series, available, households=households, slots=slots, chunks=chunks,
                       batteries=batteries)
    if plan.chunked:
        from p2pstore.settlement.chunked import check_chunkable  # lazy: keeps start-up light

        check_chunkable(scenario.mechanisms)
        if batteries:
            from p2pstore.batteries.chunked import check_chunkable as check_batteries  # lazy: likewise

            check_batteries(scenario, series)
    return plan


def simulate(scenario: Scenario, profiles=None, *, source=None, series: str = "none",
             memory_limit: int | None = None, check_form=None):
    """Return the :class:`~p2pstore.settlement.Settlement` of ``scenario``.

    ``profiles``: the community to settle (:class:`~p2pstore.profiles.base.Profiles`); None
    generates it from the scenario. ``source``: a
    :class:`~p2pstore.profiles.chunks.ChunkSource` of the community instead (a generated one
    with a stored tariff file). A scenario on a profile set or with a tariff file needs its
    stored data: :func:`p2pstore.run_scenario` (or the jobs layer) reads them from the store.

    The run is planned within ``memory_limit`` bytes (:func:`check_memory`, before generating):
    the whole community at once, or chunk by chunk (a settlement of ``[N]`` and ``[H]`` results,
    :func:`p2pstore.settlement.chunked.settle_chunked`; ``check_form``: the store's test of a
    declared cost form, applied to every chunk when ``series='full'``, so that the store knows
    which household series it can derive). Floating-point warnings are not printed
    (one scenario could print thousands); a result that is not finite is refused with one
    :class:`InputError` instead.
    """
    import numpy as np  # lazy: keeps start-up light

    if profiles is None and source is None and (scenario.imported or scenario.tariffs is not None
                                                or scenario.tariffs_hash is not None):
        raise InputError("this scenario uses stored data (a profile set or a tariff file): "
                         "settle it with p2pstore.run_scenario(scenario, store)")
    size = {} if profiles is None else {"households": profiles.n_households, "slots": profiles.n_slots}
    plan = check_memory(scenario, series, memory_limit, **size)
    with np.errstate(all="ignore"):
        if plan.chunked:
            from p2pstore.settlement.chunked import settle_chunked  # lazy: keeps start-up light

            if profiles is not None:
                from p2pstore.profiles.chunks import ProfilesChunks  # lazy: keeps start-up light

                source = ProfilesChunks(profiles)
            elif source is None:
                from p2pstore.profiles import generated_chunks  # lazy: keeps start-up light

                source = generated_chunks(scenario)
            return settle_chunked(source, scenario.mechanisms, plan.chunk_households, workers=plan.workers,
                                  check_form=check_form if series == "full" else None,
                                  stage=_battery_stage(scenario))
        if source is not None and battery_keys.has_batteries(scenario):  # the stage needs the whole community
            source.prepare([0, source.n_households])
            profiles, source = source.chunk(0, source.n_households), None
        if source is not None:  # a source that fits: one chunk
            from p2pstore.settlement.chunked import settle_chunked  # lazy: keeps start-up light

            return settle_chunked(source, scenario.mechanisms, source.n_households,
                                  check_form=check_form if series == "full" else None)
        if profiles is None:
            from p2pstore.profiles import generate  # lazy: keeps start-up light

            profiles = generate(scenario)
        return _settle_whole(scenario, profiles)


def _battery_stage(scenario: Scenario):
    """The chunk stage of the scenario's batteries (None without any)."""
    if not battery_keys.has_batteries(scenario):
        return None
    from p2pstore.batteries.chunked import ChunkedBatteries  # lazy: numpy, only for a run with batteries

    return ChunkedBatteries(scenario)


def _settle_whole(scenario: Scenario, profiles):
    import numpy as np  # lazy: keeps start-up light

    from p2pstore.settlement import settle  # lazy: keeps start-up light

    settlement = _settle_with_batteries(scenario, profiles, settle)
    bad = [name for name, values in (("load", profiles.load_kw), ("PV", profiles.pv_kw),
                                     *((f"{m} bills", r.bills) for m, r in settlement.results.items()))
           if not np.isfinite(values.sum())]
    if bad:
        raise InputError(f"the scenario produces non-finite values ({', '.join(bad)}): its ranges overflow "
                         "floating point")
    return settlement


def _settle_with_batteries(scenario: Scenario, profiles, settle):
    """Settle ``profiles`` under the scenario's mechanisms with ``settle``, after its batteries'
    dispatch if it has any (the stage between profiles and settlement; docs/batteries.md)."""
    from p2pstore.batteries.stage import apply_batteries, pinned  # numpy: imported when a run settles

    staged = apply_batteries(pinned(scenario, profiles.labels), profiles)
    if staged is None:
        return settle(profiles, scenario.mechanisms)
    settled = settle(staged.post, scenario.mechanisms)
    return dataclasses.replace(settled, profiles=staged.own, batteries=staged.batteries)
