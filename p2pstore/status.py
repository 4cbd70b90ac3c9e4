"""The states of a run: one enum for the models' CHECK constraint, the queue, the CLI and readers.

A leaf module (no imports beyond the standard library) so that the CLI can offer the statuses
as choices without loading SQLAlchemy.

::

    queued ──claim──► running ──results committed──► succeeded
       ▲                 ├──error, attempts left──► queued (after a backoff)
       │                 ├──error, no attempts left / --max-run-time exceeded──► failed
       │                 ├──lease expired (reaper)──► queued, or failed when no attempts left
       │                 └──owner stops (signal)──► queued (the attempt is not counted)
       └──runs retry──── failed | cancelled ◄──runs cancel── queued | running
"""

from __future__ import annotations

import enum


class RunStatus(enum.StrEnum):
    """Where a run is in its life. Members are plain strings (``RunStatus.queued == "queued"``).

    Member names equal their values, so a driver that adapts enums by name or by value stores
    the same text.
    """

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


#: Every status, in lifecycle order (the CHECK constraint's list).
RUN_STATUSES: tuple[str, ...] = tuple(s.value for s in RunStatus)
#: States a run never leaves on its own (only ``runs retry`` requeues failed or cancelled runs).
FINAL_STATUSES: tuple[str, ...] = (RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled)
#: States ``runs cancel`` acts on and ``runs wait`` waits through.
PENDING_STATUSES: tuple[str, ...] = (RunStatus.queued, RunStatus.running)
