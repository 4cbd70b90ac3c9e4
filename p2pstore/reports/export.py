"""Export stored runs as CSV or Parquet files, one file per table, streaming.

:func:`export_run` writes one run's tables (and ``scenario.json``); :func:`export_batch` writes
each table once for every run of a batch (rows keep their ``run_id``). Rows are read in chunks
(:meth:`p2pstore.store.Store.stream_table`) and appended to the file chunk by chunk (CSV) or as
row groups (Parquet, ``pyarrow.parquet.ParquetWriter``), so peak memory stays bounded however
large the runs are. Each file is written under a temporary name and renamed when complete: a
failed export leaves no half-written table.

Both formats are written by pyarrow (a core dependency, imported only here): CSV chunks are
formatted by ``pyarrow.csv`` in C++ from columns (numpy columns for ``household_series``, never
a Python value per cell), Parquet row groups by ``pyarrow.parquet``. Nothing here writes to the
store.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path

from p2pstore.errors import NotFoundError, P2PStoreError
from p2pstore.progress import ProgressFactory, no_progress
from p2pstore.reports.output import check_output_dir

EXPORT_FORMATS = ("csv", "parquet")

#: Rows per Parquet row group (chunks are gathered up to this many before a group is written).
ROW_GROUP_ROWS = 262_144


class MissingDependencyError(P2PStoreError):
    """An optional dependency needed for the requested output is not installed."""


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.csv  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "export needs pyarrow (a dependency of p2pstore): pip install 'pyarrow>=14'"
        ) from None


def export_tables() -> tuple[str, ...]:
    """Names of the tables an export writes, in order."""
    from p2pstore.store.streams import EXPORT_TABLES

    return EXPORT_TABLES


def export_run(store, run_id: int, out_dir: str | Path, fmt: str = "csv", *,
               progress: ProgressFactory = no_progress) -> list[Path]:
    """Write run ``run_id``'s tables to ``out_dir`` as ``<table>.csv`` or ``<table>.parquet``,
    plus ``scenario.json`` (the spec). Returns the written paths."""
    _check_format(fmt)
    out = check_output_dir(out_dir, "export directory")  # before any work; made once there is work
    if store.runs(run_ids=[int(run_id)]).empty:
        raise NotFoundError(f"no run with id {run_id}")
    written = write_tables(store, [int(run_id)], _made(out), fmt, progress=progress)
    spec = store.scenario_of(int(run_id)).canonical_json()
    path = out / "scenario.json"
    path.write_text(json.dumps(json.loads(spec), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return [*written, path]


def export_batch(store, batch: str, out_dir: str | Path, fmt: str = "csv", *,
                 progress: ProgressFactory = no_progress) -> list[Path]:
    """Write every run of ``batch`` to ``out_dir``: each table once, the rows of all the runs
    (``runs`` lists every run of the batch whatever its status; result tables hold the rows of
    the runs that have results). Returns the written paths."""
    _check_format(fmt)
    out = check_output_dir(out_dir, "export directory")  # before any work; made once there is work
    runs = store.runs(batch=batch)
    if runs.empty:
        raise NotFoundError(f"no batch named {batch!r}")
    return write_tables(store, runs["run_id"].astype(int).tolist(), _made(out), fmt, progress=progress)


def write_tables(store, run_ids: list[int], out: Path, fmt: str, *,
                 progress: ProgressFactory = no_progress) -> list[Path]:
    """Stream every export table of the runs ``run_ids`` into ``out`` (which exists)."""
    tables = export_tables()
    total = sum(store.count_rows(name, run_ids) for name in tables)
    written = []
    with progress(total, f"exporting {len(run_ids)} run(s)") as bar:
        for name in tables:
            path = out / f"{name}.{fmt}"
            chunks = store.stream_table(name, run_ids)
            columns = store.table_columns(name)
            _atomic(path, lambda tmp: (_write_csv if fmt == "csv" else _write_parquet)(tmp, columns, chunks, bar))
            written.append(path)
    return written


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


#: CSV chunks formatted at once (by pyarrow's C++ writer, which releases the GIL) while the
#: stream reads and derives the next ones.
CSV_THREADS = 2
_CSV_AHEAD = 4
_STRUCTURAL = r'[,"\r\n]'


def _write_csv(path: Path, columns, chunks: Iterable, bar) -> None:
    """Header, then each chunk appended, formatted by ``pyarrow.csv`` (C++) in
    :data:`CSV_THREADS` threads, written in order by a third: floats in their shortest exact form
    (``1`` for 1.0), empty cells for NULL, timestamps as ``YYYY-MM-DD HH:MM:SS[.ffffff][+00:00]``
    and booleans as ``True``/``False`` (Python's forms, as before). Text is quoted when it needs
    to be (a chunk with a comma, quote or line break in any text cell has all its text quoted)."""
    import io
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    schema = _arrow_schema(columns, text=True)
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow([c.name for c in columns])
    with open(path, "wb") as f, ThreadPoolExecutor(CSV_THREADS) as pool, ThreadPoolExecutor(1) as disk:
        f.write(head.getvalue().encode("utf-8"))
        pending: deque = deque()  # (formatting, rows), in file order
        writes: deque = deque()   # the file's writes, in order (one writer thread)

        def drain(keep: int) -> None:
            while len(pending) > keep:
                future, n = pending.popleft()
                writes.append(disk.submit(f.write, future.result()))
                bar.update(n)
                while len(writes) > _CSV_AHEAD or (writes and writes[0].done()):
                    writes.popleft().result()

        for chunk in chunks:
            if chunk.keys and chunk.arrays is not None:
                # numbers after the keys: the keys' text is put before each formatted line
                # (one bytes.replace) instead of being formatted once per row
                prefix = io.StringIO()
                csv.writer(prefix, lineterminator="").writerow([*map(_text, chunk.keys), ""])
                rest = pa.schema(list(schema)[len(chunk.keys):])
                job = pool.submit(_csv_bytes, _arrow_table(type(chunk)(chunk.columns, chunk.rows, (), chunk.arrays), rest, text=True),
                                  prefix.getvalue().encode("utf-8"))
            else:
                job = pool.submit(_csv_bytes, _arrow_table(chunk, schema, text=True))
            pending.append((job, len(chunk)))
            drain(_CSV_AHEAD)
        drain(0)
        while writes:
            writes.popleft().result()


def _csv_bytes(table, prefix: bytes = b"") -> bytes:
    """``table``'s rows as CSV lines (no header), each after ``prefix`` (cells of a text
    without line breaks; the table's cells are numbers then)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    quote = any(pa.types.is_string(col.type) and len(col) and pc.any(pc.match_substring_regex(col, _STRUCTURAL)).as_py()
                for col in table.columns)
    out = pa.BufferOutputStream()
    pcsv.write_csv(table, out, pcsv.WriteOptions(include_header=False, batch_size=8192,
                                                 quoting_style="needed" if quote else "none"))
    lines = out.getvalue().to_pybytes()
    if not prefix or not lines:
        return lines
    return prefix + lines[:-1].replace(b"\n", b"\n" + prefix) + b"\n"


