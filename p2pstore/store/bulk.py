"""Bulk loading of rows built column-wise from numpy, on the caller's transaction.

Rows are described as *blocks*: ``{column: scalar | [n] array}``, n rows sharing the scalars
(one mechanism, or one mechanism and household). Backends load blocks their fastest way, on the
raw driver connection of the caller's transaction:

* PostgreSQL: ``COPY ... FROM STDIN (FORMAT BINARY)``. A block whose text columns are all
  scalars has fixed-width rows, so its COPY tuples are one numpy structured array turned into
  bytes; other blocks (a few rows: households, bills, metrics) go through ``Copy.write_row``.
* SQLite: one ``executemany`` per table on tuples zipped from ``ndarray.tolist()`` columns.

Nothing here commits: the result writer (:mod:`p2pstore.store.results.writer`) and the
profile-set store (:mod:`p2pstore.store.profilesets`) own the transaction.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import ARRAY, Boolean, DateTime, Float, Integer, String, Text

from p2pstore.errors import InputError
from p2pstore.store.schema import ARRAY_TABLES, BATTERY_TABLES, PROFILE_TABLES, RESULT_TABLES, Base

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

Block = dict[str, Any]

#: Columns each table is bulk-loaded with, in order (result, battery and profile-set tables).
COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in Base.metadata.tables[name].columns) for name in (*RESULT_TABLES, *BATTERY_TABLES, *PROFILE_TABLES)
}

_PG_EPOCH_US = np.datetime64("2000-01-01T00:00:00", "us")


def block_len(block: Block) -> int:
    for v in block.values():
        if isinstance(v, np.ndarray):
            return len(v)
    return 1


def block_rows(table: str, block: Block) -> int:
    """Rows ``block`` makes in ``table``: one in a table of arrays (:data:`ARRAY_TABLES`)."""
    return 1 if table in ARRAY_TABLES else block_len(block)


def write_blocks(conn: Connection, table: str, blocks: Iterable[Block]) -> int:
    """Load ``blocks`` into ``table`` on ``conn``'s transaction; return the row count.

    NaN in a nullable float column is stored as NULL (an undefined value) on both backends, and
    as a NULL element in an array. Raises :class:`InputError` on NaN in a NOT NULL column and on
    an infinite value in a column not marked ``info={"infinity": True}`` in the models
    (PostgreSQL would keep it, SQLite would turn NaN into NULL: neither backend stores what the
    other would not). A block of a table of arrays (:data:`ARRAY_TABLES`, PostgreSQL) is one
    row, its array columns 1-D numpy arrays.
    """
    raw = conn.connection.driver_connection
    columns = COLUMNS[table]
    if table in ARRAY_TABLES:
        return _copy_pg_arrays(raw, table, columns, blocks)
    postgresql = conn.dialect.name == "postgresql"
    blocks = _checked(table, blocks, split=postgresql)
    if postgresql:
        return _copy_pg(raw, table, columns, blocks)
    return _executemany_sqlite(raw, table, columns, blocks)


def _checked(table: str, blocks: Iterable[Block], *, split: bool = True) -> Iterator[Block]:
    """``blocks`` with NaN turned into NULL where allowed: with ``split``, a block with NaN is
    split into blocks of rows sharing the same NULL columns, so each stays fixed-width for COPY
    BINARY; without, NaN is left for the driver (SQLite binds NaN as NULL) and rows keep their
    order (a WITHOUT ROWID table filled in key order packs its pages)."""
    cols = Base.metadata.tables[table].columns

    def refuse(block: Block, column: str, v: np.ndarray, bad: np.ndarray):
        where = int(np.flatnonzero(bad)[0])
        raise InputError(f"non-finite value {v[where]} in {table}.{column} "
                         f"(mechanism {block.get('mechanism', '-')}, row {where}); not stored")

    for block in blocks:
        nan_cols = []
        for column, v in block.items():
            if not (isinstance(v, np.ndarray) and v.dtype.kind == "f") or np.isfinite(v).all():
                continue
            inf, nan = np.isinf(v), np.isnan(v)
            if inf.any() and not cols[column].info.get("infinity"):
                refuse(block, column, v, inf)
            if nan.any():
                if not cols[column].nullable:
                    refuse(block, column, v, nan)
                nan_cols.append(column)
        yield from _split_nulls(block, nan_cols) if nan_cols and split else (block,)


def _split_nulls(block: Block, nan_cols: list[str]) -> Iterator[Block]:
    """Sub-blocks of ``block`` by which of ``nan_cols`` are NaN in a row; those become None."""
    pattern = np.zeros(block_len(block), dtype=np.int64)
    for k, column in enumerate(nan_cols):
        pattern |= np.isnan(block[column]).astype(np.int64) << k
    for key in np.unique(pattern):
        rows = pattern == key
        sub = {c: (v[rows] if isinstance(v, np.ndarray) else v) for c, v in block.items()}
        for k, column in enumerate(nan_cols):
            if key >> k & 1:
                sub[column] = None
        yield sub


# -- SQLite ------------------------------------------------------------------------------------
def _sqlite_value_column(value: Any, n: int) -> Iterable:
    if not isinstance(value, np.ndarray):
        if isinstance(value, dt.datetime):
            value = _sqlite_datetime(value)
        return itertools.repeat(value, n)
    if value.dtype.kind == "M":
        return _sqlite_datetimes(value)
    return value.tolist()


#: The last datetime column converted, and its text: every mechanism's clearing prices carry the
#: same slot times, converted once.
_last_datetimes: list = [None, None]


def _sqlite_datetimes(value: np.ndarray) -> list[str]:
    """SQLAlchemy's SQLite DateTime storage format, ``"YYYY-MM-DD HH:MM:SS.ffffff"``, per element."""
    value = value.astype("datetime64[us]")
    if not value.size:
        return []
    last, text = _last_datetimes
    if last is not None and last.shape == value.shape and np.array_equal(last, value):
        return text
    iso = np.datetime_as_string(value, unit="us")  # "YYYY-MM-DDTHH:MM:SS.ffffff", in a wider <U
    codes = iso.view(np.uint32).reshape(len(iso), -1)
    if (codes.shape[1] >= 26 and (codes[:, 10] == ord("T")).all() and (codes[:, 25] != 0).all()
            and (codes.shape[1] == 26 or not codes[:, 26].any())):
        codes[:, 10] = ord(" ")  # in place: np.char.replace is a Python-speed loop
        text = iso.tolist()  # trailing NULs are not part of the elements
    else:  # years outside 0000..9999
        text = np.char.replace(iso, "T", " ").tolist()
    _last_datetimes[:] = value, text
    return text


