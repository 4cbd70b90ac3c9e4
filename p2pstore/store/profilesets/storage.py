"""Profile sets in the store: written once in bulk, read back in part, referenced by scenarios.

Tables (docs/schema.md): ``profile_sets`` (one row per stored data set, unique name and content
hash), ``profile_set_households`` (names, kinds, flat tariffs or the series of time-varying
ones), ``profile_values`` (load and PV per household and slot), ``profile_tariffs`` (time-varying
tariff series per slot), ``profile_p2p`` (the P2P calendar) and ``scenario_profile_sets`` (which
stored data a scenario computes from).

A set is written in one transaction through the block writer (COPY BINARY on PostgreSQL,
``executemany`` on SQLite). Reading takes only the households and slots a run needs
(:func:`_slot_arrays`: one array per household from PostgreSQL, a streamed cursor on SQLite).

Scenarios are *resolved* before they are stored (:func:`resolve`): a set's name is pinned to its
content hash and a tariff file is read, stored and pinned to its hash, so a run always computes
from exactly the data it was queued with, on any host.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from p2pstore.batteries import keys as battery_keys
from p2pstore.errors import InputError, NotFoundError
from p2pstore.profiles.sets import ProfileSet, SetShape, TariffTable
from p2pstore.store.schema import (
    ProfileP2P,
    ProfileSetHousehold,
    ProfileSetRow,
    ProfileTariff,
    ProfileValue,
    Run,
    Schedule,
    ScenarioProfileSet,
)
from p2pstore.store.results.writer import Block, write_blocks

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


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------
def _tariff_columns(table: TariffTable | None) -> dict[str, Any]:
    """``buy``/``sell``/``tariff_series`` columns of household rows (NULL where not used)."""
    if table is None:
        return {"buy": None, "sell": None, "tariff_series": None}
    if table.time_varying:
        return {"buy": None, "sell": None, "tariff_series": np.asarray(table.series_of, dtype=np.int32)}
    return {"buy": np.asarray(table.buy, np.float64), "sell": np.asarray(table.sell, np.float64),
            "tariff_series": None}


def _tariff_mode(table: TariffTable | None) -> str:
    return "none" if table is None else ("time" if table.time_varying else "flat")


def _series_blocks(set_id: int, table: TariffTable | None) -> Iterator[Block]:
    if table is None or not table.time_varying:
        return
    slots = np.arange(table.n_slots, dtype=np.int32)
    for k in range(table.buy.shape[0]):
        yield {"profile_set_id": set_id, "series": k, "slot": slots, "buy": table.buy[k], "sell": table.sell[k]}


def _insert_set(conn: Connection, **values: Any) -> int:
    return conn.execute(sa.insert(sets_t).values(**values).returning(sets_t.c.id)).scalar_one()


def write_profile_set(conn: Connection, name: str, data: ProfileSet) -> int:
    """Insert ``data`` as profile set ``name`` on ``conn``'s transaction; return its id."""
    kinds = np.asarray(data.kinds, dtype=object)
    n_pro = int(np.count_nonzero(kinds == "prosumer"))
    set_id = _insert_set(
        conn, name=name, kind="profiles", content_hash=data.content_hash, start=data.start,
        slot_minutes=data.slot_minutes, timezone=data.timezone, households=data.n_households,
        slots=data.n_slots, consumers=data.n_households - n_pro, prosumers=n_pro,
        tariffs=_tariff_mode(data.tariffs), source=data.source or "-",
    )
    dt_h = data.slot_minutes / 60.0
    write_blocks(conn, "profile_set_households", [{
        "profile_set_id": set_id, "position": np.arange(data.n_households, dtype=np.int32),
        "household": np.asarray(data.names, dtype=object), "kind": kinds,
        **_tariff_columns(data.tariffs),
        "load_kwh": data.load_kw.sum(axis=1) * dt_h, "pv_kwh": data.pv_kw.sum(axis=1) * dt_h,
    }])
    slots = np.arange(data.n_slots, dtype=np.int32)
    write_blocks(conn, "profile_values", (
        {"profile_set_id": set_id, "position": k, "slot": slots, "load_kw": data.load_kw[k], "pv_kw": data.pv_kw[k]}
        for k in range(data.n_households)))
    write_blocks(conn, "profile_tariffs", _series_blocks(set_id, data.tariffs))
    write_blocks(conn, "profile_p2p", [{"profile_set_id": set_id, "slot": slots,
                                        "p2p_allowed": np.asarray(data.p2p_allowed, dtype=bool)}])
    _analyze(conn)
    return set_id


