"""Cron schedules: CLI management, refusal of bad input, one run per firing across workers."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import re

import pytest

from p2pstore.jobs import schedules as sch
from p2pstore.store.queue import schedules as queue_schedules

from .conftest import SMALL, count, run_rows, wait_for


def test_schedule_add_list_pause_resume_remove(cli, store):
    r = cli("schedule", "add", "nightly", "--cron", "0 2 * * *", "--timezone", "Europe/Berlin", *SMALL,
            "--mechanism", "mmr")
    assert r.exit_code == 0, r.output
    assert "schedule 'nightly'" in r.output and "+01:00" in r.output  # next firing, Berlin time in winter
    r = cli("schedule", "list", "--json")
    assert r.exit_code == 0, r.output
    import json

    [row] = json.loads(r.output)
    assert (row["name"], row["cron"], row["timezone"], row["mechanisms"], row["paused"]) == (
        "nightly", "0 2 * * *", "Europe/Berlin", "mmr", False)
    assert cli("schedule", "pause", "nightly").exit_code == 0
    assert queue_schedules.list_schedules(store.engine, active_only=True) == []
    assert cli("schedule", "resume", "nightly").exit_code == 0
    assert len(queue_schedules.list_schedules(store.engine, active_only=True)) == 1
    assert "nightly" in cli("schedule", "list").output
    assert cli("schedule", "remove", "nightly").exit_code == 0
    assert count(store, "SELECT COUNT(*) FROM schedules") == 0


@pytest.mark.parametrize("args, message", [
    (["--cron", "61 * * * *"], "invalid cron expression '61 * * * *'"),
    (["--cron", "* * *"], "Wrong number of fields"),
    (["--cron", "0 2 * * *", "--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    (["--cron", "0 2 * * *", "--days", "0"], "scenario field 'days'"),
])
def test_bad_schedules_are_refused_with_one_line_and_nothing_written(cli, store, args, message):
    before = count(store, "SELECT COUNT(*) FROM scenarios")
    r = cli("schedule", "add", "bad", *args)
    assert r.exit_code == 2
    assert message in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert "Traceback" not in r.output
    assert count(store, "SELECT COUNT(*) FROM schedules") == 0
    assert count(store, "SELECT COUNT(*) FROM scenarios") == before


def test_duplicate_and_unknown_names(cli, store):
    assert cli("schedule", "add", "a", "--cron", "* * * * *", *SMALL).exit_code == 0
    r = cli("schedule", "add", "a", "--cron", "* * * * *", *SMALL)
    assert r.exit_code == 2 and "already exists" in r.output
    for action in ("pause", "resume", "remove"):
        r = cli("schedule", action, "nope")
        assert r.exit_code == 2 and "no schedule named 'nope'" in r.output


def test_latest_fire_time_is_the_nominal_time_every_worker_agrees_on():
    trigger = sch.parse_cron("*/5 * * * *", "UTC")
    now = dt.datetime(2026, 1, 1, 10, 7, 42, 123456, tzinfo=dt.UTC)
    assert sch.latest_fire_time(trigger, now) == dt.datetime(2026, 1, 1, 10, 5, tzinfo=dt.UTC)
    berlin = sch.parse_cron("0 2 * * *", "Europe/Berlin")
    fired = sch.latest_fire_time(berlin, dt.datetime(2026, 1, 1, 1, 0, 30, tzinfo=dt.UTC), lookback_s=120)
    assert fired == dt.datetime(2026, 1, 1, 1, 0, tzinfo=dt.UTC)


def _fire(url, sid, fire_time, barrier, out):
    from p2pstore.store.queue.schedules import fire_schedule
    from p2pstore.store.engine import create_engine

    engine = create_engine(url)
    barrier.wait()
    out.put(fire_schedule(engine, sid, fire_time))
    engine.dispose()


@pytest.mark.slow
def test_two_processes_firing_the_same_time_enqueue_one_run(db_url, store):
    from p2pstore.scenario import Scenario

    sid = sch.add_schedule(store, "s", "* * * * *", Scenario(days=1), series="none")
    when = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_fire, args=(db_url, sid, when, barrier, out)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert sum(r is not None for r in results) == 1
    [run] = run_rows(store)
    assert (run["schedule_id"], run["status"], run["batch"]) == (sid, "queued", "schedule:s")
    # a paused schedule does not fire
    queue_schedules.set_paused(store.engine, "s", True)
    assert queue_schedules.fire_schedule(store.engine, sid, when + dt.timedelta(minutes=1)) is None


@pytest.mark.slow
def test_a_schedule_fired_by_two_workers_enqueues_one_run_per_firing(store, workers):
    from p2pstore.scenario import Scenario

    # a leading seconds field: fire every 2 s, so the test does not wait for a minute boundary
    sch.add_schedule(store, "fast", "*/2 * * * * *", Scenario(days=1), series="none")
    fast = ["--poll", "0.2", "--heartbeat", "0.3", "--schedule-sync", "0.3"]
    a, b = workers("a", *fast), workers("b", *fast)
    wait_for(lambda: count(store, "SELECT COUNT(*) FROM runs WHERE status = 'succeeded'") >= 3, 60,
             what="three firings settled")
    for w in (a, b):
        w.signal()
    assert a.wait(30) == 0 and b.wait(30) == 0
    rows = run_rows(store)
    fire_times = [r["fire_time"] for r in rows]
    assert len(fire_times) == len(set(fire_times)) >= 3
    # both workers fired every schedule time they were up for; exactly one of them queued it
    pattern = re.compile(r"schedule 'fast' fired for (\S+): (run \d+ queued|already queued)")
    fired = {w.name: dict(pattern.findall(w.log)) for w in (a, b)}
    both = set(fired["a"]) & set(fired["b"])
    assert len(both) >= 2, fired
    for t in both:
        outcomes = sorted((fired["a"][t], fired["b"][t]))
        assert outcomes[0] == "already queued" and outcomes[1].startswith("run "), (t, outcomes)


def test_fire_time_is_utc_whatever_the_session_time_zone(db_url, store, monkeypatch):
    """Workers whose PostgreSQL sessions run in another time zone (PGTZ, the server's default)
    derive the same (schedule, fire_time) key, so they still enqueue one run per firing."""
    from p2pstore.scenario import Scenario
    from p2pstore.store.engine import create_engine

    sid = sch.add_schedule(store, "tz", "* * * * *", Scenario(days=1), series="none")
    when = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    monkeypatch.setenv("PGTZ", "Europe/Berlin")
    berlin = create_engine(db_url)
    try:
        rid = queue_schedules.fire_schedule(berlin, sid, when)  # connects now, in a Berlin session
        monkeypatch.delenv("PGTZ")
        assert rid is not None
        assert queue_schedules.fire_schedule(store.engine, sid, when) is None  # the same firing from a UTC session
    finally:
        berlin.dispose()
    got = store.get_run(rid)["fire_time"]
    assert (got if got.tzinfo else got.replace(tzinfo=dt.UTC)) == when
