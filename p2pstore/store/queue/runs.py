"""The ``runs`` table as a queue: inserting runs, claiming them, their leases and outcomes.

The user's actions over runs (cancel, retry, counts, delete) are in :mod:`.actions`; the
statements over ``schedules`` in :mod:`.schedules`.

The table is the job queue; states are :class:`p2pstore.status.RunStatus`. Ownership of a
running run is a **claim**:

- a fresh random ``claim_token`` written by the claim (:func:`claim_next`, :func:`insert_claimed`),
  cleared when the run goes back to the queue;
- a **lease** until ``lease_expires_at``, whose length the owner chooses and which the owner renews
  (:func:`renew`) while it computes and writes.

Everything an owner does to its run (:func:`renew`, :func:`finish`, :func:`fail`,
:func:`release`, :func:`cancel_claim`) is one statement guarded by ``claim_token = :token AND
status = 'running'``: an attempt that lost its run (reaped, cancelled, released, retried — even
when the same worker claimed it again) changes nothing. :func:`reap_expired` takes back only
runs whose lease has expired; on PostgreSQL it skips (``FOR UPDATE SKIP LOCKED``) rows another
transaction holds instead of waiting for them. On SQLite, whose writers take turns on one lock,
:func:`finish` credits the time its result write held the lock to every other lease (nobody
could renew meanwhile).

Times: PostgreSQL uses the server clock (hosts with skewed clocks agree); SQLite, one file on
one host, uses this process's UTC clock. ``finished_at`` is taken by the statement that commits
(``clock_timestamp()`` on PostgreSQL, whose ``now()`` is the transaction's start).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from p2pstore.status import (BACKOFF_BASE_S, BACKOFF_CAP_S, FINAL_STATUSES, PENDING_STATUSES, RUN_STATUSES,
                             ClaimOutcome, RunStatus)
from p2pstore.store.engine import WRITE_LOCK_AT, begin_write, db_timestamp
from p2pstore.store.schema import Run

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

runs = Run.__table__

__all__ = ["BACKOFF_BASE_S", "BACKOFF_CAP_S", "FINAL_STATUSES", "PENDING_STATUSES", "RUN_STATUSES",
           "ClaimOutcome", "RunStatus"]  # re-exported

# Default retry backoff (p2pstore.status): ``base * 2 ** (attempt - 1)`` seconds, capped at ``cap``.
#: How a reaped run's error begins.
REAPED_PREFIX = "reaped: "
#: A SQLite result write that held the lock at least this long credits it to the other leases.
LEASE_CREDIT_MIN_S = 0.2

Q, R, S, F, C = (RunStatus.queued, RunStatus.running, RunStatus.succeeded, RunStatus.failed,
                 RunStatus.cancelled)


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of one run: what its owner shows to renew, finish, fail or release it."""

    run_id: int
    token: str
    owner: str


def new_token() -> str:
    """A fresh claim token (128 random bits, 32 hex characters)."""
    return secrets.token_hex(16)


# -- clock ---------------------------------------------------------------------------------------
def now_utc() -> dt.datetime:
    """Aware UTC now (this process's clock)."""
    return dt.datetime.now(dt.UTC)


def is_pg(engine_or_conn) -> bool:
    return engine_or_conn.dialect.name == "postgresql"


def db_now(engine_or_conn, plus_seconds: float = 0.0, *, clock: bool = False):
    """SQL expression for "now (+ seconds)": the server's clock on PostgreSQL, ours on SQLite.

    ``clock``: on PostgreSQL the time the statement runs (``clock_timestamp()``) rather than the
    transaction's start (``now()``).
    """
    if is_pg(engine_or_conn):
        expr = sa.func.clock_timestamp() if clock else sa.func.now()
        if plus_seconds:
            expr = expr + sa.literal(dt.timedelta(seconds=plus_seconds), sa.Interval())
        return expr
    return sa.literal(db_timestamp(engine_or_conn, now_utc() + dt.timedelta(seconds=plus_seconds)),
                      runs.c.not_before.type)


def backoff_seconds(attempt: int, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S) -> float:
    """Delay before retrying after failed attempt number ``attempt`` (1-based)."""
    return min(cap, base * 2 ** max(0, attempt - 1))


