"""The ``runs`` table as a job queue: atomic claim, heartbeat, retry with backoff, reaping,
cancel and retry.

Every state change is one SQL statement, guarded by the state it expects, so any number of
workers on any number of hosts can call these functions concurrently:

- claim: PostgreSQL ``UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1)
  RETURNING id``; SQLite the same single ``UPDATE ... RETURNING`` (SQLite serialises writers).
- anything a worker does to "its" run is guarded by ``worker = me AND status = 'running'``, so a
  worker whose run was reaped or cancelled changes nothing.

Times: PostgreSQL uses the server clock (``now()``), so hosts with skewed clocks agree; SQLite
is one file on one host and uses this process's UTC clock. Lower ``priority`` runs first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from p2pstore.errors import InputError, NotFoundError
from p2pstore.store.engine import begin_write, db_timestamp
from p2pstore.store.models import RUN_STATUSES, Run

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

runs = Run.__table__

#: States a run never leaves on its own.
FINAL_STATUSES = ("succeeded", "failed", "cancelled")
#: Default retry backoff: ``base * 2 ** (attempt - 1)`` seconds, capped at ``cap``.
BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 300.0
#: How a reaped run's error begins (:func:`taken_away` tells reaped runs apart by it).
REAPED_PREFIX = "reaped: "


# -- clock ---------------------------------------------------------------------------------------
def now_utc() -> dt.datetime:
    """Aware UTC now (this process's clock)."""
    return dt.datetime.now(dt.UTC)


def _is_pg(engine_or_conn) -> bool:
    return engine_or_conn.dialect.name == "postgresql"


def db_now(engine_or_conn, plus_seconds: float = 0.0):
    """SQL expression for "now (+ seconds)": the server's clock on PostgreSQL, ours on SQLite."""
    if _is_pg(engine_or_conn):
        expr = sa.func.now()
        if plus_seconds:
            expr = expr + sa.literal(dt.timedelta(seconds=plus_seconds), sa.Interval())
        return expr
    return sa.literal(db_timestamp(engine_or_conn, now_utc() + dt.timedelta(seconds=plus_seconds)),
                      runs.c.not_before.type)


def backoff_seconds(attempt: int, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S) -> float:
    """Delay before retrying after failed attempt number ``attempt`` (1-based)."""
    return min(cap, base * 2 ** max(0, attempt - 1))


# -- claim / heartbeat / finish ------------------------------------------------------------------
def claim_next_run(engine: Engine, worker: str) -> int | None:
    """Atomically move the next due queued run to ``running`` for ``worker``; return its id.

    Increments ``attempts`` and stamps ``started_at`` and ``heartbeat_at``. None when no queued
    run is due (``not_before <= now``). Order: ``priority`` ascending, then id (FIFO).
    """
    with begin_write(engine) as conn:
        now = db_now(conn)
        pick = (
            sa.select(runs.c.id)
            .where(runs.c.status == "queued", runs.c.not_before <= now)
            .order_by(runs.c.priority, runs.c.id)
            .limit(1)
        )
        if _is_pg(conn):
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            sa.update(runs)
            .where(runs.c.id == pick.scalar_subquery(), runs.c.status == "queued")
            .values(status="running", worker=worker, started_at=now, heartbeat_at=now,
                    finished_at=None, attempts=runs.c.attempts + 1)
            .returning(runs.c.id)
        )
        return conn.execute(stmt).scalar_one_or_none()


def heartbeat(engine: Engine, worker: str, run_ids: Iterable[int]) -> set[int]:
    """Stamp ``heartbeat_at`` on the runs ``worker`` still owns; return the ids still owned."""
    ids = list(run_ids)
    if not ids:
        return set()
    with begin_write(engine) as conn:
        stmt = (
            sa.update(runs)
            .where(runs.c.id.in_(ids), runs.c.worker == worker, runs.c.status == "running")
            .values(heartbeat_at=db_now(conn))
            .returning(runs.c.id)
        )
        return set(conn.execute(stmt).scalars())


