"""Scenario in, settlement out: generate profiles, then settle every requested mechanism.

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


def estimate_peak_bytes(scenario: Scenario, series: str = "none") -> int:
    """Estimated peak memory (bytes) of settling and storing ``scenario`` with ``series``."""
    cells = scenario.households * scenario.slots
    per_mechanism = MEMORY_PER_CELL_MECHANISM + (MEMORY_PER_CELL_MECHANISM_SERIES if series == "full" else 0)
    return MEMORY_BASE + cells * (MEMORY_PER_CELL + per_mechanism * len(scenario.mechanisms))


def check_memory(scenario: Scenario, series: str = "none", available: int | None = None) -> None:
    """:class:`InputError` when ``scenario``'s estimated peak memory exceeds ``available`` bytes
    (default: what this machine has available now, see :func:`p2pstore.limits.available_memory_bytes`)."""
    from p2pstore.limits import available_memory_bytes, format_bytes

    if available is None:
        available = available_memory_bytes()
    needed = estimate_peak_bytes(scenario, series)
    if available is not None and needed > available:
        raise InputError(
            f"the scenario needs about {format_bytes(needed)} of memory ({scenario.households} households x "
            f"{scenario.slots} slots, {len(scenario.mechanisms)} mechanism(s), series={series}); this machine "
            f"has {format_bytes(available)} available: make it smaller, or split it into several runs")


def simulate(scenario: Scenario):
    """Return the :class:`~p2pstore.settlement.Settlement` of ``scenario``.

    Refuses a scenario too big for this machine before allocating (:func:`check_memory`).
    Floating-point warnings are not printed (one scenario could print thousands); a result that
    is not finite is refused with one :class:`InputError` instead.
    """
    import numpy as np

    from p2pstore.profiles import generate
    from p2pstore.settlement import settle

    check_memory(scenario)
    with np.errstate(all="ignore"):
        profiles = generate(scenario)
        settlement = settle(profiles, scenario.mechanisms)
    bad = [name for name, values in (("load", profiles.load_kw), ("PV", profiles.pv_kw),
                                     *((f"{m} bills", r.bills) for m, r in settlement.results.items()))
           if not np.isfinite(values.sum())]
    if bad:
        raise InputError(f"the scenario produces non-finite values ({', '.join(bad)}): its ranges overflow "
                         "floating point")
    return settlement
