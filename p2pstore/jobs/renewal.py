"""A worker's leases: renewed for every run it holds (the heartbeat), and taken back from
workers that stopped renewing theirs (the reaper). A run taken away from this worker
(cancelled, or reaped after an outage longer than the lease) stops settling."""

from __future__ import annotations

import logging

from p2pstore.jobs.holds import mark
from p2pstore.jobs.inflight import Inflight
from p2pstore.status import KillReason
from p2pstore.store.queue import runs

log = logging.getLogger("p2pstore.worker")


class LeaseRenewer:
    """``heartbeat_tick`` and ``reap_tick`` run as scheduler jobs."""

    def __init__(self, name: str, engine, lease_s: float, inflight: Inflight, pool):
        self.name, self.engine, self.lease_s, self.inflight, self.pool = name, engine, lease_s, inflight, pool

    def heartbeat_tick(self) -> None:
        """Renew the lease of every run held; stop settling the ones taken away."""
        claims = self.inflight.claims()
        if not claims:
            return
        held = runs.renew(self.engine, claims, self.lease_s)
        gone = [c for c in claims if c.token not in held]
        for claim in runs.lost(self.engine, gone):  # not merely finished meanwhile
            if self.inflight.start_killing(claim.token) and self.pool.kill(claim.token, KillReason.lost):
                log.warning("worker %s: run %d was taken away (cancelled or reaped); stopping its settlement",
                            self.name, claim.run_id)

    def reap_tick(self) -> None:
        """Renew this worker's own leases first (it never reaps itself), then take back expired ones."""
        mark("reap", self.name)
        self.heartbeat_tick()
        for rid, status in runs.reap_expired(self.engine).items():
            log.warning("worker %s: reaped run %d (lease expired) -> %s", self.name, rid, status)
