"""`p2pstore query` on both backends: rows stream, --limit keeps the terminal safe, --timeout
ends a runaway statement in one line."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from p2pstore.cli import cli
from p2pstore.cli.formatting import TABLE_ROW_LIMIT

ROWS = TABLE_ROW_LIMIT + 5
SERIES = f"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {ROWS}) SELECT n, n * 0.5 AS half FROM r"
ENDLESS = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r"


@pytest.fixture
def q(db_url):
    assert CliRunner().invoke(cli, ["--db", db_url, "run", "--days", "1", "--series", "none"]).exit_code == 0

    def query(*args):
        return CliRunner().invoke(cli, ["--db", db_url, "query", *args])

    return query


def test_table_format_shows_the_first_rows_and_says_so(q):
    result = q(SERIES)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["n", "half"] and set(lines[1]) <= {"-", " "}  # header and its rule
    assert len(lines) == 2 + TABLE_ROW_LIMIT
    assert lines[-1].split()[0] == str(TABLE_ROW_LIMIT)
    assert f"only the first {TABLE_ROW_LIMIT} rows" in result.stderr
    everything = q(SERIES, "--limit", "0")
    assert len(everything.stdout.splitlines()) == 2 + ROWS and everything.stderr == ""


def test_csv_and_json_stream_every_row(q):
    csv_out = q(SERIES, "--format", "csv")
    assert csv_out.exit_code == 0 and csv_out.stderr == ""
    lines = csv_out.stdout.splitlines()
    assert lines[0] == "n,half" and len(lines) == 1 + ROWS and lines[2] == "2,1.0"
    records = json.loads(q(SERIES, "--format", "json").stdout)
    assert len(records) == ROWS and records[1] == {"n": 2, "half": 1.0}
    assert json.loads(q("SELECT 1 AS x WHERE 1 = 0", "--format", "json").stdout) == []
    assert q("SELECT 1 AS x WHERE 1 = 0").stdout == "(no rows)\n"


def test_limit_on_an_endless_query_returns_at_once(q):
    start = time.monotonic()
    result = q(ENDLESS, "--limit", "3", "--format", "csv")
    assert result.exit_code == 0 and result.stdout == "n\n1\n2\n3\n"
    assert "only the first 3 rows" in result.stderr
    assert time.monotonic() - start < 30


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_timeout_ends_a_runaway_query_in_one_line(q, backend):
    for sql in [f"SELECT count(*) FROM ({ENDLESS}) AS e", *(["SELECT pg_sleep(60)"] if backend == "postgresql" else [])]:
        start = time.monotonic()
        result = q(sql, "--timeout", "2")
        assert result.exit_code == 2 and result.output == "Error: query timed out after 2 s (--timeout SECONDS; " \
                                                          "0 for no limit)\n"
        assert time.monotonic() - start < 30


def test_refusals_are_one_line(q, backend, tmp_path):
    target = tmp_path / "copy.db"
    sql = "VACUUM INTO '{}'" if backend == "sqlite" else "COPY (SELECT 1) TO '{}'"
    result = q(sql.format(target))
    assert result.exit_code == 2 and result.output.startswith("Error: read-only: ")
    assert result.output.count("\n") == 1 and not target.exists()


def test_timeout_bounds_the_streaming_too(q, db_url):
    """Each fetch of a stream is fast, but the query as a whole may not outlive --timeout: once
    the time is up no further batch is fetched (the consumer here waits past the deadline
    between two batches, deterministically)."""
    from p2pstore.store import Store
    from p2pstore.store.querygate.query import BATCH_ROWS, open_readonly_query

    with Store(db_url) as store:
        started = time.monotonic()
        with pytest.raises(Exception, match=r"^query timed out after 1 s \(--timeout SECONDS; 0 for no limit\)$"):
            with open_readonly_query(store.engine, f"SELECT n FROM ({SERIES.replace(str(ROWS), str(10 * BATCH_ROWS))})"
                                                   " AS s", timeout=1) as result:
                batches = result.batches()
                assert len(next(batches)) == BATCH_ROWS
                while time.monotonic() < started + 1.05:  # past the deadline: a clock, not a sized scenario
                    time.sleep(0.05)
                next(batches)


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_a_long_stream_ends_at_the_timeout(q, backend, db_url):
    """30 million rows streamed: `--timeout 3` ends the whole query within 3 + 2 s,
    in one line, whatever the size of each fetch (on PostgreSQL each fetch is a statement of
    its own, which statement_timeout alone would bound one by one)."""
    sql = ("SELECT g, g * 0.5 AS half FROM generate_series(1, 30000000) AS g" if backend == "postgresql" else
           SERIES.replace(str(ROWS), "30000000"))
    started = time.monotonic()
    result = q(sql, "--format", "csv", "--timeout", "3")
    elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.stderr
    assert result.stderr == "Error: query timed out after 3 s (--timeout SECONDS; 0 for no limit)\n"
    assert elapsed <= 3 + 2, elapsed
