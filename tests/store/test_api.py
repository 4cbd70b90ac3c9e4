"""Scenarios and runs: get-or-create by hash, bulk enqueue in one transaction, lookups."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from store_helpers import SCENARIO, count

from p2pstore.errors import InputError, NotFoundError
from p2pstore.store import RunRequest, Store


def test_save_scenario_is_get_or_create(store):
    a = store.save_scenario(SCENARIO)
    assert store.save_scenario(SCENARIO) == a
    assert store.save_scenario(SCENARIO.replace(seed=8)) != a
    assert count(store, "scenarios") == 2


def test_save_scenario_is_race_safe(db_url):
    stores = [Store(db_url) for _ in range(4)]
    try:
        scenario = SCENARIO.replace(seed=99)
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda i: stores[i % 4].save_scenario(scenario), range(32)))
        assert len(set(ids)) == 1
        assert count(stores[0], "scenarios") == 1
    finally:
        for s in stores:
            s.close()


def test_create_runs_in_one_call(store):
    later = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    other = SCENARIO.replace(seed=1)
    items = [RunRequest(SCENARIO if i % 2 else other, series=("full", "community", "none")[i % 3],
                        batch="b1", priority=i % 5, not_before=later if i % 7 == 0 else None,
                        max_attempts=2)
             for i in range(1000)]
    ids = store.create_runs(items)
    assert len(ids) == 1000 and len(set(ids)) == 1000
    assert count(store, "runs") == 1000 and count(store, "scenarios") == 2
    for i in (0, 1, 7, 500, 999):
        run = store.get_run(ids[i])
        assert run["status"] == "queued" and run["batch"] == "b1"
        assert run["series"] == items[i].series and run["priority"] == items[i].priority
        assert run["max_attempts"] == 2 and run["attempts"] == 0
        assert run["mechanisms"] == ",".join(items[i].scenario.mechanisms)
        assert run["spec_hash"] == items[i].scenario.spec_hash()
        assert store.scenario_of(ids[i]) == items[i].scenario
        nb = run["not_before"].replace(tzinfo=None)
        if i % 7 == 0:
            assert nb == later.replace(tzinfo=None)
        else:
            assert nb.year < 2030
    assert store.create_runs([]) == []


def test_create_runs_is_all_or_nothing(store):
    with pytest.raises(InputError, match="series"):
        store.create_runs([RunRequest(SCENARIO), RunRequest(SCENARIO, series="bogus")])
    assert count(store, "runs") == 0


def test_missing_run_lookups(store):
    with pytest.raises(NotFoundError, match="run 42"):
        store.get_run(42)
    with pytest.raises(NotFoundError, match="run 42"):
        store.scenario_of(42)


def test_store_is_a_context_manager(db_url):
    with Store(db_url) as store:
        run_id = store.create_run(SCENARIO, batch="x")
    with Store(db_url) as store:
        assert store.get_run(run_id)["batch"] == "x"


def test_create_claimed_run(store, settlement):
    from p2pstore.store.queue import runs

    claim = store.create_claimed_run(RunRequest(SCENARIO, max_attempts=1), "cli@host:1", lease_s=60)
    run = store.get_run(claim.run_id)
    assert (run["status"], run["worker"], run["attempts"], run["max_attempts"]) == ("running", "cli@host:1", 1, 1)
    assert run["claim_token"] == claim.token and len(claim.token) == 32
    assert run["started_at"] is not None and run["lease_expires_at"] > run["started_at"]
    assert runs.claim_next(store.engine, "other", 60) is None  # never offered to a worker
    assert store.write_results(claim.run_id, settlement, claim=claim)
    assert store.get_run(claim.run_id)["status"] == "succeeded"