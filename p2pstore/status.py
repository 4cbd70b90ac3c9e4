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

#: Attempts a queued run gets before a failure is final (``--max-attempts``'s default).
DEFAULT_MAX_ATTEMPTS = 3
#: Retry delay after a run's first failed attempt, doubling per attempt up to the cap (seconds).
BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 300.0


class ClaimOutcome(enum.StrEnum):
    """What became of a claim (:func:`p2pstore.store.queue.runs.outcome`): still holding its run,
    committed it (the run succeeded under it), or lost it (cancelled, reaped, failed)."""

    held = "held"
    committed = "committed"
    lost = "lost"


class AttemptOutcome(enum.StrEnum):
    """How a worker's attempt at a run ended (the settling pool's outcome events)."""

    committed = "committed"  # results stored, run succeeded
    lost = "lost"  # the claim no longer held the run at commit: nothing stored
    error = "error"  # the settlement or the write raised (detail: the error text)
    unsettleable = "unsettleable"  # it can never pass as stored, e.g. a plugin not installed (detail: the text)
    died = "died"  # the settling process exited (detail: why)
    killed = "killed"  # the worker stopped the process (detail: a KillReason)


class KillReason(enum.StrEnum):
    """Why a worker stopped an attempt's settling process."""

    lost = "lost"  # the run was cancelled or reaped meanwhile
    shutdown = "shutdown"  # the worker is stopping: the run goes back to the queue
    timeout = "timeout"  # --max-run-time exceeded: the run fails
