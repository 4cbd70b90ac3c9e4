"""Export time and peak memory against the time of ``p2pstore run`` of the same scenario.

One SQLite database per repeat: ``p2pstore run`` settles and stores a ``--series full`` run
(100 households x 365 days by default: 10.5 M ``household_series`` rows), then ``p2pstore
export`` writes it as CSV and as Parquet. Each command is a child process; its wall time and
peak resident memory (``ru_maxrss`` of that child, from ``os.wait4``) are measured. Printed per
format: the export's time as a ratio of the run's time (median and spread over the repeats) and
its peak memory (targets: ratio <= 1.5, peak <= 1 GB). CPU seconds (user + system) of each
child are printed beside the wall times: the export formats CSV in several threads, so on a
machine busy with other work its wall time suffers more than the single-threaded run's.

    python benchmarks/bench_export.py                              # 100 households x 365 days
    python benchmarks/bench_export.py --households 20 --days 30 --repeats 3
    python benchmarks/bench_export.py --backend postgresql --households 20 --days 90

PostgreSQL databases (``--backend postgresql``, server from ``P2PSTORE_TEST_PG_ADMIN_URL``) are
created and dropped by this script.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import uuid
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = "import sys; from p2pstore.cli import main; main(sys.argv[1:])"


def timed(args: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB, CPU seconds: user + system) of ``p2pstore ARGS`` as a
    child process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"p2pstore {' '.join(args)} failed: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # ru_maxrss: KiB on Linux


DEFAULT_PG_ADMIN = os.environ.get("P2PSTORE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def database(backend: str, tmp: str):
    """URL of a fresh database: a SQLite file in ``tmp``, or a PostgreSQL database dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"p2pstore_bench_export_{uuid.uuid4().hex[:10]}"
    admin = create_engine(DEFAULT_PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(DEFAULT_PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    opts = parser.parse_args()
    formats = opts.formats.split(",")
    runs, exports = [], {f: [] for f in formats}
    for k in range(opts.repeats):
        with tempfile.TemporaryDirectory(prefix="p2pstore-bench-export-") as tmp, database(opts.backend, tmp) as url:
            run_s, run_mb, run_cpu = timed(["--db", url, "run", "--households", str(opts.households), "--prosumer-share", "0.7",
                                   "--days", str(opts.days), "--series", "full"])
            runs.append(run_s)
            print(f"repeat {k + 1}: run {run_s:7.1f} s (CPU {run_cpu:5.1f} s), peak {run_mb:6.0f} MB", flush=True)
            for fmt in formats:
                out = Path(tmp) / fmt
                secs, mb, cpu = timed(["--db", url, "export", "1", "--format", fmt, "-o", str(out)])
                size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
                exports[fmt].append((secs / run_s, secs, mb))
                print(f"          export {fmt:7s} {secs:7.1f} s ({secs / run_s:.2f}x run; CPU {cpu:5.1f} s, "
                      f"{cpu / run_cpu:.2f}x run's), peak {mb:6.0f} MB, files {size:,.0f} MB", flush=True)
                shutil.rmtree(out)
    print(f"\n{opts.households} households x {opts.days} days, series=full, {opts.backend}, {opts.repeats} repeat(s)")
    spread = f" (min {min(runs):.1f}, max {max(runs):.1f})" if len(runs) > 1 else ""
    print(f"run: median {statistics.median(runs):.1f} s{spread}")
    for fmt, rows in exports.items():
        ratios = [r for r, _, _ in rows]
        peaks = [m for _, _, m in rows]
        spread = f" (min {min(ratios):.2f}, max {max(ratios):.2f})" if len(ratios) > 1 else ""
        print(f"export {fmt}: median {statistics.median(s for _, s, _ in rows):.1f} s, "
              f"time/run median {statistics.median(ratios):.2f}x{spread}; "
              f"peak memory max {max(peaks):.0f} MB")


if __name__ == "__main__":
    main()
