"""Workers as real processes: exactly-once under load, a killed worker's run taken back,
retries, time limits, cancellation, signals to the process group, leases that outlive long
writes, permanent database errors. Both backends. Runs are held with gates
(:mod:`p2pstore.jobs.holds`), never with scenarios sized to take "long enough"."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from p2pstore.jobs.enqueue import enqueue
from p2pstore.scenario import Scenario

from pg_databases import pg_admin, pg_url

from .conftest import FAST, count, run_rows, unsettleable_scenario, wait_for

TINY = Scenario(days=1)


def _enqueue(store, n=1, **kw):
    return enqueue(store, [TINY.replace(seed=i) for i in range(n)], series=kw.pop("series", "none"), **kw)


@pytest.mark.slow
def test_every_run_succeeds_exactly_once_under_load(backend, store, workers):
    n_workers = 3 if backend == "postgresql" else 2
    n_runs = 200
    ids = enqueue(store, [Scenario(days=1, seed=s) for s in range(n_runs)], series="community", batch="load")
    procs = [workers(f"w{i}", "--burst", *FAST) for i in range(n_workers)]
    for w in procs:
        assert w.wait(240) == 0, w.log
    rows = run_rows(store)
    assert [r["id"] for r in rows] == ids
    assert {r["status"] for r in rows} == {"succeeded"}
    assert {r["attempts"] for r in rows} == {1}  # nobody claimed a run twice
    by_worker = {w.name: len(re.findall(r"run \d+ succeeded", w.log)) for w in procs}
    assert sum(by_worker.values()) == n_runs, by_worker  # each committed exactly once
    assert sum(1 for n in by_worker.values() if n) >= 2, by_worker  # they really ran concurrently
    assert not any("taken away" in w.log or "Traceback" in w.log for w in procs)
    assert {r["worker"] for r in rows} <= set(by_worker)
    # results are whole and not duplicated: 3 mechanisms x 10 households, 96 slots
    assert count(store, "SELECT COUNT(*) FROM bills") == n_runs * 3 * 10
    assert count(store, "SELECT COUNT(*) FROM community_series") == n_runs * 3 * 96
    assert count(store, "SELECT COUNT(*) FROM (SELECT run_id FROM bills GROUP BY run_id "
                        "HAVING COUNT(*) <> 30) AS t") == 0


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _settler(pid: int) -> list[int]:
    """The worker's settling processes (its other child is multiprocessing's resource tracker)."""
    return [c for c in _children(pid) if "resource_tracker" not in Path(f"/proc/{c}/cmdline").read_text()]


@pytest.mark.slow
def test_killed_worker_run_is_taken_back_and_completed_by_another(store, workers, gates):
    days = 3
    scenario = Scenario(days=days, seed=5)
    [rid] = enqueue(store, [scenario], series="full")
    gates.close("computed", rid)
    victim = workers("victim", *FAST, gates=gates)
    gates.wait("computed", rid)
    children = _settler(victim.proc.pid)
    assert children  # the settling process holding the run
    victim.signal(signal.SIGKILL)
    victim.wait(10)
    # they die with the worker: no orphan keeps computing (its write would be refused anyway)
    wait_for(lambda: not any(_alive(c) for c in children), 10, what="the victim's children to die")
    assert store.get_run(rid)["worker"] == "victim"
    rescuer = workers("rescuer", *FAST)
    wait_for(lambda: store.get_run(rid)["status"] == "succeeded", 120, what="the rescuer to finish")
    rescuer.signal(signal.SIGTERM)
    assert rescuer.wait(60) == 0, rescuer.log
    run = store.get_run(rid)
    assert (run["worker"], run["attempts"]) == ("rescuer", 2)
    assert f"reaped run {rid} (lease expired) -> queued" in rescuer.log
    # complete results, equal to settling the scenario here
    from p2pstore.simulate import simulate

    bills = store.bills([rid])
    for mechanism, r in simulate(scenario).results.items():
        np.testing.assert_allclose(bills[bills["mechanism"] == mechanism]["bill"].to_numpy(), r.bills, rtol=1e-12)
    slots = days * 96
    assert count(store, "SELECT COUNT(*) FROM household_series WHERE run_id=:r", r=rid) == 3 * 10 * slots
    assert count(store, "SELECT COUNT(*) FROM daily_bills WHERE run_id=:r", r=rid) == 3 * days


#: Enqueued, but impossible to settle (see unsettleable_scenario).
FAILING = unsettleable_scenario()


@pytest.mark.slow
def test_failing_run_is_retried_then_failed_with_its_error(store, workers):
    [rid] = enqueue(store, [FAILING], series="none", max_attempts=3)
    w = workers("w", "--burst", *FAST)
    assert w.wait(120) == 0, w.log
    run = store.get_run(rid)
    assert (run["status"], run["attempts"]) == ("failed", 3)
    assert run["error"].startswith("ScenarioError: scenario field 'pv_yield_kwh_per_kwp'"), run["error"]
    assert w.log.count(f"run {rid} failed, will retry") == 2
    assert f"run {rid} failed:" in w.log
    assert count(store, "SELECT COUNT(*) FROM bills WHERE run_id=:r", r=rid) == 0


@pytest.mark.slow
def test_max_run_time_fails_the_run_and_the_worker_carries_on(store, workers, gates):
    [fine] = _enqueue(store, 1, priority=-1)
    [stuck, after] = enqueue(store, [TINY.replace(seed=s) for s in (5, 6)], series="none", max_attempts=3)
    gates.close("computed", stuck)  # never opened: a run that would never end
    # a limit a 1-day run never comes near, even on a loaded machine
    w = workers("w", *FAST, "--max-run-time", "8", gates=gates)
    wait_for(lambda: store.get_run(stuck)["status"] == "failed", 120, what="the time limit")
    wait_for(lambda: store.get_run(after)["status"] == "succeeded", 120, what="the next run")
    run = store.get_run(stuck)
    assert run["attempts"] == 1  # not retried: it would only time out again
    assert run["error"].startswith("TimeLimitExceeded: the attempt took longer than --max-run-time (8 s)")
    assert store.get_run(fine)["status"] == "succeeded"
    w.signal(signal.SIGTERM)
    assert w.wait(60) == 0, w.log
    assert "Traceback" not in w.log


@pytest.mark.slow
def test_cancelling_a_running_run_stops_only_its_settlement(store, workers, gates, cli):
    a, b = _enqueue(store, 2)
    gates.close("computed")
    w = workers("w", *FAST, "--concurrency", "2", gates=gates)
    gates.wait("computed", a)
    gates.wait("computed", b)
    assert cli("runs", "cancel", str(a)).exit_code == 0
    wait_for(lambda: f"run {a} was taken away" in w.log, 30, what="the worker to notice")
    gates.open("computed")
    wait_for(lambda: store.get_run(b)["status"] == "succeeded", 60, what="the other run")
    assert store.get_run(a)["status"] == "cancelled"
    assert count(store, "SELECT COUNT(*) FROM bills WHERE run_id=:r", r=a) == 0
    w.signal(signal.SIGTERM)
    assert w.wait(60) == 0, w.log
    assert "lost 1" in w.log and "failed 0" in w.log


@pytest.mark.slow
def test_a_run_reaped_from_its_worker_and_claimed_again_by_it_commits_once(store, workers, gates):
    """The guard compares claims, not worker names: the old attempt is stopped, the new one
    commits, and the worker's bookkeeping (by token) ends clean."""
    [rid] = _enqueue(store, 1)
    gates.close("computed", rid)
    w = workers("w", *FAST, "--concurrency", "2", gates=gates)
    gates.wait("computed", rid)
    old_token = store.get_run(rid)["claim_token"]
    with store.engine.begin() as conn:  # what a reaper does when the lease has run out
        conn.execute(sa.text("UPDATE runs SET status='queued', worker=NULL, claim_token=NULL, "
                             "lease_expires_at=NULL WHERE id=:r"), {"r": rid})
    wait_for(lambda: store.get_run(rid)["attempts"] == 2, 30, what="the same worker to claim it again")
    run = store.get_run(rid)
    assert run["worker"] == "w" and run["claim_token"] not in (None, old_token)
    wait_for(lambda: "was taken away" in w.log, 30, what="the old attempt to be stopped")
    gates.open("computed", rid)
    wait_for(lambda: store.get_run(rid)["status"] == "succeeded", 60, what="the new attempt")
    w.signal(signal.SIGTERM)
    assert w.wait(30) == 0, w.log
    assert re.search(r"exiting; claimed 2, succeeded 1, failed 0, retried 0, lost 1, released 0; "
                     r"database [\d.]+ \w+ -> [\d.]+ \w+ \(\+", w.log), w.log
    assert count(store, "SELECT COUNT(*) FROM bills WHERE run_id=:r", r=rid) == 30