def _mine(claim: Claim):
    return sa.and_(runs.c.id == claim.run_id, runs.c.claim_token == claim.token, runs.c.status == R)


def _claimed_values(conn, owner: str, token: str, lease_s: float) -> dict[str, Any]:
    now = db_now(conn)
    return {"status": R, "worker": owner, "claim_token": token, "started_at": now, "heartbeat_at": now,
            "lease_expires_at": db_now(conn, lease_s), "finished_at": None}


# -- inserting runs ------------------------------------------------------------------------------
def insert_runs(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert queued runs (``rows``: column values) on ``conn``'s transaction; ids in order.

    executemany needs uniform keys, so rows are grouped by key set (server defaults fill the rest).
    """
    ids: list[int | None] = [None] * len(rows)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(tuple(sorted(r)), []).append(i)
    for positions in groups.values():
        stmt = sa.insert(runs).returning(runs.c.id, sort_by_parameter_order=True)
        result = conn.execute(stmt, [{"status": Q, "attempts": 0, **rows[i]} for i in positions])
        for i, run_id in zip(positions, result.scalars().all()):
            ids[i] = run_id
    return ids  # type: ignore[return-value]


def insert_claimed(conn: Connection, row: dict[str, Any], owner: str, lease_s: float) -> Claim:
    """Insert one run already claimed by ``owner`` (the synchronous ``p2pstore run``): no worker
    can take it in between. One attempt is counted; the lease lasts ``lease_s`` seconds."""
    token = new_token()
    values = {**row, **_claimed_values(conn, owner, token, lease_s), "attempts": 1}
    run_id = conn.execute(sa.insert(runs).values(**values).returning(runs.c.id)).scalar_one()
    return Claim(run_id, token, owner)


# -- claim / renew / finish ----------------------------------------------------------------------
def claim_next(engine: Engine, owner: str, lease_s: float) -> Claim | None:
    """Atomically move the next due queued run to ``running`` for ``owner``, with a fresh token
    and a lease of ``lease_s`` seconds. None when no queued run is due (``not_before <= now``).

    Order: ``priority`` ascending, then id (FIFO). Increments ``attempts``.
    """
    token = new_token()
    with begin_write(engine) as conn:
        pick = (
            sa.select(runs.c.id)
            .where(runs.c.status == Q, runs.c.not_before <= db_now(conn))
            .order_by(runs.c.priority, runs.c.id)
            .limit(1)
        )
        if is_pg(conn):
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            sa.update(runs)
            .where(runs.c.id == pick.scalar_subquery(), runs.c.status == Q)
            .values(**_claimed_values(conn, owner, token, lease_s), attempts=runs.c.attempts + 1)
            .returning(runs.c.id)
        )
        run_id = conn.execute(stmt).scalar_one_or_none()
    return None if run_id is None else Claim(run_id, token, owner)


def renew(engine: Engine, claims: Iterable[Claim], lease_s: float) -> set[str]:
    """Extend the leases of ``claims`` to now + ``lease_s``; return the tokens still held."""
    tokens = [c.token for c in claims]
    if not tokens:
        return set()
    with begin_write(engine) as conn:
        stmt = (
            sa.update(runs)
            .where(runs.c.status == R, runs.c.claim_token.in_(tokens))
            .values(heartbeat_at=db_now(conn), lease_expires_at=db_now(conn, lease_s))
            .returning(runs.c.claim_token)
        )
        return set(conn.execute(stmt).scalars())


def holds(conn: Connection, claim: Claim) -> bool:
    """Whether ``claim`` still holds its run (a plain read: takes no lock)."""
    return conn.execute(sa.select(runs.c.id).where(_mine(claim))).first() is not None


def finish(conn: Connection, run_id: int, series: str, claim: Claim | None) -> bool:
    """Mark ``run_id`` succeeded, as the last statement of its result transaction.

    With ``claim``, only while that claim holds the run; returns False otherwise (the caller
    rolls back). ``finished_at`` is the time of this statement, i.e. of the commit. On SQLite
    the time this transaction held the write lock is added to every other lease.
    """
    where = runs.c.id == run_id if claim is None else _mine(claim)
    if claim is not None and claim.run_id != run_id:
        return False
    done = conn.execute(
        sa.update(runs).where(where)
        .values(status=S, series=series, error=None, lease_expires_at=None,
                finished_at=db_now(conn, clock=True))
    ).rowcount == 1
    if done and not is_pg(conn):
        _credit_leases(conn, time.monotonic() - conn.info.get(WRITE_LOCK_AT, time.monotonic()), run_id)
    return done


def _credit_leases(conn: Connection, seconds: float, except_id: int) -> None:
    """Push every other running lease forward by ``seconds`` (SQLite: the time this transaction
    held the only write lock, during which no owner could renew)."""
    if seconds < LEASE_CREDIT_MIN_S:
        return
    leases = conn.execute(
        sa.select(runs.c.id, runs.c.lease_expires_at)
        .where(runs.c.status == R, runs.c.id != except_id, runs.c.lease_expires_at.is_not(None))
    ).all()
    if leases:
        conn.execute(
            sa.update(runs).where(runs.c.id == sa.bindparam("b_id"))
            .values(lease_expires_at=sa.bindparam("b_lease", type_=runs.c.lease_expires_at.type)),
            [{"b_id": rid, "b_lease": lease + dt.timedelta(seconds=seconds)} for rid, lease in leases],
        )


def outcome(engine: Engine, claim: Claim) -> ClaimOutcome:
    """``held`` (still running under ``claim``), ``committed`` (succeeded under it) or
    ``lost``: tells a write whose commit reply was lost whether it committed."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(runs.c.status, runs.c.claim_token)
                           .where(runs.c.id == claim.run_id)).one_or_none()
    if row is None or row.claim_token != claim.token:
        return ClaimOutcome.lost
    return {R: ClaimOutcome.held, S: ClaimOutcome.committed}.get(row.status, ClaimOutcome.lost)