def taken_away(engine: Engine, run_ids: Iterable[int], worker: str) -> list[int]:
    """Those of ``run_ids`` that were taken from ``worker`` (reaped, cancelled, reclaimed), as
    opposed to finished by it."""
    ids = list(run_ids)
    if not ids:
        return []
    with engine.connect() as conn:
        rows = conn.execute(sa.select(runs.c.id, runs.c.status, runs.c.worker, runs.c.error)
                            .where(runs.c.id.in_(ids))).all()
    return sorted(
        rid for rid, status, owner, error in rows
        if status == "cancelled" or owner != worker or (error or "").startswith(REAPED_PREFIX)
    )


def mark_failed(
    engine: Engine,
    run_id: int,
    error: str,
    *,
    worker: str,
    retry: bool = True,
    backoff_base: float = BACKOFF_BASE_S,
    backoff_cap: float = BACKOFF_CAP_S,
) -> str | None:
    """Record a failed attempt of ``worker``'s run: requeue it after a backoff while attempts
    remain (and ``retry``), else mark it ``failed``. The error text is kept either way.

    Returns the new status (``"queued"`` or ``"failed"``), or None when ``worker`` no longer
    owned the run (reaped or cancelled meanwhile: nothing changed).
    """
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(runs.c.attempts, runs.c.max_attempts).where(runs.c.id == run_id)
        ).one_or_none()
    if row is None:
        return None
    attempts, max_attempts = row
    retry = retry and attempts < max_attempts
    with begin_write(engine) as conn:
        values: dict[str, Any] = {"error": error}
        if retry:
            delay = backoff_seconds(attempts, backoff_base, backoff_cap)
            values.update(status="queued", worker=None, heartbeat_at=None,
                          not_before=db_now(conn, delay))
        else:
            values.update(status="failed", finished_at=db_now(conn))
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.worker == worker, runs.c.status == "running",
                   runs.c.attempts == attempts)
            .values(**values)
            .returning(runs.c.status)
        )
        return conn.execute(stmt).scalar_one_or_none()


def release(engine: Engine, run_id: int, worker: str) -> bool:
    """Give an unfinished run back to the queue without counting the attempt (graceful stop)."""
    with begin_write(engine) as conn:
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.worker == worker, runs.c.status == "running")
            .values(status="queued", worker=None, started_at=None, heartbeat_at=None,
                    not_before=db_now(conn),
                    attempts=sa.case((runs.c.attempts > 0, runs.c.attempts - 1), else_=0))
        )
        return conn.execute(stmt).rowcount == 1


def _stale(conn, stale_after: float):
    """Running runs whose last sign of life (heartbeat, else start) is older than ``stale_after`` s."""
    last_seen = sa.func.coalesce(runs.c.heartbeat_at, runs.c.started_at)
    return sa.and_(runs.c.status == "running",
                   sa.or_(last_seen.is_(None), last_seen < db_now(conn, -stale_after)))


def reap_stale(engine: Engine, stale_after: float) -> dict[int, str]:
    """Take back running runs whose heartbeat is older than ``stale_after`` seconds.

    Each is requeued (due now) while attempts remain, else failed; the error names the lost
    worker. Returns ``{run_id: new_status}``. Safe to call from every worker at once.
    """
    with begin_write(engine) as conn:
        now = db_now(conn)
        retry = runs.c.attempts < runs.c.max_attempts
        message = (
            sa.literal(REAPED_PREFIX + "no heartbeat for more than ")
            + sa.literal(f"{stale_after:g}")
            + sa.literal(" s from worker ")
            + sa.func.coalesce(runs.c.worker, sa.literal("?"))
        )
        stmt = (
            sa.update(runs)
            .where(_stale(conn, stale_after))
            .values(
                status=sa.case((retry, "queued"), else_="failed"),
                error=message,
                worker=sa.case((retry, sa.null()), else_=runs.c.worker),
                heartbeat_at=sa.case((retry, sa.null()), else_=runs.c.heartbeat_at),
                not_before=sa.case((retry, now), else_=runs.c.not_before),
                finished_at=sa.case((retry, sa.null()), else_=now),
            )
            .returning(runs.c.id, runs.c.status)
        )
        return {rid: status for rid, status in conn.execute(stmt)}


def has_pending_work(engine: Engine, stale_after: float) -> bool:
    """True while a burst worker should keep going: a queued run is due now or awaits a retry
    (``attempts > 0``), or a running run has gone stale and will be reaped."""
    with engine.connect() as conn:
        due = sa.and_(runs.c.status == "queued",
                      sa.or_(runs.c.not_before <= db_now(conn), runs.c.attempts > 0))
        return conn.execute(
            sa.select(runs.c.id).where(sa.or_(due, _stale(conn, stale_after))).limit(1)
        ).first() is not None


