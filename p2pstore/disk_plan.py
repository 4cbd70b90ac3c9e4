"""Disk a run's ``--series full`` rows will take, checked before a SQLite run stores anything.

``--series full`` keeps every household's load and PV per slot (``household_slots``) and, for a
mechanism whose cost the ``household_series`` view cannot derive (a plugin), every household's
flows and cost per slot (``household_series_explicit``): a town's year is hundreds of millions of
rows. A SQLite store's free disk is checked against the estimate first, twice over: the run's one
transaction goes to the write-ahead log, which a checkpoint copies into the database file before
the log is emptied, so both hold the rows at once. A PostgreSQL server's disk is not visible from
here. Standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path

from p2pstore.errors import InputError
from p2pstore.limits import format_bytes

#: Bytes per household-slot of ``household_slots`` in a SQLite file, row and primary key
#: (measured: 31 for 100 households x 30 days, rounded up).
SQLITE_BYTES_PER_CELL = 40
#: Bytes per household-slot and mechanism of ``household_series_explicit`` (measured: 87).
SQLITE_BYTES_PER_CELL_EXPLICIT = 100
#: Copies of the rows on disk at the peak of a write: the write-ahead log and the database file
#: (measured: 200 households x 30 days, two mechanisms, one a plugin: 139.6 MB at the peak for
#: a 69.5 MB file; a disk with room for one copy is left full, every later write refused).
SQLITE_WRITE_COPIES = 2


def series_bytes(mechanisms, households: int, slots: int, series: str = "full") -> int:
    """Estimated bytes of the per-household series of a run in a SQLite file (0 unless ``full``)."""
    if series != "full":
        return 0
    from p2pstore import registry  # lazy: the registry reads plugin metadata

    explicit = sum(1 for name in mechanisms if not registry.get(name).builtin)
    cells = households * slots
    return cells * SQLITE_BYTES_PER_CELL + cells * explicit * SQLITE_BYTES_PER_CELL_EXPLICIT


def check_disk(database: str | None, scenario, series: str, *, households: int | None = None,
               slots: int | None = None) -> None:
    """:class:`InputError` (one line) when the SQLite file ``database`` (a path; None or
    ``:memory:``: nothing checked) lacks the free disk for ``scenario``'s ``series`` rows."""
    if series != "full" or not database or database == ":memory:":
        return
    n = households if households is not None else scenario.n_households
    known = scenario.days is not None and scenario.slot_minutes is not None  # a profile set's: once resolved
    h = slots if slots is not None else (scenario.slots if known else None)
    if n is None or h is None:
        return
    needed = series_bytes(scenario.mechanisms, n, h, series)
    peak = SQLITE_WRITE_COPIES * needed
    folder = Path(database).resolve().parent
    try:
        stat = os.statvfs(folder)
    except OSError:
        return
    free = stat.f_bavail * stat.f_frsize
    if peak > free:
        raise InputError(f"--series full of {n} households x {h} slots needs about {format_bytes(needed)} of disk "
                         f"({format_bytes(peak)} while it is written: SQLite's write-ahead log, then the database "
                         f"file) and {folder} has {format_bytes(free)} free: use --series community or none, or "
                         "free disk space")