def lost(engine: Engine, claims: Iterable[Claim]) -> list[Claim]:
    """Those of ``claims`` that no longer hold their run and did not commit it (taken away)."""
    claims = list(claims)
    if not claims:
        return []
    with engine.connect() as conn:
        rows = dict(conn.execute(
            sa.select(runs.c.claim_token, runs.c.status)
            .where(runs.c.claim_token.in_([c.token for c in claims]))
        ).all())
    return [c for c in claims if rows.get(c.token) not in (R, S)]


def fail(
    engine: Engine,
    claim: Claim,
    error: str,
    *,
    retry: bool = True,
    backoff_base: float = BACKOFF_BASE_S,
    backoff_cap: float = BACKOFF_CAP_S,
) -> str | None:
    """Record a failed attempt: requeue the run after a backoff while attempts remain (and
    ``retry``), else mark it ``failed``. The error text is kept either way.

    Returns the new status, or None when ``claim`` no longer held the run (nothing changed).
    """
    with begin_write(engine) as conn:
        pick = sa.select(runs.c.attempts, runs.c.max_attempts).where(_mine(claim))
        if is_pg(conn):
            pick = pick.with_for_update()
        row = conn.execute(pick).one_or_none()
        if row is None:
            return None
        attempts, max_attempts = row
        values: dict[str, Any] = {"error": error, "lease_expires_at": None}
        if retry and attempts < max_attempts:
            values.update(status=Q, worker=None, claim_token=None, heartbeat_at=None,
                          not_before=db_now(conn, backoff_seconds(attempts, backoff_base, backoff_cap)))
        else:
            values.update(status=F, finished_at=db_now(conn, clock=True))
        return conn.execute(sa.update(runs).where(_mine(claim)).values(**values)
                            .returning(runs.c.status)).scalar_one_or_none()


def release(engine: Engine, claim: Claim) -> bool:
    """Give an unfinished run back to the queue, due now, without counting the attempt (its
    owner is stopping). False when ``claim`` no longer held it."""
    with begin_write(engine) as conn:
        stmt = (
            sa.update(runs).where(_mine(claim))
            .values(status=Q, worker=None, claim_token=None, started_at=None, heartbeat_at=None,
                    lease_expires_at=None, not_before=db_now(conn),
                    attempts=sa.case((runs.c.attempts > 0, runs.c.attempts - 1), else_=0))
        )
        return conn.execute(stmt).rowcount == 1


