"""Cron schedules: a named scenario enqueued at every firing of a cron expression.

Expressions are parsed by APScheduler's :class:`CronTrigger` (5 crontab fields via
``CronTrigger.from_crontab``; a 6-field form with a leading *seconds* field is accepted too), in
the schedule's IANA time zone. Every worker runs every active schedule in its own in-memory
APScheduler; a firing inserts a run keyed unique on ``(schedule_id, fire_time)`` with
``INSERT ... ON CONFLICT DO NOTHING``, so however many workers fire, one run is enqueued. The
statements over the ``schedules`` table are in :mod:`p2pstore.store.queue.schedules`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from p2pstore.errors import NotFoundError, P2PStoreError
from p2pstore.jobs.enqueue import check_max_attempts
from p2pstore.jobs.options import DEFAULT_MAX_ATTEMPTS, DEFAULT_PRIORITY
from p2pstore.limits import check_name
from p2pstore.store.queue import schedules as queue_schedules
from p2pstore.store.queue.runs import now_utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

class ScheduleError(P2PStoreError):
    """A bad schedule (cron expression, time zone, name)."""


def parse_cron(expr: str, timezone: str = "UTC") -> CronTrigger:
    """The :class:`CronTrigger` of ``expr`` in ``timezone``; :class:`ScheduleError` if invalid.

    ``"m h dom mon dow"`` (crontab) or ``"s m h dom mon dow"`` (leading seconds field).
    """
    tz = parse_timezone(timezone)
    fields = expr.split()
    try:
        if len(fields) == 6:
            s, m, h, dom, mon, dow = fields
            trigger = CronTrigger(second=s, minute=m, hour=h, day=dom, month=mon, day_of_week=dow, timezone=tz)
        else:
            trigger = CronTrigger.from_crontab(expr, timezone=tz)
    except (ValueError, TypeError) as exc:
        raise ScheduleError(f"invalid cron expression {expr!r}: {exc}") from None
    if trigger.get_next_fire_time(None, now_utc()) is None:
        raise ScheduleError(f"cron expression {expr!r} never fires (no such date in any year)")
    return trigger


def parse_timezone(name: str):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {name!r} (use an IANA name like UTC or Europe/Berlin)") from None


def next_fire_time(expr: str, timezone: str, after: dt.datetime | None = None) -> dt.datetime | None:
    """The next firing at or after ``after`` (default now), aware in the schedule's zone."""
    trigger = parse_cron(expr, timezone)
    return trigger.get_next_fire_time(None, after or now_utc())


def latest_fire_time(trigger: CronTrigger, now: dt.datetime, lookback_s: int = 300) -> dt.datetime | None:
    """The most recent firing of ``trigger`` at or before ``now`` (within ``lookback_s``).

    APScheduler does not pass the scheduled time to the job, and the job may start a little
    late; every worker derives the same nominal time from the trigger, which is what makes the
    ``(schedule_id, fire_time)`` key collide across workers.
    """
    t = now.replace(microsecond=0)
    for _ in range(lookback_s + 1):
        if trigger.get_next_fire_time(None, t) == t:
            return t
        t -= dt.timedelta(seconds=1)
    return None


def check_schedule(name: str, cron: str, timezone: str = "UTC", max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
    """Validate a new schedule's name (printable, 1 to 200 characters), cron expression (it must
    fire some day), time zone and attempts; raises a one-line :class:`P2PStoreError`."""
    check_name("schedule name", name)
    parse_cron(cron, timezone)
    check_max_attempts(max_attempts)


def add_schedule(
    store,
    name: str,
    cron: str,
    scenario,
    *,
    timezone: str = "UTC",
    series: str = "full",
    priority: int = DEFAULT_PRIORITY,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> int:
    """Create schedule ``name``; return its id. Everything is validated before anything is written."""
    check_schedule(name, cron, timezone, max_attempts)
    engine = store.engine
    if queue_schedules.find_schedule(engine, name) is not None:
        raise ScheduleError(f"schedule {name!r} already exists (remove it first)")
    scenario_id = store.save_scenario(scenario)
    schedule_id = queue_schedules.insert_schedule(engine, {
        "name": name, "cron": cron, "timezone": timezone, "scenario_id": scenario_id,
        "mechanisms": ",".join(scenario.mechanisms), "series": series, "priority": priority,
        "max_attempts": max_attempts,
    })
    if schedule_id is None:
        raise ScheduleError(f"schedule {name!r} already exists (remove it first)")
    return schedule_id


def get_schedule(engine: Engine, name: str) -> dict[str, Any]:
    """Schedule ``name``'s row; :class:`NotFoundError` if there is none."""
    row = queue_schedules.find_schedule(engine, name)
    if row is None:
        raise NotFoundError(f"no schedule named {name!r}")
    return row
