"""PostgreSQL going away: an immediate stop (connections cut, like a crash) of a throwaway
cluster of the test's own (tests/pg_cluster.py; never the shared server) in the middle of a
sweep, a `p2pstore run` and a `runs wait`, and a database that never comes back."""

from __future__ import annotations

import json
import re
import signal
import uuid

import pytest

from p2pstore.jobs.enqueue import enqueue
from p2pstore.scenario import Scenario

from pg_cluster import PgCluster

from .conftest import Gates, wait_for

#: The outage lasts until every client said it waits, at most this long (seconds).
OUTAGE_MAX_S = 15.0
#: Worker timings: leases longer than the outage, so no run changes hands because of it.
WORKER = ["--poll", "0.2", "--heartbeat", "0.3", "--stale-after", "20", "--backoff", "0.2",
          "--connect-retry", "0.3", "--schedule-sync", "0.5"]


@pytest.fixture(scope="module")
def cluster():
    c = PgCluster()
    try:
        yield c
    finally:
        c.destroy()


@pytest.fixture
def db_url(cluster):
    """This module's database: on the throwaway cluster (replaces the per-backend fixture)."""
    if not cluster.running():  # a previous test left it stopped
        cluster.start()
    name = f"p2pstore_outage_{uuid.uuid4().hex[:10]}"
    cluster.admin(f'CREATE DATABASE "{name}"')
    yield cluster.url(name)
    if not cluster.running():
        cluster.start()
    cluster.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def url(db_url):
    return db_url


@pytest.fixture
def store(url):
    from p2pstore.store import Store

    s = Store(url)
    yield s
    s.close()


def _no_traceback(*procs):
    for p in procs:
        assert "Traceback" not in p.log, f"{p.name}:\n{p.log}"


@pytest.mark.slow
def test_an_outage_mid_sweep_run_and_wait_loses_and_doubles_nothing(cluster, url, store, procs, tmp_path):
    ids = enqueue(store, [Scenario(days=1, seed=s) for s in range(6)], series="community", batch="sweep")
    worker_gates, run_gates = Gates(tmp_path / "worker-gates"), Gates(tmp_path / "run-gates")
    worker_gates.close("writing", ids[0])  # the worker is mid-write when the server stops
    run_gates.close("computed")  # `run` has computed and is about to write
    worker = procs("worker", "worker", "--name", "w", "--burst", *WORKER, url=url, gates=worker_gates)
    waiter = procs("wait", "runs", "wait", "--batch", "sweep", "--poll", "0.2", url=url)
    run = procs("run", "run", "--days", "1", "--seed", "99", "--series", "community", "--json",
                "--lease", "30", url=url, gates=run_gates)
    worker_gates.wait("writing", ids[0])
    run_id = run_gates.wait("computed")
    wait_for(lambda: "sweep" in waiter.log or "queued" in waiter.log or "running" in waiter.log, 60,
             what="runs wait to show progress")

    cluster.stop("immediate")
    worker_gates.open("writing", ids[0])
    run_gates.open("computed")
    # the outage lasts until each of them has met it (not a fixed time)
    wait_for(lambda: ("database unavailable (" in worker.log and "waiting for the database (" in run.log
                      and "waiting for the database (" in waiter.log), OUTAGE_MAX_S,
             what="the worker, `run` and `runs wait` to meet the outage")
    cluster.start()

    assert run.wait(180) == 0, run.log
    assert waiter.wait(180) == 0, waiter.log
    assert worker.wait(180) == 0, worker.log
    _no_traceback(worker, waiter, run)
    assert "waiting for the database (" in run.log and json.loads(run.log[run.log.index("{"):])["run_id"] == run_id
    assert "waiting for the database (" in waiter.log and "6 run(s): succeeded 6" in waiter.log
    assert "database unavailable (" in worker.log and "database reachable again" in worker.log
    rows = {r["run_id"]: r for r in store.runs().to_dict("records")}
    assert set(rows) == {*ids, run_id}
    assert {(r["status"], r["attempts"]) for r in rows.values()} == {("succeeded", 1)}  # exactly once
    bills = store.bills(sorted(rows))
    assert bills.groupby("run_id").size().to_dict() == dict.fromkeys(sorted(rows), 30)
    assert len(re.findall(r"run \d+ succeeded", worker.log)) == 6


def test_a_burst_worker_with_a_wrong_password_ends_in_one_line(cluster, url, store, procs):
    bad = url.replace(":outage-test-secret@", ":wrong@")
    w = procs("worker", "worker", "--burst", "--connect-retry", "0.3", url=bad)
    assert w.wait(60) == 2, w.log
    [line] = w.log.strip().splitlines()[-1:]
    assert line.startswith("Error: ") and "password authentication failed" in line and "wrong" not in line
    _no_traceback(w)


@pytest.mark.slow
def test_commands_that_lose_the_database_for_good_say_so_in_one_line(cluster, url, store, procs, tmp_path):
    [held] = enqueue(store, [Scenario(days=1)], series="none", batch="b")
    gates, run_gates = Gates(tmp_path / "gates"), Gates(tmp_path / "run-gates")
    gates.close("writing", held)
    run_gates.close("computed")
    worker = procs("worker", "worker", "--name", "w", "--burst", *WORKER, "--grace", "1", url=url, gates=gates)
    run = procs("run", "run", "--days", "1", "--retry-for", "2", url=url, gates=run_gates)
    gates.wait("writing", held)
    run_id = run_gates.wait("computed")
    cluster.stop("immediate")  # and it does not come back
    gates.open("writing", held)
    run_gates.open("computed")

    assert run.wait(60) == 2
    assert run.log.strip().splitlines()[-1] == (
        f"Error: the database did not answer for 2 s: {_refused(cluster)}; run {run_id} stays 'running' "
        "until its lease expires, then it is marked failed"), run.log
    listing = procs("list", "runs", "list", url=url)
    assert listing.wait(60) == 2
    assert listing.log == f"Error: cannot connect to database {_masked(url)!r}: {_refused(cluster)}\n", listing.log
    again = procs("run-again", "run", "--days", "1", url=url)  # fails at once: no run is created
    assert again.wait(60) == 2 and again.log == listing.log, again.log
    waiter = procs("wait", "runs", "wait", "--batch", "b", "--timeout", "3", url=url)
    assert waiter.wait(60) == 2
    assert waiter.log.strip().splitlines()[-1] == f"Error: the database did not answer for 3 s: {_refused(cluster)}"

    # the burst worker does not exit 0 while the run it held is stranded
    worker.signal_group(signal.SIGTERM)
    assert worker.wait(60) == 2, worker.log
    assert re.search(rf"Error: run {held} left running: .*; a worker's reaper takes it back when its lease expires",
                     worker.log), worker.log
    _no_traceback(listing, waiter, run, again, worker)


def _refused(cluster) -> str:
    return f'connection failed: connection to server at "127.0.0.1", port {cluster.port} failed: Connection refused'


def _masked(url: str) -> str:
    return url.replace(":outage-test-secret@", ":***@")
