"""The worker: claims queued runs and settles them in child processes, driven by APScheduler.

One :class:`Worker` per ``p2pstore worker`` process. Its **main thread** handles signals and
manages the settling processes (:class:`~p2pstore.jobs.pool.SettlerPool`: started on demand,
one run each, stopped one by one). Its APScheduler ``BackgroundScheduler`` (an in-memory job
store, never a shared one) runs:

- ``claim``: every ``poll`` seconds (and right after a run finishes) claims runs until
  ``concurrency`` are in flight; each claim has its own token and a lease of ``stale_after``
  seconds;
- ``heartbeat``: renews the leases of every run it holds, and stops settling those taken away
  (cancelled, or reaped after an outage longer than the lease);
- ``reaper``: renews its own leases, then takes back runs whose lease expired (a dead worker's);
- ``schedules``: keeps one cron job per active row of ``schedules``, each firing enqueueing
  one run keyed on (schedule, fire time).

Outcomes are recorded by a recorder thread (failure and retry with backoff, time limit, release
on shutdown) that retries transient database errors; a run stays in flight, its lease renewed,
until its outcome is recorded. Runs are tracked by claim token, never by run id or worker name.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass

from p2pstore.errors import InputError, StoreError
from p2pstore.store import runs
from p2pstore.store.retry import PERMANENT, TRANSIENT, call_with_retry, classify, describe, is_lock_wait

log = logging.getLogger("p2pstore.worker")

#: After the grace period (or a second signal), time allowed to stop the children and release
#: their runs before the worker exits.
RELEASE_BUDGET_S = 5.0
#: The worker's own SQLite statements wait at most this long for another writer's lock (then
#: try again at their next tick), so that no scheduler job blocks a shutdown for long.
PARENT_BUSY_TIMEOUT_S = 2.0


@dataclass
class WorkerOptions:
    """Timing knobs (seconds). Defaults suit production; tests shorten them."""

    concurrency: int = 1
    poll: float = 1.0  # claim tick interval (also the wake-up latency bound)
    heartbeat: float = 10.0  # lease renewal interval
    stale_after: float = 60.0  # the lease this worker takes on its runs
    reap_every: float | None = None  # default: stale_after / 4
    schedule_sync: float = 15.0  # re-read the schedules table this often
    backoff_base: float = runs.BACKOFF_BASE_S
    backoff_cap: float = runs.BACKOFF_CAP_S
    grace: float = 30.0  # on SIGTERM/SIGINT, wait this long for held runs before releasing them
    connect_retry: float = 2.0  # first wait between attempts while the database is away (doubles up to 30 s)
    burst: bool = False
    max_run_time: float | None = None  # fail a run whose attempt takes longer than this


@dataclass
class _Attempt:
    claim: runs.Claim
    recording: bool = False  # its outcome is being recorded
    killing: bool = False  # its settling process is being stopped


class _Health:
    """Whether the database answers: one log line when it stops, one when it is back, and an
    exponential backoff for the jobs that can wait (claims, reaping, schedules)."""

    def __init__(self, name: str, first: float, cap: float = 30.0):
        self.name, self.first, self.cap = name, first, cap
        self.since: float | None = None
        self.delay = first
        self.next_try = 0.0
        self.lock = threading.Lock()

    def ok(self) -> None:
        with self.lock:
            if self.since is not None:
                log.info("worker %s: database reachable again after %.1f s", self.name,
                         time.monotonic() - self.since)
            self.since, self.delay, self.next_try = None, self.first, 0.0

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            now = time.monotonic()
            if self.since is None:
                self.since = now
                log.warning("worker %s: database unavailable (%s); retrying with backoff",
                            self.name, describe(exc))
            self.next_try = now + self.delay
            self.delay = min(self.cap, self.delay * 2)

    def backing_off(self) -> bool:
        return time.monotonic() < self.next_try


class Worker:
    """Claims and executes runs from the database at ``url`` until stopped (or idle, in burst)."""

    def __init__(self, url: str | None, name: str | None = None, options: WorkerOptions | None = None):
        from p2pstore.jobs.execute import worker_name
        from p2pstore.jobs.pool import concurrency_cap
        from p2pstore.store.engine import resolve_url

        self.url = resolve_url(url)
        self.name = name or worker_name()
        self.opts = o = options or WorkerOptions()
        if o.concurrency < 1:
            raise InputError(f"--concurrency must be >= 1, got {o.concurrency}")
        if o.stale_after < 2 * o.heartbeat:
            raise InputError(f"--stale-after ({o.stale_after:g} s) must be at least twice "
                             f"--heartbeat ({o.heartbeat:g} s), or live runs get reaped")
        if o.max_run_time is not None and o.max_run_time <= 0:
            raise InputError(f"--max-run-time must be positive, got {o.max_run_time:g}")
        self.capacity, self.capacity_warning = concurrency_cap(o.concurrency)
        self.engine = None
        self.pool = None
        self.scheduler = None
        self.recorder = None
        self.inflight: dict[str, _Attempt] = {}  # by claim token
        self.lock = threading.RLock()
        self.stop_event = threading.Event()  # stop claiming and shut down
        self.hurry_event = threading.Event()  # second signal (or a fatal error): release now
        self.give_up = threading.Event()  # the release budget is spent: stop retrying the database
        self.health = _Health(self.name, o.connect_retry)
        self.fatal: str | None = None
        self.stranded: dict[int, str] = {}
        self.stats = dict.fromkeys(("claimed", "committed", "lost", "failed", "retried", "released"), 0)
        self._schedule_jobs: dict[int, tuple[str, str]] = {}
        self._wake_lock = threading.Lock()
        self._claiming = False
        self._wake_pending = False

    # -- lifecycle -----------------------------------------------------------------------
    def run(self) -> int:
        """Run until stopped (signal, :meth:`stop`, or idle in burst mode). Returns 0.

        Raises :class:`StoreError` (one line) if the database is not at the head revision, on a
        permanent database error in burst mode, or when a run it held could not be recorded or
        released (it stays ``running`` until its lease expires).
        """
        from concurrent.futures import ThreadPoolExecutor

        from p2pstore.jobs.pool import SettlerPool
        from p2pstore.store import Store

        self._install_signals()
        if self.capacity_warning:
            log.warning("worker %s: %s", self.name, self.capacity_warning)
        if not self._wait_for_database():
            log.info("worker %s: stopped before the database came up", self.name)
            return 0
        # refuses a database that is not at head (StoreError)
        store = call_with_retry(lambda: Store(self.url, sqlite_busy_timeout_s=PARENT_BUSY_TIMEOUT_S),
                                stop=self.stop_event, first_delay=self.opts.connect_retry, max_delay=30.0)
        self.store, self.engine = store, store.engine
        size_before = _size_or_none(store.engine)
        self.pool = SettlerPool(self.url, self.capacity)
        self.pool.warm_up()
        self.recorder = ThreadPoolExecutor(1, thread_name_prefix="p2pstore-recorder")
        self._start_scheduler()
        log.info("worker %s: started (concurrency %d%s, lease %g s) on %s", self.name, self.capacity,
                 ", burst" if self.opts.burst else "", self.opts.stale_after, store.url)
        try:
            self._main_loop()
        finally:
            self._shutdown()
        s = self.stats
        size_after = _size_or_none(store.engine) if size_before is not None else None
        growth = ""
        if size_after is not None:
            from p2pstore.store.maintenance import format_growth

            growth = "; " + format_growth(size_before, size_after)
        log.info("worker %s: exiting; claimed %d, succeeded %d, failed %d, retried %d, lost %d, released %d%s",
                 self.name, s["claimed"], s["committed"], s["failed"], s["retried"], s["lost"], s["released"],
                 growth)
        if self.fatal:
            raise StoreError(self.fatal)
        if self.stranded:
            rid, why = min(self.stranded.items())
            more = f" (and {len(self.stranded) - 1} more)" if len(self.stranded) > 1 else ""
            raise StoreError(f"run {rid}{more} left running: {why}; a worker's reaper takes it back "
                             f"when its lease expires ({self.opts.stale_after:g} s)")
        return 0

    def stop(self) -> None:
        """Ask the worker to stop claiming, finish what it holds (up to ``grace``) and exit; a
        second call releases the held runs at once."""
        if self.stop_event.is_set():
            self.hurry_event.set()
        self.stop_event.set()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum, _frame):
            name = signal.Signals(signum).name
            if self.stop_event.is_set():
                log.warning("worker %s: %s again: stopping held runs now (back to the queue)", self.name, name)
            else:
                log.info("worker %s: %s: no new claims; finishing %d held run(s) (grace %g s)",
                         self.name, name, len(self.inflight), self.opts.grace)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        # SIGUSR1 prints every thread's stack to stderr: what a stuck worker is waiting for
        import faulthandler
        import io

        try:
            faulthandler.register(signal.SIGUSR1, all_threads=True)
        except (AttributeError, ValueError, io.UnsupportedOperation):  # stderr is no file (embedded, tests)
            pass

    def _wait_for_database(self) -> bool:
        """Connect, retrying with one log line per attempt. False if stopped meanwhile.

        A permanent error (authentication, missing database, not a database) ends a burst
        worker with :class:`StoreError`; a long-running worker keeps trying (someone may fix it).
        """
        from p2pstore.store.engine import connect, create_engine, engine_url

        engine = create_engine(self.url)
        delay = self.opts.connect_retry
        try:
            while True:
                try:
                    with connect(engine):
                        return True
                except StoreError as exc:
                    if classify(exc) == PERMANENT and self.opts.burst:
                        raise StoreError(f"cannot use database {engine_url(engine)!r}: {describe(exc)}") from None
                    log.warning("database %s unreachable (%s); retrying in %g s",
                                engine_url(engine), describe(exc), delay)
                if self.stop_event.wait(delay):
                    return False
                delay = round(min(30.0, delay * 2), 3)
        finally:
            engine.dispose()

    def _main_loop(self) -> None:
        """Settle, enforce time limits, and after a stop wait for held runs up to the grace."""
        deadline = None
        while True:
            for claim, outcome, detail in self.pool.step(0.1):
                self._on_outcome(claim, outcome, detail)
            self._enforce_max_run_time()
            if not self.stop_event.is_set():
                continue
            if deadline is None:
                deadline = time.monotonic() + self.opts.grace
                self._stop_claiming()
            with self.lock:
                held = len(self.inflight)
            if not held or self.hurry_event.is_set() or time.monotonic() >= deadline:
                return

    def _stop_claiming(self) -> None:
        if self.scheduler is None:
            return
        for job_id in ["claim", *(f"schedule-{sid}" for sid in list(self._schedule_jobs))]:
            try:
                self.scheduler.remove_job(job_id)
            except Exception:  # noqa: BLE001 - already removed
                pass

    def _shutdown(self) -> None:
        """Stop the children still settling (their transactions roll back) and release their runs
        without charging a failure; wait for the recorder up to the release budget."""
        self._stop_claiming()
        budget_end = time.monotonic() + RELEASE_BUDGET_S
        if self.pool is not None:
            for job in self.pool.jobs():
                self.pool.kill(job.claim.token, "shutdown")
            while time.monotonic() < budget_end:
                for claim, outcome, detail in self.pool.step(0.05):
                    self._on_outcome(claim, outcome, detail)
                with self.lock:
                    if not self.inflight:
                        break
        self.give_up.set()
        if self.recorder is not None:
            self.recorder.shutdown(wait=True, cancel_futures=False)
        with self.lock:
            for attempt in self.inflight.values():
                self.stranded.setdefault(attempt.claim.run_id, "its outcome could not be recorded in time")
        if self.pool is not None:
            self.pool.close()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.engine is not None:
            self.engine.dispose()

    def _start_scheduler(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        o = self.opts
        sched = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(8)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
            timezone="UTC",
        )
        # APScheduler warns when an interval job is still running at its next firing (a renewal
        # waiting for the database, say); that is expected here, and our jobs log their trouble
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        now = runs.now_utc()
        # max_instances=2: an overlapping firing returns at once (see claim_tick) instead of
        # being refused with a warning by APScheduler
        sched.add_job(self._guard(self.claim_tick), "interval", seconds=o.poll, id="claim",
                      next_run_time=now, max_instances=2)
        sched.add_job(self._guard(self.heartbeat_tick, always=True), "interval", seconds=o.heartbeat,
                      id="heartbeat")
        sched.add_job(self._guard(self.reap_tick), "interval", seconds=o.reap_every or o.stale_after / 4,
                      id="reaper", next_run_time=now)
        sched.add_job(self._guard(self.sync_schedules), "interval", seconds=o.schedule_sync,
                      id="schedules", next_run_time=now)
        self.scheduler = sched
        sched.start()

    def _guard(self, fn, *, always: bool = False):
        """Scheduler jobs: skip while backing off from a database that is away (unless
        ``always``); log database trouble as one line and try again later; end a burst worker
        on a permanent database error."""

        def job(*args):
            if not always and self.health.backing_off():
                return None
            try:
                result = fn(*args)
            except Exception as exc:  # noqa: BLE001 - sorted below
                self._database_trouble(exc, fn.__name__)
                return None
            self.health.ok()
            return result

        job.__name__ = fn.__name__
        return job

    def _database_trouble(self, exc: BaseException, where: str) -> None:
        kind = classify(exc)
        if kind is None:  # a bug: keep its traceback
            log.exception("worker %s: %s failed", self.name, where)
        elif kind == PERMANENT and self.opts.burst:
            self._fatal(exc)
        elif kind == TRANSIENT and is_lock_wait(exc):
            log.debug("worker %s: %s: database locked by another writer; next tick", self.name, where)
        elif kind == PERMANENT:
            log.error("worker %s: %s: database error: %s", self.name, where, describe(exc))
            self.health.failed(exc)
        else:
            self.health.failed(exc)

    def _fatal(self, exc: BaseException) -> None:
        if self.fatal is None:
            self.fatal = f"database {self.store.url!r}: {describe(exc)}"
            log.error("worker %s: permanent database error (%s); stopping", self.name, describe(exc))
        self.stop_event.set()
        self.hurry_event.set()

    # -- jobs ------------------------------------------------------------------------------
    def claim_tick(self) -> None:
        """Claim runs until ``concurrency`` are in flight; in burst mode, stop when idle.

        A wake-up that arrives while a tick runs makes that tick go round once more (instead of
        asking APScheduler for a second, refused, concurrent instance)."""
        with self._wake_lock:
            if self._claiming:  # an overlapping interval firing: hand over to the running tick
                self._wake_pending = True
                return
            self._claiming = True
            self._wake_pending = False
        try:
            while True:
                self._claim_round()
                with self._wake_lock:
                    if not self._wake_pending or self.stop_event.is_set():
                        self._claiming = False
                        return
                    self._wake_pending = False
        except BaseException:
            with self._wake_lock:
                self._claiming = False
            raise

    def _claim_round(self) -> None:
        # only this tick adds to inflight (one instance at a time), so the lock is not held
        # across database calls: the main thread records outcomes meanwhile
        while not self.stop_event.is_set():
            with self.lock:
                if len(self.inflight) >= self.capacity:
                    break
            claim = runs.claim_next(self.engine, self.name, self.opts.stale_after)
            if claim is None:
                break
            with self.lock:
                self.inflight[claim.token] = _Attempt(claim)
                self.stats["claimed"] += 1
            log.info("worker %s: claimed run %d", self.name, claim.run_id)
            self.pool.submit(claim)
        with self.lock:
            idle = not self.inflight
        if self.opts.burst and idle and not self.stop_event.is_set():
            if not runs.has_pending_work(self.engine):
                log.info("worker %s: burst: nothing queued or running for me; stopping", self.name)
                self.stop_event.set()

    def heartbeat_tick(self) -> None:
        """Renew the lease of every run held; stop settling the ones taken away."""
        with self.lock:
            claims = [a.claim for a in self.inflight.values()]
        if not claims:
            return
        held = runs.renew(self.engine, claims, self.opts.stale_after)
        gone = [c for c in claims if c.token not in held]
        for claim in runs.lost(self.engine, gone):  # not merely finished meanwhile
            with self.lock:
                attempt = self.inflight.get(claim.token)
                if attempt is None or attempt.recording or attempt.killing:
                    continue
                attempt.killing = True
            if self.pool.kill(claim.token, "lost"):
                log.warning("worker %s: run %d was taken away (cancelled or reaped); stopping its settlement",
                            self.name, claim.run_id)

    def reap_tick(self) -> None:
        """Renew this worker's own leases first (it never reaps itself), then take back expired ones."""
        self.heartbeat_tick()
        for rid, status in runs.reap_expired(self.engine).items():
            log.warning("worker %s: reaped run %d (lease expired) -> %s", self.name, rid, status)

    def sync_schedules(self) -> None:
        """Mirror the active rows of ``schedules`` as cron jobs in this worker's scheduler."""
        from p2pstore.jobs import schedules as sch

        if self.stop_event.is_set():
            return
        wanted = {row["id"]: (row["cron"], row["timezone"], row["name"])
                  for row in sch.active_schedules(self.engine)}
        for sid in list(self._schedule_jobs):
            if sid not in wanted or wanted[sid][:2] != self._schedule_jobs[sid]:
                self.scheduler.remove_job(f"schedule-{sid}")
                del self._schedule_jobs[sid]
        for sid, (cron, tz, name) in wanted.items():
            if sid in self._schedule_jobs:
                continue
            try:
                trigger = sch.parse_cron(cron, tz)
            except Exception as exc:  # noqa: BLE001 - a row edited by hand
                log.error("worker %s: schedule %r has a bad cron expression: %s", self.name, name, exc)
                continue
            self.scheduler.add_job(self._guard(self.fire), trigger, args=(sid, name, trigger),
                                   id=f"schedule-{sid}", misfire_grace_time=60)
            self._schedule_jobs[sid] = (cron, tz)
            log.info("worker %s: schedule %r (%s, %s) active", self.name, name, cron, tz)

    def fire(self, schedule_id: int, name: str, trigger) -> None:
        from p2pstore.jobs import schedules as sch

        fire_time = sch.latest_fire_time(trigger, runs.now_utc())
        if fire_time is None:
            return
        run_id = sch.fire_schedule(self.engine, schedule_id, fire_time)
        if run_id is None:
            log.info("worker %s: schedule %r fired for %s: already queued by another worker",
                     self.name, name, fire_time.isoformat())
            return
        log.info("worker %s: schedule %r fired for %s: run %d queued", self.name, name,
                 fire_time.isoformat(), run_id)
        self._wake()

    def _wake(self) -> None:
        """Run the claim tick now instead of at the next interval."""
        with self._wake_lock:
            if self._claiming:
                self._wake_pending = True
                return
        if self.scheduler is not None and not self.stop_event.is_set():
            try:
                self.scheduler.modify_job("claim", next_run_time=runs.now_utc())
            except Exception:  # noqa: BLE001 - scheduler shutting down
                pass

    # -- outcomes --------------------------------------------------------------------------
    def _enforce_max_run_time(self) -> None:
        """Stop the settling process of a run past ``--max-run-time`` (counted from the moment a
        process took it); the run is then failed."""
        if self.opts.max_run_time is None:
            return
        for claim in self.pool.overdue(self.opts.max_run_time):
            with self.lock:
                attempt = self.inflight.get(claim.token)
                if attempt is None or attempt.recording or attempt.killing:
                    continue
                attempt.killing = True
            self.pool.kill(claim.token, "timeout")

    def _on_outcome(self, claim: runs.Claim, outcome: str, detail: str | None) -> None:
        """An attempt ended (main thread): record it from the recorder thread."""
        with self.lock:
            attempt = self.inflight.get(claim.token)
            if attempt is None or attempt.recording:
                return
            attempt.recording = True
        self.recorder.submit(self._record, attempt, outcome, detail)

    def _record(self, attempt: _Attempt, outcome: str, detail: str | None) -> None:
        claim, rid, o = attempt.claim, attempt.claim.run_id, self.opts
        try:
            if outcome == "committed":
                self.stats["committed"] += 1
                log.info("worker %s: run %d succeeded", self.name, rid)
            elif outcome == "lost" or (outcome == "killed" and detail == "lost"):
                self.stats["lost"] += 1
                log.warning("worker %s: run %d was taken away (cancelled or reaped); nothing stored",
                            self.name, rid)
            elif outcome == "killed" and detail == "shutdown":
                if self._with_database(lambda: runs.release(self.engine, claim)):
                    self.stats["released"] += 1
                    log.warning("worker %s: released unfinished run %d back to the queue", self.name, rid)
            elif outcome == "killed" and detail == "timeout":
                error = (f"TimeLimitExceeded: the attempt took longer than --max-run-time "
                         f"({o.max_run_time:g} s); its settling process was stopped")
                if self._with_database(lambda: runs.fail(self.engine, claim, error, retry=False)):
                    self.stats["failed"] += 1
                    log.error("worker %s: run %d failed: %s", self.name, rid, error)
            else:
                error = detail or "?"
                status = self._with_database(lambda: runs.fail(
                    self.engine, claim, error, backoff_base=o.backoff_base, backoff_cap=o.backoff_cap))
                first = error.splitlines()[0]
                if status == runs.RunStatus.queued:
                    self.stats["retried"] += 1
                    log.warning("worker %s: run %d failed, will retry: %s", self.name, rid, first)
                elif status is None:
                    log.warning("worker %s: run %d ended (%s) but is no longer mine", self.name, rid, first)
                else:
                    self.stats["failed"] += 1
                    log.error("worker %s: run %d failed: %s", self.name, rid, first)
        except Exception as exc:  # noqa: BLE001 - the database is away for good, or we gave up
            if classify(exc) == PERMANENT and o.burst:
                self._fatal(exc)
            log.error("worker %s: cannot record the outcome of run %d (%s)", self.name, rid, describe(exc))
            with self.lock:
                self.stranded[rid] = f"its outcome could not be recorded ({describe(exc)})"
        with self.lock:
            self.inflight.pop(claim.token, None)
        self._wake()

    def _with_database(self, fn):
        """``fn()``, retrying transient database errors with backoff until the shutdown's
        release budget is spent."""
        return call_with_retry(fn, stop=self.give_up, first_delay=min(1.0, self.opts.connect_retry),
                               max_delay=30.0, on_retry=lambda exc, delay: self.health.failed(exc))


def _size_or_none(engine) -> int | None:
    """The database's size in bytes (:func:`p2pstore.store.maintenance.database_size`), None when
    it cannot be read now (an outage): a summary line does without it."""
    from p2pstore.store.maintenance import database_size

    try:
        return database_size(engine)
    except Exception:  # noqa: BLE001 - only a figure for the log
        return None


def run_worker(url: str | None, name: str | None = None, **options) -> int:
    """Build a :class:`Worker` from keyword options (see :class:`WorkerOptions`) and run it."""
    return Worker(url, name, WorkerOptions(**options)).run()
