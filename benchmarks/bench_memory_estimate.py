"""Is the memory estimate that `run` and `enqueue` check an upper bound of a run's real peak?

    python benchmarks/bench_memory_estimate.py [--repeats 2] [--db sqlite|postgresql]

For each size, `p2pstore run` settles and stores one scenario in a fresh database (SQLite file, or
a fresh PostgreSQL database with --db postgresql) in a child process; its peak resident memory
(``ru_maxrss`` of the child) is compared with :func:`p2pstore.simulate.estimate_peak_bytes`.
Prints, per size and series mode, the median and spread of the measured peak over the repeats and
the ratio estimate / measured (>= 1: the estimate is an upper bound; the closer to 1 the fewer
feasible runs are refused).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import uuid

from p2pstore.scenario import Scenario
from p2pstore.simulate import estimate_peak_bytes

SIZES = [(20, 30, 30), (80, 120, 60), (200, 200, 90), (400, 600, 60)]  # consumers, prosumers, days
CHILD = ("import resource, sys; from p2pstore.cli import main\n"
         "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, file=sys.stderr)")


def peak_of_run(url: str, consumers: int, prosumers: int, days: int, series: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, "--db", url, "run", "--consumers", str(consumers),
                          "--prosumers", str(prosumers), "--days", str(days), "--series", series],
                         capture_output=True, text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1])


def fresh_url(backend: str, tmp: str) -> tuple[str, callable]:
    if backend == "sqlite":
        return f"sqlite:///{tmp}/{uuid.uuid4().hex}.db", lambda: None
    import psycopg

    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"p2pstore_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = ap.parse_args()
    print(f"{'households x days':>18} {'series':>6} {'measured MiB':>13} {'spread':>7} {'estimate MiB':>13} "
          f"{'estimate/measured':>18}")
    with tempfile.TemporaryDirectory() as tmp:
        for consumers, prosumers, days in SIZES:
            for series in ("full", "none"):
                peaks = []
                for _ in range(args.repeats):
                    url, drop = fresh_url(args.db, tmp)
                    try:
                        peaks.append(peak_of_run(url, consumers, prosumers, days, series))
                    finally:
                        drop()
                measured = statistics.median(peaks)
                estimate = estimate_peak_bytes(Scenario(consumers=consumers, prosumers=prosumers, days=days), series)
                print(f"{consumers + prosumers:>10} x {days:<5} {series:>6} {measured / 2**20:>13.0f} "
                      f"{(max(peaks) - min(peaks)) / 2**20:>7.0f} {estimate / 2**20:>13.0f} {estimate / measured:>18.2f}")


if __name__ == "__main__":
    main()
