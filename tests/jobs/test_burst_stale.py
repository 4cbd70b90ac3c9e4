"""`worker --burst` drains a queue that still holds a dead worker's run: it waits for that run's
lease (one line says so), the reaper puts the run back, and the burst worker settles it. A run
whose holder renews its lease is left to it; `--no-wait-stale` exits at once. Both backends."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa

from p2pstore.jobs.enqueue import enqueue
from p2pstore.scenario import Scenario
from p2pstore.store.queue import runs

from .conftest import FAST, Gates, wait_for

TINY = Scenario(days=1)
#: The dead worker's lease: long, so that it outlasts any start-up; the test ends it (below).
GHOST_LEASE_S = 600.0


def _dead_workers_run(store) -> int:
    """A queued run claimed by a worker that then died: nobody renews its lease."""
    [run_id] = enqueue(store, [TINY], series="none")
    claim = runs.claim_next(store.engine, "ghost@gone:1", GHOST_LEASE_S)
    assert claim is not None and claim.run_id == run_id
    return run_id


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_burst_waits_for_a_dead_workers_lease_and_settles_the_run(store, workers):
    """The worker says it waits; once the lease runs out (the test moves its end to the past
    instead of sleeping through it), the reaper requeues the run and the burst worker settles it."""
    run_id = _dead_workers_run(store)
    w = workers("w", "--burst", *FAST)
    wait_for(lambda: "--no-wait-stale to exit now" in w.log, 120, what="the burst worker to say it waits")
    assert f"burst: run {run_id} is held by ghost@gone:1, whose lease expires in" in w.log
    time.sleep(1)  # several claim ticks: still waiting, not exited
    assert w.proc.poll() is None and store.get_run(run_id)["status"] == "running"
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET lease_expires_at = :t WHERE id = :r"),
                     {"t": runs.now_utc() - dt.timedelta(seconds=1), "r": run_id})
    assert w.wait(120) == 0, w.log
    run = store.get_run(run_id)
    assert (run["status"], run["worker"], run["attempts"]) == ("succeeded", "w", 2), w.log


def test_no_wait_stale_exits_at_once(store, workers):
    run_id = _dead_workers_run(store)
    w = workers("w", "--burst", "--no-wait-stale", *FAST)
    assert w.wait(120) == 0, w.log
    run = store.get_run(run_id)
    assert (run["status"], run["worker"]) == ("running", "ghost@gone:1")
    assert "waiting for it" not in w.log


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_a_run_whose_lease_is_renewed_is_left_to_its_holder(store, procs, workers, tmp_path):
    """`p2pstore run` held (alive, renewing its lease every 0.5 s): the burst worker stops waiting
    once it sees the renewal, and exits leaving the run to it."""
    gates = Gates(tmp_path / "run-gates")
    gates.close("computed")
    run = procs("run", "run", "--days", "1", "--series", "none", "--lease", "2", gates=gates)
    rid = gates.wait("computed")
    w = workers("w", "--burst", *FAST)
    assert w.wait(120) == 0, w.log
    assert f"burst: run {rid}'s lease was renewed by cli@" in w.log
    assert store.get_run(rid)["status"] == "running"
    gates.open("computed")
    assert run.wait(120) == 0, run.log
    assert store.get_run(rid)["status"] == "succeeded"
