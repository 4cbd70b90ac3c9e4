"""Scenario in, settlement out: profiles (generated unless given), then every requested mechanism.

:func:`check_memory` refuses, before anything is allocated or stored, a scenario whose run would
need more memory than this machine has.
"""

from __future__ import annotations

from p2pstore.errors import InputError
from p2pstore.scenario import Scenario

#: Peak memory of a run (measured with ``/usr/bin/time`` on ``p2pstore run``, SQLite, 50 to
#: 1,000 households and 30 to 120 days, then rounded up): a fixed part (interpreter, numpy,
#: pandas, SQLAlchemy) plus, per household-slot, the profiles and flows and, per mechanism, its
#: cost array and (``series='full'``) its rows on their way to the database. Bytes.
MEMORY_BASE = 192 * 2**20
MEMORY_PER_CELL = 48
MEMORY_PER_CELL_MECHANISM = 12
MEMORY_PER_CELL_MECHANISM_SERIES = 16


def _cells(scenario: Scenario, households: int | None, slots: int | None) -> tuple[int, int] | None:
    """``(households, slots)`` of the run: given, or as far as the spec alone tells (a generated
    community; an imported one only when the draw size and the window are set); None if unknown."""
    households = households if households is not None else scenario.n_households
    if slots is None and scenario.days is not None and scenario.slot_minutes is not None:
        slots = scenario.slots
    if households is None or slots is None:
        return None
    return households, slots


def estimate_peak_bytes(scenario: Scenario, series: str = "none", *, households: int | None = None,
                        slots: int | None = None) -> int:
    """Estimated peak memory (bytes) of settling and storing ``scenario`` with ``series``
    (``households`` x ``slots`` when given, else the spec's; a community whose size only its
    stored profile set knows counts as 0 cells)."""
    n, h = _cells(scenario, households, slots) or (0, 0)
    per_mechanism = MEMORY_PER_CELL_MECHANISM + (MEMORY_PER_CELL_MECHANISM_SERIES if series == "full" else 0)
    return MEMORY_BASE + n * h * (MEMORY_PER_CELL + per_mechanism * len(scenario.mechanisms))


def check_memory(scenario: Scenario, series: str = "none", available: int | None = None, *,
                 households: int | None = None, slots: int | None = None) -> None:
    """:class:`InputError` when ``scenario``'s estimated peak memory exceeds ``available`` bytes
    (default: what this machine has available now, see :func:`p2pstore.limits.available_memory_bytes`).
    Nothing is checked while the community's size is unknown (see :func:`estimate_peak_bytes`)."""
    from p2pstore.limits import available_memory_bytes, format_bytes

    size = _cells(scenario, households, slots)
    if size is None:
        return
    if available is None:
        available = available_memory_bytes()
    needed = estimate_peak_bytes(scenario, series, households=size[0], slots=size[1])
    if available is not None and needed > available:
        raise InputError(
            f"the scenario needs about {format_bytes(needed)} of memory ({size[0]} households x "
            f"{size[1]} slots, {len(scenario.mechanisms)} mechanism(s), series={series}); this machine "
            f"has {format_bytes(available)} available: make it smaller, or split it into several runs")


def simulate(scenario: Scenario, profiles=None):
    """Return the :class:`~p2pstore.settlement.Settlement` of ``scenario``.

    ``profiles``: the community to settle (:class:`~p2pstore.profiles.base.Profiles`); None
    generates it from the scenario. A scenario on a profile set or with a tariff file needs its
    stored data: :func:`p2pstore.run_scenario` (or the jobs layer) reads them from the store.

    Refuses a scenario too big for this machine before generating (:func:`check_memory`).
    Floating-point warnings are not printed (one scenario could print thousands); a result that
    is not finite is refused with one :class:`InputError` instead.
    """
    import numpy as np

    from p2pstore.settlement import settle

    if profiles is None:
        if scenario.imported or scenario.tariffs is not None or scenario.tariffs_hash is not None:
            raise InputError("this scenario uses stored data (a profile set or a tariff file): "
                             "settle it with p2pstore.run_scenario(scenario, store)")
        from p2pstore.profiles import generate

        check_memory(scenario)
        with np.errstate(all="ignore"):
            profiles = generate(scenario)
    else:
        check_memory(scenario, households=profiles.n_households, slots=profiles.n_slots)
    with np.errstate(all="ignore"):
        settlement = settle(profiles, scenario.mechanisms)
    bad = [name for name, values in (("load", profiles.load_kw), ("PV", profiles.pv_kw),
                                     *((f"{m} bills", r.bills) for m, r in settlement.results.items()))
           if not np.isfinite(values.sum())]
    if bad:
        raise InputError(f"the scenario produces non-finite values ({', '.join(bad)}): its ranges overflow "
                         "floating point")
    return settlement
