"""The runs table as a queue: claim order and atomicity, heartbeat, retry/backoff, reaping,
cancel and retry, guarded writes. Both backends."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from p2pstore.errors import InputError, NotFoundError
from p2pstore.jobs import queue
from p2pstore.jobs.enqueue import enqueue, expand, parse_seeds, parse_sweep
from p2pstore.scenario import Scenario

from .conftest import count, run_rows, unsettleable_scenario

TINY = Scenario(days=1)


def _enqueue(store, n=1, **kw):
    return enqueue(store, [TINY.replace(seed=i) for i in range(n)], series="none", **kw)


def test_claim_follows_priority_then_fifo_and_counts_attempts(store):
    low = _enqueue(store, 2, priority=5)
    high = _enqueue(store, 1, priority=-1)
    later = _enqueue(store, 1, priority=-10, not_before=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    got = [queue.claim_next_run(store.engine, "w1") for _ in range(4)]
    assert got == [high[0], low[0], low[1], None]  # the delayed run is not due
    run = store.get_run(high[0])
    assert (run["status"], run["worker"], run["attempts"]) == ("running", "w1", 1)
    assert run["started_at"] is not None and run["heartbeat_at"] is not None
    assert store.get_run(later[0])["status"] == "queued"


def test_concurrent_claims_never_share_a_run(store):
    ids = _enqueue(store, 40)
    claimed: list[tuple[str, int]] = []
    lock = threading.Lock()

    def claimer(name):
        while (rid := queue.claim_next_run(store.engine, name)) is not None:
            with lock:
                claimed.append((name, rid))

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r for _, r in claimed) == ids
    assert all(r["attempts"] == 1 for r in run_rows(store))


def test_heartbeat_only_touches_own_running_runs(store):
    a, b = _enqueue(store, 2)
    queue.claim_next_run(store.engine, "w1")
    queue.claim_next_run(store.engine, "w2")
    assert queue.heartbeat(store.engine, "w1", [a, b]) == {a}
    queue.cancel(store.engine, [a])
    assert queue.heartbeat(store.engine, "w1", [a]) == set()


def test_failure_retries_with_backoff_then_fails_keeping_the_error(store):
    [rid] = _enqueue(store, 1, max_attempts=2)
    assert queue.claim_next_run(store.engine, "w1") == rid
    assert queue.mark_failed(store.engine, rid, "ValueError: boom 1", worker="w1", backoff_base=30) == "queued"
    run = store.get_run(rid)
    assert run["status"] == "queued" and run["error"] == "ValueError: boom 1" and run["worker"] is None
    assert queue.claim_next_run(store.engine, "w1") is None  # backing off for ~30 s
    _make_due(store, rid)
    assert queue.claim_next_run(store.engine, "w2") == rid
    assert queue.mark_failed(store.engine, rid, "ValueError: boom 2", worker="w1") is None  # not w1's
    assert queue.mark_failed(store.engine, rid, "ValueError: boom 2", worker="w2") == "failed"
    run = store.get_run(rid)
    assert (run["status"], run["attempts"], run["error"], run["worker"]) == ("failed", 2, "ValueError: boom 2", "w2")
    assert run["finished_at"] is not None


def test_backoff_doubles_and_is_capped():
    assert [queue.backoff_seconds(a, 5, 30) for a in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]


def _make_due(store, rid):
    with store.engine.begin() as conn:
        conn.execute(sa.update(queue.runs).where(queue.runs.c.id == rid)
                     .values(not_before=dt.datetime(2000, 1, 1)))


def _age_heartbeat(store, rid, seconds=3600):
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
    if store.dialect == "sqlite":
        old = old.replace(tzinfo=None)
    with store.engine.begin() as conn:
        conn.execute(sa.update(queue.runs).where(queue.runs.c.id == rid).values(heartbeat_at=old))


def test_reaper_requeues_stale_runs_then_fails_them_and_the_lost_worker_cannot_commit(store):
    from p2pstore.simulate import simulate

    [rid] = _enqueue(store, 1, max_attempts=2)
    queue.claim_next_run(store.engine, "lost")
    assert queue.reap_stale(store.engine, 60) == {}  # fresh heartbeat
    _age_heartbeat(store, rid)
    assert queue.reap_stale(store.engine, 60) == {rid: "queued"}
    run = store.get_run(rid)
    assert run["status"] == "queued" and "lost" in run["error"] and run["worker"] is None
    settlement = simulate(store.scenario_of(rid))
    assert store.write_results(rid, settlement, "none", worker="lost") is False
    assert count(store, "SELECT COUNT(*) FROM bills WHERE run_id = :r", r=rid) == 0
    assert queue.claim_next_run(store.engine, "second") == rid
    _age_heartbeat(store, rid)
    assert queue.reap_stale(store.engine, 60) == {rid: "failed"}
    run = store.get_run(rid)
    assert (run["status"], run["attempts"], run["worker"]) == ("failed", 2, "second")


def test_release_gives_the_run_back_without_counting_the_attempt(store):
    [rid] = _enqueue(store, 1)
    queue.claim_next_run(store.engine, "w1")
    assert queue.release(store.engine, rid, "other") is False
    assert queue.release(store.engine, rid, "w1") is True
    run = store.get_run(rid)
    assert (run["status"], run["attempts"], run["worker"]) == ("queued", 0, None)


def test_cancel_and_retry(store):
    ids = _enqueue(store, 3, batch="b")
    other = _enqueue(store, 1, batch="keep")
    assert queue.claim_next_run(store.engine, "w1") == ids[0]
    assert queue.cancel(store.engine, batch="b") == ids  # queued and running alike
    assert store.get_run(other[0])["status"] == "queued"
    # the worker of the cancelled running run cannot commit
    from p2pstore.simulate import simulate

    assert store.write_results(ids[0], simulate(store.scenario_of(ids[0])), "none", worker="w1") is False
    with pytest.raises(InputError, match="already cancelled"):
        queue.cancel(store.engine, [ids[1]])
    assert queue.retry(store.engine, [ids[1]]) == [ids[1]]
    r = store.get_run(ids[1])
    assert (r["status"], r["attempts"], r["finished_at"]) == ("queued", 0, None)
    with pytest.raises(InputError, match="only failed or cancelled"):
        queue.retry(store.engine, [ids[1]])  # queued now: refused, nothing changes
    with pytest.raises(NotFoundError):
        queue.cancel(store.engine, [999_999])
    with pytest.raises(NotFoundError):
        queue.cancel(store.engine, batch="nope")
    # retry --failed takes every failed run and nothing else
    queue.claim_next_run(store.engine, "w2")
    failing = queue.claim_next_run(store.engine, "w2")
    queue.mark_failed(store.engine, failing, "E", worker="w2")
    with store.engine.begin() as conn:  # exhaust the attempts
        conn.execute(sa.update(queue.runs).where(queue.runs.c.id == failing).values(status="failed"))
    assert queue.retry(store.engine, failed=True) == [failing]
    assert queue.status_counts(store.engine, batch="b")["cancelled"] == 2


def test_a_mixed_id_list_changes_nothing_when_one_is_refused(store):
    ids = _enqueue(store, 2)
    queue.cancel(store.engine, [ids[0]])
    with pytest.raises(InputError):
        queue.cancel(store.engine, ids)  # ids[0] is already cancelled
    assert store.get_run(ids[1])["status"] == "queued"


def test_sweep_expansion_is_a_cartesian_product():
    base = Scenario(days=1)
    scen = expand(base, [parse_sweep("prosumers=3,5,7"), parse_sweep("mechanisms=mmr+bill_sharing,conventional")],
                  parse_seeds("1..4"))
    assert len(scen) == 3 * 2 * 4
    assert {(s.prosumers, s.mechanisms, s.seed) for s in scen} == {
        (p, m, seed) for p in (3, 5, 7) for m in (("mmr", "bill_sharing"), ("conventional",)) for seed in (1, 2, 3, 4)
    }
    assert [s.seed for s in scen[:4]] == [1, 2, 3, 4]  # seeds vary fastest


@pytest.mark.parametrize("bad, match", [
    ("prosumers", "KEY=V1"),
    ("prosumers=3,,5", "empty value"),
    ("nosuch=1,2", "nosuch"),
])
def test_bad_sweeps_are_refused(bad, match):
    from p2pstore.errors import P2PStoreError

    with pytest.raises(P2PStoreError, match=match):
        expand(Scenario(), [parse_sweep(bad)])


def test_enqueue_is_one_transaction(store):
    """A sweep whose last scenario is invalid writes nothing; a large one is one statement."""
    from p2pstore.errors import ScenarioError

    with pytest.raises(ScenarioError, match="prosumers"):
        expand(Scenario(), [parse_sweep("prosumers=3,0")])
    ids = enqueue(store, expand(TINY, [], list(range(1000))), series="none", batch="big")
    assert len(ids) == 1000 and count(store, "SELECT COUNT(*) FROM runs WHERE batch='big'") == 1000


def test_enqueue_of_1000_runs_commits_once(store):
    from sqlalchemy import event

    commits = []

    def on_commit(conn):
        commits.append(1)

    event.listen(store.engine, "commit", on_commit)
    try:
        ids = enqueue(store, expand(TINY, [parse_sweep("prosumers=3,4,5,6")], list(range(250))),
                      series="none", batch="one-tx")
    finally:
        event.remove(store.engine, "commit", on_commit)
    assert len(ids) == 1000 and len(commits) == 1


def test_burst_keeps_going_only_for_due_retrying_or_stale_runs(store):
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    [delayed] = _enqueue(store, 1, not_before=later)
    assert not queue.has_pending_work(store.engine, 60)  # --at in the future: not for a burst worker
    [due] = _enqueue(store, 1)
    assert queue.has_pending_work(store.engine, 60)
    assert queue.claim_next_run(store.engine, "w") == due
    assert not queue.has_pending_work(store.engine, 60)  # running on a live worker
    queue.mark_failed(store.engine, due, "E", worker="w", backoff_base=600)
    assert queue.has_pending_work(store.engine, 60)  # awaiting its retry
    _make_due(store, due)
    assert queue.claim_next_run(store.engine, "w") == due
    _age_heartbeat(store, due)
    assert queue.has_pending_work(store.engine, 60)  # stale: will be reaped
    assert store.get_run(delayed)["status"] == "queued"


def test_a_failing_synchronous_run_is_failed_at_once_keeping_its_error(store):
    """`p2pstore run` does not retry: its failed run is not requeued for the workers."""
    from p2pstore.errors import P2PStoreError
    from p2pstore.jobs.execute import run_now

    with pytest.raises(P2PStoreError, match="pv_yield_kwh_per_kwp"):
        run_now(store, unsettleable_scenario(), "none")
    [run] = run_rows(store)
    assert (run["status"], run["attempts"], run["max_attempts"]) == ("failed", 1, 3)
    assert run["worker"].startswith("cli@") and run["finished_at"] is not None
    assert run["error"].startswith("ScenarioError: scenario field 'pv_yield_kwh_per_kwp'"), run["error"]
    assert count(store, "SELECT COUNT(*) FROM bills") == 0
