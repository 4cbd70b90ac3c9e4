"""The worker's APScheduler: an in-memory job store (never a shared one) and a guard around
every job that sorts database trouble: a transient error backs the jobs off, a lock held by
another writer waits for the next tick, a permanent error ends a burst worker, anything else is
a bug and keeps its traceback."""

from __future__ import annotations

import logging

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from p2pstore.errors import ErrorClass
from p2pstore.jobs.health import DatabaseHealth
from p2pstore.jobs.signals import StopControl
from p2pstore.store.retry import classify, describe, is_lock_wait

log = logging.getLogger("p2pstore.worker")

#: Threads running the scheduler's jobs (claims, renewals, reaping, schedules, firings).
SCHEDULER_THREADS = 8


def new_scheduler() -> BackgroundScheduler:
    """A scheduler in UTC whose jobs never run twice at once and coalesce missed firings."""
    # APScheduler warns when an interval job is still running at its next firing (a renewal
    # waiting for the database, say); that is expected here, and our jobs log their trouble
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    return BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(SCHEDULER_THREADS)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        timezone="UTC",
    )


def remove_jobs(scheduler: BackgroundScheduler | None, job_ids) -> None:
    """Remove the jobs that are still there."""
    if scheduler is None:
        return
    for job_id in job_ids:
        try:
            scheduler.remove_job(job_id)
        except Exception:  # noqa: BLE001 - already removed
            pass


class JobGuard:
    """Wraps the worker's scheduler jobs (see the module docstring)."""

    def __init__(self, name: str, health: DatabaseHealth, control: StopControl, burst: bool, where: str):
        self.name, self.health, self.control, self.burst, self.where = name, health, control, burst, where

    def __call__(self, fn, *, always: bool = False):
        """``fn`` as a job: skipped while backing off from a database that is away (unless
        ``always``); database trouble logged as one line and tried again at a later tick."""

        def job(*args):
            if not always and self.health.backing_off():
                return None
            try:
                result = fn(*args)
            except Exception as exc:  # noqa: BLE001 - sorted below
                self.trouble(exc, fn.__name__)
                return None
            self.health.ok()
            return result

        job.__name__ = fn.__name__
        return job

    def trouble(self, exc: BaseException, where: str) -> None:
        kind = classify(exc)
        if kind is None:  # a bug: keep its traceback
            log.exception("worker %s: %s failed", self.name, where)
        elif kind == ErrorClass.permanent and self.burst:
            self.control.fail(self.where, exc)
        elif kind == ErrorClass.transient and is_lock_wait(exc):
            log.debug("worker %s: %s: database locked by another writer; next tick", self.name, where)
        elif kind == ErrorClass.permanent:
            log.error("worker %s: %s: database error: %s", self.name, where, describe(exc))
            self.health.failed(exc)
        else:
            self.health.failed(exc)
