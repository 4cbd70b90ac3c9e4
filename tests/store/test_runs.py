"""The runs table as a queue (p2pstore.store.queue.runs): claims with tokens and leases, renewal,
guarded outcomes, the reaper, cancel and retry. Both backends."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from p2pstore.errors import InputError, NotFoundError
from p2pstore.jobs.enqueue import enqueue
from p2pstore.scenario import Scenario
from p2pstore.status import RUN_STATUSES, RunStatus
from p2pstore.store.queue import actions, runs

from store_helpers import count

TINY = Scenario(days=1)


def _enqueue(store, n=1, **kw):
    return enqueue(store, [TINY.replace(seed=i) for i in range(n)], series="none", **kw)


def _rows(store, where: str = "1=1") -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(f"SELECT * FROM runs WHERE {where} ORDER BY id")).mappings()]


def _set(store, rid, **values):
    with store.engine.begin() as conn:
        conn.execute(sa.update(runs.runs).where(runs.runs.c.id == rid).values(**values))


def _ago(store, seconds):
    t = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
    return t.replace(tzinfo=None) if store.dialect == "sqlite" else t


def _expire(store, rid):
    _set(store, rid, lease_expires_at=_ago(store, 3600))


def _make_due(store, rid):
    _set(store, rid, not_before=dt.datetime(2000, 1, 1))


def _settle(store, rid):
    from p2pstore.simulate import simulate

    return simulate(store.scenario_of(rid))


def test_statuses_are_one_enum_in_the_check_constraint_and_the_cli():
    from p2pstore.cli.runs import list_runs
    from p2pstore.store.schema import Run

    check = next(c for c in Run.__table__.constraints if getattr(c, "name", "") == "ck_runs_status"
                 or str(getattr(c, "sqltext", "")).startswith("status IN"))
    assert str(check.sqltext) == "status IN (" + ", ".join(f"'{s}'" for s in RunStatus) + ")"
    status_option = next(p for p in list_runs.params if p.name == "status")
    assert tuple(status_option.type.choices) == RUN_STATUSES == tuple(RunStatus)


def test_claim_follows_priority_then_fifo_with_a_fresh_token_and_lease(store):
    low = _enqueue(store, 2, priority=5)
    high = _enqueue(store, 1, priority=-1)
    later = _enqueue(store, 1, priority=-10, not_before=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    claims = [runs.claim_next(store.engine, "w1", 30) for _ in range(4)]
    assert [c and c.run_id for c in claims] == [high[0], low[0], low[1], None]  # the delayed run is not due
    assert len({c.token for c in claims[:3]}) == 3
    run = store.get_run(high[0])
    assert (run["status"], run["worker"], run["attempts"], run["claim_token"]) == ("running", "w1", 1, claims[0].token)
    lease = (run["lease_expires_at"] - run["started_at"]).total_seconds()
    assert lease == pytest.approx(30, abs=1)  # the owner's lease length
    assert store.get_run(later[0])["status"] == "queued" and store.get_run(later[0])["claim_token"] is None


def test_concurrent_claims_never_share_a_run(store):
    ids = _enqueue(store, 40)
    claimed: list[runs.Claim] = []
    lock = threading.Lock()

    def claimer(name):
        while (c := runs.claim_next(store.engine, name, 60)) is not None:
            with lock:
                claimed.append(c)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(c.run_id for c in claimed) == ids
    assert all(r["attempts"] == 1 for r in _rows(store))


def test_renew_extends_only_the_leases_a_claim_still_holds(store):
    a, b = _enqueue(store, 2)
    ca = runs.claim_next(store.engine, "w1", 5)
    cb = runs.claim_next(store.engine, "w2", 5)
    before = store.get_run(a)["lease_expires_at"]
    assert runs.renew(store.engine, [ca, cb], 120) == {ca.token, cb.token}
    assert (store.get_run(a)["lease_expires_at"] - before).total_seconds() > 100
    assert runs.renew(store.engine, [runs.Claim(a, runs.new_token(), "w1")], 120) == set()  # same name, other token
    actions.cancel(store.engine, [a])
    assert runs.renew(store.engine, [ca], 120) == set()
    assert runs.lost(store.engine, [ca, cb]) == [ca]


def test_a_live_lease_is_never_reaped_whatever_its_age(store):
    """The lease length belongs to its owner: an old start or heartbeat does not make it stale."""
    [rid] = _enqueue(store)
    runs.claim_next(store.engine, "long", 3600)
    _set(store, rid, started_at=_ago(store, 7200), heartbeat_at=_ago(store, 7200))
    assert runs.reap_expired(store.engine) == {}
    assert not runs.has_pending_work(store.engine)
    _expire(store, rid)
    assert runs.has_pending_work(store.engine)  # a burst worker waits to reap it
    assert runs.reap_expired(store.engine) == {rid: "queued"}


def test_a_reaped_attempt_can_never_commit_even_when_its_worker_claims_the_run_again(store):
    [rid] = _enqueue(store, 1, max_attempts=2)
    old = runs.claim_next(store.engine, "w", 60)
    settlement = _settle(store, rid)
    _expire(store, rid)
    assert runs.reap_expired(store.engine) == {rid: "queued"}
    run = store.get_run(rid)
    assert (run["status"], run["worker"], run["claim_token"]) == ("queued", None, None)
    assert run["error"] == "reaped: the lease of w expired (no renewal from its owner)"
    new = runs.claim_next(store.engine, "w", 60)  # the same worker name
    assert new.run_id == rid and new.token != old.token
    for stale in (lambda: runs.renew(store.engine, [old], 60), lambda: runs.release(store.engine, old),
                  lambda: runs.fail(store.engine, old, "E"), lambda: runs.cancel_claim(store.engine, old, "x"),
                  lambda: store.write_results(rid, settlement, "none", claim=old)):
        assert not stale()
    assert runs.outcome(store.engine, old) == "lost" and runs.outcome(store.engine, new) == "held"
    assert count(store, "bills", rid) == 0
    assert store.write_results(rid, settlement, "none", claim=new)
    assert runs.outcome(store.engine, new) == "committed" and runs.lost(store.engine, [new]) == []
    run = store.get_run(rid)
    assert (run["status"], run["attempts"], run["lease_expires_at"]) == ("succeeded", 2, None)


def test_reaper_fails_a_run_without_attempts_left(store):
    [rid] = _enqueue(store, 1, max_attempts=1)
    runs.claim_next(store.engine, "gone", 60)
    _expire(store, rid)
    assert runs.reap_expired(store.engine) == {rid: "failed"}
    run = store.get_run(rid)
    assert (run["status"], run["worker"], run["attempts"]) == ("failed", "gone", 1)
    assert run["finished_at"] is not None and run["error"].startswith(runs.REAPED_PREFIX)


def test_failure_retries_with_backoff_then_fails_keeping_the_error(store):
    [rid] = _enqueue(store, 1, max_attempts=2)
    first = runs.claim_next(store.engine, "w1", 60)
    assert runs.fail(store.engine, first, "ValueError: boom 1", backoff_base=30) == "queued"
    run = store.get_run(rid)
    assert (run["status"], run["error"], run["worker"], run["claim_token"]) == ("queued", "ValueError: boom 1", None, None)
    assert runs.claim_next(store.engine, "w1", 60) is None  # backing off for ~30 s
    _make_due(store, rid)
    second = runs.claim_next(store.engine, "w2", 60)
    assert runs.fail(store.engine, first, "ValueError: late") is None  # not that claim's any more
    assert runs.fail(store.engine, second, "ValueError: boom 2") == "failed"
    run = store.get_run(rid)
    assert (run["status"], run["attempts"], run["error"], run["worker"]) == ("failed", 2, "ValueError: boom 2", "w2")
    assert run["finished_at"] is not None and run["lease_expires_at"] is None


def test_fail_without_retry_fails_at_once(store):
    [rid] = _enqueue(store, 1, max_attempts=5)
    claim = runs.claim_next(store.engine, "w", 60)
    assert runs.fail(store.engine, claim, "TimeLimitExceeded: too long", retry=False) == "failed"
    assert store.get_run(rid)["attempts"] == 1


def test_backoff_doubles_and_is_capped():
    assert [runs.backoff_seconds(a, 5, 30) for a in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]


def test_release_gives_the_run_back_without_counting_the_attempt(store):
    [rid] = _enqueue(store, 1)
    claim = runs.claim_next(store.engine, "w1", 60)
    assert runs.release(store.engine, runs.Claim(rid, runs.new_token(), "w1")) is False
    assert runs.release(store.engine, claim) is True
    run = store.get_run(rid)
    assert (run["status"], run["attempts"], run["worker"], run["claim_token"], run["error"]) == (
        "queued", 0, None, None, None)


def test_cancel_claim_cancels_only_for_its_owner(store):
    [rid] = _enqueue(store, 1)
    claim = runs.claim_next(store.engine, "cli", 60)
    assert runs.cancel_claim(store.engine, claim, "cancelled: interrupted (Ctrl-C)")
    run = store.get_run(rid)
    assert (run["status"], run["error"]) == ("cancelled", "cancelled: interrupted (Ctrl-C)")
    assert runs.claim_next(store.engine, "w", 60) is None


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_the_reaper_and_renewals_never_wait_for_a_result_write(backend, store):
    """While a result transaction is open (rows written, not committed), another connection
    renews the run's lease and the reaper passes over rows it cannot lock (PostgreSQL); on
    SQLite, whose writers take turns, the write credits the time it held the lock to every
    other lease instead."""
    import time

    rid, other = _enqueue(store, 2)
    claim = runs.claim_next(store.engine, "w", 60)
    other_claim = runs.claim_next(store.engine, "w2", 60)
    settlement = _settle(store, rid)
    in_write, release = threading.Event(), threading.Event()

    def before_commit():
        in_write.set()
        assert release.wait(60)
        if backend == "sqlite":
            time.sleep(1.5)  # the lock is held this long at least: credited to other leases

    writer = threading.Thread(target=lambda: store.write_results(rid, settlement, "none", claim=claim,
                                                                 before_commit=before_commit))
    if backend == "sqlite":
        _set(store, other, lease_expires_at=_ago(store, -2))
        lease_before = store.get_run(other)["lease_expires_at"]
    writer.start()
    assert in_write.wait(60)
    if backend == "postgresql":
        # lock the other run as a concurrent transaction would, with its lease expired
        _expire(store, other)
        locker = store.engine.connect()
        tx = locker.begin()
        locker.execute(sa.select(runs.runs.c.id).where(runs.runs.c.id == other).with_for_update())
        outcome = {}
        t = threading.Thread(target=lambda: outcome.update(
            renewed=runs.renew(store.engine, [claim], 60), reaped=runs.reap_expired(store.engine)))
        t.start()
        t.join(30)
        assert not t.is_alive(), "renewal or reaper waited for a row another transaction holds"
        assert outcome == {"renewed": {claim.token}, "reaped": {}}
        tx.rollback()
        locker.close()
        assert runs.reap_expired(store.engine) == {other: "queued"}  # once the row is free
    release.set()
    writer.join(60)
    assert store.get_run(rid)["status"] == "succeeded"
    if backend == "sqlite":
        credit = (store.get_run(other)["lease_expires_at"] - lease_before).total_seconds()
        assert credit >= 1.4, credit
        assert runs.reap_expired(store.engine) == {}
        assert runs.outcome(store.engine, other_claim) == "held"


def test_cancel_and_retry(store):
    ids = _enqueue(store, 3, batch="b")
    other = _enqueue(store, 1, batch="keep")
    claim = runs.claim_next(store.engine, "w1", 60)
    assert claim.run_id == ids[0]
    assert actions.cancel(store.engine, batch="b") == ids  # queued and running alike
    assert store.get_run(other[0])["status"] == "queued"
    # the owner of the cancelled running run cannot commit
    assert store.write_results(ids[0], _settle(store, ids[0]), "none", claim=claim) is False
    with pytest.raises(InputError, match="already cancelled"):
        actions.cancel(store.engine, [ids[1]])
    assert actions.retry(store.engine, [ids[1]]) == [ids[1]]
    r = store.get_run(ids[1])
    assert (r["status"], r["attempts"], r["finished_at"]) == ("queued", 0, None)
    with pytest.raises(InputError, match="only failed or cancelled"):
        actions.retry(store.engine, [ids[1]])  # queued now: refused, nothing changes
    with pytest.raises(NotFoundError):
        actions.cancel(store.engine, [999_999])
    with pytest.raises(NotFoundError):
        actions.cancel(store.engine, batch="nope")
    # retry --failed takes every failed run and nothing else
    runs.claim_next(store.engine, "w2", 60)
    failing = runs.claim_next(store.engine, "w2", 60)
    assert runs.fail(store.engine, failing, "E", retry=False) == "failed"
    assert actions.retry(store.engine, failed=True) == [failing.run_id]
    assert actions.status_counts(store.engine, batch="b")["cancelled"] == 2


def test_a_mixed_id_list_changes_nothing_when_one_is_refused(store):
    ids = _enqueue(store, 2)
    actions.cancel(store.engine, [ids[0]])
    with pytest.raises(InputError):
        actions.cancel(store.engine, ids)  # ids[0] is already cancelled
    assert store.get_run(ids[1])["status"] == "queued"


def test_burst_keeps_going_only_for_due_retrying_or_expired_runs(store):
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    [delayed] = _enqueue(store, 1, not_before=later)
    assert not runs.has_pending_work(store.engine)  # --at in the future: not for a burst worker
    [due] = _enqueue(store, 1)
    assert runs.has_pending_work(store.engine)
    claim = runs.claim_next(store.engine, "w", 60)
    assert not runs.has_pending_work(store.engine)  # running under a live lease
    runs.fail(store.engine, claim, "E", backoff_base=600)
    assert runs.has_pending_work(store.engine)  # awaiting its retry
    _make_due(store, due)
    assert runs.claim_next(store.engine, "w", 60).run_id == due
    _expire(store, due)
    assert runs.has_pending_work(store.engine)  # expired: will be reaped
    assert store.get_run(delayed)["status"] == "queued"
