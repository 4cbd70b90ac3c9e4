"""End-to-end CLI on SQLite and PostgreSQL: run, runs, bills, query, db; bad input changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from db_counts import table_counts
from p2pstore.cli import cli

NOTEBOOK_TOTALS = {"conventional": 7010.37, "mmr": 6491.37, "bill_sharing": 6572.98}


def invoke(db_url, *args):
    result = CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)
    return result


@pytest.mark.slow
def test_default_run_reproduces_the_notebook(db_url):
    result = invoke(db_url, "run", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {m: round(v, 2) for m, v in out["totals"].items()} == NOTEBOOK_TOTALS
    assert list(out["bills"]["mmr"]) == ["C1", "C2", "C3", "P1", "P2", "P3", "P4", "P5", "P6", "P7"]
    run_id = out["run_id"]

    # the stored bills are the printed ones, read back through the read-only query command
    q = invoke(db_url, "query", f"SELECT mechanism, household, bill FROM bills WHERE run_id = {run_id}",
               "--format", "json")
    assert q.exit_code == 0, q.output
    rows = json.loads(q.output)
    assert len(rows) == 30
    for row in rows:
        assert row["bill"] == pytest.approx(out["bills"][row["mechanism"]][row["household"]], rel=1e-12)

    counts = table_counts(db_url)
    assert counts["household_series"] == 3 * 10 * 2880
    assert counts["clearing_prices"] == 3 * 2880
    assert counts["daily_bills"] == 3 * 30
    assert counts["runs"] == 1


def test_human_output_and_daily_table(db_url):
    result = invoke(db_url, "run", "--days", "3", "--daily", "--series", "none")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("run 1: 10 households, 3 days, 288 slots, series=none")
    assert "bill_sharing" in result.output
    assert "avg_load_kWh_per_house" in result.output and "bill_bs_Rs" in result.output
    counts = table_counts(db_url)
    assert counts["household_series"] == 0 and counts["community_series"] == 0
    assert counts["clearing_prices"] == 3 * 288 and counts["bills"] == 30


def test_series_community_stores_aggregates_only(db_url):
    assert invoke(db_url, "run", "--days", "2", "--series", "community").exit_code == 0
    counts = table_counts(db_url)
    assert counts["household_series"] == 0
    assert counts["community_series"] == 3 * 192


def test_runs_bills_and_formats(db_url, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text("seed = 9\nconsumers = 2\nprosumers = 4\ndays = 2\n")
    first = json.loads(invoke(db_url, "run", str(scenario), "--json").output)
    second = json.loads(invoke(db_url, "run", str(scenario), "--seed", "10", "--json",
                               "--mechanism", "mmr").output)
    assert list(second["totals"]) == ["mmr"]

    runs = json.loads(invoke(db_url, "runs", "list", "--json").output)
    assert [r["run_id"] for r in runs] == [first["run_id"], second["run_id"]]
    assert [r["seed"] for r in runs] == [9, 10]
    assert all(r["status"] == "succeeded" for r in runs)

    show = json.loads(invoke(db_url, "runs", "show", str(first["run_id"]), "--json").output)
    assert show["scenario"]["seed"] == 9 and show["run"]["status"] == "succeeded"
    assert show["totals"]["mmr"] == pytest.approx(first["totals"]["mmr"], rel=1e-12)

    csv = invoke(db_url, "bills", str(first["run_id"]), "--format", "csv").output
    from io import StringIO

    df = pd.read_csv(StringIO(csv))
    assert list(df.columns) == ["household", "conventional", "mmr", "bill_sharing"]
    assert list(df["household"]) == ["C1", "C2", "P1", "P2", "P3", "P4"]
    assert df["bill_sharing"].sum() == pytest.approx(first["totals"]["bill_sharing"], rel=1e-12)
    table = invoke(db_url, "bills", str(first["run_id"])).output
    assert "household" in table and "P4" in table


def test_query_refuses_writes_and_changes_nothing(db_url):
    assert invoke(db_url, "run", "--days", "1", "--series", "none").exit_code == 0
    before = table_counts(db_url)
    for sql in ("DELETE FROM bills", "INSERT INTO runs (id) VALUES (99)", "DROP TABLE bills",
                "UPDATE bills SET bill = 0"):
        result = CliRunner().invoke(cli, ["--db", db_url, "query", sql])
        assert result.exit_code == 2, (sql, result.output)
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1
        assert "Traceback" not in result.output
    assert table_counts(db_url) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--mechanism", "auction"], "unknown mechanism 'auction'"),
        (["run", "--days", "0"], "'days': must be positive"),
        (["run", "--prosumers", "-3"], "'prosumers': must be positive"),
        (["run", "BAD_TOML"], "not valid TOML"),
        (["run", "UNKNOWN_KEY"], "'colour': unknown key"),
        (["run", "INVERTED"], "inverted range"),
        (["runs", "show", "12345"], "run 12345"),
        (["bills", "12345"], "run 12345"),
        (["query", "SELECT * FROM no_such_table"], "no_such_table"),
    ],
)
def test_bad_input_one_line_error_no_partial_write(db_url, tmp_path, args, message):
    files = {
        "BAD_TOML": "seed = = 4\n",
        "UNKNOWN_KEY": "colour = 'red'\n",
        "INVERTED": "consumer_daily_kwh = [7.0, 4.0]\n",
    }
    args = list(args)
    for i, a in enumerate(args):
        if a in files:
            path = tmp_path / f"{a.lower()}.toml"
            path.write_text(files[a])
            args[i] = str(path)
    assert invoke(db_url, "run", "--days", "1", "--series", "none").exit_code == 0
    before = table_counts(db_url)
    result = CliRunner().invoke(cli, ["--db", db_url, *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert message in result.output
    assert table_counts(db_url) == before


def test_console_script_error_has_no_traceback(tmp_path):
    """Through the real entry point: wrong URL and bad flag give one line on stderr, exit 2."""
    for url in ("postgresql://postgres@127.0.0.1:1/nowhere", "mysql+nodriver://x/y", "not a url"):
        proc = subprocess.run([sys.executable, "-m", "p2pstore", "--db", url, "runs", "list"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("Error: ") and proc.stderr.count("\n") == 1, proc.stderr
        assert "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "p2pstore", "--db", f"sqlite:///{tmp_path}/x.db",
                           "run", "--days", "-1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "'days'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.db").exists() or table_counts(f"sqlite:///{tmp_path}/x.db").get("runs", 0) == 0


def test_db_current_and_upgrade(db_url):
    up = invoke(db_url, "db", "upgrade")
    assert up.exit_code == 0 and up.output.startswith("empty -> ")
    cur = invoke(db_url, "db", "current").output
    lines = cur.splitlines()
    assert lines[0].split()[-1] == lines[1].split()[-1]  # current == head


def test_version_and_help():
    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).output.startswith("p2pstore, version ")
    for cmd in (["run"], ["runs", "list"], ["runs", "show"], ["bills"], ["query"], ["db", "upgrade"]):
        out = runner.invoke(cli, [*cmd, "--help"]).output
        assert "Usage: " in out
    assert "Example" in runner.invoke(cli, ["run", "--help"]).output