def _analyze(conn: Connection) -> None:
    """Refresh PostgreSQL's statistics of the value tables after a bulk load, so that reading a
    set plans an index scan in key order rather than a sort of millions of rows."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE profile_values, profile_tariffs")


def write_tariff_file(conn: Connection, table: TariffTable) -> int:
    """Id of the stored tariff file with ``table``'s content hash, inserted if new (two
    processes storing the same file at once store it once: the second waits, then reuses it)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    k = 1 if table.households is None else len(table.households)
    set_id = conn.execute(insert(sets_t).values(
        name=None, kind="tariffs", content_hash=table.content_hash, start=table.start,
        slot_minutes=table.slot_minutes, timezone="-", households=k, slots=table.n_slots,
        consumers=0, prosumers=0, tariffs=_tariff_mode(table), source=table.source,
    ).on_conflict_do_nothing(index_elements=["content_hash"]).returning(sets_t.c.id)).scalar_one_or_none()
    if set_id is None:
        return _require(conn, content_hash=table.content_hash)["id"]
    names = [None] if table.households is None else list(table.households)
    write_blocks(conn, "profile_set_households", [{
        "profile_set_id": set_id, "position": np.arange(k, dtype=np.int32),
        "household": np.asarray(names, dtype=object), "kind": None, **_tariff_columns(table),
        "load_kwh": None, "pv_kwh": None,
    }])
    write_blocks(conn, "profile_tariffs", _series_blocks(set_id, table))
    return set_id


def users(conn: Connection, set_id: int) -> tuple[list[int], list[str]]:
    """``(run ids, schedule names)`` of the runs and schedules whose scenario uses set ``set_id``."""
    scen = sa.select(links_t.c.scenario_id).where(links_t.c.profile_set_id == set_id)
    runs = conn.execute(sa.select(Run.id).where(Run.scenario_id.in_(scen)).order_by(Run.id)).scalars().all()
    schedules = conn.execute(sa.select(Schedule.name).where(Schedule.scenario_id.in_(scen))
                             .order_by(Schedule.name)).scalars().all()
    return list(runs), list(schedules)


def _in_use_message(name: str, runs: list[int], schedules: list[str]) -> str:
    parts = []
    if runs:
        shown = ", ".join(map(str, runs[:5])) + (", ..." if len(runs) > 5 else "")
        parts.append(f"{len(runs)} run(s) (ids {shown})")
    if schedules:
        parts.append(f"schedule(s) {', '.join(map(repr, schedules))}")
    return f"profile set {name!r} is used by {' and '.join(parts)}"


def _drop(conn: Connection, set_id: int) -> None:
    """Delete an unused set: its links from scenarios nobody runs, its per-slot values (no
    foreign key), then the set (households and calendar cascade)."""
    conn.execute(sa.delete(links_t).where(links_t.c.profile_set_id == set_id))
    for table in (values_t, tariffs_t):
        conn.execute(sa.delete(table).where(table.c.profile_set_id == set_id))
    conn.execute(sa.delete(sets_t).where(sets_t.c.id == set_id))


def save_profile_set(conn: Connection, name: str, data: ProfileSet, *, replace: bool = False) -> dict[str, Any]:
    """Store ``data`` as profile set ``name`` (on ``conn``'s transaction).

    Identical data under the same name are reused (nothing written). Different data under an
    existing name are refused unless ``replace`` (and then only while no run or schedule uses
    the old set). Data already stored under another name are refused (stored once: use that
    name). Returns ``{"id", "name", "content_hash", "status"}`` with status ``"imported"``,
    ``"unchanged"`` or ``"replaced"``.
    """
    from p2pstore.scenario import check_name

    problem = check_name(name)
    if problem:
        raise InputError(problem)
    content_hash = data.content_hash
    existing = _find(conn, name=name)
    status = "imported"
    if existing is not None:
        if existing["content_hash"] == content_hash:
            return {"id": existing["id"], "name": name, "content_hash": content_hash, "status": "unchanged"}
        if not replace:
            raise InputError(f"profile set {name!r} already exists with other data (content hash "
                             f"{existing['content_hash'][:12]}); use --replace to overwrite it, or another name")
        runs, schedules = users(conn, existing["id"])
        if runs or schedules:
            raise InputError(_in_use_message(name, runs, schedules) + "; it cannot be replaced: import under "
                             "another name")
        status = "replaced"
    same = _find(conn, content_hash=content_hash)
    if same is not None and same["id"] != (existing or {}).get("id"):
        what = f"profile set {same['name']!r}" if same["name"] else "a stored tariff file"
        raise InputError(f"these data are already stored as {what} (content hash {content_hash[:12]}); "
                         "use that name")
    if existing is not None:
        _drop(conn, existing["id"])
    set_id = write_profile_set(conn, name, data)
    return {"id": set_id, "name": name, "content_hash": content_hash, "status": status}


