"""How a run uses its memory budget: the whole community at once, or household chunks.

A run whose estimated peak (:func:`estimate_peak_bytes`) fits the limit
settles its whole community at once, as it always did. A larger one is settled in household
chunks (:mod:`p2pstore.settlement.chunked`): its peak is a fixed part, the ``[N]`` and ``[H]``
results, a community read from the store (kept whole), and one chunk's ``[k, H]`` arrays; the
chunk is sized so that this fits the limit, and at most :data:`CHUNK_TARGET_BYTES` (larger
chunks are no faster) unless one block of households is larger (a long horizon). With ``--series full`` the households' rows are written afterwards, a
chunk at a time (the chunk made again, and settled again for a mechanism whose cost is stored
value by value): that chunk must fit the limit too. Standard library only.
"""

from __future__ import annotations

import dataclasses
import os

from p2pstore.errors import InputError
from p2pstore.limits import HOUSEHOLD_BLOCK, format_bytes, memory_limit_bytes

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


#: Bytes a chunk holds per household-slot while it is settled: load and PV, import needs and
#: export offers, one mechanism's cost, the work buffer, and the totals pass's temporaries
#: (measured with ``benchmarks/bench_municipal.py``, rounded up).
CHUNK_BYTES_PER_CELL = 72
#: The largest chunk worth holding, bytes (its arrays, not the fixed part): its [k, H] arrays stay
#: under the 32 MiB up to which the C allocator reuses freed memory instead of mapping fresh pages.
CHUNK_TARGET_BYTES = 192 * 2**20
#: Bytes per household of a chunked run's ``[N]`` results: bills and five energy totals per
#: mechanism (and the conventional baseline), labels and tariffs, rows on their way to the store.
PER_HOUSEHOLD_BYTES = 2048
#: Processes that settle chunks at once (at most one per core): the generators hold the GIL.
MAX_CHUNK_WORKERS = 2
#: Bytes per household-slot of a community read from the store (load and PV, kept whole).
RESIDENT_BYTES_PER_CELL = 16
#: Bytes per household-slot of a chunk while its ``--series full`` rows are written (in the
#: process that writes, one chunk at a time): the chunk made again (load, PV, the generator's
#: temporaries) and, when a mechanism's rows are stored value by value (a plugin's), its ``[k, H]``
#: result settled again with its four flows (measured with ``benchmarks/bench_full_chunks.py``).
SERIES_BYTES_PER_CELL = 48
SERIES_EXPLICIT_BYTES_PER_CELL = 80


#: More bytes per household-slot of a chunk with batteries: its own and post-battery load and PV,
#: its batteries' energy, charge and discharge and the dispatch's temporaries (measured with
#: ``/usr/bin/time`` on battery runs in chunks, rounded up).
BATTERY_CHUNK_BYTES_PER_CELL = 48
#: Bytes per household of the battery stage in the process that settles the run: the community
#: rule's loop over every battery (three blocks of 256 slots) and each battery's parameters and totals.
BATTERY_BYTES_PER_HOUSEHOLD = 8 * 1024


def series_bytes_per_cell(scenario, series: str) -> int:
    """Bytes per household-slot of a chunk while its series rows are written (0 unless ``full``)."""
    if series != "full":
        return 0
    from p2pstore import registry  # lazy: the registry reads plugin metadata

    explicit = any(not registry.get(name).builtin for name in scenario.mechanisms)
    return SERIES_BYTES_PER_CELL + (SERIES_EXPLICIT_BYTES_PER_CELL if explicit else 0)


