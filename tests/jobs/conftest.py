"""Fixtures for queue, worker and schedule tests: a migrated store, the CLI in-process and as
subprocesses (each in its own process group), and gates that hold a run at a named point
(:mod:`p2pstore.jobs.holds`) until the test releases it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from signal import SIGKILL, SIGTERM, SIGUSR1

import pytest
import sqlalchemy as sa

#: Small, fast scenario flags for queue tests (1 day, no per-slot series).
SMALL = ["--days", "1", "--series", "none"]

CLI_CODE = "import sys; from p2pstore.cli import main; main(sys.argv[1:])"

#: Short worker timings so faults resolve in seconds.
FAST = ["--poll", "0.2", "--heartbeat", "0.3", "--stale-after", "2", "--backoff", "0.2",
        "--connect-retry", "0.3", "--schedule-sync", "0.5"]


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


class Gates:
    """A directory of hold gates for one or more processes (``P2PSTORE_TEST_HOLD``)."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def close(self, point: str, run_id: int | None = None) -> None:
        """Hold runs (all, or ``run_id``) when they reach ``point``."""
        (self.path / (point if run_id is None else f"{point}-{run_id}")).touch()

    def open(self, point: str, run_id: int | None = None) -> None:
        (self.path / (point if run_id is None else f"{point}-{run_id}")).unlink(missing_ok=True)

    def reached(self, point: str) -> list[int]:
        """Ids of the runs that reached ``point`` while a gate was closed."""
        return sorted(int(p.name[len(point) + 1:-len(".reached")]) for p in self.path.glob(f"{point}-*.reached"))

    def passes(self, point: str, who: str) -> int:
        """How often ``who`` passed ``point`` (:func:`p2pstore.jobs.holds.mark`)."""
        path = self.path / f"{point}-{who}.passed"
        return len(path.read_text().splitlines()) if path.exists() else 0

    def wait(self, point: str, run_id: int | None = None, timeout: float = 120) -> int:
        """Wait until a run (``run_id``, or any) is held at ``point``; return its id."""
        def held():
            ids = self.reached(point)
            return (run_id if run_id in ids else None) if run_id is not None else (ids[0] if ids else None)

        return wait_for(held, timeout, what=f"a run held at {point!r}")


class Proc:
    """``p2pstore --db URL ARGS`` as a subprocess in its own process group, output to a file."""

    def __init__(self, db_url: str, tmp_path: Path, name: str, *args: str, gates: Gates | None = None):
        self.name = name
        self.args = list(args)
        self.log_path = tmp_path / f"{name}.log"
        self._log = open(self.log_path, "w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("P2PSTORE_DATABASE_URL", None)
        env.pop("P2PSTORE_TEST_HOLD", None)
        if gates is not None:
            env["P2PSTORE_TEST_HOLD"] = str(gates.path)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CLI_CODE, "--db", db_url, *args],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def wait(self, timeout: float = 120) -> int:
        return self.proc.wait(timeout)

    def signal(self, sig=SIGTERM) -> None:
        self.proc.send_signal(sig)

    def signal_group(self, sig=SIGTERM) -> None:
        """Send ``sig`` to the whole process group (as systemd, ``timeout`` or a shell would)."""
        os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        if self.proc.poll() is None:
            if self.args[:1] == ["worker"]:  # still running at teardown: show where it waits
                try:
                    self.proc.send_signal(SIGUSR1)
                    time.sleep(0.5)
                except ProcessLookupError:
                    pass
            try:
                os.killpg(self.proc.pid, SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def procs(db_url, tmp_path):
    """Factory of ``p2pstore`` subprocesses; every one still alive at teardown is killed."""
    started: list[Proc] = []

    def start(name: str, *args: str, url: str | None = None, gates: Gates | None = None) -> Proc:
        p = Proc(url or db_url, tmp_path, name, *args, gates=gates)
        started.append(p)
        return p

    yield start
    for p in started:
        p.kill()
        # shown by pytest under "Captured stdout teardown" when the test failed
        print(f"--- {p.name} log ---\n{p.log}")


@pytest.fixture
def workers(procs):
    """Factory of ``p2pstore worker --name NAME ARGS`` subprocesses."""

    def start(name: str, *args: str, url: str | None = None, gates: Gates | None = None) -> Proc:
        return procs(name, "worker", "--name", name, *args, url=url, gates=gates)

    return start


@pytest.fixture
def gates(tmp_path) -> Gates:
    return Gates(tmp_path / "gates")


def wait_for(predicate, timeout: float = 60, every: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
