"""The cookbook of docs/schema.md over a stored 100-household full-series year, on both backends.

    python benchmarks/bench_queries.py                              # both backends, 2 repeats
    python benchmarks/bench_queries.py --backends sqlite --days 30 --repeat 3

On each backend a fresh database gets one run stored by ``p2pstore run --series full`` (30
consumers + 70 prosumers x 365 days, the 3 default mechanisms), timed all-in as a subprocess.
Then every ```sql block of the "Cookbook" section of docs/schema.md (``:run_id`` filled in), and
the per-household aggregate, run through ``p2pstore query``'s read-only path (rows fetched to
the end, no time limit), ``--repeat`` times. Printed: per query the median and spread (min-max)
of its time and the ratio of the median to the run's time (goal: <= 4x on both backends), and the
load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGGREGATE = ("SELECT mechanism, household, SUM(cost) FROM household_series WHERE run_id = :run_id "
             "GROUP BY mechanism, household")


def cookbook() -> list[tuple[str, str]]:
    text = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    section = text[text.index("## Cookbook"):]
    end = section.find("\n## ", 4)
    section = section if end < 0 else section[:end]
    queries = [("aggregate (sum of cost per mechanism and household)", AGGREGATE)]
    for match in re.finditer(r"```sql\n(.*?)```", section, re.S):
        intro = section[:match.start()].strip().rsplit("\n\n", 1)[-1].replace("\n", " ")
        queries.append((intro.split(":")[0][:60], match.group(1).strip().rstrip(";")))
    return queries


def new_db(backend: str, tmp: str, admin: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp}/{uuid.uuid4().hex}.db"
    import psycopg

    name = f"p2pstore_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + "/" + name


def drop_db(url: str, admin: str) -> None:
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def measure(backend: str, args) -> None:
    from p2pstore.store import Store
    from p2pstore.store.querygate.query import run_readonly_query

    with tempfile.TemporaryDirectory(prefix="bench_queries_") as tmp:
        url = new_db(backend, tmp, args.admin_url)
        try:
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "p2pstore", "--db", url, "run", "--consumers", "30",
                            "--prosumers", "70", "--days", str(args.days), "--series", "full", "--json"],
                           check=True, stdout=subprocess.DEVNULL)
            run_s = time.perf_counter() - t0
            print(f"{backend}: run stored in {run_s:.1f} s (100 households x {args.days} days, full series; "
                  f"load average {load:.1f} -> {os.getloadavg()[0]:.1f})")
            with Store(url) as store:
                run_id = run_readonly_query(store.engine, "SELECT MAX(id) FROM runs")[1][0][0]
                for name, sql in cookbook():
                    times = []
                    for _ in range(args.repeat):
                        t0 = time.perf_counter()
                        _, rows = run_readonly_query(store.engine, sql.replace(":run_id", str(run_id)), timeout=None)
                        times.append(time.perf_counter() - t0)
                    med = statistics.median(times)
                    print(f"  {name}: {len(rows)} rows, median {med:.2f} s (min {min(times):.2f}, max {max(times):.2f})"
                          f" = {med / run_s:.2f}x the run; load average {os.getloadavg()[0]:.1f}")
        finally:
            drop_db(url, args.admin_url)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--admin-url", default=os.environ.get("P2PSTORE_TEST_PG_ADMIN_URL",
                                                         "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = ap.parse_args()
    for backend in args.backends.split(","):
        measure(backend, args)


if __name__ == "__main__":
    main()
