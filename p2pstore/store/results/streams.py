"""Streaming reads of whole tables for export: rows in bounded chunks, never a whole table.

A table is read by name (:data:`EXPORT_TABLES`) with the columns its DataFrame reader returns
(:func:`p2pstore.store.results.selects.table_select`), in the readers' order, one *partition* at a time:
per run for small tables, per (run, mechanism) for per-slot tables, per (run, mechanism,
household) for ``household_series``. Each partition is an index range, so no query sorts or
holds more than one partition, and rows are fetched ``chunk_rows`` at a time: peak memory does
not grow with the size of a run or of a batch.

Rows are plain tuples of Python values (int, float, str, bool, datetime, None), except for
``household_series``, whose chunks hold numpy columns (:attr:`Chunk.arrays`). Tables whose
columns are numbers and text only are read on the driver's cursor, skipping SQLAlchemy's per-row
work on SQLite; the others, and every table on PostgreSQL, go through SQLAlchemy (typed
timestamps and booleans; a server-side cursor). ``household_series`` (a view, 10 M rows of a
100-household year) is not joined row by row: each household's derived rows are computed from
its ``household_slots`` and the mechanism's ``mechanism_slots`` in numpy
(:func:`~p2pstore.store.results.household_series.household_series_arrays`), explicit rows read from ``household_series_explicit``; its
chunks say which of their columns repeat an earlier chunk's (:attr:`Chunk.same`: a household's
load and PV under every mechanism, the flows of mechanisms that share their per-slot factors),
so a writer formats those once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from sqlalchemy import Boolean, DateTime, Float, Integer, String, bindparam, func, select

from p2pstore.errors import NotFoundError
from p2pstore.store.results.household_series import household_series_arrays, series_count_sql
from p2pstore.store.results import readers
from p2pstore.store.results.selects import run_filtered, table_order, table_select
from p2pstore.store.schema import Household, Run

#: Tables an export writes, in order. Per-slot tables are read per (run, mechanism[, household]).
EXPORT_TABLES = ("runs", "scenarios", "households", "bills", "daily_bills", "clearing_prices",
                 "household_series", "community_series", "run_metrics", "batteries", "battery_series")

#: Partitioning of each table: by run, by run and mechanism, or by run, mechanism and household.
_PARTITION = {"clearing_prices": "mechanism", "community_series": "mechanism", "household_series": "household"}

#: Rows fetched from the driver at a time.
CHUNK_ROWS = 50_000


class Chunk(NamedTuple):
    """Consecutive rows of one table, in the order of ``columns``.

    ``keys``: the values of the leading columns, the same in every row of the chunk (a
    partition's run, mechanism, household); the other columns are either ``rows`` (tuples) or,
    for ``household_series``, ``arrays`` (``{column: numpy array}``, columnar end to end: no
    Python value per cell). :meth:`full_rows` gives whole rows either way.

    ``same`` (with ``arrays``): ``{column: key}``; two chunks of one stream whose column has the
    same key hold the same values in it, bit for bit, so a writer may format it once."""

    columns: list[str]
    rows: list[tuple]
    keys: tuple = ()
    arrays: dict | None = None
    same: dict | None = None

    def full_rows(self) -> list[tuple]:
        """Every row with all its columns."""
        rows = self.rows
        if self.arrays is not None:
            rows = list(zip(*(self.arrays[c].tolist() for c in self.columns[len(self.keys):])))
        return [self.keys + r for r in rows] if self.keys else rows

    def __len__(self) -> int:
        if self.arrays is not None:
            return len(next(iter(self.arrays.values()))) if self.arrays else 0
        return len(self.rows)


class Column(NamedTuple):
    """A column of an exported table: its name and kind (``int``, ``float``, ``str``, ``bool``,
    ``datetime`` or ``datetime_tz``), enough to write a typed file before any row is read."""

    name: str
    kind: str


def _kind(sql_type) -> str:
    if isinstance(sql_type, Boolean):
        return "bool"
    if isinstance(sql_type, DateTime):
        return "datetime_tz" if sql_type.timezone else "datetime"
    if isinstance(sql_type, Integer):
        return "int"
    if isinstance(sql_type, Float):
        return "float"
    if isinstance(sql_type, String):
        return "str"
    raise TypeError(f"no export kind for SQL type {sql_type!r}")


class StoreStreams:
    """Streaming table reads; expects ``self.engine`` and the readers' ``stored_ids``."""

    engine: Any

    def table_columns(self, table: str) -> list[Column]:
        """The columns :meth:`stream_table` yields for ``table`` (names and kinds)."""
        return [Column(c.name, _kind(c.type)) for c in _statement(table).selected_columns]

    def count_rows(self, table: str, run_ids: Iterable[int]) -> int:
        """Rows :meth:`stream_table` yields for ``table`` and these runs (one ``COUNT`` per id chunk;
        ``household_series`` from its tables' counts, not by joining every row of the view)."""
        ids = self.stored_ids(list(run_ids))
        stmt = (series_count_sql() if table == "household_series"
                else select(func.count()).select_from(_filtered(table, ordered=False).subquery()))
        total = 0
        with self.engine.connect() as conn:
            for part in _id_chunks(ids):
                total += int(conn.execute(stmt, {"run_ids": part}).scalar_one())
        return total

    def stream_table(self, table: str, run_ids: Iterable[int], chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
        """Rows of ``table`` for the runs ``run_ids``, in the readers' order, ``chunk_rows`` at most
        per chunk. Unknown run ids raise :class:`NotFoundError`."""
        ids = self.stored_ids(list(run_ids))
        stmt = _filtered(table, by=_PARTITION.get(table))
        columns = [c.name for c in stmt.selected_columns]
        if table == "household_series":
            yield from self._stream_household_series(ids, columns, chunk_rows)
            return
        raw = self.engine.dialect.name == "sqlite" and all(
            _kind(c.type) in ("int", "float", "str") for c in stmt.selected_columns)
        with self.engine.connect() as conn:
            for params in self._partitions(conn, table, ids):
                keys = _partition_values(params)
                if raw and keys and columns[:len(keys)] == list(keys):
                    # the partition's keys lead every row: read the other columns only (half the
                    # driver's work on household_series) and give the keys once per chunk
                    prefix = tuple(keys.values())
                    slim = stmt.with_only_columns(*list(stmt.selected_columns)[len(keys):])
                    for rows in _fetch(conn, slim, params, chunk_rows, raw=True):
                        yield Chunk(columns, rows, prefix)
                    continue
                for rows in _fetch(conn, stmt, params, chunk_rows, raw=raw):
                    yield Chunk(columns, rows)

    def _stream_household_series(self, ids: list[int], columns: list[str], chunk_rows: int) -> Iterator[Chunk]:
        """``household_series`` by (run, mechanism, household), as :meth:`stream_table`, from
        :func:`household_series_arrays` (no join per row)."""
        value_columns = columns[4:]  # after run_id, mechanism, household, slot
        with self.engine.connect() as conn:
            for run_id in ids:
                mechanisms = conn.execute(select(Run.mechanisms).where(Run.id == run_id)).scalar_one().split(",")
                for part in household_series_arrays(conn, run_id, mechanisms):
                    arrays = {c: part.values[c] for c in ["slot", *value_columns]}
                    keys = (run_id, part.mechanism, part.household)
                    for i in range(0, len(arrays["slot"]), chunk_rows):
                        piece = {c: a[i:i + chunk_rows] for c, a in arrays.items()}
                        n = len(piece["slot"])
                        yield Chunk(columns, [], keys, piece, {c: (run_id, *key, i, n) for c, key in part.same.items()})

    def _partitions(self, conn, table: str, ids: list[int]) -> Iterator[dict]:
        """Bound parameters of each partition of ``table`` over the runs ``ids``, in order."""
        by = _PARTITION.get(table)
        if by is None:
            for part in _id_chunks(ids):
                yield {"run_ids": part}
            return
        for run_id in ids:
            mechanisms = conn.execute(select(Run.mechanisms).where(Run.id == run_id)).scalar_one()
            households = [None]
            if by == "household":
                households = conn.execute(select(Household.household).where(Household.run_id == run_id)
                                          .order_by(Household.position)).scalars().all()
            for mechanism in mechanisms.split(","):
                for household in households:
                    params = {"run_ids": [run_id], "mechanism": mechanism}
                    yield params if household is None else {**params, "household": household}


def _partition_values(params: dict) -> dict:
    """The column values fixed within a partition: ``run_id`` (a single run), ``mechanism`` and
    ``household`` when the partition binds them, in that order."""
    keys = {}
    if len(params["run_ids"]) == 1:
        keys["run_id"] = params["run_ids"][0]
        for name in ("mechanism", "household"):
            if name not in params:
                break
            keys[name] = params[name]
    return keys


def _statement(table: str):
    try:
        return table_select(table)
    except KeyError:
        raise NotFoundError(f"no table {table!r} to export (known: {', '.join(EXPORT_TABLES)})") from None


def _filtered(table: str, by: str | None = None, *, ordered: bool = True):
    """``table``'s select limited to the bound ``run_ids`` (and partition keys), in reader order."""
    stmt = run_filtered(table, _statement(table))
    source = stmt.selected_columns
    if by in ("mechanism", "household"):
        stmt = stmt.where(source["mechanism"] == bindparam("mechanism"))
    if by == "household":
        stmt = stmt.where(source["household"] == bindparam("household"))
    return stmt.order_by(*table_order(table, stmt)) if ordered else stmt


def _id_chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + readers.ID_CHUNK] for i in range(0, len(ids), readers.ID_CHUNK)]


def _fetch(conn, stmt, params: dict, chunk_rows: int, *, raw: bool) -> Iterator[list[tuple]]:
    """Rows of ``stmt`` with ``params``, ``chunk_rows`` at a time: on the driver's cursor when
    ``raw`` (values need no conversion), else through SQLAlchemy's typed result."""
    if not raw:
        result = conn.execution_options(stream_results=True, max_row_buffer=chunk_rows).execute(stmt, params)
        for part in result.partitions(chunk_rows):
            yield [tuple(r) for r in part]
        return
    # values rendered inline (ids and labels, escaped by the dialect): no driver-specific paramstyle
    sql = str(stmt.params(**params).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        while True:
            rows = cursor.fetchmany(chunk_rows)
            if not rows:
                return
            yield rows
    finally:
        cursor.close()
