"""Whether the database answers, as a worker sees it: one log line when it stops, one when it
is back, and an exponential backoff for the jobs that can wait (claims, reaping, schedules)."""

from __future__ import annotations

import logging
import threading
import time

from p2pstore.store.retry import describe

log = logging.getLogger("p2pstore.worker")

#: Longest wait between tries while the database is away (seconds).
HEALTH_BACKOFF_CAP_S = 30.0


class DatabaseHealth:
    """``ok()`` after a call that worked, ``failed(exc)`` after one that did not;
    ``backing_off()`` says whether a job should skip this tick."""

    def __init__(self, name: str, first: float, cap: float = HEALTH_BACKOFF_CAP_S):
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
