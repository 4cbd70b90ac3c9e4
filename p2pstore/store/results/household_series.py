"""``household_series`` in numpy: one household's rows under one mechanism at a time.

Derived rows (mechanisms whose flows follow from per-slot factors) are computed from the
household's ``household_slots`` and the mechanism's ``mechanism_slots`` with the series formula
(:func:`p2pstore.store.results.series.derive`, the view's values bit for bit); explicit rows are
read from ``household_series_explicit``. A large run in a SQLite file has its profiles read by
the helper process of :mod:`p2pstore.store.results.profile_reader`. Used by the readers
(:meth:`~p2pstore.store.results.readers.StoreReaders.series`) and the export streams.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Iterable, Iterator
from typing import NamedTuple
from urllib.parse import quote

import numpy as np
from sqlalchemy import bindparam, select, text

from p2pstore.store.engine import sqlite_path
from p2pstore.store.results import profile_reader
from p2pstore.store.results.profile_reader import WIDTH, read_profile
from p2pstore.store.results.series import DERIVED, FACTORS, FLOW_COLUMNS, FLOW_FACTORS, derive
from p2pstore.store.schema import HouseholdSeriesExplicit


@functools.cache
def _series_sql() -> dict:
    """Statements of the ``household_series`` stream and count (built once, on first use)."""
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


def series_count_sql():
    """The statement counting ``household_series`` rows of the runs bound as ``run_ids``."""
    return _series_sql()["count"]


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
           slots: _HouseholdSlots) -> Iterator[SeriesPart]:
    """:func:`household_series_arrays` once its households and derived mechanisms are known."""
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
            out = {"load_kw": load, "pv_kw": pv, **{c: derived_values[c] for c in DERIVED}}
            same = _plain_same(slot, out)
            for c in ("load_kw", "pv_kw"):
                same.setdefault(c, ("profile", position, c))
            for c in FLOW_COLUMNS:
                same.setdefault(c, ("flows", flows_of, position, c))
            yield SeriesPart(mechanism, household, {"slot": slot, **out}, same)


def _plain_same(slot, values: dict) -> dict:
    """:attr:`SeriesPart.same` keys that follow from the values alone: ``slot`` when it is a
    range (each ``slot[k] = slot[0] + k``), columns that are +0.0 throughout."""
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
        if self.helper is not None:
            profile = self.helper.get(position, wanted=lambda ahead: ahead not in self.kept)
        else:
            sql = _series_sql()
            profile = read_profile(lambda name, params: _columns(self.conn, sql[name], params, WIDTH[name]),
                                   self.run_id, position, flat_buy, flat_sell)
        return self._keep(position, profile)

    def _keep(self, position: int, profile: tuple | None) -> tuple | None:
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
    path = sqlite_path(conn.engine)
    return None if path is None else f"file:{quote(os.path.abspath(path))}?mode=ro"


def _columns(conn, stmt, params: dict, width: int) -> list:
    """The ``width`` columns of ``stmt``'s rows (numbers) as float64 arrays, from the driver's
    rows (:func:`_driver_rows`) in one numpy step."""
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
