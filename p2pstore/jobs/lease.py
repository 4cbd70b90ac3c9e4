"""A lease kept alive from a thread: how ``p2pstore run`` holds its run while it computes and
writes (a worker renews the leases of all its runs from its scheduler instead)."""

from __future__ import annotations

import threading

from p2pstore.jobs.holds import mark
from p2pstore.store.queue import runs
from p2pstore.store.retry import classify


class LeaseKeeper:
    """Renew ``claim``'s lease (``lease_s`` seconds) every ``lease_s / 4`` seconds until stopped.

    Renewals use their own pooled connection, so they go through while the owner's write
    transaction is open (on SQLite they wait for its lock and the write credits the time).
    A failed renewal (database away) is tried again at the next tick; :attr:`lost` is set when
    the claim no longer holds the run (cancelled, or reaped after an outage longer than the
    lease).
    """

    def __init__(self, engine, claim: runs.Claim, lease_s: float):
        self.engine = engine
        self.claim = claim
        self.lease_s = lease_s
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{claim.run_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        every = max(0.05, self.lease_s / 4)
        while not self._stop.wait(every):
            try:
                if not runs.renew(self.engine, [self.claim], self.lease_s):
                    self.lost.set()
                    return
                mark("renew", f"run-{self.claim.run_id}")
            except Exception as exc:  # noqa: BLE001 - a database away: try again next tick
                if classify(exc) is None:
                    raise