def delete_profile_set(conn: Connection, name: str) -> int:
    """Delete profile set ``name`` and its data; refused while a run or schedule uses it.
    Returns the rows of values deleted."""
    found = _require(conn, name=name)
    runs, schedules = users(conn, found["id"])
    if runs or schedules:
        raise InputError(_in_use_message(name, runs, schedules) + "; it cannot be deleted")
    n = conn.execute(sa.select(sa.func.count()).select_from(values_t)
                     .where(values_t.c.profile_set_id == found["id"])).scalar_one()
    _drop(conn, found["id"])
    return int(n)


# --------------------------------------------------------------------------------------------
# finding
# --------------------------------------------------------------------------------------------
def _find(conn: Connection, *, name: str | None = None, content_hash: str | None = None) -> dict | None:
    stmt = sa.select(sets_t)
    stmt = stmt.where(sets_t.c.name == name) if name is not None else stmt.where(sets_t.c.content_hash == content_hash)
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None


def _require(conn: Connection, *, name: str | None = None, content_hash: str | None = None) -> dict:
    found = _find(conn, name=name, content_hash=content_hash)
    if found is not None:
        return found
    if name is not None:
        known = conn.execute(sa.select(sets_t.c.name).where(sets_t.c.name.is_not(None))
                             .order_by(sets_t.c.name).limit(10)).scalars().all()
        hint = f" (known: {', '.join(known)})" if known else " (none imported yet: p2pstore profiles import)"
        raise NotFoundError(f"no profile set named {name!r}{hint}")
    raise NotFoundError(f"no stored data with content hash {content_hash} (was the set deleted or replaced?)")


def _household_rows(conn: Connection, set_id: int) -> list[dict]:
    stmt = sa.select(households_t).where(households_t.c.profile_set_id == set_id).order_by(households_t.c.position)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def shape_of(conn: Connection, meta: dict) -> tuple[SetShape, np.ndarray]:
    """``(shape, kinds [N])`` of a profile set's row ``meta``."""
    rows = _household_rows(conn, meta["id"])
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
    hh = _household_rows(conn, set_id)
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
    meta = _require(conn, content_hash=content_hash)
    hh = _household_rows(conn, meta["id"])
    names = None if hh[0]["household"] is None else tuple(r["household"] for r in hh)
    return _tariffs(conn, meta, hh, names, 0, None, meta["start"])


# --------------------------------------------------------------------------------------------
# scenarios: pinning names and files to content hashes
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Resolved:
    """A scenario ready to store: hashes pinned, its community's size, the data it uses."""

    scenario: Scenario
    consumers: int
    prosumers: int
    days: int
    links: dict[str, int]  # role ("profiles" | "tariffs") -> profile_sets.id