def _reaper_passes(gates, worker: str, leases: int, lease_s: float = 2.0) -> None:
    """Wait until ``leases`` leases of ``lease_s`` have gone by and ``worker``'s reaper (every
    quarter lease, slower while SQLite's write lock makes it wait) has begun at least two ticks
    per lease meanwhile."""
    since, start = gates.passes("reap", worker), time.monotonic()
    wait_for(lambda: (gates.passes("reap", worker) >= since + 2 * leases
                      and time.monotonic() - start >= leases * lease_s), 60 + leases * lease_s * 4,
             what=f"{leases} lease(s) of reaper passes by {worker}")


@pytest.mark.slow
def test_leases_outlive_a_long_write_beside_them(store, workers, gates):
    """Short leases (2 s): run A holds its write (on SQLite, the database's only write lock) for
    several leases while run B of the same worker computes; neither that worker nor a second
    one reaps B."""
    a, b = _enqueue(store, 2)
    gates.close("writing", a)
    gates.close("computed", b)
    lease = ["--poll", "0.2", "--heartbeat", "0.3", "--stale-after", "2", "--connect-retry", "0.3"]
    w = workers("w", *lease, "--concurrency", "2", gates=gates)
    gates.wait("writing", a)
    gates.wait("computed", b)
    other = workers("other", *lease, gates=gates)  # nothing to claim: only its reaper matters
    wait_for(lambda: "started" in other.log, 60, what="the second worker")
    _reaper_passes(gates, "other", leases=3)  # A still writing
    gates.open("writing", a)
    wait_for(lambda: store.get_run(a)["status"] == "succeeded", 60, what="A's commit")
    _reaper_passes(gates, "other", leases=1)  # after A's commit
    gates.open("computed", b)
    wait_for(lambda: store.get_run(b)["status"] == "succeeded", 60, what="B")
    for p in (w, other):
        p.signal(signal.SIGTERM)
        assert p.wait(60) == 0, p.log
    assert [store.get_run(r)["attempts"] for r in (a, b)] == [1, 1]
    assert "reaped" not in w.log + other.log and "taken away" not in w.log