# -- user actions --------------------------------------------------------------------------------
def _selection(ids: Sequence[int] | None, batch: str | None):
    if ids and batch:
        raise InputError("give run ids or --batch, not both")
    if ids:
        return runs.c.id.in_(list(ids))
    if batch:
        return runs.c.batch == batch
    raise InputError("give run ids or --batch NAME")


def _check_exist(conn, ids: Sequence[int] | None, batch: str | None) -> dict[int, str]:
    """``{id: status}`` of the selection; NotFoundError for unknown ids or an empty batch."""
    found = dict(conn.execute(sa.select(runs.c.id, runs.c.status).where(_selection(ids, batch))).all())
    if ids:
        missing = sorted(set(ids) - set(found))
        if missing:
            raise NotFoundError(f"no run with id {', '.join(map(str, missing))}")
    elif not found:
        raise NotFoundError(f"no runs in batch {batch!r}")
    return found


def cancel(engine: Engine, ids: Sequence[int] | None = None, batch: str | None = None) -> list[int]:
    """Cancel queued or running runs (by ids or batch); return the ids cancelled.

    A running run's worker keeps computing but cannot commit (its write is guarded). Asking for
    a run that is already finished by id is an error (nothing changes); a batch cancels what is
    still pending.
    """
    where = _selection(ids, batch)
    with begin_write(engine) as conn:
        # write first: on SQLite the statement takes the write lock before anything is read
        stmt = (
            sa.update(runs)
            .where(where, runs.c.status.in_(("queued", "running")))
            .values(status="cancelled", finished_at=db_now(conn))
            .returning(runs.c.id)
        )
        cancelled = sorted(conn.execute(stmt).scalars())
        found = _check_exist(conn, ids, batch)
        if ids:
            done = {i: s for i, s in found.items() if i not in cancelled}
            if done:
                rid, status = min(done.items())
                raise InputError(f"run {rid} is already {status}; only queued or running runs can be cancelled")
        return cancelled


def retry(engine: Engine, ids: Sequence[int] | None = None, *, failed: bool = False) -> list[int]:
    """Requeue failed or cancelled runs (by ids, or every failed run) with fresh attempts.

    Succeeded, queued and running runs are refused by id (nothing changes). The last error stays
    on the run until its next outcome. Returns the ids requeued.
    """
    if ids and failed:
        raise InputError("give run ids or --failed, not both")
    if not ids and not failed:
        raise InputError("give run ids or --failed")
    where = runs.c.id.in_(list(ids)) if ids else runs.c.status == "failed"
    with begin_write(engine) as conn:
        stmt = (
            sa.update(runs)
            .where(where, runs.c.status.in_(("failed", "cancelled")))
            .values(status="queued", attempts=0, worker=None, not_before=db_now(conn),
                    started_at=None, finished_at=None, heartbeat_at=None)
            .returning(runs.c.id)
        )
        requeued = sorted(conn.execute(stmt).scalars())
        if ids:
            found = _check_exist(conn, ids, None)
            bad = {i: s for i, s in found.items() if i not in requeued}
            if bad:
                rid, status = min(bad.items())
                raise InputError(f"run {rid} is {status}; only failed or cancelled runs can be retried")
        return requeued


def status_counts(engine: Engine, ids: Sequence[int] | None = None, batch: str | None = None) -> dict[str, int]:
    """``{status: count}`` over the selection (all five statuses, zeros included)."""
    counts = dict.fromkeys(RUN_STATUSES, 0)
    with engine.connect() as conn:
        q = sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status)
        if ids or batch:
            q = q.where(_selection(ids, batch))
        for status, n in conn.execute(q):
            counts[status] = n
    return counts


def pending_ids(engine: Engine) -> list[int]:
    """Ids of every queued or running run (what ``runs wait`` waits for by default)."""
    with engine.connect() as conn:
        return list(conn.execute(
            sa.select(runs.c.id).where(runs.c.status.in_(("queued", "running"))).order_by(runs.c.id)
        ).scalars())