def resolve(conn: Connection, scenario: Scenario, cache: dict | None = None) -> Resolved:
    """Pin ``scenario`` to stored data (on ``conn``'s transaction).

    A profile set's name becomes its content hash (``profiles_hash``; a hash already given must
    match the set); a tariff file (``tariffs``) is read, validated, stored once and replaced by
    its content hash (``tariffs_hash``). The window, the draw of households and the tariffs'
    coverage of the community are checked here, so a bad scenario fails when it is queued, not
    when it runs. ``cache`` (shared by the scenarios of one sweep) reads each file and set once.
    """
    cache = {} if cache is None else cache
    links: dict[str, int] = {}
    changes: dict[str, Any] = {}
    table = None
    if scenario.tariffs is not None or scenario.tariffs_hash is not None:
        key = ("tariffs", scenario.tariffs, scenario.tariffs_hash)
        if key not in cache:
            if scenario.tariffs is not None:
                table = read_tariff_files([scenario], cache)[scenario.tariffs]
                cache[key] = (write_tariff_file(conn, table), table)
            else:
                cache[key] = (_require(conn, content_hash=scenario.tariffs_hash)["id"],
                              read_tariff_file(conn, scenario.tariffs_hash))
        links["tariffs"], table = cache[key]
        changes.update(tariffs=None, tariffs_hash=table.content_hash)
    if not scenario.imported:
        labels = [f"C{k + 1}" for k in range(scenario.consumers)] + [f"P{k + 1}" for k in range(scenario.prosumers)]
        scenario = battery_keys.pin(scenario, lambda: labels)  # a battery file, read and checked
        if table is not None:  # the generated community's labels and slots
            start = dt.datetime.combine(scenario.start_date, dt.time())
            table.aligned(labels, start, scenario.slot_minutes, scenario.slots)
        resolved = scenario.replace(**changes) if changes else scenario
        return Resolved(resolved, scenario.consumers, scenario.prosumers, scenario.days, links)
    key = ("set", scenario.profiles)
    if key not in cache:
        meta = _require(conn, name=scenario.profiles)
        cache[key] = (meta, *shape_of(conn, meta))
    meta, shape, kinds = cache[key]
    if scenario.profiles_hash is not None and scenario.profiles_hash != meta["content_hash"]:
        raise InputError(f"profile set {scenario.profiles!r} has content hash {meta['content_hash'][:12]}, "
                         f"not the pinned {scenario.profiles_hash[:12]} (it was replaced)")
    if meta["tariffs"] == "none" and table is None:
        raise InputError(f"profile set {scenario.profiles!r} has no tariffs: give a tariff file (--tariffs FILE)")
    rows, first, n = shape.selection(scenario.households, scenario.seed, scenario.start, scenario.days)
    scenario = battery_keys.pin(scenario, lambda: shape.names)  # batteries of households not drawn stay unused
    if table is not None:
        start = shape.start + dt.timedelta(minutes=shape.slot_minutes * first)
        table.aligned([shape.names[i] for i in rows], start, shape.slot_minutes, n)
    links["profiles"] = meta["id"]
    changes["profiles_hash"] = meta["content_hash"]
    prosumers = int(np.count_nonzero(kinds[rows] == "prosumer"))
    return Resolved(scenario.replace(**changes), len(rows) - prosumers, prosumers,
                    -(-n // shape.periods_per_day), links)


def read_tariff_files(scenarios, cache: dict) -> dict[str, TariffTable]:
    """Read and validate the tariff files the ``scenarios`` name (each once, kept in ``cache``
    for :func:`resolve`); ``{path: table}``. Called before the write transaction opens, so a
    large file never holds the database's write lock while it is parsed."""
    from p2pstore.profiles.importer import read_tariffs

    files = cache.setdefault("files", {})
    for scenario in scenarios:
        path = scenario.tariffs
        if path is not None and path not in files:
            files[path] = read_tariffs(path)
    return files


def link(conn: Connection, scenario_id: int, links: dict[str, int], insert) -> None:
    """Record (idempotently) which stored data scenario ``scenario_id`` uses."""
    for role, set_id in links.items():
        conn.execute(insert(ScenarioProfileSet).values(scenario_id=scenario_id, role=role, profile_set_id=set_id)
                     .on_conflict_do_nothing(index_elements=["scenario_id", "role"]))


def read_community(conn: Connection, scenario: Scenario):
    """The :class:`~p2pstore.profiles.base.Profiles` of a resolved scenario on a profile set:
    only the drawn households and the window are read."""
    meta = _require(conn, content_hash=scenario.profiles_hash)
    shape, _ = shape_of(conn, meta)
    rows, first, n = shape.selection(scenario.households, scenario.seed, scenario.start, scenario.days)
    data = read_profile_set(conn, meta, rows, first, n)
    override = read_tariff_file(conn, scenario.tariffs_hash) if scenario.tariffs_hash else None
    return data.to_profiles(override, label=set_label(scenario.profiles))


def _check_writable_directory(directory) -> None:
    """:class:`InputError` unless ``directory`` is, or can be created as, a writable directory."""
    import os
    from pathlib import Path

    path = Path(directory)
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise InputError(f"cannot write CSV files into {directory}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"cannot write CSV files into {directory}: {existing} is not writable")


# --------------------------------------------------------------------------------------------
# the Store's methods (mixed into p2pstore.store.Store)
# --------------------------------------------------------------------------------------------
class ProfileSetMethods:
    """Import, list, inspect, load and delete profile sets; mixed into :class:`~p2pstore.store.Store`."""

    engine: Any
    url: str

    def import_profiles(self, name: str, *, replace: bool = False, load=None, pv=None, long=None,
                        tariffs=None, p2p_allowed=None, unit: str | None = None, timezone: str | None = None,
                        slot_minutes: int | None = None, **read_options) -> dict[str, Any]:
        """Read, validate and store a profile set from files or pandas DataFrames.

        Arguments as :func:`p2pstore.profiles.importer.read_profile_set` (``read_options``: its
        ``sep``, ``decimal`` and ``date_format``); see
        :meth:`save_profile_set` for ``replace`` and the result (plus ``"warnings"``: odd but
        legal data noticed). Nothing is stored when any input is malformed.

        Example::

            store.import_profiles("ausgrid", load="load.csv", pv="pv.csv", tariffs="tariffs.csv",
                                  timezone="Australia/Brisbane", slot_minutes=15)
        """
        from p2pstore.profiles.importer import read_profile_set as read_files
        from p2pstore.scenario import check_name

        problem = check_name(name)
        if problem:  # before reading what may be large files
            raise InputError(problem)
        data = read_files(load=load, pv=pv, long=long, tariffs=tariffs, p2p_allowed=p2p_allowed, unit=unit,
                          timezone=timezone, slot_minutes=slot_minutes, **read_options)
        return {**self.save_profile_set(name, data, replace=replace), "warnings": list(data.warnings),
                "households": data.n_households, "slots": data.n_slots}

    def generate_profiles(self, name: str, scenario: Scenario, *, replace: bool = False,
                          write_csv=None) -> dict[str, Any]:
        """Generate ``scenario``'s community, exactly as a run of it would (generator, seed,
        households, window, drawn tariffs or its tariff file), and store it as profile set
        ``name`` (see :meth:`save_profile_set` for ``replace`` and the status). A run on the set
        then settles the same households to the same bills.

        ``write_csv``: a directory to also write the set's ``profiles import`` files into
        (:func:`p2pstore.profiles.csv_export.write_profile_csvs`), once the set is stored.
        Returns the stored set's ``id``, ``name``, ``content_hash``, ``status``, its size and
        span, and ``files`` (paths written). Nothing is stored, or written, on bad input.
        """
        from p2pstore.profiles import generated_community
        from p2pstore.scenario import check_name
        from p2pstore.simulate import check_memory

        problem = check_name(name)
        if problem:
            raise InputError(problem)
        if write_csv is not None:
            _check_writable_directory(write_csv)
        check_memory(scenario, chunks=False)  # the set is stored whole
        with np.errstate(all="ignore"):
            profiles = generated_community(scenario)
        if not (np.isfinite(profiles.load_kw).all() and np.isfinite(profiles.pv_kw).all()):
            raise InputError("the scenario produces non-finite load or PV: its ranges overflow floating point")
        source = f"generator {scenario.generator}, seed {scenario.seed}" + (
            f", tariffs {scenario.tariffs}" if scenario.tariffs else "")
        data = ProfileSet.from_profiles(profiles, source=source)
        saved = self.save_profile_set(name, data, replace=replace)
        files = []
        if write_csv is not None:
            from p2pstore.profiles.csv_export import write_profile_csvs

            try:
                files = [str(p) for p in write_profile_csvs(profiles, write_csv).values()]
            except OSError as exc:
                raise InputError(f"profile set {name!r} stored, but cannot write CSV files into {write_csv}: "
                                 f"{exc.strerror or exc}") from None
        n_pro = int(np.count_nonzero(data.kinds == "prosumer"))
        return {**saved, "households": data.n_households, "consumers": data.n_households - n_pro,
                "prosumers": n_pro, "slots": data.n_slots, "slot_minutes": data.slot_minutes,
                "start": data.start.isoformat(sep=" "), "days": profiles.days, "generator": scenario.generator,
                "seed": scenario.seed, "tariffs": _tariff_mode(data.tariffs), "files": files}

    def save_profile_set(self, name: str, data: ProfileSet, *, replace: bool = False) -> dict[str, Any]:
        """Store ``data`` (a :class:`~p2pstore.profiles.sets.ProfileSet`) as ``name``, in one
        transaction, its values in bulk. Returns ``{"id", "name", "content_hash", "status"}``
        with status ``"imported"``, ``"unchanged"`` (identical data already stored under this
        name: nothing written) or ``"replaced"`` (``replace=True``, the old set unused)."""
        from p2pstore.errors import IntegrityViolation
        from p2pstore.store.engine import begin_write

        try:
            with begin_write(self.engine, f"store profile set {name!r}") as conn:
                return save_profile_set(conn, name, data, replace=replace)
        except IntegrityViolation:
            raise InputError(f"profile set {name!r} (or identical data) was stored meanwhile by another "
                             "process; try again") from None

    def profile_sets(self):
        """Named profile sets, one row each: name, households, consumers, prosumers, days,
        slot_minutes, start, end (start of the last slot), timezone, tariffs (none | flat | time),
        runs (that use it), content_hash, source, created_at."""
        import pandas as pd

        used = (sa.select(links_t.c.profile_set_id, sa.func.count(Run.id).label("runs"))
                .select_from(links_t.join(Run, Run.scenario_id == links_t.c.scenario_id))
                .group_by(links_t.c.profile_set_id).subquery())
        stmt = (sa.select(sets_t.c.name, sets_t.c.households, sets_t.c.consumers, sets_t.c.prosumers,
                          sets_t.c.slots, sets_t.c.slot_minutes, sets_t.c.start, sets_t.c.timezone, sets_t.c.tariffs,
                          sa.func.coalesce(used.c.runs, 0).label("runs"), sets_t.c.content_hash, sets_t.c.source,
                          sets_t.c.created_at)
                .select_from(sets_t.outerjoin(used, used.c.profile_set_id == sets_t.c.id))
                .where(sets_t.c.kind == "profiles").order_by(sets_t.c.name))
        with self.engine.connect() as conn:
            df = pd.read_sql(stmt, conn)
        if df.empty:
            return df.assign(days=[], end=[])
        df["start"] = pd.to_datetime(df["start"])
        df["end"] = df["start"] + pd.to_timedelta((df["slots"] - 1) * df["slot_minutes"], unit="min")
        df["days"] = df["slots"] * df["slot_minutes"] / 1440.0
        order = ["name", "households", "consumers", "prosumers", "days", "slot_minutes", "start", "end",
                 "timezone", "tariffs", "runs", "content_hash", "source", "created_at"]
        return df[order]

    def profile_set(self, name: str) -> dict[str, Any]:
        """One set's row (as :meth:`profile_sets`) plus ``members``: a DataFrame of position,
        household, kind, buy, sell (flat tariffs; NaN when time-varying), tariff_series,
        load_kwh, pv_kwh; and ``run_ids`` / ``schedules`` that use it."""
        import pandas as pd

        with self.engine.connect() as conn:
            meta = _require(conn, name=name)
            hh = pd.DataFrame(_household_rows(conn, meta["id"])).drop(columns="profile_set_id")
            runs, schedules = users(conn, meta["id"])
        row = self.profile_sets().set_index("name").loc[name].to_dict()
        return {"name": name, **row, "members": hh, "run_ids": runs, "schedules": schedules}

    def load_profile_set(self, name: str) -> ProfileSet:
        """Every value of profile set ``name`` as a :class:`~p2pstore.profiles.sets.ProfileSet`
        (numpy arrays; ``.community(...)`` draws a run's households from it)."""
        with self.engine.connect() as conn:
            return read_profile_set(conn, _require(conn, name=name))

    def delete_profile_set(self, name: str) -> int:
        """Delete profile set ``name`` with its values (refused while a run or schedule uses
        it); return how many value rows were deleted."""
        from p2pstore.store.engine import begin_write

        with begin_write(self.engine) as conn:
            return delete_profile_set(conn, name)

    def community(self, scenario: Scenario):
        """The :class:`~p2pstore.profiles.base.Profiles` a resolved scenario on a profile set
        computes from (its households and window only are read)."""
        with self.engine.connect() as conn:
            return read_community(conn, scenario)

    def tariff_file(self, content_hash: str) -> TariffTable:
        """The stored tariff file with ``content_hash`` (a scenario's ``tariffs_hash``)."""
        with self.engine.connect() as conn:
            return read_tariff_file(conn, content_hash)