@pytest.mark.slow
def test_sigterm_to_the_group_mid_write_finishes_the_run_within_the_grace(store, workers, gates):
    [rid] = _enqueue(store, 1)
    gates.close("writing", rid)
    w = workers("w", *FAST, "--grace", "120", gates=gates)
    gates.wait("writing", rid)
    w.signal_group(signal.SIGTERM)  # children ignore it; the parent waits for them
    wait_for(lambda: "no new claims; finishing 1 held run(s)" in w.log, 30, what="the signal")
    assert w.proc.poll() is None
    gates.open("writing", rid)
    assert w.wait(60) == 0, w.log
    run = store.get_run(rid)
    assert (run["status"], run["attempts"], run["error"]) == ("succeeded", 1, None)
    assert "BrokenProcessPool" not in w.log and "Traceback" not in w.log


@pytest.mark.slow
@pytest.mark.parametrize("how", ["grace", "second-signal"])
def test_sigterm_to_the_group_past_the_grace_releases_the_run_without_a_failure(store, workers, gates, how):
    [rid] = _enqueue(store, 1)
    gates.close("writing", rid)  # never opened while this worker lives
    grace = "2" if how == "grace" else "600"
    w = workers("w", *FAST, "--grace", grace, gates=gates)
    gates.wait("writing", rid)
    started = time.monotonic()
    w.signal_group(signal.SIGTERM)
    if how == "second-signal":
        wait_for(lambda: "no new claims" in w.log, 30, what="the first signal")
        w.signal_group(signal.SIGTERM)
    assert w.wait(60) == 0, w.log
    # within the grace (2 s), plus stopping the child and releasing the run (a 5 s budget), not
    # after the held write (never released while it lives); generous for a loaded machine
    assert time.monotonic() - started < (2 + 5 + 10 if how == "grace" else 30)
    run = store.get_run(rid)
    assert (run["status"], run["attempts"], run["worker"], run["error"], run["claim_token"]) == (
        "queued", 0, None, None, None), w.log
    assert f"released unfinished run {rid} back to the queue" in w.log
    assert count(store, "SELECT COUNT(*) FROM bills WHERE run_id=:r", r=rid) == 0  # rolled back
    gates.open("writing", rid)
    done = workers("next", "--burst", *FAST)
    assert done.wait(120) == 0, done.log
    assert (store.get_run(rid)["status"], store.get_run(rid)["attempts"]) == ("succeeded", 1)


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_sigint_past_the_grace_releases_the_held_run(store, workers, gates):
    [rid] = _enqueue(store, 1)
    gates.close("computed", rid)
    w = workers("w", *FAST, "--grace", "0", gates=gates)
    gates.wait("computed", rid)
    w.signal(signal.SIGINT)
    assert w.wait(60) == 0, w.log
    run = store.get_run(rid)
    assert (run["status"], run["attempts"], run["worker"]) == ("queued", 0, None), w.log
    assert "released unfinished run" in w.log


