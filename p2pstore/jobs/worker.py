"""The worker: claims queued runs and settles them in child processes, driven by APScheduler.

One :class:`Worker` per ``p2pstore worker`` process. Its APScheduler ``BackgroundScheduler`` (an
in-memory job store, never a shared one) runs:

- ``claim``: every ``poll`` seconds (and right after a run finishes) claims runs until
  ``concurrency`` are in flight, and hands each to a process pool;
- ``heartbeat``: stamps ``heartbeat_at`` on the runs it holds;
- ``reaper``: requeues (or fails) runs whose heartbeat is older than ``stale_after``;
- ``schedules``: re-reads the ``schedules`` table and keeps one cron job per active schedule,
  each firing enqueueing one run keyed on (schedule, fire time).

Settlement and the guarded result write happen in the child processes, so the scheduler thread
never waits on numpy. A child dies with its worker (``PR_SET_PDEATHSIG`` on Linux), so a killed
worker leaves runs that only the reaper can take back.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from p2pstore.jobs import queue

log = logging.getLogger("p2pstore.worker")


@dataclass
class WorkerOptions:
    """Timing knobs (seconds). Defaults suit production; tests shorten them."""

    concurrency: int = 1
    poll: float = 1.0  # claim tick interval (also the wake-up latency bound)
    heartbeat: float = 10.0
    stale_after: float = 60.0  # a heartbeat older than this gets the run reaped
    reap_every: float | None = None  # default: stale_after / 4
    schedule_sync: float = 15.0  # re-read the schedules table this often
    backoff_base: float = queue.BACKOFF_BASE_S
    backoff_cap: float = queue.BACKOFF_CAP_S
    grace: float = 30.0  # on SIGTERM/SIGINT, wait this long for held runs before releasing them
    connect_retry: float = 2.0  # first wait between connection attempts (doubles up to 30 s)
    burst: bool = False


# -- child process ---------------------------------------------------------------------------
_STORE = None


def _child_init(url: str, parent_pid: int) -> None:
    """Pool initializer: die with the parent, leave SIGINT to the parent, open one Store."""
    global _STORE
    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from p2pstore.store import Store

    _STORE = Store(url, migrate=False)


def _die_with_parent() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: orphans finish, their write stays guarded
        pass


def _execute(run_id: int, worker: str) -> tuple[str, str | None]:
    """Compute and write one run in a child. Returns ``("committed"|"lost", None)`` or
    ``("error", text)``; exceptions never cross the process boundary (some do not unpickle)."""
    from p2pstore.jobs.execute import error_text, execute_run

    try:
        # the same function as `p2pstore run`; failures are recorded by the parent, which knows
        # about retries and backoff
        committed, _ = execute_run(_STORE, run_id, worker)
        return ("committed" if committed else "lost", None)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the run
        return ("error", error_text(exc))


def _warm_up() -> None:
    import p2pstore.jobs.execute  # noqa: F401
    import p2pstore.simulate  # noqa: F401
    import p2pstore.store.writer  # noqa: F401


# -- parent ----------------------------------------------------------------------------------
class Worker:
    """Claims and executes runs from the database at ``url`` until stopped (or idle, in burst)."""

    def __init__(self, url: str | None, name: str | None = None, options: WorkerOptions | None = None):
        from p2pstore.jobs.execute import worker_name
        from p2pstore.store.engine import resolve_url

        self.url = resolve_url(url)
        self.name = name or worker_name()
        self.opts = options or WorkerOptions()
        from p2pstore.errors import InputError

        if self.opts.concurrency < 1:
            raise InputError(f"--concurrency must be >= 1, got {self.opts.concurrency}")
        if self.opts.stale_after < 2 * self.opts.heartbeat:
            raise InputError(f"--stale-after ({self.opts.stale_after:g} s) must be at least twice "
                             f"--heartbeat ({self.opts.heartbeat:g} s), or live runs get reaped")
        self.engine = None
        self.pool: ProcessPoolExecutor | None = None
        self.scheduler = None
        self.inflight: dict[int, Future] = {}
        self.lock = threading.RLock()
        self.stop_event = threading.Event()  # stop claiming and shut down
        self.hurry_event = threading.Event()  # second signal: release now
        self.stats = {"claimed": 0, "committed": 0, "lost": 0, "failed": 0, "retried": 0}
        self._schedule_jobs: dict[int, tuple[str, str]] = {}
        self._wake_lock = threading.Lock()
        self._claiming = False
        self._wake_pending = False

    # -- lifecycle -----------------------------------------------------------------------
    def run(self) -> int:
        """Run until stopped (signal, :meth:`stop`, or idle in burst mode). Returns exit status 0.

        Raises :class:`StoreError` if the database is not at the head revision.
        """
        self._install_signals()
        if not self._wait_for_database():
            log.info("worker %s: stopped before the database came up", self.name)
            return 0
        from p2pstore.store import Store

        store = Store(self.url)  # refuses a database that is not at head (StoreError)
        self.engine = store.engine
        self.store = store
        self._start_pool()
        self._start_scheduler()
        log.info("worker %s: started (concurrency %d%s) on %s", self.name, self.opts.concurrency,
                 ", burst" if self.opts.burst else "", store.url)
        try:
            while not self.stop_event.wait(0.2):
                pass
        finally:
            self._shutdown()
        s = self.stats
        log.info("worker %s: exiting; claimed %d, succeeded %d, failed %d, retried %d, lost %d",
                 self.name, s["claimed"], s["committed"], s["failed"], s["retried"], s["lost"])
        return 0

    def stop(self) -> None:
        """Ask the worker to stop claiming, finish what it holds (up to ``grace``) and exit."""
        if self.stop_event.is_set():
            self.hurry_event.set()
        self.stop_event.set()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum, _frame):
            name = signal.Signals(signum).name
            if self.stop_event.is_set():
                log.warning("worker %s: %s again: releasing held runs now", self.name, name)
            else:
                log.info("worker %s: %s: no new claims; finishing %d held run(s) (grace %gs)",
                         self.name, name, len(self.inflight), self.opts.grace)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _wait_for_database(self) -> bool:
        """Connect, retrying while unreachable with one log line per attempt. False if stopped."""
        from sqlalchemy.exc import DBAPIError

        from p2pstore.store.engine import create_engine, engine_url, one_line

        engine = create_engine(self.url)
        delay = self.opts.connect_retry
        try:
            while True:
                try:
                    with engine.connect():
                        return True
                except DBAPIError as exc:
                    log.warning("database %s unreachable (%s); retrying in %g s",
                                engine_url(engine), one_line(exc), delay)
                if self.stop_event.wait(delay):
                    return False
                delay = round(min(30.0, delay * 2), 3)
        finally:
            engine.dispose()

    def _start_pool(self) -> None:
        import multiprocessing

        self.pool = ProcessPoolExecutor(
            max_workers=self.opts.concurrency,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_child_init,
            initargs=(self.url, os.getpid()),
        )
        # start every child now, from this thread (the parent-death signal follows the thread
        # that started the child), and let them import numpy before the first claim
        for f in [self.pool.submit(_warm_up) for _ in range(self.opts.concurrency)]:
            f.result()

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
        # APScheduler warns when an interval job is still running at its next firing (a heartbeat
        # waiting on a row a result write holds, say); that is expected here, and our jobs log
        # their own trouble
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        # max_instances=2: an overlapping firing returns at once (see claim_tick) instead of
        # being refused with a warning by APScheduler
        sched.add_job(self._guard(self.claim_tick), "interval", seconds=o.poll, id="claim",
                      next_run_time=queue.now_utc(), max_instances=2)
        sched.add_job(self._guard(self.heartbeat_tick), "interval", seconds=o.heartbeat, id="heartbeat")
        sched.add_job(self._guard(self.reap_tick), "interval", seconds=o.reap_every or o.stale_after / 4,
                      id="reaper", next_run_time=queue.now_utc())
        sched.add_job(self._guard(self.sync_schedules), "interval", seconds=o.schedule_sync,
                      id="schedules", next_run_time=queue.now_utc())
        self.scheduler = sched
        sched.start()

    def _guard(self, fn):
        """Scheduler jobs log database trouble as one line and try again at their next tick."""
        from sqlalchemy.exc import DBAPIError

        from p2pstore.store.engine import one_line

        def job(*args):
            try:
                return fn(*args)
            except DBAPIError as exc:
                log.warning("worker %s: %s: database error: %s", self.name, fn.__name__, one_line(exc))

        job.__name__ = fn.__name__
        return job

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
        with self.lock:
            while not self.stop_event.is_set() and len(self.inflight) < self.opts.concurrency:
                run_id = queue.claim_next_run(self.engine, self.name)
                if run_id is None:
                    break
                self.stats["claimed"] += 1
                log.info("worker %s: claimed run %d", self.name, run_id)
                self._submit(run_id)
            idle = not self.inflight
        if self.opts.burst and idle and not self.stop_event.is_set():
            if not queue.has_pending_work(self.engine, self.opts.stale_after):
                log.info("worker %s: burst: nothing queued or running for me; stopping", self.name)
                self.stop_event.set()

    def _submit(self, run_id: int) -> None:
        try:
            fut = self.pool.submit(_execute, run_id, self.name)
        except (BrokenProcessPool, RuntimeError):
            self._restart_pool()
            fut = self.pool.submit(_execute, run_id, self.name)
        self.inflight[run_id] = fut
        fut.add_done_callback(lambda f, rid=run_id: self._finished(rid, f))

    def _finished(self, run_id: int, fut: Future) -> None:
        from sqlalchemy.exc import DBAPIError

        from p2pstore.store.engine import one_line

        try:
            if fut.cancelled():
                return
            try:
                outcome, error = fut.result()
            except BrokenProcessPool as exc:
                outcome, error = "error", f"BrokenProcessPool: the process settling this run died ({exc})"
            except Exception as exc:  # noqa: BLE001 - e.g. a result that did not unpickle
                outcome, error = "error", f"{type(exc).__name__}: {exc}"
            if outcome == "committed":
                self.stats["committed"] += 1
                log.info("worker %s: run %d succeeded", self.name, run_id)
            elif outcome == "lost":
                self.stats["lost"] += 1
                log.warning("worker %s: run %d was taken away (reaped or cancelled); result discarded",
                            self.name, run_id)
            else:
                try:
                    status = queue.mark_failed(self.engine, run_id, error, worker=self.name,
                                               backoff_base=self.opts.backoff_base,
                                               backoff_cap=self.opts.backoff_cap)
                except DBAPIError as exc:
                    status = None
                    log.warning("worker %s: cannot record failure of run %d: %s (the reaper will)",
                                self.name, run_id, one_line(exc))
                first = error.splitlines()[0] if error else "?"
                if status == "queued":
                    self.stats["retried"] += 1
                    log.warning("worker %s: run %d failed, will retry: %s", self.name, run_id, first)
                elif status is None:
                    log.warning("worker %s: run %d ended (%s) but is no longer mine", self.name, run_id, first)
                else:
                    self.stats["failed"] += 1
                    log.error("worker %s: run %d failed: %s", self.name, run_id, first)
        finally:
            with self.lock:
                self.inflight.pop(run_id, None)
            self._wake()

    def _wake(self) -> None:
        """Run the claim tick now instead of at the next interval."""
        with self._wake_lock:
            if self._claiming:
                self._wake_pending = True
                return
        if self.scheduler is not None and not self.stop_event.is_set():
            try:
                self.scheduler.modify_job("claim", next_run_time=queue.now_utc())
            except Exception:  # noqa: BLE001 - scheduler shutting down
                pass

    def _restart_pool(self) -> None:
        log.warning("worker %s: process pool broke; starting a new one", self.name)
        try:
            self.pool.shutdown(wait=False, cancel_futures=True)
        except Exception:  # noqa: BLE001
            pass
        self._start_pool()

    def heartbeat_tick(self) -> None:
        with self.lock:
            held = list(self.inflight)
        if held:
            owned = queue.heartbeat(self.engine, self.name, held)
            with self.lock:
                gone = (set(held) - owned) & set(self.inflight)
            for rid in queue.taken_away(self.engine, gone, self.name):  # not merely finished meanwhile
                log.warning("worker %s: run %d is no longer mine (reaped or cancelled); its result "
                            "will be discarded", self.name, rid)
        with self.lock:
            if self.pool is not None and getattr(self.pool, "_broken", False) and not self.inflight:
                self._restart_pool()

    def reap_tick(self) -> None:
        for rid, status in queue.reap_stale(self.engine, self.opts.stale_after).items():
            log.warning("worker %s: reaped stale run %d -> %s", self.name, rid, status)

    def sync_schedules(self) -> None:
        """Mirror the active rows of ``schedules`` as cron jobs in this worker's scheduler."""
        from p2pstore.jobs import schedules as sch

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

        fire_time = sch.latest_fire_time(trigger, queue.now_utc())
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

    # -- shutdown ----------------------------------------------------------------------------
    def _shutdown(self) -> None:
        """Stop claiming; wait up to ``grace`` for held runs (heartbeats continue); release the
        rest back to the queue; stop the pool and the scheduler."""
        if self.scheduler is not None:
            try:
                self.scheduler.remove_job("claim")
            except Exception:  # noqa: BLE001
                pass
            for sid in list(self._schedule_jobs):
                try:
                    self.scheduler.remove_job(f"schedule-{sid}")
                except Exception:  # noqa: BLE001
                    pass
        deadline = time.monotonic() + self.opts.grace
        while self.inflight and time.monotonic() < deadline and not self.hurry_event.is_set():
            time.sleep(0.1)
        with self.lock:
            left = list(self.inflight)
        for rid in left:
            try:
                if queue.release(self.engine, rid, self.name):
                    log.warning("worker %s: released unfinished run %d back to the queue", self.name, rid)
            except Exception as exc:  # noqa: BLE001
                log.warning("worker %s: cannot release run %d (%s); the reaper will", self.name, rid, exc)
        if self.pool is not None:
            procs = list(getattr(self.pool, "_processes", {}).values())
            if left:
                for p in procs:
                    try:
                        p.kill()
                    except Exception:  # noqa: BLE001
                        pass
            try:
                self.pool.shutdown(wait=not left, cancel_futures=True)
            except Exception:  # noqa: BLE001
                pass
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.engine is not None:
            self.engine.dispose()


def run_worker(url: str | None, name: str | None = None, **options) -> int:
    """Build a :class:`Worker` from keyword options (see :class:`WorkerOptions`) and run it."""
    return Worker(url, name, WorkerOptions(**options)).run()
