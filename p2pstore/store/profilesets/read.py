"""Reading stored profile sets and tariff files: finding a set, its shape, and the values of the
households and slots a run needs (:func:`_slot_arrays`: one array per household from
PostgreSQL, a streamed cursor on SQLite).

Tables (docs/schema.md): ``profile_sets`` (one row per stored data set, unique name and content
hash), ``profile_set_households`` (names, kinds, flat tariffs or the series of time-varying
ones), ``profile_values`` (load and PV per household and slot), ``profile_tariffs`` (time-varying
tariff series per slot), ``profile_p2p`` (the P2P calendar) and ``scenario_profile_sets`` (which
stored data a scenario computes from).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING

import numpy as np
import sqlalchemy as sa

from p2pstore.errors import NotFoundError
from p2pstore.profiles.sets import ProfileSet, SetShape, TariffTable
from p2pstore.store.schema import (
    ProfileP2P,
    ProfileSetHousehold,
    ProfileSetRow,
    ProfileTariff,
    ProfileValue,
    ScenarioProfileSet,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from p2pstore.scenario import Scenario

sets_t = ProfileSetRow.__table__
households_t = ProfileSetHousehold.__table__
values_t = ProfileValue.__table__
tariffs_t = ProfileTariff.__table__
p2p_t = ProfileP2P.__table__
links_t = ScenarioProfileSet.__table__


def set_label(name: str | None) -> str:
    return f"profile set {name!r}" if name is not None else "the stored tariff file"


def find_set(conn: Connection, *, name: str | None = None, content_hash: str | None = None) -> dict | None:
    stmt = sa.select(sets_t)
    stmt = stmt.where(sets_t.c.name == name) if name is not None else stmt.where(sets_t.c.content_hash == content_hash)
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None


def require_set(conn: Connection, *, name: str | None = None, content_hash: str | None = None) -> dict:
    found = find_set(conn, name=name, content_hash=content_hash)
    if found is not None:
        return found
    if name is not None:
        known = conn.execute(sa.select(sets_t.c.name).where(sets_t.c.name.is_not(None))
                             .order_by(sets_t.c.name).limit(10)).scalars().all()
        hint = f" (known: {', '.join(known)})" if known else " (none imported yet: p2pstore profiles import)"
        raise NotFoundError(f"no profile set named {name!r}{hint}")
    raise NotFoundError(f"no stored data with content hash {content_hash} (was the set deleted or replaced?)")


def household_rows(conn: Connection, set_id: int) -> list[dict]:
    stmt = sa.select(households_t).where(households_t.c.profile_set_id == set_id).order_by(households_t.c.position)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def shape_of(conn: Connection, meta: dict) -> tuple[SetShape, np.ndarray]:
    """``(shape, kinds [N])`` of a profile set's row ``meta``."""
    rows = household_rows(conn, meta["id"])
    shape = SetShape(tuple(r["household"] for r in rows), meta["start"], meta["slot_minutes"], meta["slots"],
                     label=set_label(meta["name"]))
    return shape, np.array([r["kind"] for r in rows], dtype=object)



# --------------------------------------------------------------------------------------------
# reading values
# --------------------------------------------------------------------------------------------
def _where_rows(column, rows: np.ndarray | None, n_total: int):
    if rows is None or len(rows) == n_total:
        return sa.true()
    return column.in_([int(r) for r in rows])


def _slot_arrays(conn: Connection, table, key, columns: tuple[str, ...], where, n_keys: int,
                 n_slots: int) -> list[np.ndarray]:
    """``[n_keys, n_slots]`` float64 per column of ``columns``: the rows of ``table`` matching
    ``where``, one row of the result per ``key`` value (ascending), slots in order.

    PostgreSQL aggregates each key's slots into arrays (over rows read in primary-key order, so
    no sort) and sends them with ``COPY ... TO STDOUT (FORMAT BINARY)``, parsed by numpy: one
    message per key, not per slot. The slot numbers come along and the values are put in slot
    order whatever order the aggregate kept. SQLite streams the cursor into ``np.fromiter``.
    ``where`` holds only numbers, rendered as literals.
    """
    render = {"dialect": conn.dialect, "compile_kwargs": {"literal_binds": True}}
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        rows = sa.select(key.label("k"), table.c.slot, *[table.c[c] for c in columns]).where(where) \
            .order_by(key, table.c.slot).subquery()
        stmt = sa.select(sa.func.array_agg(rows.c.slot), *[sa.func.array_agg(rows.c[c]) for c in columns]) \
            .group_by(rows.c.k).order_by(rows.c.k)
        buf = bytearray()
        with raw.cursor() as cur, cur.copy(f"COPY ({stmt.compile(**render)}) TO STDOUT (FORMAT BINARY)") as copy:
            for chunk in copy:
                buf += chunk
        return _parse_array_rows(buf, len(columns), n_keys, n_slots)
    stmt = sa.select(*[table.c[c] for c in columns]).where(where).order_by(key, table.c.slot)
    cur = raw.cursor()
    try:
        cur.execute(str(stmt.compile(**render)))
        count = n_keys * n_slots * len(columns)
        flat = np.fromiter(itertools.chain.from_iterable(cur), dtype=np.float64, count=count)
    finally:
        cur.close()
    return [np.ascontiguousarray(flat[i::len(columns)]).reshape(n_keys, n_slots) for i in range(len(columns))]


#: Elements of binary PostgreSQL arrays: their length, then an int4 or a float8.
_PG_INT4 = np.dtype([("length", ">i4"), ("value", ">i4")])
_PG_FLOAT8 = np.dtype([("length", ">i4"), ("value", ">f8")])


