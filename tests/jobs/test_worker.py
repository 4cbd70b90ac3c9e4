"""Workers as real processes: exactly-once under load, SIGKILL recovery, retries, graceful stop,
start-up against an unreachable or outdated database. Both backends."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import numpy as np
import pytest

from p2pstore.jobs.enqueue import enqueue
from p2pstore.scenario import Scenario

from pg_databases import pg_admin, pg_url

from .conftest import count, run_rows, unsettleable_scenario, wait_for

#: Short timings so faults resolve in seconds.
FAST = ["--poll", "0.2", "--heartbeat", "0.3", "--stale-after", "2", "--backoff", "0.2",
        "--connect-retry", "0.3", "--schedule-sync", "0.5"]


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


def _expected_bills(scenario):
    from p2pstore.simulate import simulate

    s = simulate(scenario)
    return {m: r.bills for m, r in s.results.items()}


def test_killed_worker_run_is_reaped_and_completed_by_another(store, workers):
    # long enough (seconds of full-series writing) to be killed while held
    days = 240
    scenario = Scenario(days=days, seed=5)
    [rid] = enqueue(store, [scenario], series="full")
    victim = workers("victim", *FAST)
    wait_for(lambda: store.get_run(rid)["status"] == "running", 60, what="the victim to claim")
    children = _children(victim.proc.pid)
    assert children  # the pool's settlement processes
    victim.proc.send_signal(signal.SIGKILL)
    victim.wait(10)
    # they die with the worker: no orphan keeps computing (its write would be refused anyway)
    wait_for(lambda: not any(Path(f"/proc/{c}").exists() and _alive(c) for c in children), 10,
             what="the victim's children to die")
    assert store.get_run(rid)["worker"] == "victim"
    rescuer = workers("rescuer", *FAST)
    wait_for(lambda: store.get_run(rid)["status"] == "succeeded", 120, what="the rescuer to finish")
    rescuer.signal(signal.SIGTERM)
    assert rescuer.wait(60) == 0, rescuer.log
    run = store.get_run(rid)
    assert (run["worker"], run["attempts"]) == ("rescuer", 2)
    assert "reaped stale run" in rescuer.log
    # complete results, equal to settling the scenario here
    bills = store.bills([rid])
    for mechanism, expected in _expected_bills(scenario).items():
        got = bills[bills["mechanism"] == mechanism]["bill"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    slots = days * 96
    assert count(store, "SELECT COUNT(*) FROM household_series WHERE run_id=:r", r=rid) == 3 * 10 * slots
    assert count(store, "SELECT COUNT(*) FROM clearing_prices WHERE run_id=:r", r=rid) == 3 * slots
    assert count(store, "SELECT COUNT(*) FROM daily_bills WHERE run_id=:r", r=rid) == 3 * days


#: Enqueued, but impossible to settle (see unsettleable_scenario).
FAILING = unsettleable_scenario()


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


def test_sigterm_finishes_the_held_run_then_exits_0(store, workers):
    # long enough (half a year, full series: seconds) to still be held when SIGTERM arrives
    [rid] = enqueue(store, [Scenario(days=180, consumers=20, prosumers=20)], series="full")
    w = workers("w", *FAST, "--grace", "120")
    wait_for(lambda: store.get_run(rid)["status"] == "running", 60, what="claim")
    w.signal(signal.SIGTERM)
    assert w.wait(150) == 0, w.log
    assert store.get_run(rid)["status"] == "succeeded"
    log = w.log
    assert "SIGTERM: no new claims; finishing 1 held run(s)" in log, log
    assert log.index("finishing 1 held run(s)") < log.index(f"run {rid} succeeded"), log


def test_sigint_past_the_grace_releases_the_held_run(store, workers):
    [rid] = enqueue(store, [Scenario(days=365, consumers=20, prosumers=20)], series="full")
    w = workers("w", *FAST, "--grace", "0")
    wait_for(lambda: store.get_run(rid)["status"] == "running", 60, what="claim")
    w.signal(signal.SIGINT)
    assert w.wait(60) == 0, w.log
    run = store.get_run(rid)
    assert (run["status"], run["attempts"], run["worker"]) == ("queued", 0, None), w.log
    assert "released unfinished run" in w.log


def test_worker_waits_for_an_unreachable_database(backend, tmp_path, workers):
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
    w = workers("w", "--burst", *FAST, url=url)
    try:
        wait_for(lambda: w.log.count("unreachable") >= 2, 30, what="two retry lines")
        bring_up()
        assert w.wait(60) == 0, w.log
    finally:
        w.kill()
        if backend == "postgresql":
            pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    lines = w.log.splitlines()
    retries = [ln for ln in lines if "unreachable" in ln]
    assert len(retries) >= 2
    assert all(re.match(r"\d{4}-\d\d-\d\d .* WARNING database .* unreachable \(.+\); retrying in", ln)
               for ln in retries), retries
    assert "Traceback" not in w.log
    assert any("started" in ln for ln in lines)


def test_worker_refuses_a_database_not_at_head(db_url, tmp_path, workers):
    from alembic import command

    from p2pstore.store.engine import create_engine
    from p2pstore.store.migrate import alembic_config

    engine = create_engine(db_url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    engine.dispose()
    w = workers("w", "--burst", *FAST)
    assert w.wait(60) == 2
    out = w.log.strip().splitlines()
    assert out[-1].startswith("Error: ") and "p2pstore db upgrade" in out[-1]
    assert "Traceback" not in w.log


def test_sweep_drained_by_workers_equals_p2pstore_run(backend, cli, store, workers):
    """The issue's acceptance path, small: enqueue a sweep, drain it, compare with `p2pstore run`."""
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
