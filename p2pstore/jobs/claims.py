"""A worker's claim tick: claims queued runs until ``concurrency`` are held, each with its own
token and a lease of ``stale_after`` seconds, and hands them to the settling pool; in burst
mode it stops the worker once nothing is queued or running for it."""

from __future__ import annotations

import logging
import threading

from p2pstore.jobs.inflight import Inflight
from p2pstore.jobs.options import WorkerOptions
from p2pstore.jobs.recorder import Tally
from p2pstore.jobs.signals import StopControl
from p2pstore.jobs.stale_leases import StaleLeases
from p2pstore.store.queue import runs

log = logging.getLogger("p2pstore.worker")

#: The claim tick's scheduler job id.
CLAIM_JOB = "claim"


class Claimer:
    """``claim_tick`` runs as a scheduler job; ``wake()`` (any thread) makes it run now. A wake-up
    that arrives while a tick runs makes that tick go round once more (instead of asking
    APScheduler for a second, refused, concurrent instance)."""

    def __init__(self, name: str, engine, opts: WorkerOptions, capacity: int, inflight: Inflight, pool,
                 control: StopControl, stats):
        self.name, self.engine, self.opts, self.capacity = name, engine, opts, capacity
        self.inflight, self.pool, self.control, self.stats = inflight, pool, control, stats
        self.scheduler = None  # set once the scheduler exists
        self.stale = StaleLeases(name, engine, opts.wait_stale)
        self._lock = threading.Lock()
        self._claiming = False
        self._wake_pending = False

    def claim_tick(self) -> None:
        """Claim runs until ``concurrency`` are in flight; in burst mode, stop when idle."""
        with self._lock:
            if self._claiming:  # an overlapping interval firing: hand over to the running tick
                self._wake_pending = True
                return
            self._claiming = True
            self._wake_pending = False
        try:
            while True:
                self._claim_round()
                with self._lock:
                    if not self._wake_pending or self.control.stopping():
                        self._claiming = False
                        return
                    self._wake_pending = False
        except BaseException:
            with self._lock:
                self._claiming = False
            raise

    def _claim_round(self) -> None:
        # only this tick adds to inflight (one instance at a time): the main thread records
        # outcomes meanwhile, so no lock is held across database calls
        while not self.control.stopping() and len(self.inflight) < self.capacity:
            claim = runs.claim_next(self.engine, self.name, self.opts.stale_after)
            if claim is None:
                break
            self.inflight.add(claim)
            self.stats[Tally.claimed] += 1
            log.info("worker %s: claimed run %d", self.name, claim.run_id)
            self.pool.submit(claim)
        if self.opts.burst and not len(self.inflight) and not self.control.stopping():
            if not runs.has_pending_work(self.engine) and not self.stale.waiting():
                log.info("worker %s: burst: nothing queued or running for me; stopping", self.name)
                self.control.stop_event.set()

    def wake(self) -> None:
        """Run the claim tick now instead of at the next interval."""
        with self._lock:
            if self._claiming:
                self._wake_pending = True
                return
        if self.scheduler is not None and not self.control.stopping():
            try:
                self.scheduler.modify_job(CLAIM_JOB, next_run_time=runs.now_utc())
            except Exception:  # noqa: BLE001 - scheduler shutting down
                pass