def _parse_array_rows(buf: bytearray, n_columns: int, n_rows: int, n_slots: int) -> list[np.ndarray]:
    """Parse a binary COPY of ``n_rows`` tuples ``(int4[] slots, float8[] column, ...)``; return
    ``n_columns`` arrays ``[n_rows, n_slots]`` with each row in slot order."""
    out = [np.empty((n_rows, n_slots)) for _ in range(n_columns)]
    offset = 19  # signature, flags, header extension length

    def array(dtype: np.dtype) -> np.ndarray:
        nonlocal offset
        offset += 4  # the field's length
        ndim = int.from_bytes(buf[offset:offset + 4], "big")
        size = int.from_bytes(buf[offset + 12:offset + 16], "big") if ndim else 0
        if size != n_slots:
            raise ValueError(f"stored profile data are incomplete: {size} of {n_slots} slots")
        start = offset + 12 + 8 * ndim  # ndim, has-null flag, element type, (size, lower bound) per dim
        offset = start + n_slots * dtype.itemsize
        return np.frombuffer(buf, dtype=dtype, count=n_slots, offset=start)["value"]

    for k in range(n_rows):
        offset += 2  # the tuple's field count
        slots = array(_PG_INT4)
        order = None if np.all(slots[1:] > slots[:-1]) else np.argsort(slots)
        for f in range(n_columns):
            values = array(_PG_FLOAT8)
            out[f][k] = values if order is None else values[order]
    return out


def read_profile_set(conn: Connection, meta: dict, rows: np.ndarray | None = None, first: int = 0,
                     n: int | None = None) -> ProfileSet:
    """The households ``rows`` (ascending positions; None = all) of the set ``meta`` over slots
    ``first .. first + n - 1`` (None = to the end), as a :class:`ProfileSet` with its tariffs."""
    set_id = meta["id"]
    hh = household_rows(conn, set_id)
    positions = np.arange(len(hh)) if rows is None else np.asarray(rows)
    n = meta["slots"] - first if n is None else n
    chosen = [hh[int(i)] for i in positions]
    where = sa.and_(values_t.c.profile_set_id == set_id, values_t.c.slot >= first, values_t.c.slot < first + n,
                    _where_rows(values_t.c.position, positions, len(hh)))
    load, pv = _slot_arrays(conn, values_t, values_t.c.position, ("load_kw", "pv_kw"), where, len(positions), n)
    p2p = conn.execute(sa.select(p2p_t.c.p2p_allowed)
                       .where(p2p_t.c.profile_set_id == set_id, p2p_t.c.slot >= first, p2p_t.c.slot < first + n)
                       .order_by(p2p_t.c.slot)).scalars().all()
    start = meta["start"] + dt.timedelta(minutes=meta["slot_minutes"] * first)
    names = tuple(r["household"] for r in chosen)
    tariffs = _tariffs(conn, meta, chosen, names, first, n, start)
    return ProfileSet(names=names, load_kw=load, pv_kw=pv, p2p_allowed=np.asarray(p2p, dtype=bool),
                      start=start, slot_minutes=meta["slot_minutes"], timezone=meta["timezone"],
                      tariffs=tariffs, source=meta["source"],
                      kinds=np.array([r["kind"] for r in chosen], dtype=object).astype(str))


def _tariffs(conn: Connection, meta: dict, chosen: list[dict], names, first: int, n: int | None,
             start: dt.datetime | None) -> TariffTable | None:
    """The tariffs of household rows ``chosen`` (time-varying: over ``n`` slots from ``first``)."""
    source = meta["source"]
    if meta["tariffs"] == "none":
        return None
    if meta["tariffs"] == "flat":
        return TariffTable(names, np.array([r["buy"] for r in chosen], dtype=np.float64),
                           np.array([r["sell"] for r in chosen], dtype=np.float64), source=source)
    wanted = sorted({r["tariff_series"] for r in chosen})
    renumber = {s: k for k, s in enumerate(wanted)}
    n = meta["slots"] - first if n is None else n
    where = sa.and_(tariffs_t.c.profile_set_id == meta["id"], tariffs_t.c.series.in_(wanted),
                    tariffs_t.c.slot >= first, tariffs_t.c.slot < first + n)
    buy, sell = _slot_arrays(conn, tariffs_t, tariffs_t.c.series, ("buy", "sell"), where, len(wanted), n)
    series_of = np.array([renumber[r["tariff_series"]] for r in chosen], dtype=np.int64)
    return TariffTable(names, buy, sell, series_of, start, meta["slot_minutes"], source)


def read_tariff_file(conn: Connection, content_hash: str) -> TariffTable:
    """The stored tariff file with ``content_hash``."""
    meta = require_set(conn, content_hash=content_hash)
    hh = household_rows(conn, meta["id"])
    names = None if hh[0]["household"] is None else tuple(r["household"] for r in hh)
    return _tariffs(conn, meta, hh, names, 0, None, meta["start"])


def read_community(conn: Connection, scenario: Scenario):
    """The :class:`~p2pstore.profiles.base.Profiles` of a resolved scenario on a profile set:
    only the drawn households and the window are read."""
    meta = require_set(conn, content_hash=scenario.profiles_hash)
    shape, _ = shape_of(conn, meta)
    rows, first, n = shape.selection(scenario.households, scenario.seed, scenario.start, scenario.days)
    data = read_profile_set(conn, meta, rows, first, n)
    override = read_tariff_file(conn, scenario.tariffs_hash) if scenario.tariffs_hash else None
    return data.to_profiles(override, label=set_label(scenario.profiles))
