"""The worker: claims queued runs and settles them in child processes, driven by APScheduler.

One :class:`Worker` per ``p2pstore worker`` process, made of small collaborators:

- its **main thread** handles signals (:mod:`~p2pstore.jobs.signals`) and manages the settling
  processes (:class:`~p2pstore.jobs.pool.SettlerPool`: started on demand, one run each,
  stopped one by one), enforcing ``--max-run-time``;
- its APScheduler (:mod:`~p2pstore.jobs.scheduler`) runs ``claim`` every ``poll`` seconds and
  right after a run finishes (:mod:`~p2pstore.jobs.claims`), ``heartbeat`` and ``reaper``
  (:mod:`~p2pstore.jobs.renewal`), and ``schedules``, one cron job per active schedule
  (:mod:`~p2pstore.jobs.schedule_mirror`);
- outcomes are recorded by a recorder thread (:mod:`~p2pstore.jobs.recorder`) that retries
  transient database errors; a run stays held (:mod:`~p2pstore.jobs.inflight`), its lease
  renewed, until its outcome is recorded. Runs are tracked by claim token.
"""

from __future__ import annotations

import logging
import time

from p2pstore.errors import InputError, StoreError
from p2pstore.jobs.claims import CLAIM_JOB, Claimer
from p2pstore.jobs.execute import worker_name
from p2pstore.jobs.health import HEALTH_BACKOFF_CAP_S, DatabaseHealth
from p2pstore.jobs.inflight import Inflight
from p2pstore.jobs.options import WorkerOptions
from p2pstore.jobs.pool import SettlerPool, concurrency_cap
from p2pstore.jobs.recorder import OutcomeRecorder, Tally, new_stats
from p2pstore.jobs.renewal import LeaseRenewer
from p2pstore.jobs.schedule_mirror import ScheduleMirror
from p2pstore.jobs.scheduler import JobGuard, new_scheduler, remove_jobs
from p2pstore.jobs.signals import StopControl
from p2pstore.status import KillReason
from p2pstore.store import Store
from p2pstore.store.engine import connect, create_engine, engine_url, resolve_url
from p2pstore.store.schema.maintenance import database_size, format_growth
from p2pstore.store.retry import PERMANENT, call_with_retry, classify, describe
from p2pstore.store.queue.runs import now_utc

__all__ = ["Worker", "WorkerOptions", "run_worker"]

log = logging.getLogger("p2pstore.worker")

#: After the grace period (or a second signal), time allowed to stop the children and release
#: their runs before the worker exits.
RELEASE_BUDGET_S = 5.0
#: The worker's own SQLite statements wait at most this long for another writer's lock (then
#: try again at their next tick), so that no scheduler job blocks a shutdown for long.
PARENT_BUSY_TIMEOUT_S = 2.0


def check_options(o: WorkerOptions) -> None:
    """:class:`InputError` for options that cannot work together."""
    if o.concurrency < 1:
        raise InputError(f"--concurrency must be >= 1, got {o.concurrency}")
    if o.stale_after < 2 * o.heartbeat:
        raise InputError(f"--stale-after ({o.stale_after:g} s) must be at least twice "
                         f"--heartbeat ({o.heartbeat:g} s), or live runs get reaped")
    if o.max_run_time is not None and o.max_run_time <= 0:
        raise InputError(f"--max-run-time must be positive, got {o.max_run_time:g}")


