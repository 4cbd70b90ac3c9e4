"""Profile-set import: ``p2pstore profiles import`` against pandas + the raw driver, and its memory.

Writes a wide load and PV CSV of ``--households`` households over ``--days`` days of 30-minute
data (a Solar-Home-sized set), then measures, each in a fresh child process and database:

1. **import**: ``import_profiles(store, ..., slot_minutes=15)`` (:mod:`p2pstore.jobs.build_profiles`): read, validate, resample to 15
   minutes, hash, and store the set in one transaction (everything ``profiles import`` does);
2. **baseline**: ``pandas.read_csv`` of the same two files, the same resampling (``np.repeat``),
   and the raw driver's bulk write of the same values into a table shaped like
   ``profile_values`` (sqlite3 ``executemany``; psycopg ``COPY ... FROM STDIN (FORMAT BINARY)``
   with ``write_row``), in one transaction.

It prints the median and spread of each over ``--repeats`` (alternating which goes first), their
ratio (goal: import <= 2x baseline), and the import's peak memory above the child's starting
RSS against the data's size in float64 (load + PV at 15 minutes; goal: <= 3x).

    python benchmarks/bench_import.py                              # 300 households x 365 days, SQLite
    python benchmarks/bench_import.py --backends sqlite,postgresql --repeats 3
    python benchmarks/bench_import.py --households 50 --days 30    # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_store import DEFAULT_PG_ADMIN, Databases  # noqa: E402  (the sibling benchmark's helpers)


def write_files(directory: Path, households: int, days: int) -> tuple[Path, Path]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    times = pd.date_range("2025-01-01", periods=days * 48, freq="30min")
    hours = times.hour + times.minute / 60
    shape = 0.25 + 0.6 * np.exp(-0.5 * ((hours - 7.5) / 1.5) ** 2) + np.exp(-0.5 * ((hours - 19) / 2) ** 2)
    sun = np.clip(np.sin(np.pi * (hours - 6) / 12), 0, None)
    names = [f"customer-{i:04d}" for i in range(households)]
    load = np.outer(shape, rng.uniform(0.5, 1.5, households)) * rng.normal(1, 0.1, (len(times), households)).clip(0)
    pv = np.outer(sun, rng.uniform(0, 4, households) * (rng.random(households) < 0.6))
    paths = directory / "load.csv", directory / "pv.csv"
    for path, values in zip(paths, (load, pv)):
        frame = pd.DataFrame(values, columns=names)
        frame.insert(0, "timestamp", times.strftime("%Y-%m-%d %H:%M"))
        frame.to_csv(path, index=False, float_format="%.4f")
    return paths


# -- the two measurements, each run in a child process -----------------------------------------
def rss_mb() -> float:
    """Current resident set size of this process, MB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def child_import(url: str, load: str, pv: str) -> dict:
    from p2pstore.jobs.build_profiles import import_profiles
    from p2pstore.store import Store

    store = Store(url)
    import numpy  # noqa: F401  (imports before the start line, as the baseline's)
    import pandas  # noqa: F401

    from p2pstore.profiles import importer  # noqa: F401

    start = rss_mb()
    t0 = time.perf_counter()
    out = import_profiles(store, "bench", load=load, pv=pv, slot_minutes=15)
    seconds = time.perf_counter() - t0
    store.close()
    return {"seconds": seconds, "start_mb": start, "rows": out["households"] * out["slots"]}


def child_baseline(url: str, load: str, pv: str) -> dict:
    import numpy as np
    import pandas as pd

    from p2pstore.store import Store

    Store(url).close()  # same schema; the raw table below is shaped like profile_values
    raw_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    ddl = ("CREATE TABLE raw_values (profile_set_id INTEGER NOT NULL, position INTEGER NOT NULL, "
           "slot INTEGER NOT NULL, load_kw FLOAT NOT NULL, pv_kw FLOAT NOT NULL, "
           "PRIMARY KEY (profile_set_id, position, slot))")
    start = rss_mb()
    t0 = time.perf_counter()
    frames = [pd.read_csv(path) for path in (load, pv)]
    values = [np.repeat(f.drop(columns="timestamp").to_numpy(np.float64).T, 2, axis=1) for f in frames]
    n, h = values[0].shape
    slots = np.arange(h).tolist()
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute(ddl)
        conn.execute("BEGIN")
        for k in range(n):
            conn.executemany("INSERT INTO raw_values VALUES (?, ?, ?, ?, ?)",
                             zip([1] * h, [k] * h, slots, values[0][k].tolist(), values[1][k].tolist()))
        conn.execute("COMMIT")
        conn.close()
    else:
        import psycopg

        with psycopg.connect(raw_url) as conn:
            conn.execute(ddl)
            with conn.cursor() as cur, cur.copy("COPY raw_values FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "int4", "int4", "float8", "float8"])
                for k in range(n):
                    for row in zip([1] * h, [k] * h, slots, values[0][k].tolist(), values[1][k].tolist()):
                        copy.write_row(row)
            conn.commit()
    return {"seconds": time.perf_counter() - t0, "start_mb": start, "rows": n * h}


def run_child(kind: str, url: str, load: Path, pv: Path) -> dict:
    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
            f"import bench_import as b, resource; out = b.child_{kind}({url!r}, {str(load)!r}, {str(pv)!r}); "
            "out['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3; print(json.dumps(out))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{kind} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=300)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--backends", default="sqlite")
    ap.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        t0 = time.perf_counter()
        load, pv = write_files(Path(tmp), args.households, args.days)
        size_mb = sum(p.stat().st_size for p in (load, pv)) / 1e6
        data_mb = 2 * args.households * args.days * 96 * 8 / 1e6
        print(f"files: {args.households} households x {args.days} days of 30-minute data, {size_mb:.0f} MB of CSV "
              f"(written in {time.perf_counter() - t0:.0f} s); imported at 15 minutes: {data_mb:.0f} MB in float64")
        dbs = Databases(args.pg_admin_url)
        ok = True
        try:
            for backend in args.backends.split(","):
                runs: dict[str, list[dict]] = {"import": [], "baseline": []}
                for i in range(args.repeats):
                    for kind in (("import", "baseline") if i % 2 == 0 else ("baseline", "import")):
                        dbs.settle(backend)
                        runs[kind].append(run_child(kind, dbs.new(backend), load, pv))
                times = {k: [r["seconds"] for r in v] for k, v in runs.items()}
                med = {k: statistics.median(v) for k, v in times.items()}
                ratio = med["import"] / med["baseline"]
                peak = max(r["peak_mb"] - r["start_mb"] for r in runs["import"])
                base_peak = max(r["peak_mb"] - r["start_mb"] for r in runs["baseline"])
                for kind in ("import", "baseline"):
                    print(f"{backend:10s} {kind:8s} median {med[kind]:6.2f} s  (min {min(times[kind]):.2f}, "
                          f"max {max(times[kind]):.2f}; {runs[kind][0]['rows']:,} rows)")
                print(f"{backend:10s} ratio import / baseline {ratio:.2f}x (goal <= 2x); peak memory of the import "
                      f"{peak:.0f} MB = {peak / data_mb:.2f}x the data (goal <= 3x; baseline {base_peak:.0f} MB)")
                ok &= ratio <= 2 and peak <= 3 * data_mb
        finally:
            dbs.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