def cancel_claim(engine: Engine, claim: Claim, reason: str) -> bool:
    """Cancel the run ``claim`` holds (its owner was interrupted), keeping ``reason`` as its
    error. False when ``claim`` no longer held it."""
    with begin_write(engine) as conn:
        return conn.execute(
            sa.update(runs).where(_mine(claim))
            .values(status=C, error=reason, lease_expires_at=None, finished_at=db_now(conn, clock=True))
        ).rowcount == 1


def _expired(conn):
    """Running runs whose lease has expired (or that have none)."""
    return sa.and_(runs.c.status == R,
                   sa.or_(runs.c.lease_expires_at.is_(None), runs.c.lease_expires_at < db_now(conn)))


def reap_expired(engine: Engine) -> dict[int, str]:
    """Take back running runs whose lease has expired: each is requeued (due now) while attempts
    remain, else failed, with an error naming its owner. Returns ``{run_id: new_status}``.

    Never waits for a row another transaction holds (PostgreSQL: ``SKIP LOCKED``; SQLite has no
    row locks). Safe to call from every worker at once.
    """
    with begin_write(engine) as conn:
        now = db_now(conn)
        pick = sa.select(runs.c.id).where(_expired(conn))
        if is_pg(conn):
            pick = pick.with_for_update(skip_locked=True)
        retry = runs.c.attempts < runs.c.max_attempts
        message = (sa.literal(REAPED_PREFIX + "the lease of ")
                   + sa.func.coalesce(runs.c.worker, sa.literal("?"))
                   + sa.literal(" expired (no renewal from its owner)"))
        stmt = (
            sa.update(runs)
            .where(runs.c.id.in_(pick.scalar_subquery()), _expired(conn))
            .values(
                status=sa.case((retry, Q), else_=F),
                error=message,
                worker=sa.case((retry, sa.null()), else_=runs.c.worker),
                claim_token=sa.case((retry, sa.null()), else_=runs.c.claim_token),
                heartbeat_at=sa.case((retry, sa.null()), else_=runs.c.heartbeat_at),
                lease_expires_at=None,
                not_before=sa.case((retry, now), else_=runs.c.not_before),
                finished_at=sa.case((retry, sa.null()), else_=now),
            )
            .returning(runs.c.id, runs.c.status)
        )
        return {rid: status for rid, status in conn.execute(stmt)}


def has_pending_work(engine: Engine) -> bool:
    """True while a burst worker should keep going: a queued run is due now or awaits a retry
    (``attempts > 0``), or a running run's lease has expired (the reaper will requeue it)."""
    with engine.connect() as conn:
        due = sa.and_(runs.c.status == Q, sa.or_(runs.c.not_before <= db_now(conn), runs.c.attempts > 0))
        return conn.execute(
            sa.select(runs.c.id).where(sa.or_(due, _expired(conn))).limit(1)
        ).first() is not None


def leases_elsewhere(engine: Engine, owner: str) -> dict[int, tuple[str | None, dt.datetime, float]]:
    """Running runs held by others whose lease has not expired: ``{id: (worker, lease expiry,
    seconds left)}`` (a burst worker waits for the leases of dead workers' runs)."""
    with engine.connect() as conn:
        now = db_now(conn)
        rows = conn.execute(sa.select(runs.c.id, runs.c.worker, runs.c.lease_expires_at, now.label("now")).where(
            runs.c.status == R, runs.c.lease_expires_at >= now, runs.c.worker.is_distinct_from(owner))).all()
    return {rid: (worker, expires, max(0.0, (_aware(expires) - _aware(at)).total_seconds()))
            for rid, worker, expires, at in rows}


def _aware(t) -> dt.datetime:
    """A timestamp read back as an aware UTC time (SQLite gives naive UTC, or text for a literal)."""
    if isinstance(t, str):
        t = dt.datetime.fromisoformat(t)
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)