class Worker:
    """Claims and executes runs from the database at ``url`` until stopped (or idle, in burst)."""

    def __init__(self, url: str | None, name: str | None = None, options: WorkerOptions | None = None):
        self.url = resolve_url(url)
        self.name = name or worker_name()
        self.opts = options or WorkerOptions()
        check_options(self.opts)
        self.capacity, self.capacity_warning = concurrency_cap(self.opts.concurrency)
        self.control = StopControl(self.name)
        self.inflight = Inflight()
        self.health = DatabaseHealth(self.name, self.opts.connect_retry)
        self.store = self.pool = self.scheduler = self.recorder = self.claimer = self.mirror = None

    # -- lifecycle -----------------------------------------------------------------------
    def run(self) -> int:
        """Run until stopped (signal, :meth:`stop`, or idle in burst mode). Returns 0.

        Raises :class:`StoreError` (one line) if the database is not at the head revision, on a
        permanent database error in burst mode, or when a run it held could not be recorded or
        released (it stays ``running`` until its lease expires).
        """
        self.control.install(lambda: len(self.inflight), self.opts.grace)
        if self.capacity_warning:
            log.warning("worker %s: %s", self.name, self.capacity_warning)
        if not self._wait_for_database():
            log.info("worker %s: stopped before the database came up", self.name)
            return 0
        # refuses a database that is not at head (StoreError)
        self.store = call_with_retry(lambda: Store(self.url, sqlite_busy_timeout_s=PARENT_BUSY_TIMEOUT_S),
                                     stop=self.control.stop_event, first_delay=self.opts.connect_retry,
                                     max_delay=HEALTH_BACKOFF_CAP_S)
        size_before = _size_or_none(self.store.engine)
        self._start()
        try:
            self._main_loop()
        finally:
            self._shutdown()
        self._log_exit(size_before)
        self._raise_if_unfinished()
        return 0

    def stop(self) -> None:
        """Ask the worker to stop claiming, finish what it holds (up to ``grace``) and exit; a
        second call releases the held runs at once."""
        self.control.stop()

    def _main_loop(self) -> None:
        """Settle, enforce time limits, and after a stop wait for held runs up to the grace."""
        deadline = None
        while True:
            for claim, outcome, detail in self.pool.step(0.1):
                self.recorder.submit(claim, outcome, detail)
            self._enforce_max_run_time()
            if not self.control.stopping():
                continue
            if deadline is None:
                deadline = time.monotonic() + self.opts.grace
                self._stop_claiming()
            if not len(self.inflight) or self.control.hurry_event.is_set() or time.monotonic() >= deadline:
                return

    def _wait_for_database(self) -> bool:
        """Connect, retrying with one log line per attempt. False if stopped meanwhile.

        A permanent error (authentication, missing database, not a database) ends a burst
        worker with :class:`StoreError`; a long-running worker keeps trying (someone may fix it).
        """
        engine = create_engine(self.url)
        delay = self.opts.connect_retry
        try:
            while True:
                try:
                    with connect(engine):
                        return True
                except StoreError as exc:
                    if classify(exc) == PERMANENT and self.opts.burst:
                        raise StoreError(f"cannot use database {engine_url(engine)!r}: {describe(exc)}") from exc
                    log.warning("database %s unreachable (%s); retrying in %g s",
                                engine_url(engine), describe(exc), delay)
                if self.control.stop_event.wait(delay):
                    return False
                delay = round(min(HEALTH_BACKOFF_CAP_S, delay * 2), 3)
        finally:
            engine.dispose()

    def _start(self) -> None:
        """The settling pool, the recorder and the scheduler with its jobs."""
        o, engine, where = self.opts, self.store.engine, self.store.url
        self.pool = SettlerPool(self.url, self.capacity)
        self.pool.warm_up()
        stats = new_stats()
        self.claimer = Claimer(self.name, engine, o, self.capacity, self.inflight, self.pool, self.control, stats)
        self.recorder = OutcomeRecorder(self.name, engine, o, self.inflight, self.health, self.control,
                                        self.claimer.wake, where, stats)
        self.scheduler = self.claimer.scheduler = new_scheduler()
        guard = JobGuard(self.name, self.health, self.control, o.burst, where)
        self.mirror = ScheduleMirror(self.name, engine, self.scheduler, guard, self.control, self.claimer.wake)
        leases = LeaseRenewer(self.name, engine, o.stale_after, self.inflight, self.pool)
        now = now_utc()
        # max_instances=2: an overlapping firing returns at once (see Claimer.claim_tick) instead
        # of being refused with a warning by APScheduler
        add = self.scheduler.add_job
        add(guard(self.claimer.claim_tick), "interval", seconds=o.poll, id=CLAIM_JOB, next_run_time=now,
            max_instances=2)
        add(guard(leases.heartbeat_tick, always=True), "interval", seconds=o.heartbeat, id="heartbeat")
        add(guard(leases.reap_tick), "interval", seconds=o.reap_every or o.stale_after / 4, id="reaper",
            next_run_time=now)
        add(guard(self.mirror.sync_schedules), "interval", seconds=o.schedule_sync, id="schedules",
            next_run_time=now)
        self.scheduler.start()
        log.info("worker %s: started (concurrency %d%s, lease %g s) on %s", self.name, self.capacity,
                 ", burst" if o.burst else "", o.stale_after, where)

    def _stop_claiming(self) -> None:
        remove_jobs(self.scheduler, [CLAIM_JOB, *(self.mirror.job_ids() if self.mirror else [])])

    def _enforce_max_run_time(self) -> None:
        """Stop the settling process of a run past ``--max-run-time`` (counted from the moment a
        process took it); the run is then failed."""
        if self.opts.max_run_time is None:
            return
        for claim in self.pool.overdue(self.opts.max_run_time):
            if self.inflight.start_killing(claim.token):
                self.pool.kill(claim.token, KillReason.timeout)

    def _shutdown(self) -> None:
        """Stop the children still settling (their transactions roll back) and release their runs
        without charging a failure; wait for the recorder up to the release budget."""
        self._stop_claiming()
        budget_end = time.monotonic() + RELEASE_BUDGET_S
        if self.pool is not None:
            for job in self.pool.jobs():
                self.pool.kill(job.claim.token, KillReason.shutdown)
            while time.monotonic() < budget_end and len(self.inflight):
                for claim, outcome, detail in self.pool.step(0.05):
                    self.recorder.submit(claim, outcome, detail)
        self.control.give_up.set()
        if self.recorder is not None:
            self.recorder.shutdown()
        if self.pool is not None:
            self.pool.close()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.store is not None:
            self.store.engine.dispose()

    def _log_exit(self, size_before: int | None) -> None:
        s = self.recorder.stats
        size_after = _size_or_none(self.store.engine) if size_before is not None else None
        growth = "" if size_after is None else "; " + format_growth(size_before, size_after)
        log.info("worker %s: exiting; claimed %d, succeeded %d, failed %d, retried %d, lost %d, released %d%s",
                 self.name, *(s[t] for t in (Tally.claimed, Tally.committed, Tally.failed, Tally.retried,
                                             Tally.lost, Tally.released)), growth)

    def _raise_if_unfinished(self) -> None:
        if self.control.fatal:
            raise StoreError(self.control.fatal)
        stranded = self.recorder.stranded
        if stranded:
            rid, why = min(stranded.items())
            more = f" (and {len(stranded) - 1} more)" if len(stranded) > 1 else ""
            raise StoreError(f"run {rid}{more} left running: {why}; a worker's reaper takes it back "
                             f"when its lease expires ({self.opts.stale_after:g} s)")


def _size_or_none(engine) -> int | None:
    """The database's size in bytes (:func:`p2pstore.store.schema.maintenance.database_size`), None when
    it cannot be read now (an outage): a summary line does without it."""
    try:
        return database_size(engine)
    except Exception:  # noqa: BLE001 - only a figure for the log
        return None


def run_worker(url: str | None, name: str | None = None, **options) -> int:
    """Build a :class:`Worker` from keyword options (see :class:`WorkerOptions`) and run it."""
    return Worker(url, name, WorkerOptions(**options)).run()
