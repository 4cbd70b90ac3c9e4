"""What a user does to queued and finished runs: cancel, retry, count, delete.

Every statement is guarded by the run's status, so a run a worker holds is never torn from it
(see :mod:`.runs` for claims and leases).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from p2pstore.errors import InputError, NotFoundError
from p2pstore.status import PENDING_STATUSES, RUN_STATUSES
from p2pstore.store.engine import begin_write
from p2pstore.store.queue.runs import C, F, Q, R, db_now, is_pg, runs
from p2pstore.store.schema import Base

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

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

    A running run's owner cannot commit any more (its claim no longer holds the run) and a
    worker stops computing it at its next renewal. Asking for a run that is already finished by
    id is an error (nothing changes); a batch cancels what is still pending.
    """
    where = _selection(ids, batch)
    with begin_write(engine) as conn:
        # write first: on SQLite the statement takes the write lock before anything is read
        stmt = (
            sa.update(runs)
            .where(where, runs.c.status.in_(PENDING_STATUSES))
            .values(status=C, lease_expires_at=None, finished_at=db_now(conn, clock=True))
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
    where = runs.c.id.in_(list(ids)) if ids else runs.c.status == F
    with begin_write(engine) as conn:
        stmt = (
            sa.update(runs)
            .where(where, runs.c.status.in_((F, C)))
            .values(status=Q, attempts=0, worker=None, claim_token=None, not_before=db_now(conn),
                    started_at=None, finished_at=None, heartbeat_at=None, lease_expires_at=None)
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
    """``{status: count}`` over the selection (every status, zeros included)."""
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
            sa.select(runs.c.id).where(runs.c.status.in_(PENDING_STATUSES)).order_by(runs.c.id)
        ).scalars())


# -- deleting runs -------------------------------------------------------------------------------
def run_tables(metadata=Base.metadata, dialect: str | None = None) -> list[sa.Table]:
    """Every table of ``metadata`` with a ``run_id`` column (children before parents), views
    (``table.info["is_view"]``) and tables of other backends than ``dialect``
    (``table.info["dialect"]``; None: tables of one backend only are all left out) left out:
    what :func:`delete_runs` deletes from. Tables added
    later are covered by construction."""
    return [t for t in reversed(metadata.sorted_tables)
            if "run_id" in t.c and not t.info.get("is_view") and t.info.get("dialect", dialect) == dialect]


def deletable(engine: Engine, ids: Sequence[int] | None = None, batch: str | None = None) -> dict[int, str]:
    """``{id: status}`` of the runs :func:`delete_runs` would delete, checked as it checks them:
    NotFoundError for unknown ids or an empty batch, InputError when one of them is running."""
    with engine.connect() as conn:
        return _check_deletable(conn, ids, batch)


def _check_deletable(conn, ids, batch) -> dict[int, str]:
    found = _check_exist(conn, ids, batch)
    running = sorted(i for i, status in found.items() if status == R)
    if running:
        more = f" (and {len(running) - 1} more)" if len(running) > 1 else ""
        raise InputError(f"run {running[0]}{more} is running: cancel it (p2pstore runs cancel) or wait for it "
                         "before deleting; nothing was deleted")
    return found


def delete_runs(engine: Engine, ids: Sequence[int] | None = None, batch: str | None = None) -> dict[str, Any]:
    """Delete runs (by ids or batch) and every row of theirs, in one transaction.

    Deletes from every table with a ``run_id`` column (:func:`run_tables`), then the ``runs``
    rows. Queued, succeeded, failed and cancelled runs are deleted; a running one is refused
    (its owner is still writing; nothing is deleted). Scenarios, profile sets and schedules stay
    (other runs may use them). Returns ``{"run_ids": [...], "rows": {table: rows deleted}}``.
    """
    with begin_write(engine) as conn:
        if is_pg(conn):  # hold the rows: no worker claims a queued one meanwhile
            conn.execute(sa.select(runs.c.id).where(_selection(ids, batch)).with_for_update()).all()
        found = _check_deletable(conn, ids, batch)
        chosen = sorted(found)
        selected = sa.select(runs.c.id).where(_selection(ids, batch)).scalar_subquery()
        deleted: dict[str, int] = {}
        for table in run_tables(dialect=conn.dialect.name):
            deleted[table.name] = conn.execute(sa.delete(table).where(table.c.run_id.in_(selected))).rowcount
        deleted[runs.name] = conn.execute(sa.delete(runs).where(_selection(ids, batch))).rowcount
    return {"run_ids": chosen, "rows": deleted}