def _sqlite_datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_rows(columns: tuple[str, ...], blocks: Iterable[Block]) -> Iterator[tuple]:
    for block in blocks:
        n = block_len(block)
        yield from zip(*(_sqlite_value_column(block[c], n) for c in columns))


#: Rows per multi-row INSERT on SQLite (``VALUES (...), (...)``), fewer when the connection's
#: limit of host parameters per statement (``SQLITE_LIMIT_VARIABLE_NUMBER``: 32,766 since SQLite
#: 3.32, 999 before, or lowered at run time) does not allow that many.
_SQLITE_ROWS_PER_INSERT = 500


def _executemany_sqlite(raw, table: str, columns: tuple[str, ...], blocks: Iterable[Block]) -> int:
    """Blocks loaded with multi-row INSERTs on the raw sqlite3 connection (its open transaction).

    Each statement is ``INSERT INTO t (...) SELECT ?, column1, ... FROM (VALUES (?, ...), ...)``:
    a block's scalars are bound once, its arrays as up to :data:`_SQLITE_ROWS_PER_INSERT` rows,
    half the time of one ``INSERT`` per row on a million-row block.
    """
    cur = raw.cursor()
    rows = 0
    try:
        for block in blocks:
            rows += _insert_sqlite_block(cur, table, columns, block)
        return rows
    finally:
        cur.close()


