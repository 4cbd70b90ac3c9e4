"""The queue's tables: ``scenarios`` (specs, stored once), ``runs`` (the job queue) and
``schedules`` (cron firings). Every statement over them is in :mod:`p2pstore.store.queue`."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, func

if TYPE_CHECKING:  # the annotations are strings (read by Base); the ORM is never imported
    from sqlalchemy.orm import Mapped

from p2pstore.scenario import MAX_MECHANISMS_TEXT, SERIES_MODES
from p2pstore.status import DEFAULT_MAX_ATTEMPTS, RUN_STATUSES, RunStatus
from p2pstore.store.schema.base import Base, Timestamp, in_check, mapped_column

def run_fk() -> Mapped[int]:
    return mapped_column(Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)


class ScenarioRow(Base):
    """A scenario spec, stored once per distinct canonical JSON."""

    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec_hash: Mapped[str] = mapped_column(String(64), unique=True)
    spec_json: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(Integer)
    consumers: Mapped[int] = mapped_column(Integer)
    prosumers: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())


class Run(Base):
    """One execution of a scenario; the table is also the job queue."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(in_check("status", RUN_STATUSES), name="status"),
        CheckConstraint(in_check("series", SERIES_MODES), name="series"),
        Index("ix_runs_queue", "status", "priority", "id"),
        # SQLite: an id is never given again once its run is deleted (PostgreSQL: a sequence)
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(Integer, ForeignKey("scenarios.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.queued.value)
    mechanisms: Mapped[str] = mapped_column(String(MAX_MECHANISMS_TEXT))  # comma-separated, in settlement order
    series: Mapped[str] = mapped_column(String(16), default="full")
    batch: Mapped[str | None] = mapped_column(String(200), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_ATTEMPTS)
    not_before: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    enqueued_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)  # last lease renewal
    worker: Mapped[str | None] = mapped_column(String(200))
    # the current claim (see p2pstore.store.queue.runs): a fresh random token per claim, NULL while
    # queued; results, failures and renewals are accepted only with it. The lease runs until
    # lease_expires_at, renewed by the owner; the reaper takes only runs whose lease has expired.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    error: Mapped[str | None] = mapped_column(Text)
    # set on runs enqueued by a cron schedule; unique together (see uq_runs_schedule_id_fire_time).
    # schedule_id refers to schedules.id without a FOREIGN KEY, so SQLite adds and drops the column
    # in place (no table rebuild); `schedule remove` clears it on the schedule's runs.
    schedule_id: Mapped[int | None] = mapped_column(Integer)
    fire_time: Mapped[dt.datetime | None] = mapped_column(Timestamp)  # the firing's nominal time, UTC


class Schedule(Base):
    """A cron schedule (owned by p2pstore.jobs.schedules): every firing enqueues one run of its
    scenario, unique on ``(schedule_id, fire_time)`` so workers firing together enqueue once."""

    __tablename__ = "schedules"
    __table_args__ = (CheckConstraint(in_check("series", SERIES_MODES), name="series"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    cron: Mapped[str] = mapped_column(String(200))  # crontab text, parsed by APScheduler's CronTrigger
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name the cron fields are read in
    scenario_id: Mapped[int] = mapped_column(Integer, ForeignKey("scenarios.id"))
    mechanisms: Mapped[str] = mapped_column(String(MAX_MECHANISMS_TEXT))  # comma-separated, as runs.mechanisms
    series: Mapped[str] = mapped_column(String(16), default="full")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_ATTEMPTS)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())


# A unique index rather than a constraint: SQLite can add one without rebuilding ``runs``.
Index("uq_runs_schedule_id_fire_time", Run.schedule_id, Run.fire_time, unique=True)
