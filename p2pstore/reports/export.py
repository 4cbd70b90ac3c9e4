"""Export stored runs as CSV or Parquet files, one file per table, streaming.

:func:`export_run` writes one run's tables (and ``scenario.json``); :func:`export_batch` writes
each table once for every run of a batch (rows keep their ``run_id``). Rows are read in chunks
(:meth:`p2pstore.store.Store.stream_table`) and appended to the file chunk by chunk (CSV) or as
row groups (Parquet, ``pyarrow.parquet.ParquetWriter``), so peak memory stays bounded however
large the runs are. Each file is written under a temporary name and renamed when complete: a
failed export leaves no half-written table.

Both formats are written by pyarrow (a core dependency, imported only once an export starts):
CSV chunks are formatted by ``pyarrow.csv`` in C++ from columns (:mod:`p2pstore.reports.export_csv`) (numpy columns for ``household_series``, never
a Python value per cell; a column that repeats one already formatted, as the stream's
:attr:`~p2pstore.store.results.streams.Chunk.same` keys say, is not formatted again), Parquet row groups
by ``pyarrow.parquet`` (:mod:`p2pstore.reports.export_arrow`). Text cells of CSV files are
neutralised as :mod:`p2pstore.csv_cells` says (no cell starts in a way a spreadsheet evaluates);
Parquet keeps the stored text as it is. ``household_series`` is written while a second thread writes the other
tables. Nothing here writes to the store.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from p2pstore.errors import DataWarning, P2PStoreError
from p2pstore.progress import ProgressFactory, no_progress
from p2pstore.reports.export_manifest import (UnfinishedBatchError, run_statuses, unfinished, write_manifest)
from p2pstore.reports.export_manifest import count_text as _count
from p2pstore.reports.output import check_output_dir

EXPORT_FORMATS = ("csv", "parquet")


class MissingDependencyError(P2PStoreError):
    """An optional dependency needed for the requested output is not installed."""


def _require_pyarrow() -> None:
    try:  # pyarrow: imported when an export starts, never by the CLI's start-up
        import pyarrow  # noqa: F401
        import pyarrow.csv  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "export needs pyarrow (a dependency of p2pstore): pip install 'pyarrow>=14'"
        ) from None


def export_tables() -> tuple[str, ...]:
    """Names of the tables an export writes, in order."""
    from p2pstore.store.results.streams import EXPORT_TABLES  # the store's streams: loaded when an export starts

    return EXPORT_TABLES


def export_run(store, run_id: int, out_dir: str | Path, fmt: str = "csv", *,
               progress: ProgressFactory = no_progress) -> list[Path]:
    """Write run ``run_id``'s tables to ``out_dir`` as ``<table>.csv`` or ``<table>.parquet``,
    plus ``scenario.json`` (the spec) and ``manifest.json`` (:func:`write_manifest`). Returns the
    written paths."""
    _check_format(fmt)
    out = check_output_dir(out_dir, "export directory")  # before any work; made once there is work
    store.stored_ids([int(run_id)])  # NotFoundError: "no run with id N"
    statuses = run_statuses(store, run_ids=[int(run_id)])
    written = write_tables(store, [int(run_id)], _made(out), fmt, progress=progress)
    spec = store.scenario_of(int(run_id)).canonical_json()
    path = out / "scenario.json"
    path.write_text(json.dumps(json.loads(spec), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return [*written, path, write_manifest(out, statuses, written, fmt)]


def export_batch(store, batch: str, out_dir: str | Path, fmt: str = "csv", *, partial: bool = False,
                 progress: ProgressFactory = no_progress) -> list[Path]:
    """Write every run of ``batch`` to ``out_dir``: each table once, the rows of all the runs
    (``runs`` and ``scenarios`` list every run of the batch whatever its status; result tables
    hold the rows of the runs finished when the export started), and ``manifest.json``
    (:func:`write_manifest`: which runs the files hold). Returns the written paths.

    A batch with runs still queued or running is refused (:class:`UnfinishedBatchError`, naming
    how many) unless ``partial``; then a :class:`~p2pstore.errors.DataWarning` says how many
    runs the export leaves out, and their results stay out even if they finish meanwhile."""
    _check_format(fmt)
    out = check_output_dir(out_dir, "export directory")  # before any work; made once there is work
    statuses = run_statuses(store, batch=batch)
    waiting = unfinished(statuses)
    if waiting and not partial:
        raise UnfinishedBatchError(f"batch {batch!r} has {_count(waiting)} not finished: export it when they are "
                                   f"(p2pstore runs wait --batch {batch}), or what is finished now with --partial")
    if waiting:
        warnings.warn(f"batch {batch!r}: {_count(waiting)} not finished; the export holds the results of the "
                      f"{len(statuses) - len(waiting)} finished run(s) (manifest.json lists them)", DataWarning,
                      stacklevel=2)
    finished = [run_id for run_id in statuses if run_id not in waiting]
    written = write_tables(store, finished, _made(out), fmt, listed=list(statuses), progress=progress)
    return [*written, write_manifest(out, statuses, written, fmt, batch=batch)]


#: Tables that list every run exported, finished or not (the others hold results).
LISTING_TABLES = ("runs", "scenarios")

#: The table written while the others are written beside it (the largest by far).
_LARGEST = "household_series"


def write_tables(store, run_ids: list[int], out: Path, fmt: str, *, listed: list[int] | None = None,
                 progress: ProgressFactory = no_progress) -> list[Path]:
    """Stream every export table of the runs ``run_ids`` into ``out`` (which exists); the
    :data:`LISTING_TABLES` of the runs ``listed`` (default: ``run_ids``). The other tables are
    written in a second thread (on a connection of their own) while ``household_series`` is:
    its writer keeps the CPUs busy only part of the time."""
    from p2pstore.reports import export_arrow, export_csv  # pyarrow: once an export starts

    tables = export_tables()
    listed = run_ids if listed is None else listed

    def ids(name: str) -> list[int]:
        return listed if name in LISTING_TABLES else run_ids

    with progress(lambda: sum(store.count_rows(name, ids(name)) for name in tables),
                  f"exporting {len(listed)} run(s)") as bar:
        bar = _Shared(bar)

        def write(name: str) -> Path:
            path = out / f"{name}.{fmt}"
            chunks = store.stream_table(name, ids(name))
            columns = store.table_columns(name)
            writer = export_csv.write_csv if fmt == "csv" else export_arrow.write_parquet
            _atomic(path, lambda tmp: writer(tmp, columns, chunks, bar))
            return path

        with ThreadPoolExecutor(1) as beside:
            others = {name: beside.submit(write, name) for name in tables if name != _LARGEST}
            try:
                largest = write(_LARGEST)
            finally:  # the other tables are finished (or failed) before an error of this one is raised
                wait(others.values())
        paths = {_LARGEST: largest, **{name: future.result() for name, future in others.items()}}
    return [paths[name] for name in tables]


class _Shared:
    """A progress updated from several threads (one at a time)."""

    def __init__(self, bar):
        self.bar, self.lock = bar, threading.Lock()

    def update(self, n: int) -> None:
        with self.lock:
            self.bar.update(n)


def _check_format(fmt: str) -> None:
    if fmt not in EXPORT_FORMATS:
        raise P2PStoreError(f"unknown export format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")
    _require_pyarrow()


def _made(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    return out


def _atomic(path: Path, write) -> None:
    """``write(tmp)`` to a temporary file beside ``path``, renamed to ``path`` once complete."""
    tmp = path.with_name(f".{path.name}.part")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
