"""Streaming reads of whole tables for export: rows in bounded chunks, never a whole table.

A table is read by name (:data:`EXPORT_TABLES`) with the columns its DataFrame reader returns
(:func:`p2pstore.store.results.readers.table_select`), in the readers' order, one *partition* at a time:
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
(:func:`household_series_arrays`), explicit rows read from ``household_series_explicit``; its
chunks say which of their columns repeat an earlier chunk's (:attr:`Chunk.same`: a household's
load and PV under every mechanism, the flows of mechanisms that share their per-slot factors),
so a writer formats those once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from sqlalchemy import Boolean, DateTime, Float, Integer, String, bindparam, func, select

from p2pstore.errors import NotFoundError
from p2pstore.store.results.readers import table_select

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
        stmt = (_series_sql()["count"] if table == "household_series"
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
        from p2pstore.store.schema import Run

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
        from p2pstore.store.schema import Household, Run

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


@functools.cache
def _series_sql() -> dict:
    """Statements of the ``household_series`` stream and count (built once, on first use)."""
    from sqlalchemy import text

    from p2pstore.store.results import profile_reader
    from p2pstore.store.results.series import FACTORS

    ids = bindparam("run_ids", expanding=True)
    return {
        "households": text("SELECT position, household, lambda_buy, lambda_sell FROM households "
                           "WHERE run_id = :r ORDER BY position"),
        "derived": text("SELECT DISTINCT mechanism FROM mechanism_slots WHERE run_id = :r"),
        "factors": text(f"SELECT slot, {', '.join(FACTORS)} FROM mechanism_slots "
                        "WHERE run_id = :r AND mechanism = :m ORDER BY slot"),
        # a household's profile: the statements the helper process runs too
        **{name: text(sql) for name, sql in profile_reader.SQL.items()},
        # the view's rows: per run, its household slots (counted per household on the primary
        # key: a quarter of the time of a join over every slot) times its derived mechanisms (each has
        # every slot of the run), plus the explicit rows
        "count": text("SELECT COALESCE((SELECT SUM(hs.n * ms.k) FROM "
                      "(SELECT h.run_id, SUM((SELECT COUNT(*) FROM household_slots s WHERE s.run_id = h.run_id "
                      "AND s.position = h.position)) AS n FROM households h WHERE h.run_id IN :run_ids "
                      "GROUP BY h.run_id) hs JOIN "
                      "(SELECT run_id, COUNT(DISTINCT mechanism) AS k FROM mechanism_slots "
                      "WHERE run_id IN :run_ids GROUP BY run_id) ms ON ms.run_id = hs.run_id), 0) "
                      "+ (SELECT COUNT(*) FROM household_series_explicit WHERE run_id IN :run_ids)").bindparams(ids),
        "factor_names": FACTORS,
    }


class SeriesPart(NamedTuple):
    """One household's ``household_series`` rows under one mechanism, as arrays.

    ``values``: ``{column: [k] array}``, ``slot`` and the view's value columns. ``same``:
    ``{column: key}`` for columns whose values are known to repeat those of another part of the
    same run with the same key, bit for bit: ``slot`` (the same slot range), ``load_kw`` and
    ``pv_kw`` (the household's, under every derived mechanism), the four flows (under derived
    mechanisms with bit-identical flow factors: ``imp * f`` of the same operands), and any column
    that is +0.0 throughout."""

    mechanism: str
    household: str
    values: dict
    same: dict


def household_series_arrays(conn, run_id: int, mechanisms: list[str],
                            households: Iterable[str] | None = None) -> Iterator[SeriesPart]:
    """:class:`SeriesPart` of one run's ``household_series`` rows, in the order of
    ``mechanisms`` and of the households' positions (only ``households`` if given), slots
    ascending: derived rows computed from the household's ``household_slots`` and the
    mechanism's ``mechanism_slots`` with :func:`p2pstore.store.results.series.derive` (the view's values
    bit for bit), explicit rows read from ``household_series_explicit``."""
    sql = _series_sql()
    wanted = None if households is None else set(households)
    members = [tuple(m) for m in conn.execute(sql["households"], {"r": run_id}) if wanted is None or m[1] in wanted]
    derived = set(conn.execute(sql["derived"], {"r": run_id}).scalars())
    # each household's profile is read once for all the derived mechanisms while it fits
    slots = _HouseholdSlots(conn, run_id, SLOTS_CACHE_BYTES if len(derived & set(mechanisms)) > 1 else 0,
                            [(m[0], m[2], m[3]) for m in members] if derived & set(mechanisms) else [])
    try:
        yield from _parts(conn, run_id, mechanisms, members, derived, slots)
    finally:
        slots.close()


def _parts(conn, run_id: int, mechanisms: list[str], members: list[tuple], derived: set[str],
           slots: "_HouseholdSlots") -> Iterator[SeriesPart]:
    """:func:`household_series_arrays` once its households and derived mechanisms are known."""
    import numpy as np

    from p2pstore.store.schema import HouseholdSeriesExplicit
    from p2pstore.store.results.series import FLOW_FACTORS, derive

    sql = _series_sql()
    explicit = HouseholdSeriesExplicit.__table__
    value_columns = [c.name for c in explicit.columns][4:]
    flow_groups: dict[tuple, str] = {}  # a derived mechanism's slots and flow factors -> the first with them
    for mechanism in mechanisms:
        if mechanism not in derived:
            for _, household, _, _ in members:
                stmt = (select(explicit.c.slot, *[explicit.c[c] for c in value_columns])
                        .where(explicit.c.run_id == run_id, explicit.c.mechanism == mechanism,
                               explicit.c.household == household).order_by(explicit.c.slot))
                rows = _driver_rows(conn, stmt, {})
                if rows:
                    table = np.array(rows, dtype=np.float64).reshape(len(rows), 1 + len(value_columns))
                    out = {c: table[:, 1 + k] for k, c in enumerate(value_columns)}
                    slot = table[:, 0].astype(np.int64)
                    yield SeriesPart(mechanism, household, {"slot": slot, **out}, _plain_same(slot, out))
            continue
        table = np.array(_driver_rows(conn, sql["factors"], {"r": run_id, "m": mechanism}), dtype=np.float64).reshape(-1, 1 + len(sql["factor_names"]))
        factor_slots = table[:, 0].astype(np.int64)
        factors = dict(zip(sql["factor_names"], table[:, 1:].T))
        flows_of = flow_groups.setdefault((factor_slots.tobytes(), *(factors[k].tobytes() for k in FLOW_FACTORS)),
                                          mechanism)
        for position, household, flat_buy, flat_sell in members:
            profile = slots.get(position)
            if profile is None:
                profile = slots.read(position, flat_buy, flat_sell)
            if profile is None:
                continue
            slot, load, pv, buy, sell = profile
            f = factors
            if not np.array_equal(slot, factor_slots):  # the writer stores every slot for both
                at = np.searchsorted(factor_slots, slot)
                f = {k: v[at] for k, v in factors.items()}
            derived_values = derive(load, pv, buy, sell, f, scale=False)
            out = {"load_kw": load, "pv_kw": pv, **{c: derived_values[c] for c in value_columns[2:]}}
            same = _plain_same(slot, out)
            for c in ("load_kw", "pv_kw"):
                same.setdefault(c, ("profile", position, c))
            for c in value_columns[2:6]:  # the flows
                same.setdefault(c, ("flows", flows_of, position, c))
            yield SeriesPart(mechanism, household, {"slot": slot, **out}, same)


def _plain_same(slot, values: dict) -> dict:
    """:attr:`SeriesPart.same` keys that follow from the values alone: ``slot`` when it is a
    range (each ``slot[k] = slot[0] + k``), columns that are +0.0 throughout."""
    import numpy as np

    same = {c: ("zeros",) for c, v in values.items() if not v.view(np.int64).any()}
    if len(slot) and slot[-1] - slot[0] == len(slot) - 1:  # ascending and unique: a range
        same["slot"] = ("range", int(slot[0]))
    return same


#: Bytes of household profiles (``household_slots`` as arrays) kept while ``household_series``
#: is streamed mechanism by mechanism; households beyond it are read again for each mechanism,
#: so memory stays bounded whatever the size of the run.
SLOTS_CACHE_BYTES = 256 * 2**20


class _HouseholdSlots:
    """One run's household profiles (:func:`p2pstore.store.results.profile_reader.read_profile`), kept up to
    ``budget`` bytes: read on ``conn``, or for a large run in a SQLite file by the helper process
    of :class:`~p2pstore.store.results.profile_reader.ProfileReader` a few households ahead. ``members``:
    ``(position, flat_buy, flat_sell)`` in the order the profiles are asked for. Close it."""

    def __init__(self, conn, run_id: int, budget: int, members: list[tuple]):
        from p2pstore.store.results import profile_reader

        self.conn, self.run_id, self.budget = conn, run_id, budget
        self.kept: dict[int, tuple] = {}
        self.used = 0
        self.helper = None  # a large run in a SQLite file: read by profile_reader's helper process
        uri = _sqlite_uri(conn)
        if uri is not None and members and len(members) * _slots_of(conn, run_id, members[0][0]) >= profile_reader.MIN_ROWS:
            self.helper = profile_reader.ProfileReader(uri, run_id, members)

    def close(self) -> None:
        if self.helper is not None:
            self.helper.close()

    def get(self, position: int) -> tuple | None:
        return self.kept.get(position)

    def read(self, position: int, flat_buy: float, flat_sell: float) -> tuple | None:
        from p2pstore.store.results.profile_reader import WIDTH, read_profile

        if self.helper is not None:
            profile = self.helper.get(position, wanted=lambda ahead: ahead not in self.kept)
        else:
            sql = _series_sql()
            profile = read_profile(lambda name, params: _columns(self.conn, sql[name], params, WIDTH[name]),
                                   self.run_id, position, flat_buy, flat_sell)
        return self._keep(position, profile)

    def _keep(self, position: int, profile: tuple | None) -> tuple | None:
        import numpy as np

        if profile is not None:
            size = sum(a.nbytes for a in profile if isinstance(a, np.ndarray))
            if self.used + size <= self.budget:
                self.kept[position] = profile
                self.used += size
        return profile


def _slots_of(conn, run_id: int, position: int) -> int:
    """Slots of one household's profile, from its first and last."""
    first, last, _ = _driver_rows(conn, _series_sql()["shape"], {"r": run_id, "p": position})[0]
    return last - first + 1