def _insert_sqlite_block(cur, table: str, columns: tuple[str, ...], block: Block) -> int:
    n = block_len(block)
    varying = [c for c in columns if isinstance(block[c], np.ndarray)]
    if not varying:
        cur.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    [next(iter(_sqlite_value_column(block[c], 1))) for c in columns])
        return 1
    scalars = [next(iter(_sqlite_value_column(block[c], 1))) for c in columns if c not in varying]
    k = len(varying)
    limit = cur.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(_SQLITE_ROWS_PER_INSERT, (limit - len(scalars)) // k))
    numbered = iter(range(1, k + 1))
    select = ", ".join(f"column{next(numbered)}" if c in varying else "?" for c in columns)

    def sql(rows: int) -> str:
        values = ", ".join(["(" + ", ".join("?" * k) + ")"] * rows)
        return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM (VALUES {values})"

    flat: list = [None] * (n * k)  # row-major values of the varying columns
    for j, c in enumerate(varying):
        flat[j::k] = _sqlite_value_column(block[c], n)
    step = per * k
    full = n // per
    if full:
        cur.executemany(sql(per), (scalars + flat[i:i + step] for i in range(0, full * step, step)))
    if n > full * per:
        cur.execute(sql(n - full * per), scalars + flat[full * step:])
    return n


# -- PostgreSQL --------------------------------------------------------------------------------
def _pg_types(table: str) -> dict[str, str]:
    """PostgreSQL binary type of each column, from the models (``float8[]`` for an array)."""
    out = {}
    for col in Base.metadata.tables[table].columns:
        t = col.type
        name = _pg_type(t.item_type if isinstance(t, ARRAY) else t)
        if name is None:  # pragma: no cover - a new column type needs a mapping here
            raise TypeError(f"no COPY type for {table}.{col.name}: {t!r}")
        out[col.name] = name + ("[]" if isinstance(t, ARRAY) else "")
    return out


#: PostgreSQL binary type of a column type (the first that matches); DateTime by its time zone.
_PG_TYPE_OF = ((Boolean, "bool"), (Integer, "int4"), (Float, "float8"), ((String, Text), "text"))


def _pg_type(t) -> str | None:
    if isinstance(t, DateTime):
        return "timestamptz" if t.timezone else "timestamp"
    return next((name for kind, name in _PG_TYPE_OF if isinstance(t, kind)), None)


_PG_DTYPES = {"bool": "u1", "int4": ">i4", "float8": ">f8", "timestamp": ">i8", "timestamptz": ">i8"}


def _pg_micros(value) -> Any:
    """Microseconds since 2000-01-01 (PostgreSQL's binary timestamp), scalar or array."""
    if isinstance(value, np.ndarray):
        return (value.astype("datetime64[us]") - _PG_EPOCH_US).astype(np.int64)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return (np.datetime64(value, "us") - _PG_EPOCH_US).astype(np.int64)


def _pg_block_bytes(columns: tuple[str, ...], types: dict[str, str], block: Block) -> bytes | None:
    """COPY BINARY tuples of a block whose rows all have the same width; None if they don't."""
    n = block_len(block)
    fields: list[tuple[str, str]] = [("nf", ">i2")]
    fill: list[tuple[str, Any]] = []
    lengths: list[int] = []
    for i, c in enumerate(columns):
        v, t = block[c], types[c]
        if isinstance(v, np.ndarray) and (v.dtype.kind in "OUS" or t == "text"):
            return None  # per-row labels or NULLs: rows are not fixed-width
        fields.append((f"l{i}", ">i4"))
        if v is None:
            lengths.append(-1)
            continue
        if t == "text":
            data = str(v).encode()
            lengths.append(len(data))
            if data:
                fields.append((f"v{i}", f"S{len(data)}"))
                fill.append((f"v{i}", data))
            continue
        dtype = np.dtype(_PG_DTYPES[t])
        fields.append((f"v{i}", dtype.str))
        lengths.append(dtype.itemsize)
        if t.startswith("timestamp"):
            v = _pg_micros(v)
        fill.append((f"v{i}", v))
    arr = np.empty(n, dtype=np.dtype(fields))
    arr["nf"] = len(columns)
    for i, length in enumerate(lengths):
        arr[f"l{i}"] = length
    for name, v in fill:
        arr[name] = v
    return arr.tobytes()


def _pg_row_values(columns: tuple[str, ...], types: dict[str, str], block: Block) -> Iterator[tuple]:
    n = block_len(block)
    cols = []
    for c in columns:
        v = block[c]
        if isinstance(v, np.ndarray):
            if v.dtype.kind == "M":
                v = v.astype("datetime64[us]").astype(dt.datetime)
                if types[c] == "timestamptz":
                    v = [x.replace(tzinfo=dt.timezone.utc) for x in v]
            cols.append(v.tolist() if isinstance(v, np.ndarray) else v)
        else:
            cols.append(itertools.repeat(v, n))
    return zip(*cols)


def _copy_pg(raw, table: str, columns: tuple[str, ...], blocks: Iterable[Block]) -> int:
    """``COPY table FROM STDIN (FORMAT BINARY)`` on the raw psycopg connection (its transaction).

    We send the COPY signature ourselves; psycopg then adds the trailer only if ``write_row``
    was used (row mode), so we add it when every block went through as bytes.
    """
    types = _pg_types(table)
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    rows = 0
    row_mode = False
    with raw.cursor() as cur, cur.copy(sql) as copy:
        copy.set_types([types[c] for c in columns])
        copy.write(_PG_COPY_SIGNATURE)
        for block in blocks:
            data = _pg_block_bytes(columns, types, block)
            if data is not None:
                copy.write(data)
                rows += block_len(block)
                continue
            for row in _pg_row_values(columns, types, block):
                copy.write_row(row)
                rows += 1
                row_mode = True
        if not row_mode:
            copy.write(_PG_COPY_TRAILER)
    return rows


#: Element type of each array column type: (type oid, big-endian numpy dtype).
_PG_ELEMENTS = {Float: (701, ">f8"), Boolean: (16, "u1"), DateTime: (1114, ">i8")}


def _pg_array(table: str, column, values: np.ndarray) -> bytes:
    """A 1-D array in PostgreSQL's binary format (``array_recv``): header, then each element's
    length and big-endian value; NaN (NaT) is a NULL element. Built with numpy (no loop)."""
    oid, dtype = next(v for t, v in _PG_ELEMENTS.items() if isinstance(column.type.item_type, t))
    n = len(values)
    if values.dtype.kind == "M":
        null, data = np.isnat(values), _pg_micros(values)
    elif values.dtype.kind == "f":
        null, data = np.isnan(values), values
        if np.isinf(values).any() and not column.info.get("infinity"):
            where = int(np.flatnonzero(np.isinf(values))[0])
            raise InputError(f"non-finite value {values[where]} in {table}.{column.name} (row {where}); not stored")
    else:
        null, data = np.zeros(n, dtype=bool), values
    width = np.dtype(dtype).itemsize
    cells = np.empty(n, dtype=[("length", ">i4"), ("value", dtype)])
    cells["length"] = np.where(null, -1, width)
    cells["value"] = data
    body = cells.view(np.uint8).reshape(n, 4 + width)
    if null.any():  # a NULL element is its length alone
        keep = np.ones(body.shape, dtype=bool)
        keep[null, 4:] = False
        body = body[keep]
    header = np.array([1, int(null.any()), oid, n, 1], dtype=">i4")
    return header.tobytes() + body.tobytes()


def _copy_pg_arrays(raw, table: str, columns: tuple[str, ...], blocks: Iterable[Block]) -> int:
    """``COPY ... (FORMAT BINARY)`` of a table of arrays, a block per row (integers as int4,
    arrays through :func:`_pg_array`, None as NULL)."""
    cols = Base.metadata.tables[table].columns
    rows = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_PG_COPY_SIGNATURE)
        for block in blocks:
            parts = [np.array([len(columns)], dtype=">i2").tobytes()]
            for c in columns:
                v = block[c]
                if v is None:
                    parts.append(b"\xff\xff\xff\xff")
                    continue
                data = _pg_array(table, cols[c], v) if isinstance(cols[c].type, ARRAY) else \
                    np.array([v], dtype=">i4").tobytes()
                parts.append(np.array([len(data)], dtype=">i4").tobytes() + data)
            copy.write(b"".join(parts))
            rows += 1
        copy.write(_PG_COPY_TRAILER)
    return rows


_PG_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_PG_COPY_TRAILER = b"\xff\xff"
