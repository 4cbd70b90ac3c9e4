"""Export stored runs as CSV or Parquet files, one file per table, streaming.

:func:`export_run` writes one run's tables (and ``scenario.json``); :func:`export_batch` writes
each table once for every run of a batch (rows keep their ``run_id``). Rows are read in chunks
(:meth:`p2pstore.store.Store.stream_table`) and appended to the file chunk by chunk (CSV) or as
row groups (Parquet, ``pyarrow.parquet.ParquetWriter``), so peak memory stays bounded however
large the runs are. Each file is written under a temporary name and renamed when complete: a
failed export leaves no half-written table.

Both formats are written by pyarrow (a core dependency, imported only here): CSV chunks are
formatted by ``pyarrow.csv`` in C++ from columns (numpy columns for ``household_series``, never
a Python value per cell; a column that repeats one already formatted, as the stream's
:attr:`~p2pstore.store.streams.Chunk.same` keys say, is not formatted again), Parquet row groups
by ``pyarrow.parquet``. ``household_series`` is written while a second thread writes the other
tables. Nothing here writes to the store.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path

from p2pstore.errors import P2PStoreError
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
    store.stored_ids([int(run_id)])  # NotFoundError: "no run with id N"
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
    return write_tables(store, store.batch_run_ids(batch), _made(out), fmt, progress=progress)


#: The table written while the others are written beside it (the largest by far).
_LARGEST = "household_series"


def write_tables(store, run_ids: list[int], out: Path, fmt: str, *,
                 progress: ProgressFactory = no_progress) -> list[Path]:
    """Stream every export table of the runs ``run_ids`` into ``out`` (which exists). The other
    tables are written in a second thread (on a connection of their own) while
    ``household_series`` is: its writer keeps the CPUs busy only part of the time."""
    from concurrent.futures import ThreadPoolExecutor, wait

    tables = export_tables()
    with progress(lambda: sum(store.count_rows(name, run_ids) for name in tables),
                  f"exporting {len(run_ids)} run(s)") as bar:
        bar = _Shared(bar)

        def write(name: str) -> Path:
            path = out / f"{name}.{fmt}"
            chunks = store.stream_table(name, run_ids)
            columns = store.table_columns(name)
            _atomic(path, lambda tmp: (_write_csv if fmt == "csv" else _write_parquet)(tmp, columns, chunks, bar))
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
        import threading

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


#: CSV chunks formatted at once (by pyarrow's C++ writer, which releases the GIL) while the
#: stream reads and derives the next ones.
CSV_THREADS = 2
_CSV_AHEAD = 4
_STRUCTURAL = r'[,"\r\n]'

#: Bytes of formatted columns kept for later chunks that repeat them (:attr:`Chunk.same`: a
#: household's load and PV under each mechanism, shared flows). Beyond it the least recently
#: used are dropped and formatted again when repeated, so memory stays bounded whatever the size
#: of the export (a 100-household year's repeated columns fit).
TEXT_CACHE_BYTES = 256 * 2**20


def _write_csv(path: Path, columns, chunks: Iterable, bar) -> None:
    """Header, then each chunk appended, formatted by ``pyarrow`` (C++) in :data:`CSV_THREADS`
    threads, written in order by a third: floats in their shortest exact form (``1`` for 1.0),
    empty cells for NULL, timestamps as ``YYYY-MM-DD HH:MM:SS[.ffffff][+00:00]`` and booleans as
    ``True``/``False`` (Python's forms, as before). Text is quoted when it needs to be (a chunk
    with a comma, quote or line break in any text cell has all its text quoted). Numpy chunks
    are formatted column by column, each column that repeats an earlier chunk's (same
    :attr:`Chunk.same` key) taken from :class:`_Texts` instead of formatted again."""
    import io
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    schema = _arrow_schema(columns, text=True)
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow([c.name for c in columns])
    texts = _Texts(TEXT_CACHE_BYTES)
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
            if chunk.arrays is not None:
                job = _submit_columns(pool, chunk, schema, texts)
            else:
                job = pool.submit(_csv_bytes, _arrow_table(chunk, schema, text=True))
            pending.append((job, len(chunk)))
            drain(_CSV_AHEAD)
        drain(0)
        while writes:
            writes.popleft().result()


def _submit_columns(pool, chunk, schema, texts: "_Texts"):
    """Submit the formatting of a numpy chunk: a job that formats the columns no earlier chunk
    formatted (publishing each in ``texts`` under its :attr:`Chunk.same` key), takes the others
    from ``texts`` and writes the lines, all in pyarrow (which releases the GIL). The keys are
    constant columns; should one need quotes (``csv`` quotes all the text of a table, the
    numbers' text too), they are put before each line instead (one ``bytes.replace``)."""
    import io
    import re
    from concurrent.futures import Future

    import pyarrow as pa

    fields = list(schema)
    rest = fields[len(chunk.keys):]
    own, parts = [], []
    for field in rest:
        key = (chunk.same or {}).get(field.name)
        text = texts.get(key)
        if text is None:
            text = Future()
            own.append((chunk.arrays[field.name], field.type, text))
            texts.put(key, text, len(chunk))
        parts.append(text)
    keys, prefix = chunk.keys, b""
    if any(isinstance(k, str) and re.search(_STRUCTURAL, k) for k in keys):
        line = io.StringIO()
        csv.writer(line, lineterminator="").writerow([*map(_text, keys), ""])
        keys, prefix = (), line.getvalue().encode("utf-8")
    out = pa.schema([*fields[:len(keys)], *(pa.field(f.name, pa.string()) for f in rest)])
    quoted = [f.name for f in rest if pa.types.is_string(f.type)]
    return pool.submit(_column_lines, own, keys, parts, out, prefix, quoted)


def _column_lines(own: list, keys: tuple, parts: list, schema, prefix: bytes, quoted: list[str]):
    """Format the ``own`` columns ``(values, arrow type, future)`` as text (NaN a NULL) and set
    their futures, then write the CSV lines of the ``keys`` (constant columns, the first fields
    of ``schema``) and ``parts`` (futures of text columns) after ``prefix``; ``quoted`` names the
    parts that were text before (quoted if any cell needs it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        for values, kind, done in own:
            done.set_result(pc.cast(pa.array(values, type=kind, from_pandas=True), pa.string()))
    except BaseException as exc:  # a chunk waiting for one of these columns must not wait forever
        for _, _, done in own:
            if not done.done():
                done.set_exception(exc)
        raise
    # every part not in ``own`` belongs to a job submitted before this one: started before it
    # (first in, first out), it sets its own columns before it waits for any
    texts = [part.result() for part in parts]
    heads = _key_arrays(keys, list(schema), len(texts[0]) if texts else 0, text=True)
    return _csv_bytes(pa.Table.from_arrays([*heads, *texts], schema=schema), prefix, text=quoted)


class _Texts:
    """Formatted columns by :attr:`Chunk.same` key (futures of pyarrow string arrays), the least
    recently used dropped once they hold more than ``budget`` bytes (a column's size is guessed
    until it is formatted, then measured once)."""

    #: Bytes per value guessed for a column not yet formatted (a float's text and its offset).
    GUESS = 24

    def __init__(self, budget: int):
        from collections import OrderedDict

        self.budget = budget
        self.kept: OrderedDict = OrderedDict()  # key -> [future, bytes, measured]
        self.used = 0

    def get(self, key):
        entry = self.kept.get(key) if key is not None else None
        if entry is None:
            return None
        self.kept.move_to_end(key)  # the least recently used go first
        return entry[0]

    def put(self, key, text, rows: int) -> None:
        if key is None or self.budget <= 0:
            return
        self.kept[key] = [text, rows * self.GUESS, False]
        self.used += rows * self.GUESS
        if self.used > self.budget:
            self._trim()

    def _trim(self) -> None:
        """Measure the columns formatted since the last trim, then drop the least recently used
        until the others fit."""
        for entry in self.kept.values():
            text, guess, measured = entry
            if not measured and text.done():
                size = 0 if text.exception() else text.result().nbytes
                self.used += size - guess
                entry[1:] = [size, True]
        while self.used > self.budget and self.kept:
            self.used -= self.kept.popitem(last=False)[1][1]


def _csv_bytes(table, prefix: bytes = b"", *, text: list[str] | None = None):
    """``table``'s rows as CSV lines (no header), each after ``prefix`` (cells of a text
    without line breaks; the table's cells are numbers then). ``text``: the columns that hold
    text, quoted if any cell needs it (default: every string column; numbers' text never does)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    if text is None:
        text = [f.name for f in table.schema if pa.types.is_string(f.type)]
    quote = any(len(table) and pc.any(pc.match_substring_regex(table[name], _STRUCTURAL)).as_py() for name in text)
    out = pa.BufferOutputStream()
    pcsv.write_csv(table, out, pcsv.WriteOptions(include_header=False, batch_size=65536,
                                                 quoting_style="needed" if quote else "none"))
    if not prefix or not len(table):
        return out.getvalue()  # a pyarrow buffer: written without a copy
    lines = out.getvalue().to_pybytes()
    return prefix + lines[:-1].replace(b"\n", b"\n" + prefix) + b"\n"


def _arrow_schema(columns, *, text: bool = False):
    """The Arrow schema of ``columns``; with ``text``, booleans and timestamps as strings (the
    CSV writer's Python forms), each field's metadata naming its column's kind."""
    import pyarrow as pa

    kinds = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_(),
             "datetime": pa.timestamp("us"), "datetime_tz": pa.timestamp("us", tz="UTC")}
    if text:
        kinds.update(bool=pa.string(), datetime=pa.string(), datetime_tz=pa.string())
        return pa.schema([pa.field(c.name, kinds[c.kind], metadata={"kind": c.kind}) for c in columns])
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
    arrays = _key_arrays(chunk.keys, fields, n, text=text)
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
    return arrays + [_text_array(values, f) if text and pa.types.is_string(f.type) else pa.array(values, type=f.type)
                     for values, f in zip(zip(*chunk.rows), rest)]


def _text_array(values, field):
    """A text field's cells (``str(value)``, NULL for None) as an Arrow string array: booleans
    and naive timestamps (fields of :func:`_arrow_schema` marked with their kind) converted by
    Arrow, the rest value by value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = (field.metadata or {}).get(b"kind")
    if kind == b"bool":
        return pc.if_else(pa.array(values, type=pa.bool_()), "True", "False")
    if kind == b"datetime":  # str(datetime): YYYY-MM-DD HH:MM:SS, then .ffffff unless 0
        stamps = pa.array(values, type=pa.timestamp("us"))
        seconds = pc.floor_temporal(stamps, unit="second")
        text = pc.strftime(seconds.cast(pa.timestamp("s")), format="%Y-%m-%d %H:%M:%S")
        micros = pc.subtract(stamps.cast(pa.int64()), seconds.cast(pa.int64()))
        fraction = pc.binary_join_element_wise(text, pc.utf8_lpad(micros.cast(pa.string()), 6, "0"), ".")
        return pc.if_else(pc.equal(micros, 0), text, fraction)
    return pa.array([_text(v) for v in values], type=pa.string())


def _key_arrays(keys: tuple, fields: list, n: int, *, text: bool = False) -> list:
    """Constant columns of ``n`` rows holding the ``keys``, typed as ``fields`` (with ``text``,
    a text field holds the key's ``str`` form)."""
    import pyarrow as pa

    return [pa.repeat(pa.scalar(_text(value) if text and pa.types.is_string(f.type) else value, type=f.type), n)
            for value, f in zip(keys, fields)]


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
