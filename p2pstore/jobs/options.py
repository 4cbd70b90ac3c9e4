"""The worker's options and the queue's defaults: one source for :class:`WorkerOptions`, the
``worker`` and ``enqueue`` commands' defaults and their ``--help``.

A leaf module (the standard library and :mod:`p2pstore.status` only), so that the CLI can show
the defaults without loading SQLAlchemy.
"""

from __future__ import annotations

import dataclasses

from p2pstore.status import BACKOFF_BASE_S, BACKOFF_CAP_S, DEFAULT_MAX_ATTEMPTS

__all__ = ["DEFAULT_MAX_ATTEMPTS", "DEFAULT_PRIORITY", "NO_WAIT_STALE_HELP", "WORKER_DEFAULTS", "WorkerOptions"]

#: ``--priority`` of queued runs and schedules (lower runs first, like nice).
DEFAULT_PRIORITY = 0


@dataclasses.dataclass
class WorkerOptions:
    """Timing knobs (seconds). Defaults suit production; tests shorten them."""

    concurrency: int = 1
    poll: float = 1.0  # claim tick interval (also the wake-up latency bound)
    heartbeat: float = 10.0  # lease renewal interval
    stale_after: float = 60.0  # the lease this worker takes on its runs
    reap_every: float | None = None  # default: stale_after / 4
    schedule_sync: float = 15.0  # re-read the schedules table this often
    backoff_base: float = BACKOFF_BASE_S
    backoff_cap: float = BACKOFF_CAP_S
    grace: float = 30.0  # on SIGTERM/SIGINT, wait this long for held runs before releasing them
    connect_retry: float = 2.0  # first wait between attempts while the database is away (doubles up to 30 s)
    burst: bool = False
    wait_stale: bool = True  # burst: wait for the leases of other workers' runs that are not renewed
    max_run_time: float | None = None  # fail a run whose attempt takes longer than this


#: ``worker --no-wait-stale``'s help (:attr:`WorkerOptions.wait_stale`, :mod:`p2pstore.jobs.stale_leases`).
NO_WAIT_STALE_HELP = ("With --burst: exit without waiting for the leases of runs other workers hold (by default "
                      "it waits, at most one lease, and settles a dead worker's runs).")

#: Every option's default, by field name (the CLI's defaults).
WORKER_DEFAULTS = WorkerOptions()
