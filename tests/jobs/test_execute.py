"""`p2pstore run` (p2pstore.jobs.execute): its run is its own (a lease it renews while it
computes and writes), Ctrl-C cancels it, a failure fails it at once, and a database locked by
another writer delays its write without losing it. Both backends."""

from __future__ import annotations

import json
import os
import re
import signal
import time

import pytest
import sqlalchemy as sa

from p2pstore.jobs.enqueue import enqueue
from p2pstore.scenario import Scenario

from .conftest import Gates, count, run_rows, unsettleable_scenario, wait_for

TINY = Scenario(days=1)
RUN = ["run", "--days", "1", "--series", "none", "--json"]
LEASE_1S = ["--poll", "0.2", "--heartbeat", "0.3", "--stale-after", "1", "--connect-retry", "0.3"]
#: How long the test below holds `p2pstore run` after the queue is drained (seconds); set
#: P2PSTORE_HOLD_RUN_S=100 to reproduce the 100-second acceptance run.
HOLD_RUN_S = float(os.environ.get("P2PSTORE_HOLD_RUN_S", "6"))


def _cli_run_id(store) -> int:
    """The id of the (only) run a `p2pstore run` created, once it exists."""
    def find():
        rows = run_rows(store, "worker LIKE 'cli@%'")
        return rows[0]["id"] if rows else None

    return wait_for(find, 60, what="the run of `p2pstore run`")


@pytest.mark.slow
def test_a_run_held_for_many_leases_beside_a_reaping_worker_succeeds_once(store, procs, workers, tmp_path):
    """`run --lease 5` computes for a long time (held) beside a worker with --stale-after 1
    --heartbeat 0.3: the lease is `run`'s own and renewed by `run` itself, the worker never takes
    the run, and keeps settling the queue meanwhile."""
    before = enqueue(store, [TINY.replace(seed=s) for s in range(3)], series="none")
    gates, worker_marks = Gates(tmp_path / "run-gates"), Gates(tmp_path / "worker-marks")
    gates.close("computed")
    w = workers("w", *LEASE_1S, gates=worker_marks)  # no gate closed: its reaper's passes counted
    run = procs("run", *RUN, "--lease", "5", gates=gates)
    rid = gates.wait("computed")
    held_since = time.monotonic()
    first = store.get_run(rid)["heartbeat_at"]
    wait_for(lambda: all(store.get_run(i)["status"] == "succeeded" for i in before), 120,
             what="the worker to settle the queue beside the held run")
    reaps = worker_marks.passes("reap", "w")
    # held longer than its 5 s lease: renewed by `run` (every 1.25 s), the worker's reaper looking
    wait_for(lambda: (gates.passes("renew", f"run-{rid}") >= HOLD_RUN_S / 1.25
                      and worker_marks.passes("reap", "w") >= reaps + 4
                      and time.monotonic() - held_since > HOLD_RUN_S), 120 + 2 * HOLD_RUN_S,
             what="renewals by `run` and reaper passes beside the held run")
    held = store.get_run(rid)
    assert (held["status"], held["attempts"], held["claim_token"] is not None) == ("running", 1, True)
    assert held["heartbeat_at"] > first  # renewed by `run` while held
    gates.open("computed")
    assert run.wait(120) == 0, run.log
    assert json.loads(run.log[run.log.index("{"):])["run_id"] == rid
    assert (store.get_run(rid)["finished_at"] - held["started_at"]).total_seconds() > HOLD_RUN_S
    after = enqueue(store, [TINY.replace(seed=s) for s in range(10, 12)], series="none")
    wait_for(lambda: all(store.get_run(i)["status"] == "succeeded" for i in after), 120,
             what="the worker to keep settling")
    assert w.proc.poll() is None  # still alive
    w.signal()
    assert w.wait(60) == 0, w.log
    final = store.get_run(rid)
    assert (final["status"], final["attempts"], final["worker"]) == ("succeeded", 1, final["worker"])
    assert final["worker"].startswith("cli@")
    assert "reaped" not in w.log and f"claimed run {rid}" not in w.log
    assert count(store, "SELECT COUNT(*) FROM bills WHERE run_id=:r", r=rid) == 30


