"""The ``schedules`` table: every statement that adds, lists, pauses, removes or fires a schedule.

Validation (cron expressions, time zones) and the firing logic are the scheduler's
(:mod:`p2pstore.jobs.schedules`); this module only reads and writes rows. A firing inserts a run
keyed unique on ``(schedule_id, fire_time)`` with ``INSERT ... ON CONFLICT DO NOTHING``, so
however many workers fire, one run is enqueued.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from p2pstore.errors import IntegrityViolation, NotFoundError
from p2pstore.store.engine import begin_write, db_timestamp
from p2pstore.store.queue.runs import Q, is_pg, db_now, runs
from p2pstore.store.schema import Schedule

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

schedules = Schedule.__table__


def insert_schedule(engine: Engine, values: dict[str, Any]) -> int | None:
    """Insert one schedule row (``values``: its columns); its id, or None when the name is taken."""
    try:
        with begin_write(engine) as conn:
            return conn.execute(sa.insert(schedules).values(**values, paused=False)
                                .returning(schedules.c.id)).scalar_one()
    except IntegrityViolation:  # the name is taken (mapped where the transaction is opened)
        return None


def find_schedule(engine: Engine, name: str) -> dict[str, Any] | None:
    """Schedule ``name``'s row as a dict, or None."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(schedules).where(schedules.c.name == name)).mappings().first()
    return dict(row) if row else None


def schedule_run_stats():
    """Subquery ``(schedule_id, last_fire_time, runs)`` over the runs schedules queued."""
    return (
        sa.select(runs.c.schedule_id, sa.func.max(runs.c.fire_time).label("last_fire_time"),
                  sa.func.count().label("runs"))
        .where(runs.c.schedule_id.is_not(None))
        .group_by(runs.c.schedule_id)
        .subquery()
    )


def list_schedules(engine: Engine, *, active_only: bool = False) -> list[dict[str, Any]]:
    """Every schedule as a dict, with ``last_fire_time`` (of its newest run) and ``runs``."""
    last = schedule_run_stats()
    q = (
        sa.select(schedules, last.c.last_fire_time, sa.func.coalesce(last.c.runs, 0).label("runs"))
        .select_from(schedules.outerjoin(last, last.c.schedule_id == schedules.c.id))
        .order_by(schedules.c.id)
    )
    if active_only:
        q = q.where(schedules.c.paused.is_(False))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def active_schedules(engine: Engine) -> list[dict[str, Any]]:
    """``id``, ``name``, ``cron`` and ``timezone`` of every schedule not paused: what a worker
    mirrors on each sync (no per-schedule run statistics, unlike :func:`list_schedules`)."""
    q = (
        sa.select(schedules.c.id, schedules.c.name, schedules.c.cron, schedules.c.timezone)
        .where(schedules.c.paused.is_(False))
        .order_by(schedules.c.id)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def set_paused(engine: Engine, name: str, paused: bool) -> None:
    """Pause or resume schedule ``name``; :class:`NotFoundError` if there is none."""
    with begin_write(engine) as conn:
        n = conn.execute(sa.update(schedules).where(schedules.c.name == name).values(paused=paused)).rowcount
    if n != 1:
        raise NotFoundError(f"no schedule named {name!r}")


def remove_schedule(engine: Engine, name: str) -> int:
    """Delete schedule ``name``; its runs stay (their ``schedule_id`` is cleared). Returns its id."""
    with begin_write(engine) as conn:
        sid = conn.execute(
            sa.delete(schedules).where(schedules.c.name == name).returning(schedules.c.id)
        ).scalar_one_or_none()
        if sid is None:
            raise NotFoundError(f"no schedule named {name!r}")
        detach_schedule(conn, sid)
    return sid


def detach_schedule(conn: Connection, schedule_id: int) -> None:
    """Clear ``schedule_id`` on a removed schedule's runs (they stay)."""
    conn.execute(sa.update(runs).where(runs.c.schedule_id == schedule_id).values(schedule_id=None))


def fire_schedule(engine: Engine, schedule_id: int, fire_time: dt.datetime) -> int | None:
    """Enqueue the run of one firing; return its id, or None when another worker already did
    (or the schedule is paused or gone)."""
    with begin_write(engine) as conn:
        return insert_fired_run(conn, schedule_id, fire_time)


def insert_fired_run(conn: Connection, schedule_id: int, fire_time: dt.datetime) -> int | None:
    """Queue the run of one firing of a schedule; None when that firing is already queued (or
    the schedule is paused or gone). One ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` keyed
    on ``(schedule_id, fire_time)``, so workers firing together queue one run."""
    insert = postgresql.insert if is_pg(conn) else sqlite.insert
    now = db_now(conn)
    src = sa.select(
        schedules.c.scenario_id, sa.literal(Q.value), schedules.c.mechanisms, schedules.c.series,
        sa.literal("schedule:") + schedules.c.name, schedules.c.priority, sa.literal(0),
        schedules.c.max_attempts, now, now, schedules.c.id,
        sa.literal(db_timestamp(conn, fire_time), runs.c.fire_time.type),
    ).where(schedules.c.id == schedule_id, schedules.c.paused.is_(False))
    stmt = (
        insert(runs)
        .from_select(["scenario_id", "status", "mechanisms", "series", "batch", "priority", "attempts",
                      "max_attempts", "not_before", "enqueued_at", "schedule_id", "fire_time"], src)
        .on_conflict_do_nothing(index_elements=["schedule_id", "fire_time"])
        .returning(runs.c.id)
    )
    return conn.execute(stmt).scalar_one_or_none()