@pytest.mark.slow
def test_concurrency_beyond_memory_is_capped_with_a_warning(store, workers):
    from p2pstore.jobs.pool import CHILD_MEMORY_BYTES, concurrency_cap

    assert concurrency_cap(8, available=4 * CHILD_MEMORY_BYTES) == (
        4, "--concurrency 8 capped to 4: each settling process needs about 256 MiB and 1.0 GiB is available")
    assert concurrency_cap(3, available=4 * CHILD_MEMORY_BYTES) == (3, None)
    assert concurrency_cap(5, available=CHILD_MEMORY_BYTES // 2)[0] == 1
    _enqueue(store, 3)
    w = workers("w", "--burst", *FAST, "--concurrency", "1000000000")
    assert w.wait(120) == 0, w.log
    assert re.search(r"WARNING worker w: --concurrency 1000000000 capped to \d+: each settling process", w.log)
    assert count(store, "SELECT COUNT(*) FROM runs WHERE status='succeeded'") == 3


@pytest.mark.slow
def test_a_long_running_worker_waits_for_a_database_that_is_not_there_yet(backend, tmp_path, workers):
    """One clear line per attempt, no traceback; proceeds when the database appears."""
    if backend == "sqlite":
        missing = tmp_path / "not-yet"
        url = f"sqlite:///{missing / 'p2pstore.db'}"

        def bring_up():
            missing.mkdir()
    else:
        import uuid

        name = f"p2pstore_test_{uuid.uuid4().hex[:12]}"
        url = pg_url(name)

        def bring_up():
            pg_admin(f'CREATE DATABASE "{name}"')
    w = workers("w", *FAST, url=url)
    try:
        wait_for(lambda: w.log.count("unreachable") >= 2, 30, what="two retry lines")
        bring_up()
        wait_for(lambda: "started" in w.log, 60, what="the worker to start")
        w.signal(signal.SIGTERM)
        assert w.wait(60) == 0, w.log
    finally:
        w.kill()
        if backend == "postgresql":
            pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    retries = [ln for ln in w.log.splitlines() if "unreachable" in ln]
    assert all(re.match(r"\d{4}-\d\d-\d\d .* WARNING database .* unreachable \(.+\); retrying in", ln)
               for ln in retries), retries
    assert "Traceback" not in w.log


def _one_line_exit_2(p) -> str:
    assert p.wait(60) == 2, p.log
    last = p.log.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "Traceback" not in p.log, p.log
    return last


def test_a_burst_worker_ends_on_a_permanent_database_error(backend, tmp_path, workers, db_url, store):
    if backend == "postgresql":
        missing = workers("missing", "--burst", *FAST, url=db_url.rsplit("/", 1)[0] + "/p2pstore_no_such_db")
        assert 'database "p2pstore_no_such_db" does not exist' in _one_line_exit_2(missing)
        return
    not_db = tmp_path / "not-a-database.db"
    not_db.write_text("just text\n" * 1000)
    w = workers("notdb", "--burst", *FAST, url=f"sqlite:///{not_db}")
    assert "file is not a database" in _one_line_exit_2(w)
    _enqueue(store, 1)
    path = db_url.removeprefix("sqlite:///")
    ro = workers("ro", "--burst", *FAST, url=f"sqlite:///file:{path}?mode=ro&uri=true")
    assert "opened read-only (mode=ro)" in _one_line_exit_2(ro)  # refused before any write is tried
    assert run_rows(store)[0]["status"] == "queued"


def test_worker_refuses_a_database_not_at_head(db_url, workers):
    from alembic import command

    from p2pstore.store.engine import create_engine
    from p2pstore.store.schema.migrate import alembic_config

    engine = create_engine(db_url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    engine.dispose()
    w = workers("w", "--burst", *FAST)
    assert "p2pstore db upgrade" in _one_line_exit_2(w)


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_sweep_drained_by_workers_equals_p2pstore_run(backend, cli, store, workers):
    """The acceptance path, small: enqueue a sweep, drain it, compare with `p2pstore run`."""
    import json

    r = cli("enqueue", "--sweep", "prosumers=3,5,7", "--seeds", "1..4", "--batch", "demo",
            "--days", "2", "--series", "none", "--json")
    assert r.exit_code == 0, r.output
    ids = json.loads(r.output)["run_ids"]
    procs = [workers(f"w{i}", "--burst", *FAST) for i in range(2 if backend == "postgresql" else 1)]
    for w in procs:
        assert w.wait(120) == 0, w.log
    assert {store.get_run(i)["status"] for i in ids} == {"succeeded"}
    stored = store.bills(ids)
    for rid in (ids[0], ids[5], ids[-1]):
        s = store.scenario_of(rid)
        out = cli("run", "--seed", str(s.seed), "--prosumers", str(s.prosumers), "--days", "2",
                  "--series", "none", "--json")
        assert out.exit_code == 0, out.output
        direct = json.loads(out.output)["bills"]
        mine = stored[stored["run_id"] == rid]
        for mechanism, by_household in direct.items():
            got = dict(zip(mine[mine["mechanism"] == mechanism]["household"],
                           mine[mine["mechanism"] == mechanism]["bill"]))
            assert got == pytest.approx(by_household, rel=1e-12)
