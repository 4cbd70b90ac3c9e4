"""Chunks of an export's table stream as Arrow tables, and the Parquet writer.

Part of :mod:`p2pstore.reports.export` (imported once an export starts, after checking that
pyarrow is installed). With ``text`` (the CSV writer's form) booleans and timestamps become
Python's ``str`` forms and text cells go through :func:`p2pstore.csv_cells.safe_cell`.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from p2pstore.csv_cells import safe_cell, safe_text_array

#: Rows per Parquet row group (chunks are gathered up to this many before a group is written).
ROW_GROUP_ROWS = 262_144


def arrow_schema(columns, *, text: bool = False):
    """The Arrow schema of ``columns``; with ``text``, booleans and timestamps as strings (the
    CSV writer's Python forms), each field's metadata naming its column's kind."""

    kinds = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_(),
             "datetime": pa.timestamp("us"), "datetime_tz": pa.timestamp("us", tz="UTC")}
    if text:
        kinds.update(bool=pa.string(), datetime=pa.string(), datetime_tz=pa.string())
        return pa.schema([pa.field(c.name, kinds[c.kind], metadata={"kind": c.kind}) for c in columns])
    return pa.schema([pa.field(c.name, kinds[c.kind]) for c in columns])


def arrow_table(chunk, schema, *, text: bool = False):
    """The chunk as an Arrow table of ``schema`` (see :func:`_arrow_arrays`)."""

    return pa.Table.from_arrays(_arrow_arrays(chunk, schema, text=text), schema=schema)


def _arrow_arrays(chunk, schema, *, text: bool = False) -> list:
    """The chunk's columns as Arrow arrays of ``schema``'s types. Leading key values become
    constant columns; numpy columns (``chunk.arrays``, NaN for NULL) are converted without a
    Python value per cell; rows whose other columns are all numbers without NULLs in one numpy
    step, else value by value (with ``text``, booleans and timestamps as ``str(value)``)."""

    n = len(chunk)
    fields = list(schema)
    arrays = key_arrays(chunk.keys, fields, n, text=text)
    rest = fields[len(chunk.keys):]
    if chunk.arrays is not None:
        columns = [pa.array(chunk.arrays[f.name], type=f.type, from_pandas=True) for f in rest]
        return arrays + [safe_text_array(c) if text and pa.types.is_string(c.type) else c for c in columns]
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
    and naive timestamps (fields of :func:`arrow_schema` marked with their kind) converted by
    Arrow, the rest value by value."""

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
    return pa.array([cell_text(v) for v in values], type=pa.string())


def key_arrays(keys: tuple, fields: list, n: int, *, text: bool = False) -> list:
    """Constant columns of ``n`` rows holding the ``keys``, typed as ``fields`` (with ``text``,
    a text field holds the key's ``str`` form)."""

    return [pa.repeat(pa.scalar(cell_text(value) if text and pa.types.is_string(f.type) else value, type=f.type), n)
            for value, f in zip(keys, fields)]


def cell_text(value):
    """A text cell's value: a string as is, NULL as None, anything else (a boolean, a
    timestamp) in Python's ``str`` form, as ``csv.writer`` writes it; then through
    :func:`~p2pstore.csv_cells.safe_cell` (a cell a spreadsheet would evaluate starts with ``'``)."""
    return safe_cell(value if value is None or isinstance(value, str) else str(value))


def write_parquet(path: Path, columns, chunks: Iterable, bar) -> None:
    """Row groups of :data:`ROW_GROUP_ROWS` rows, typed by the table's columns (a column that is
    NULL in one chunk keeps its type), snappy-compressed, dictionary-encoded text columns (not
    the floats: their values rarely repeat). Each group is written in a second thread (pyarrow
    releases the GIL) while the next one is read."""

    schema = arrow_schema(columns)
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
            pending.append(arrow_table(chunk, schema))
            rows += len(chunk)
            bar.update(len(chunk))
            if rows >= ROW_GROUP_ROWS:
                flush(pending, rows)
                pending, rows = [], 0
        if pending:
            flush(pending, rows)
        if last is not None:
            last.result()
