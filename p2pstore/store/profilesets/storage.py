"""Storing profile sets and tariff files: written once in bulk (COPY BINARY on PostgreSQL,
``executemany`` on SQLite) in one transaction, replaced or deleted only while unused.

Generating or importing the data is the profiles layer's (:mod:`p2pstore.jobs.build_profiles`);
reading it back is :mod:`.read`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from p2pstore.errors import InputError
from p2pstore.profiles.sets import ProfileSet, TariffTable
from p2pstore.scenario import check_name
from p2pstore.store.bulk import Block, write_blocks
from p2pstore.store.profilesets.read import find_set, links_t, require_set, sets_t, tariffs_t, values_t
from p2pstore.store.schema import Run, Schedule

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def _tariff_columns(table: TariffTable | None) -> dict[str, Any]:
    """``buy``/``sell``/``tariff_series`` columns of household rows (NULL where not used)."""
    if table is None:
        return {"buy": None, "sell": None, "tariff_series": None}
    if table.time_varying:
        return {"buy": None, "sell": None, "tariff_series": np.asarray(table.series_of, dtype=np.int32)}
    return {"buy": np.asarray(table.buy, np.float64), "sell": np.asarray(table.sell, np.float64),
            "tariff_series": None}


def tariff_mode(table: TariffTable | None) -> str:
    """How a set's tariffs are stored: ``none``, ``flat`` or ``time`` (time-varying)."""
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
        tariffs=tariff_mode(data.tariffs), source=data.source or "-",
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
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    k = 1 if table.households is None else len(table.households)
    set_id = conn.execute(insert(sets_t).values(
        name=None, kind="tariffs", content_hash=table.content_hash, start=table.start,
        slot_minutes=table.slot_minutes, timezone="-", households=k, slots=table.n_slots,
        consumers=0, prosumers=0, tariffs=tariff_mode(table), source=table.source,
    ).on_conflict_do_nothing(index_elements=["content_hash"]).returning(sets_t.c.id)).scalar_one_or_none()
    if set_id is None:
        return require_set(conn, content_hash=table.content_hash)["id"]
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
    problem = check_name(name)
    if problem:
        raise InputError(problem)
    content_hash = data.content_hash
    existing = find_set(conn, name=name)
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
    same = find_set(conn, content_hash=content_hash)
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
    found = require_set(conn, name=name)
    runs, schedules = users(conn, found["id"])
    if runs or schedules:
        raise InputError(_in_use_message(name, runs, schedules) + "; it cannot be deleted")
    n = conn.execute(sa.select(sa.func.count()).select_from(values_t)
                     .where(values_t.c.profile_set_id == found["id"])).scalar_one()
    _drop(conn, found["id"])
    return int(n)
