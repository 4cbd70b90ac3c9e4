"""What ``p2pstore run`` loads and how it runs: no pandas, Alembic or SQLAlchemy ORM, no scan of
installed plugins for built-in mechanisms, one BLAS thread unless the user sets one, and the
cyclic garbage collector back on once the command is done."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from p2pstore.cli import BLAS_THREAD_VARIABLES

PROBE = (
    "import atexit, gc, os, sys\n"
    "from p2pstore import registry\n"
    "def report():\n"
    "    heavy = [m for m in ('pandas', 'alembic', 'sqlalchemy.orm', 'matplotlib') if m in sys.modules]\n"
    "    print('HEAVY=' + ','.join(heavy))\n"
    "    print('SCANNED=%d' % registry._entry_point_plugins.cache_info().currsize)\n"
    "    print('GC=%s' % gc.isenabled())\n"
    "    print('BLAS=' + os.environ.get('OPENBLAS_NUM_THREADS', '-'))\n"
    "atexit.register(report)\n"
    "from p2pstore.cli import main\n"
    "main(sys.argv[1:])\n"
)


def _cli(args, **env):
    base = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARIABLES}
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300,
                          env={**base, **env})


@pytest.fixture
def migrated(tmp_path):
    url = f"sqlite:///{tmp_path / 'p2pstore.db'}"
    done = _cli(["--db", url, "db", "upgrade"])
    assert done.returncode == 0, done.stderr
    return url


def _probe(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.splitlines() if line.split("=", 1)[0] in
                ("HEAVY", "SCANNED", "GC", "BLAS"))


def test_run_loads_only_what_settling_and_storing_need(migrated):
    result = _cli(["--db", migrated, "run", "--days", "2", "--series", "none"])
    assert result.returncode == 0, result.stderr
    assert _probe(result.stdout) == {"HEAVY": "", "SCANNED": "0", "GC": "True", "BLAS": "1"}


def test_a_blas_thread_count_the_user_sets_is_kept(migrated):
    result = _cli(["--db", migrated, "run", "--days", "1", "--series", "none"], OPENBLAS_NUM_THREADS="2")
    assert result.returncode == 0, result.stderr
    assert _probe(result.stdout)["BLAS"] == "2"
