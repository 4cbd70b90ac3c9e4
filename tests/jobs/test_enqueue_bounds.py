"""Huge sweeps are counted before anything is built: ``enqueue --seeds 1..1000000`` and
``1..100000000`` are refused within seconds and a small, fixed amount of memory, naming the
limit, and write nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, inspect, text

from p2pstore.jobs.enqueue import MAX_RUNS, expand, parse_seeds
from p2pstore.scenario import Scenario

# the enqueue in a child of a fresh interpreter, which then reports that child's peak memory
MEASURED = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
sys.stderr.write(done.stderr)
"""


@pytest.mark.parametrize("seeds", ["1..1000000", "1..100000000"])
def test_huge_sweeps_are_refused_at_once(db_url, seeds):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", MEASURED, sys.executable, "-m", "p2pstore", "--db", db_url,
                           "enqueue", "--days", "1", "--seeds", seeds], capture_output=True, text=True, timeout=60)
    seconds = time.monotonic() - started
    rc, peak = map(int, done.stdout.split())
    count = int(seeds.split("..")[1])
    assert rc == 2, done.stderr
    assert done.stderr.strip() == (f"Error: the sweep makes {count:,} runs, more than the limit of {MAX_RUNS:,} "
                                   "runs per enqueue (queue it in parts with one --batch name)")
    assert seconds <= 10 and peak <= 300 * 2**20, (seconds, peak)
    engine = create_engine(db_url)
    try:
        if "runs" in inspect(engine).get_table_names():
            with engine.connect() as conn:
                assert conn.execute(text("SELECT COUNT(*) FROM runs")).scalar() == 0
    finally:
        engine.dispose()


def test_seeds_are_counted_not_listed():
    assert parse_seeds("1..100000000") == range(1, 100_000_001)
    assert len(expand(Scenario(days=1), [], parse_seeds("1..3"))) == 3
    assert [s.seed for s in expand(Scenario(days=1), [], parse_seeds("5..7"))] == [5, 6, 7]


def test_a_product_over_the_limit_is_refused_before_it_is_built(monkeypatch):
    built = []
    monkeypatch.setattr(Scenario, "replace", lambda self, **kw: built.append(kw))
    with pytest.raises(Exception, match=f"the sweep makes {MAX_RUNS + 2:,} runs, more than the limit"):
        expand(Scenario(days=1), [("prosumers", [3, 4])], parse_seeds(f"1..{MAX_RUNS // 2 + 1}"))
    assert built == []