def _sqlite_uri(conn) -> str | None:
    """A read-only URI of ``conn``'s SQLite file (None for PostgreSQL or an in-memory database)."""
    import os
    from urllib.parse import quote

    from p2pstore.store.engine import sqlite_path

    path = sqlite_path(conn.engine)
    return None if path is None else f"file:{quote(os.path.abspath(path))}?mode=ro"


def _columns(conn, stmt, params: dict, width: int) -> list:
    """The ``width`` columns of ``stmt``'s rows (numbers) as float64 arrays, from the driver's
    rows (:func:`_driver_rows`) in one numpy step."""
    import itertools

    import numpy as np

    rows = _driver_rows(conn, stmt, params)
    table = np.fromiter(itertools.chain.from_iterable(rows), np.float64, count=width * len(rows)).reshape(-1, width)
    return [table[:, k].copy() for k in range(width)]


def _driver_rows(conn, stmt, params: dict) -> list[tuple]:
    """Every row of ``stmt`` as the driver's tuples (SQLAlchemy's rows cost more than the query
    on 35,040-row reads; numpy converts tuples at once). Values rendered inline, as in :func:`_fetch`."""
    bound = stmt.bindparams(**params) if params else stmt
    sql = str(bound.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


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
    from p2pstore.store.results.readers import run_filtered, table_order

    stmt = run_filtered(table, _statement(table))
    source = stmt.selected_columns
    if by in ("mechanism", "household"):
        stmt = stmt.where(source["mechanism"] == bindparam("mechanism"))
    if by == "household":
        stmt = stmt.where(source["household"] == bindparam("household"))
    return stmt.order_by(*table_order(table, stmt)) if ordered else stmt


def _id_chunks(ids: list[int]) -> list[list[int]]:
    from p2pstore.store.results.readers import ID_CHUNK

    return [ids[i:i + ID_CHUNK] for i in range(0, len(ids), ID_CHUNK)]


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
