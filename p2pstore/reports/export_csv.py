"""CSV files of an export: chunks of a table stream formatted by pyarrow's C++ CSV writer.

Part of :mod:`p2pstore.reports.export` (which imports this module once an export starts, after
checking that pyarrow is installed). Text cells go through :mod:`p2pstore.csv_cells`, so no
cell starts in a way a spreadsheet evaluates (a household named ``=1+1`` is written ``'=1+1``);
numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections import OrderedDict, deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from p2pstore.csv_cells import safe_cell, safe_text_array
from p2pstore.reports.export_arrow import arrow_schema, arrow_table, cell_text, key_arrays

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


def write_csv(path: Path, columns, chunks: Iterable, bar) -> None:
    """Header, then each chunk appended, formatted by ``pyarrow`` (C++) in :data:`CSV_THREADS`
    threads, written in order by a third: floats in their shortest exact form (``1`` for 1.0),
    empty cells for NULL, timestamps as ``YYYY-MM-DD HH:MM:SS[.ffffff][+00:00]`` and booleans as
    ``True``/``False`` (Python's forms, as before). Text is quoted when it needs to be (a chunk
    with a comma, quote or line break in any text cell has all its text quoted). Numpy chunks
    are formatted column by column, each column that repeats an earlier chunk's (same
    :attr:`Chunk.same` key) taken from :class:`TextCache` instead of formatted again."""

    schema = arrow_schema(columns, text=True)
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow([safe_cell(c.name) for c in columns])
    texts = TextCache(TEXT_CACHE_BYTES)
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
                job = pool.submit(csv_bytes, arrow_table(chunk, schema, text=True))
            pending.append((job, len(chunk)))
            drain(_CSV_AHEAD)
        drain(0)
        while writes:
            writes.popleft().result()


def _submit_columns(pool, chunk, schema, texts: "TextCache"):
    """Submit the formatting of a numpy chunk: a job that formats the columns no earlier chunk
    formatted (publishing each in ``texts`` under its :attr:`Chunk.same` key), takes the others
    from ``texts`` and writes the lines, all in pyarrow (which releases the GIL). The keys are
    constant columns; should one need quotes (``csv`` quotes all the text of a table, the
    numbers' text too), they are put before each line instead (one ``bytes.replace``)."""

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
        csv.writer(line, lineterminator="").writerow([*map(cell_text, keys), ""])
        keys, prefix = (), line.getvalue().encode("utf-8")
    out = pa.schema([*fields[:len(keys)], *(pa.field(f.name, pa.string()) for f in rest)])
    quoted = [f.name for f in rest if pa.types.is_string(f.type)]
    return pool.submit(_column_lines, own, keys, parts, out, prefix, quoted)


def _column_lines(own: list, keys: tuple, parts: list, schema, prefix: bytes, quoted: list[str]):
    """Format the ``own`` columns ``(values, arrow type, future)`` as text (NaN a NULL) and set
    their futures, then write the CSV lines of the ``keys`` (constant columns, the first fields
    of ``schema``) and ``parts`` (futures of text columns) after ``prefix``; ``quoted`` names the
    parts that were text before (quoted if any cell needs it)."""

    try:
        for values, kind, done in own:
            text = pc.cast(pa.array(values, type=kind, from_pandas=True), pa.string())
            done.set_result(safe_text_array(text) if pa.types.is_string(kind) else text)
    except BaseException as exc:  # a chunk waiting for one of these columns must not wait forever
        for _, _, done in own:
            if not done.done():
                done.set_exception(exc)
        raise
    # every part not in ``own`` belongs to a job submitted before this one: started before it
    # (first in, first out), it sets its own columns before it waits for any
    texts = [part.result() for part in parts]
    heads = key_arrays(keys, list(schema), len(texts[0]) if texts else 0, text=True)
    return csv_bytes(pa.Table.from_arrays([*heads, *texts], schema=schema), prefix, text=quoted)


class TextCache:
    """Formatted columns by :attr:`Chunk.same` key (futures of pyarrow string arrays), the least
    recently used dropped once they hold more than ``budget`` bytes (a column's size is guessed
    until it is formatted, then measured once)."""

    #: Bytes per value guessed for a column not yet formatted (a float's text and its offset).
    GUESS = 24

    def __init__(self, budget: int):

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


def csv_bytes(table, prefix: bytes = b"", *, text: list[str] | None = None):
    """``table``'s rows as CSV lines (no header), each after ``prefix`` (cells of a text
    without line breaks; the table's cells are numbers then). ``text``: the columns that hold
    text, quoted if any cell needs it (default: every string column; numbers' text never does)."""

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
