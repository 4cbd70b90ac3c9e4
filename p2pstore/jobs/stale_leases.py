"""A burst worker's wait for runs that other workers hold but may no longer renew.

A worker that died (killed, its host lost) leaves its runs ``running`` until their leases expire;
then any worker's reaper puts them back in the queue. A burst worker that found nothing else
to do would exit before that, leaving them undone although the user asked it to drain the queue.
So, unless ``--no-wait-stale``, it waits for each such lease — at most until the lease seen
first expires, saying so in one line — and:

* the lease expires: the holder is gone; the reaper requeues the run and the worker settles it;
* the lease is renewed meanwhile: the holder is alive and settles the run itself; the worker
  stops waiting for it.
"""

from __future__ import annotations

import logging

from p2pstore.store.queue import runs

log = logging.getLogger("p2pstore.worker")


class StaleLeases:
    """Which other workers' runs a burst worker still waits for (see the module docstring)."""

    def __init__(self, name: str, engine, enabled: bool = True):
        self.name, self.engine, self.enabled = name, engine, enabled
        self._seen: dict[int, object] = {}  # run id -> its lease expiry when first seen
        self._done: set[int] = set()  # runs renewed by their holder: not waited for again

    def waiting(self) -> bool:
        """True while a run held elsewhere keeps the lease it had when first seen (its holder
        may be dead); False once every such run was renewed, or none is left."""
        if not self.enabled:
            return False
        leases = runs.leases_elsewhere(self.engine, self.name)
        for rid, (worker, expires, left) in leases.items():
            if rid in self._done:
                continue
            if rid not in self._seen:
                self._seen[rid] = expires
                log.info("worker %s: burst: run %d is held by %s, whose lease expires in %.0f s; waiting for it "
                         "(the run is settled here if the lease is not renewed; --no-wait-stale to exit now)",
                         self.name, rid, worker, left)
            elif expires != self._seen[rid]:
                self._done.add(rid)
                log.info("worker %s: burst: run %d's lease was renewed by %s: not waiting for it", self.name, rid,
                         worker)
        return any(rid not in self._done for rid in leases)
