"""Fixtures for queue, worker and schedule tests: a migrated store, the CLI, worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

#: Small, fast scenario flags for queue tests (1 day, no per-slot series).
SMALL = ["--days", "1", "--series", "none"]

WORKER_CODE = "import sys; from p2pstore.cli import main; main(sys.argv[1:])"


@pytest.fixture
def store(db_url):
    from p2pstore.store import Store

    s = Store(db_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def cli(db_url):
    """Invoke ``p2pstore --db URL ...`` in-process; returns the click Result."""
    from click.testing import CliRunner

    from p2pstore.cli import cli as root

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(root, ["--db", db_url, *args], catch_exceptions=False)

    return invoke


def unsettleable_scenario():
    """A spec that fails when a run executes: PV with a yield of 0 kWh/kWp cannot be sized. Today's
    validation refuses it, so it is built around validation, like a spec stored by an older
    p2pstore; executing it fails with a ScenarioError naming the field."""
    from p2pstore.scenario import Scenario

    s = Scenario(days=1)
    object.__setattr__(s, "pv_yield_kwh_per_kwp", (0.0, 0.0))
    return s


def count(store, sql: str, **params) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def run_rows(store, where: str = "1=1") -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(f"SELECT * FROM runs WHERE {where} ORDER BY id")).mappings()]


class WorkerProc:
    """A ``p2pstore worker`` subprocess with its stderr captured to a file."""

    def __init__(self, db_url: str, tmp_path: Path, name: str, *args: str):
        self.name = name
        self.log_path = tmp_path / f"{name}.log"
        self._log = open(self.log_path, "w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("P2PSTORE_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER_CODE, "--db", db_url, "worker", "--name", name, *args],
            stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def signal(self, sig=signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def workers(db_url, tmp_path):
    """Factory of worker subprocesses; every one still alive at teardown is killed."""
    started: list[WorkerProc] = []

    def start(name: str, *args: str, url: str | None = None) -> WorkerProc:
        w = WorkerProc(url or db_url, tmp_path, name, *args)
        started.append(w)
        return w

    yield start
    for w in started:
        w.kill()
        # shown by pytest under "Captured stdout teardown" when the test failed
        print(f"--- worker {w.name} log ---\n{w.log}")


def wait_for(predicate, timeout: float = 60, every: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
