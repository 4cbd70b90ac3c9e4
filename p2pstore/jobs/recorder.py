"""Recording how a worker's attempts ended, from a thread of its own: success, failure and retry
with backoff, time limit, release on shutdown. Transient database errors are retried (until the
shutdown's release budget is spent); a run stays held, its lease renewed, until its outcome is
recorded."""

from __future__ import annotations

import collections
import enum
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from p2pstore.errors import ErrorClass
from p2pstore.jobs.health import HEALTH_BACKOFF_CAP_S, DatabaseHealth
from p2pstore.jobs.inflight import Attempt, Inflight
from p2pstore.jobs.options import WorkerOptions
from p2pstore.jobs.signals import StopControl
from p2pstore.status import AttemptOutcome, KillReason, RunStatus
from p2pstore.store.queue import runs
from p2pstore.store.retry import call_with_retry, classify, describe

log = logging.getLogger("p2pstore.worker")

class Tally(enum.StrEnum):
    """What a worker counts (its exit line)."""

    claimed = "claimed"
    committed = "committed"
    lost = "lost"
    failed = "failed"
    retried = "retried"
    released = "released"


def new_stats() -> collections.Counter[Tally]:
    """Every :class:`Tally` at zero."""
    return collections.Counter(dict.fromkeys(Tally, 0))


class OutcomeRecorder:
    """Records outcomes one at a time on its own thread; ``wake()`` is called after each (a slot
    is free: claim again)."""

    def __init__(self, name: str, engine, opts: WorkerOptions, inflight: Inflight, health: DatabaseHealth,
                 control: StopControl, wake: Callable[[], None], where: str, stats: collections.Counter[Tally]):
        self.name, self.engine, self.opts, self.where = name, engine, opts, where
        self.inflight, self.health, self.control, self.wake = inflight, health, control, wake
        self.stats = stats
        self.stranded: dict[int, str] = {}  # run id -> why its outcome is not recorded
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="p2pstore-recorder")

    def submit(self, claim: runs.Claim, outcome: AttemptOutcome, detail: str | None) -> None:
        """An attempt ended (main thread): record it on the recorder thread, once."""
        attempt = self.inflight.start_recording(claim.token)
        if attempt is not None:
            self._executor.submit(self._record, attempt, outcome, detail)

    def shutdown(self) -> None:
        """Wait for the outcomes submitted; runs still held are stranded (left running until
        their lease expires)."""
        self._executor.shutdown(wait=True, cancel_futures=False)
        for rid in self.inflight.run_ids():
            self.stranded.setdefault(rid, "its outcome could not be recorded in time")

    def _record(self, attempt: Attempt, outcome: AttemptOutcome, detail: str | None) -> None:
        claim = attempt.claim
        try:
            self._apply(claim, outcome, detail)
        except Exception as exc:  # noqa: BLE001 - the database is away for good, or we gave up
            if classify(exc) == ErrorClass.permanent and self.opts.burst:
                self.control.fail(self.where, exc)
            log.error("worker %s: cannot record the outcome of run %d (%s)", self.name, claim.run_id, describe(exc))
            self.stranded[claim.run_id] = f"its outcome could not be recorded ({describe(exc)})"
        self.inflight.remove(claim.token)
        self.wake()

    def _apply(self, claim: runs.Claim, outcome: AttemptOutcome, detail: str | None) -> None:
        rid = claim.run_id
        if outcome == AttemptOutcome.committed:
            self.stats[Tally.committed] += 1
            log.info("worker %s: run %d succeeded", self.name, rid)
        elif outcome == AttemptOutcome.lost or (outcome == AttemptOutcome.killed and detail == KillReason.lost):
            self.stats[Tally.lost] += 1
            log.warning("worker %s: run %d was taken away (cancelled or reaped); nothing stored", self.name, rid)
        elif outcome == AttemptOutcome.killed and detail == KillReason.shutdown:
            if self._with_database(lambda: runs.release(self.engine, claim)):
                self.stats[Tally.released] += 1
                log.warning("worker %s: released unfinished run %d back to the queue", self.name, rid)
        elif outcome == AttemptOutcome.killed and detail == KillReason.timeout:
            self._timed_out(claim)
        elif outcome == AttemptOutcome.unsettleable:
            self._failed(claim, detail or "?", retry=False)
        else:
            self._failed(claim, detail or "?")

    def _timed_out(self, claim: runs.Claim) -> None:
        error = (f"TimeLimitExceeded: the attempt took longer than --max-run-time "
                 f"({self.opts.max_run_time:g} s); its settling process was stopped")
        if self._with_database(lambda: runs.fail(self.engine, claim, error, retry=False)):
            self.stats[Tally.failed] += 1
            log.error("worker %s: run %d failed: %s", self.name, claim.run_id, error)

    def _failed(self, claim: runs.Claim, error: str, *, retry: bool = True) -> None:
        """Record a failed attempt: requeued while attempts remain and ``retry`` (an error that
        cannot pass is not retried), else failed."""
        o = self.opts
        status = self._with_database(lambda: runs.fail(
            self.engine, claim, error, retry=retry, backoff_base=o.backoff_base, backoff_cap=o.backoff_cap))
        first = error.splitlines()[0]
        if status == RunStatus.queued:
            self.stats[Tally.retried] += 1
            log.warning("worker %s: run %d failed, will retry: %s", self.name, claim.run_id, first)
        elif status is None:
            log.warning("worker %s: run %d ended (%s) but is no longer mine", self.name, claim.run_id, first)
        else:
            self.stats[Tally.failed] += 1
            log.error("worker %s: run %d failed: %s", self.name, claim.run_id, first)

    def _with_database(self, fn):
        """``fn()``, retrying transient database errors with backoff until the shutdown's
        release budget is spent."""
        return call_with_retry(fn, stop=self.control.give_up, first_delay=min(1.0, self.opts.connect_retry),
                               max_delay=HEALTH_BACKOFF_CAP_S, on_retry=lambda exc, delay: self.health.failed(exc))