def _arrow_schema(columns, *, text: bool = False):
    """The Arrow schema of ``columns``; with ``text``, booleans and timestamps as strings (the
    CSV writer's Python forms)."""
    import pyarrow as pa

    kinds = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_(),
             "datetime": pa.timestamp("us"), "datetime_tz": pa.timestamp("us", tz="UTC")}
    if text:
        kinds.update(bool=pa.string(), datetime=pa.string(), datetime_tz=pa.string())
    return pa.schema([pa.field(c.name, kinds[c.kind]) for c in columns])


def _arrow_table(chunk, schema, *, text: bool = False):
    """The chunk as an Arrow table of ``schema`` (see :func:`_arrow_arrays`)."""
    import pyarrow as pa

    return pa.Table.from_arrays(_arrow_arrays(chunk, schema, text=text), schema=schema)


def _arrow_arrays(chunk, schema, *, text: bool = False) -> list:
    """The chunk's columns as Arrow arrays of ``schema``'s types. Leading key values become
    constant columns; numpy columns (``chunk.arrays``, NaN for NULL) are converted without a
    Python value per cell; rows whose other columns are all numbers without NULLs in one numpy
    step, else value by value (with ``text``, booleans and timestamps as ``str(value)``)."""
    import numpy as np
    import pyarrow as pa

    n = len(chunk)
    fields = list(schema)
    arrays = [pa.repeat(pa.scalar(_text(value) if text and pa.types.is_string(f.type) else value, type=f.type), n)
              for value, f in zip(chunk.keys, fields)]
    rest = fields[len(chunk.keys):]
    if chunk.arrays is not None:
        return arrays + [pa.array(chunk.arrays[f.name], type=f.type, from_pandas=True) for f in rest]
    if n and all(pa.types.is_integer(f.type) or pa.types.is_floating(f.type) for f in rest):
        try:
            block = np.array(chunk.rows, dtype=np.float64).reshape(n, len(rest))
        except (TypeError, ValueError):
            block = None
        if block is not None and not np.isnan(block).any():  # NaN: a NULL (the store holds no NaN)
            return arrays + [pa.array(block[:, k].astype(np.int64) if pa.types.is_integer(f.type) else block[:, k],
                                      type=f.type) for k, f in enumerate(rest)]
    if not n:
        return arrays + [pa.array([], type=f.type) for f in rest]
    return arrays + [pa.array([_text(v) for v in values] if text and pa.types.is_string(f.type) else values, type=f.type)
                     for values, f in zip(zip(*chunk.rows), rest)]


def _text(value):
    """A text cell's value: a string as is, NULL as None, anything else (a boolean, a
    timestamp) in Python's ``str`` form, as ``csv.writer`` writes it."""
    return value if value is None or isinstance(value, str) else str(value)


def _write_parquet(path: Path, columns, chunks: Iterable, bar) -> None:
    """Row groups of :data:`ROW_GROUP_ROWS` rows, typed by the table's columns (a column that is
    NULL in one chunk keeps its type), snappy-compressed, dictionary-encoded text columns (not
    the floats: their values rarely repeat). Each group is written in a second thread (pyarrow
    releases the GIL) while the next one is read."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _arrow_schema(columns)
    text = [f.name for f in schema if pa.types.is_string(f.type)]
    pending: list = []
    rows = 0
    with pq.ParquetWriter(path, schema, use_dictionary=text) as writer, ThreadPoolExecutor(1) as pool:
        last = None

        def flush(tables, n):
            nonlocal last
            if last is not None:
                last.result()
            last = pool.submit(writer.write_table, pa.concat_tables(tables), row_group_size=n)

        for chunk in chunks:
            pending.append(_arrow_table(chunk, schema))
            rows += len(chunk)
            bar.update(len(chunk))
            if rows >= ROW_GROUP_ROWS:
                flush(pending, rows)
                pending, rows = [], 0
        if pending:
            flush(pending, rows)
        if last is not None:
            last.result()
