"""A worker's copy of the ``schedules`` table: one cron job per active row in its scheduler,
each firing enqueueing one run keyed on (schedule, fire time), so that however many workers
fire a schedule, one run is queued."""

from __future__ import annotations

import logging
from collections.abc import Callable

from p2pstore.jobs import schedules as sch
from p2pstore.store.queue import schedules as queue_schedules
from p2pstore.jobs.signals import StopControl
from p2pstore.store.queue.runs import now_utc

log = logging.getLogger("p2pstore.worker")

#: A firing missed by up to this many seconds (a busy or restarting worker) still enqueues.
FIRE_GRACE_S = 60


def job_id(schedule_id: int) -> str:
    return f"schedule-{schedule_id}"


class ScheduleMirror:
    """``sync()`` (a scheduler job) adds, changes and removes cron jobs to match the table;
    ``wake()`` is called after a firing queued a run."""

    def __init__(self, name: str, engine, scheduler, guard, control: StopControl, wake: Callable[[], None]):
        self.name, self.engine, self.scheduler, self.guard = name, engine, scheduler, guard
        self.control, self.wake = control, wake
        self._jobs: dict[int, tuple[str, str]] = {}  # schedule id -> (cron, time zone) mirrored

    def job_ids(self) -> list[str]:
        return [job_id(sid) for sid in list(self._jobs)]

    def sync_schedules(self) -> None:
        """Mirror the active rows of ``schedules`` as cron jobs in this worker's scheduler."""
        if self.control.stopping():
            return
        wanted = {row["id"]: (row["cron"], row["timezone"], row["name"])
                  for row in queue_schedules.active_schedules(self.engine)}
        for sid in list(self._jobs):
            if sid not in wanted or wanted[sid][:2] != self._jobs[sid]:
                self.scheduler.remove_job(job_id(sid))
                del self._jobs[sid]
        for sid, (cron, tz, name) in wanted.items():
            if sid not in self._jobs:
                self._add(sid, cron, tz, name)

    def _add(self, sid: int, cron: str, tz: str, name: str) -> None:
        try:
            trigger = sch.parse_cron(cron, tz)
        except Exception as exc:  # noqa: BLE001 - a row edited by hand
            log.error("worker %s: schedule %r has a bad cron expression: %s", self.name, name, exc)
            return
        self.scheduler.add_job(self.guard(self.fire), trigger, args=(sid, name, trigger),
                               id=job_id(sid), misfire_grace_time=FIRE_GRACE_S)
        self._jobs[sid] = (cron, tz)
        log.info("worker %s: schedule %r (%s, %s) active", self.name, name, cron, tz)

    def fire(self, schedule_id: int, name: str, trigger) -> None:
        fire_time = sch.latest_fire_time(trigger, now_utc())
        if fire_time is None:
            return
        run_id = queue_schedules.fire_schedule(self.engine, schedule_id, fire_time)
        if run_id is None:
            log.info("worker %s: schedule %r fired for %s: already queued by another worker",
                     self.name, name, fire_time.isoformat())
            return
        log.info("worker %s: schedule %r fired for %s: run %d queued", self.name, name,
                 fire_time.isoformat(), run_id)
        self.wake()