@dataclasses.dataclass(frozen=True)
class MemoryPlan:
    """What a run will do with ``limit`` bytes: ``chunk_households`` None = the whole community
    at once; ``peak_bytes`` its estimated peak; ``households`` / ``slots`` None = not known yet
    (a stored profile set: planned again once read)."""

    households: int | None
    slots: int | None
    limit: int | None
    peak_bytes: int
    chunk_households: int | None = None
    workers: int = 1  # processes settling chunks at once
    streams_series: bool = False  # ``--series full`` rows written a chunk at a time

    @property
    def chunked(self) -> bool:
        return self.chunk_households is not None

    @property
    def chunks(self) -> int:
        if not self.chunked:
            return 1
        return max(1, -(-self.households // self.chunk_households))

    def describe(self) -> str:
        """One line: what the run will do and the memory it needs."""
        limit = "no known limit" if self.limit is None else f"a limit of {format_bytes(self.limit)}"
        if self.households is None or self.slots is None:
            return f"community size known once its profile set is read; {limit}"
        size = f"{self.households:,} households x {self.slots:,} slots"
        if not self.chunked:
            how = "at once"
        else:
            how = (f"in {self.chunks:,} chunks of up to {self.chunk_households:,} households" if self.chunks > 1
                   else f"in one chunk of {self.households:,} households")
            how += (f"{f', {self.workers} at a time' if self.workers > 1 else ''}"
                    f"{', household series written chunk by chunk' if self.streams_series else ''}")
        return f"settles {size} {how}: about {format_bytes(self.peak_bytes)} of {limit}"


def plan_memory(scenario, series: str = "none", limit: int | None = None, *, households: int | None = None,
                slots: int | None = None, chunks: bool = True, batteries: bool = False) -> MemoryPlan:
    """The :class:`MemoryPlan` of settling ``scenario`` with ``series`` in ``limit`` bytes
    (None: :func:`p2pstore.limits.memory_limit_bytes`). ``households`` x ``slots``: the
    community's size when known beyond the spec; ``batteries``: the run has batteries (a chunk
    holds :data:`BATTERY_CHUNK_BYTES_PER_CELL` more, the run :data:`BATTERY_BYTES_PER_HOUSEHOLD`).
    Raises :class:`InputError` (one line) when the run cannot fit even in chunks, or needs the whole community (``chunks=False``) and it does
    not fit. A chunk holds :data:`CHUNK_BYTES_PER_CELL` per household-slot in each of ``workers``
    processes while it is settled, and :func:`series_bytes_per_cell` in this one while its
    ``--series full`` rows are written: it is sized for the larger of the two."""
    limit = memory_limit_bytes(limit)
    size = _cells(scenario, households, slots)
    if size is None:
        return MemoryPlan(None, None, limit, estimate_peak_bytes(scenario, series))
    n, h = size
    whole = estimate_peak_bytes(scenario, series, households=n, slots=h)
    if limit is None or whole <= limit:
        return MemoryPlan(n, h, limit, whole)
    what = f"{n} households x {h} slots"
    if not chunks:
        raise InputError(f"the scenario needs about {format_bytes(whole)} of memory ({what}, "
                         f"{len(scenario.mechanisms)} mechanism(s), the whole community at once); the run has "
                         f"{format_bytes(limit)} available (--memory-limit): make it smaller, or split it into "
                         "several runs")
    fixed = MEMORY_BASE + n * (PER_HOUSEHOLD_BYTES + (BATTERY_BYTES_PER_HOUSEHOLD if batteries else 0)) \
        + (n * h * RESIDENT_BYTES_PER_CELL if scenario.imported else 0)
    # per household of a chunk being settled (the target bounds its arrays, as many with batteries)
    settling = h * (CHUNK_BYTES_PER_CELL + (BATTERY_CHUNK_BYTES_PER_CELL if batteries else 0))
    block = min(n, HOUSEHOLD_BLOCK)  # the smallest chunk: one block, or a smaller community whole
    workers = 1 if n <= HOUSEHOLD_BLOCK else \
        max(1, min(MAX_CHUNK_WORKERS, os.cpu_count() or 1, (limit - fixed) // (settling * HOUSEHOLD_BLOCK)))
    # per household of a chunk: its settling in each worker, or its series rows being written
    per_household = max(workers * settling, h * series_bytes_per_cell(scenario, series))
    fits = (limit - fixed) // per_household
    if fits < block:  # the least that runs: one chunk, or the whole community at once if less
        need = min(whole, fixed + per_household * block)
        how = ("the whole community at once" if need == whole else "in one chunk" if n <= HOUSEHOLD_BLOCK
               else f"in chunks of {block} households")
        raise InputError(f"the scenario needs about {format_bytes(need)} of memory ({what}, {how}); the run "
                         f"has {format_bytes(limit)} available (--memory-limit): make it smaller, or split it "
                         "into several runs")
    # larger chunks are no faster: at most the target, but one block even where it is larger
    # (a long horizon), as long as the limit holds it
    chunk = min(n, fits, max(HOUSEHOLD_BLOCK, CHUNK_TARGET_BYTES // (h * CHUNK_BYTES_PER_CELL)))
    chunk = max(HOUSEHOLD_BLOCK, chunk // HOUSEHOLD_BLOCK * HOUSEHOLD_BLOCK)
    return MemoryPlan(n, h, limit, fixed + min(n, chunk) * per_household, chunk, workers,
                      streams_series=series == "full")
