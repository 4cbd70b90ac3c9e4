"""``runs delete``, ``db info`` and ``db vacuum`` from the command line, on both backends."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from db_counts import table_counts
from p2pstore.cli import cli


def invoke(db_url, *args, input=None):
    return CliRunner().invoke(cli, ["--db", db_url, *args], input=input, catch_exceptions=False)


def _run(db_url, *args) -> int:
    r = invoke(db_url, "run", "--days", "2", "--json", *args)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)["run_id"]


def test_delete_asks_first_and_deletes_only_those_runs(db_url):
    keep, gone = _run(db_url), _run(db_url, "--seed", "3", "--batch", "old")
    before = table_counts(db_url)
    r = invoke(db_url, "runs", "delete", str(gone), input="n\n")
    assert r.exit_code == 1 and "Delete 1 run(s) (succeeded 1)" in r.output
    assert table_counts(db_url) == before  # declined: nothing deleted

    r = invoke(db_url, "runs", "delete", str(gone), input="y\n")
    assert r.exit_code == 0, r.output
    assert f"deleted 1 run(s): {gone}" in r.output and "p2pstore db vacuum" in r.output
    after = table_counts(db_url)
    assert after["runs"] == 1 and after["scenarios"] == before["scenarios"]
    for table in ("bills", "households", "clearing_prices", "household_series", "run_metrics"):
        assert after[table] == before[table] // 2, table  # two runs of the same size, one left
    q = invoke(db_url, "query", "SELECT DISTINCT run_id FROM bills", "--format", "json")
    assert json.loads(q.output) == [{"run_id": keep}]


def test_delete_batch_yes_json(db_url):
    a, b = _run(db_url, "--batch", "x"), _run(db_url, "--batch", "x", "--seed", "5")
    r = invoke(db_url, "runs", "delete", "--batch", "x", "--yes", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["run_ids"] == [a, b] and out["rows"]["runs"] == 2 and out["rows"]["bills"] == 2 * 3 * 10
    assert table_counts(db_url)["bills"] == 0


def test_delete_refusals_are_one_line_exit_2(db_url):
    rid = _run(db_url)
    invoke(db_url, "enqueue", "--days", "1", "--batch", "q")
    before = table_counts(db_url)
    for args, message in ((["999", "--yes"], "no run with id 999"),
                          (["--batch", "nope", "--yes"], "no runs in batch 'nope'"),
                          (["--yes"], "give run ids or --batch"),
                          ([str(rid), "--batch", "q", "--yes"], "not both")):
        r = invoke(db_url, "runs", "delete", *args)
        assert r.exit_code == 2, r.output
        assert message in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert table_counts(db_url) == before


def test_delete_refuses_a_running_run(db_url):
    from p2pstore.scenario import Scenario
    from p2pstore.store import RunRequest, Store

    with Store(db_url) as store:
        claim = store.create_claimed_run(RunRequest(Scenario(days=1)), "cli@host:1", lease_s=60)
    before = table_counts(db_url)
    r = invoke(db_url, "runs", "delete", str(claim.run_id), "--yes")
    assert r.exit_code == 2 and f"run {claim.run_id} is running" in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1
    assert table_counts(db_url) == before


def test_db_info_and_vacuum(db_url, backend):
    rid = _run(db_url)
    r = invoke(db_url, "db", "info", "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    assert info["backend"] == backend and info["revision"] == info["head"]
    assert info["runs"]["succeeded"] == 1 and info["rows"]["bills"] == 30 and info["size_bytes"] > 0
    assert info["views"] == ["clearing_prices", "community_series", "household_series"]  # rows of the run's series
    assert info["rows"]["clearing_prices"] == info["rows"]["community_series"] == 3 * 2 * 96
    assert info["rows"]["household_series"] == info["rows"]["household_slots"] * 3 > 0
    text = invoke(db_url, "db", "info").output
    assert "succeeded 1" in text and "revision" in text
    assert re.search(r"household_series +[\d,]+ +\(view\)", text), text

    assert invoke(db_url, "runs", "delete", str(rid), "--yes").exit_code == 0
    r = invoke(db_url, "db", "vacuum", "--json")
    assert r.exit_code == 0, r.output
    sizes = json.loads(r.output)
    assert sizes["size_bytes_before"] > 0 and sizes["size_bytes_after"] > 0
    if backend == "sqlite":
        assert sizes["size_bytes_after"] < sizes["size_bytes_before"]
    r = invoke(db_url, "db", "vacuum")
    assert r.exit_code == 0 and r.output.startswith("vacuumed: database "), r.output


def test_db_info_hides_the_password(backend):
    if backend != "postgresql":
        return
    from pg_databases import drop_pg_database, make_pg_database
    from sqlalchemy.engine import make_url

    url = make_pg_database()
    try:
        _run(url)
        secret = make_url(url).set(password="s3cret-pw").render_as_string(hide_password=False)
        r = CliRunner().invoke(cli, ["--db", secret, "db", "info"])
        assert "s3cret-pw" not in r.output
    finally:
        drop_pg_database(url)