@pytest.mark.slow
@pytest.mark.parametrize("point", ["computed", "writing"])
def test_ctrl_c_cancels_the_run_and_no_worker_ever_settles_it(store, procs, workers, tmp_path, point):
    gates = Gates(tmp_path / "run-gates")
    gates.close(point)
    run = procs("run", *RUN, gates=gates)
    rid = gates.wait(point)
    run.signal(signal.SIGINT)
    assert run.wait(60) == 130, run.log
    assert run.log.strip() == f"run {rid} cancelled: interrupted before its results were stored", run.log
    r = store.get_run(rid)
    assert (r["status"], r["error"]) == ("cancelled", "cancelled: interrupted (Ctrl-C)")
    w = workers("w", "--burst", *LEASE_1S)
    assert w.wait(60) == 0, w.log
    assert store.get_run(rid)["status"] == "cancelled"
    assert count(store, "SELECT COUNT(*) FROM bills WHERE run_id=:r", r=rid) == 0  # rolled back


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("point", ["computed", "writing"])
def test_sigterm_and_sighup_cancel_the_run_like_ctrl_c(store, procs, tmp_path, point, sig):
    """A process manager's SIGTERM (or a closed terminal's SIGHUP) while the run is held: the run
    is cancelled at once, one line, exit 128 + signal, nothing of it stored."""
    gates = Gates(tmp_path / "run-gates")
    gates.close(point)
    run = procs("run", *RUN, gates=gates)
    rid = gates.wait(point)
    run.signal(sig)
    assert run.wait(60) == 128 + sig, run.log
    assert run.log.strip() == f"run {rid} cancelled: interrupted before its results were stored", run.log
    r = store.get_run(rid)
    assert (r["status"], r["error"]) == ("cancelled", f"cancelled: interrupted ({sig.name})")
    assert count(store, "SELECT COUNT(*) FROM bills WHERE run_id=:r", r=rid) == 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN on purpose
def test_a_failing_synchronous_run_is_failed_at_once_keeping_its_error(store):
    """`p2pstore run` does not retry: its failed run is not requeued for the workers."""
    from p2pstore.errors import P2PStoreError
    from p2pstore.jobs.execute import run_now

    with pytest.raises(P2PStoreError, match="pv_yield_kwh_per_kwp"):
        run_now(store, unsettleable_scenario(), "none")
    [run] = run_rows(store)
    assert (run["status"], run["attempts"], run["max_attempts"]) == ("failed", 1, 1)
    assert run["worker"].startswith("cli@") and run["finished_at"] is not None
    assert run["error"].startswith("ScenarioError: scenario field 'pv_yield_kwh_per_kwp'"), run["error"]
    assert count(store, "SELECT COUNT(*) FROM bills") == 0


def test_a_run_taken_away_says_so_in_one_line(store, procs, tmp_path, cli):
    gates = Gates(tmp_path / "run-gates")
    gates.close("computed")
    run = procs("run", *RUN, gates=gates)
    rid = gates.wait("computed")
    assert cli("runs", "cancel", str(rid)).exit_code == 0
    gates.open("computed")
    assert run.wait(60) == 2, run.log
    assert run.log.strip() == (f"Error: run {rid} was taken away (cancelled, or its lease expired while the "
                               "database was unreachable); its results were not written")


@pytest.mark.slow
def test_writes_wait_for_a_locked_database_and_keep_their_results(backend, store, procs, workers, gates, tmp_path):
    """A worker holds its result write (on SQLite: the only write lock) while a `run`, a second
    worker and `runs cancel` want to write: they wait, say so, and lose nothing."""
    lease = ["--poll", "0.2", "--heartbeat", "0.3", "--stale-after", "3", "--connect-retry", "0.3"]
    other, victim = enqueue(store, [TINY.replace(seed=s) for s in range(2)], series="none", priority=-1)
    [held] = enqueue(store, [TINY.replace(seed=2)], series="none")
    gates.close("writing", held)
    gates.close("computed", other)
    gates.close("computed", victim)
    w2 = workers("w2", *lease, "--concurrency", "2", gates=gates)  # takes the first two
    gates.wait("computed", other)
    gates.wait("computed", victim)
    w1 = workers("w1", *lease, gates=gates)
    gates.wait("writing", held)
    run = procs("run", *RUN)
    cancel = procs("cancel", "runs", "cancel", str(victim))
    gates.open("computed", other)
    if backend == "sqlite":  # the lock is held: everyone else waits, saying so
        wait_for(lambda: "waiting for the database (" in run.log and "database is locked" in run.log, 60,
                 what="`run` to wait for the lock")
        wait_for(lambda: "waiting for the database (database is locked)" in cancel.log, 60,
                 what="`runs cancel` to wait for the lock")
        wait_for(lambda: f"run {other}: waiting for the database (database is locked)" in w2.log, 60,
                 what="the second worker's write to wait for the lock")
        assert run.proc.poll() is None and cancel.proc.poll() is None  # the gate holds the lock
    gates.open("writing", held)
    assert run.wait(120) == 0, run.log
    assert cancel.wait(120) == 0 and f"cancelled 1 run(s): {victim}" in cancel.log, cancel.log
    gates.open("computed", victim)
    wait_for(lambda: store.get_run(other)["status"] == "succeeded", 120, what="the second worker's run")
    for p in (w1, w2):
        p.signal()
        assert p.wait(60) == 0, p.log
    rows = {r["id"]: r for r in run_rows(store)}
    assert [rows[i]["status"] for i in (held, other, victim)] == ["succeeded", "succeeded", "cancelled"]
    assert rows[held]["attempts"] == rows[other]["attempts"] == 1  # no computed result thrown away
    assert "Traceback" not in run.log + cancel.log + w1.log + w2.log
    assert not re.search(r"run \d+ failed", w1.log + w2.log)
    with store.engine.connect() as conn:
        cli_run = conn.execute(sa.text("SELECT status, attempts FROM runs WHERE worker LIKE 'cli@%'")).one()
    assert tuple(cli_run) == ("succeeded", 1)
