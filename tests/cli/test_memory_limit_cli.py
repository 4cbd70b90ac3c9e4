"""``--memory-limit`` on run, enqueue and worker."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from p2pstore.cli import cli
from p2pstore.limits import MEMORY_LIMIT_ENV

MONTH = ["--households", "500", "--prosumer-share", "0.7", "--days", "30", "--series", "community"]


def invoke(db_url, *args, env=None):
    return CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False, env=env)


def test_run_in_chunks_prints_the_bills_of_the_whole_community(db_url):
    chunked = invoke(db_url, "run", *MONTH, "--memory-limit", "300MB", "--json")
    whole = invoke(db_url, "run", *MONTH, "--json", env={MEMORY_LIMIT_ENV: "64GiB"})
    assert chunked.exit_code == 0 and whole.exit_code == 0, chunked.output + whole.output
    a, b = json.loads(chunked.output), json.loads(whole.output)
    assert a["run_id"] != b["run_id"] and a["bills"] == b["bills"] and a["totals"] == b["totals"]


def test_a_bad_or_too_small_limit_is_one_line_and_stores_nothing(db_url):
    for size, words in (("lots", "--memory-limit must be a positive size"),
                        ("100MB", "in chunks of 64 households")):
        result = invoke(db_url, "run", *MONTH, "--memory-limit", size)
        assert result.exit_code == 2 and words in result.output, result.output
        assert result.output.count("\n") == 1
    result = invoke(db_url, "enqueue", *MONTH, "--series", "full", "--memory-limit", "100MB")
    assert result.exit_code == 2 and "in chunks of 64 households" in result.output
    listed = invoke(db_url, "query", "SELECT COUNT(*) AS n FROM runs", "--format", "json")
    assert listed.exit_code != 0 or json.loads(listed.output) == [{"n": 0}]


def test_enqueue_checks_runs_against_the_limit_and_queues_what_fits_in_chunks(db_url):
    result = invoke(db_url, "enqueue", *MONTH, "--memory-limit", "300MB", "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["run_ids"]) == 1


def test_worker_shares_its_limit_between_its_settling_processes(db_url, monkeypatch):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    result = invoke(db_url, "worker", "--burst", "--concurrency", "2", "--memory-limit", "8GB", "--poll", "0.1")
    assert result.exit_code == 0, result.output
    assert os.environ.pop(MEMORY_LIMIT_ENV) == str(4 * 10**9)


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_a_worker_settles_a_run_in_chunks_within_its_limit(db_url):
    queued = invoke(db_url, "enqueue", *MONTH, "--memory-limit", "300MB", "--json")
    assert queued.exit_code == 0, queued.output
    run_id = json.loads(queued.output)["run_ids"][0]
    worked = invoke(db_url, "worker", "--burst", "--memory-limit", "300MB", "--poll", "0.1")
    assert worked.exit_code == 0, worked.output
    os.environ.pop(MEMORY_LIMIT_ENV, None)
    whole = invoke(db_url, "run", *MONTH, "--json", env={MEMORY_LIMIT_ENV: "64GiB"})
    assert whole.exit_code == 0, whole.output
    other = json.loads(whole.output)["run_id"]
    sql = (f"SELECT COUNT(*) AS n, SUM(CASE WHEN a.bill = b.bill THEN 1 ELSE 0 END) AS same FROM bills a "
           f"JOIN bills b ON b.run_id = {other} AND b.mechanism = a.mechanism AND b.household = a.household "
           f"WHERE a.run_id = {run_id}")
    counted = json.loads(invoke(db_url, "query", sql, "--format", "json").output)[0]
    assert counted["n"] == 3 * 500 and counted["same"] == counted["n"]
