"""The cluster recipe's scripts (examples/cluster/) are valid bash, and the Slurm script's worker
command is a real p2pstore invocation: the script itself is run, with the environment Slurm gives
an array task, against a database holding queued runs, and must drain them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from p2pstore.cli import BLAS_THREAD_VARIABLES, cli
from p2pstore.jobs.enqueue import enqueue
from p2pstore.scenario import Scenario
from p2pstore.store import Store

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "examples" / "cluster"
SBATCH = CLUSTER / "worker.sbatch"
P2PSTORE = Path(sys.executable).with_name("p2pstore")


def slurm_env(db_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "P2PSTORE"))}
    env.update(SLURM_ARRAY_JOB_ID="4242", SLURM_ARRAY_TASK_ID="3", SLURM_JOB_ID="4245",
               SLURM_CPUS_PER_TASK="2", SLURM_MEM_PER_NODE="2048", **{"P2PSTORE": str(P2PSTORE), **extra})
    if db_url is not None:
        env["P2PSTORE_DATABASE_URL"] = db_url
    return env


@pytest.mark.parametrize("script", sorted(p.name for p in CLUSTER.iterdir() if p.suffix in (".sh", ".sbatch")))
def test_scripts_are_valid_bash(script):
    done = subprocess.run(["bash", "-n", str(CLUSTER / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (CLUSTER / script).read_text().startswith("#!/bin/bash\n")
    assert os.access(CLUSTER / script, os.X_OK)


def test_sbatch_directives_are_slurm_options():
    directives = re.findall(r"^#SBATCH (\S+)", SBATCH.read_text(), flags=re.M)
    assert {d.split("=")[0] for d in directives} >= {"--array", "--cpus-per-task", "--mem", "--time", "--signal"}
    # Slurm's warning must come early enough for the worker's grace period to end before the kill
    lead = int(re.search(r"^#SBATCH --signal=B:TERM@(\d+)$", SBATCH.read_text(), flags=re.M).group(1))
    grace = float(re.search(r"--grace (\d+)", SBATCH.read_text()).group(1))
    assert grace + 10 <= lead


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_sbatch_worker_command_drains_the_queue(db_url):
    """The script runs `p2pstore worker --burst ...` with the options it derives from Slurm's
    environment; it must exit 0 having settled every queued run, under the name it sets."""
    with Store(db_url) as store:
        ids = enqueue(store, [Scenario(seed=s, days=1, consumers=1, prosumers=1) for s in (1, 2)],
                      series="none", batch="slurm")
    done = subprocess.run(["bash", str(SBATCH)], env=slurm_env(db_url), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    with Store(db_url) as store, store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, status, worker FROM runs ORDER BY id")).all()
    assert [r.id for r in rows] == ids
    assert all(r.status == "succeeded" for r in rows), rows
    assert all(r.worker.startswith("slurm-4242_3@") for r in rows), rows


def test_sbatch_memory_limit_and_concurrency_from_slurm(tmp_path):
    """With a stand-in p2pstore that prints its arguments: --mem=2048 MiB gives --memory-limit
    1843MiB (90%), --cpus-per-task gives --concurrency, and the real CLI accepts both values."""
    fake = tmp_path / "p2pstore"
    fake.write_text('#!/bin/bash\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    env = slurm_env("sqlite:///unused.db", P2PSTORE=str(fake))
    args = subprocess.run(["bash", str(SBATCH)], env=env, capture_output=True, text=True,
                          check=True).stdout.splitlines()
    assert args[:2] == ["worker", "--burst"]
    opts = dict(zip(args[2::2], args[3::2]))
    assert opts["--concurrency"] == "2" and opts["--memory-limit"] == "1843MiB"
    del env["SLURM_MEM_PER_NODE"]
    env["SLURM_MEM_PER_CPU"] = "1000"
    args = subprocess.run(["bash", str(SBATCH)], env=env, capture_output=True, text=True,
                          check=True).stdout.splitlines()
    assert dict(zip(args[2::2], args[3::2]))["--memory-limit"] == "1800MiB"
    # the real CLI parses and converts these arguments (types, ranges) without running a worker
    ctx = cli.get_command(None, "worker").make_context("worker", args[1:])
    assert ctx.params["burst"] is True and ctx.params["concurrency"] == 2
    assert ctx.params["memory_limit"] == 1800 * 2**20 and ctx.params["grace"] == 90


def test_sbatch_one_blas_thread_per_settling_process(tmp_path):
    """A site's environment that sizes thread pools to the task's cores (OMP_NUM_THREADS=2 with
    --cpus-per-task=2) would give each of the --concurrency settling processes that many threads:
    the script runs the worker with one thread for every BLAS library p2pstore knows and OpenMP."""
    fake = tmp_path / "p2pstore"
    fake.write_text('#!/bin/bash\nenv\n')
    fake.chmod(0o755)
    names = (*BLAS_THREAD_VARIABLES, "OMP_NUM_THREADS")
    env = slurm_env("sqlite:///unused.db", P2PSTORE=str(fake), **dict.fromkeys(names, "2"))
    seen = dict(line.split("=", 1) for line in subprocess.run(
        ["bash", str(SBATCH)], env=env, capture_output=True, text=True, check=True).stdout.splitlines() if "=" in line)
    assert {name: seen.get(name) for name in names} == dict.fromkeys(names, "1")


def test_sbatch_without_database_url_says_so():
    done = subprocess.run(["bash", str(SBATCH)], env=slurm_env(None), capture_output=True, text=True)
    assert done.returncode != 0
    assert "P2PSTORE_DATABASE_URL" in done.stderr and "Traceback" not in done.stderr


def test_postgres_node_script_refuses_without_password(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("P2PSTORE")}
    env["PGDATA"] = str(tmp_path / "pg")
    done = subprocess.run(["bash", str(CLUSTER / "postgres-node.sh")], env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "P2PSTORE_DB_PASSWORD" in done.stderr
    assert not (tmp_path / "pg").exists()
