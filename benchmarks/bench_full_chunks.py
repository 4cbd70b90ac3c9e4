"""``--series full`` at scale: wall time and peak memory of a run whose household series are written
a chunk at a time (``--memory-limit``) against the same run settled and written whole.

Runs, in a child process per case, on SQLite and (with ``--pg-admin-url``) on a PostgreSQL
database created for the benchmark and dropped after it::

    p2pstore --db URL run --households 2000 --prosumer-share 0.7 --days 30 --series full \\
        [--mechanism ...] [--memory-limit 300MB]

and prints, per backend and case, the wall time, the peak memory of the process tree (the sum
of the proportional set sizes, ``Pss`` of ``/proc/PID/smaps_rollup``, of the run and the chunk
processes it forks, sampled every 20 ms: forked processes share their parent's pages, so a sum of
RSS would count them twice), the largest single process's peak RSS (``wait4``), the machine's load
average, and the rows stored per table. Then it checks that both runs read back the same: bills
bit for bit, and the ``household_series`` view's sums per mechanism to 1e-12 relative plus every
column of every 97th household bit for bit.

    python benchmarks/bench_full_chunks.py
    python benchmarks/bench_full_chunks.py --pg-admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python benchmarks/bench_full_chunks.py --mechanism conventional --mechanism mmr --mechanism flat_p2p
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

TABLES = ("household_slots", "mechanism_slots", "household_series_explicit")
SERIES = ("load_kw", "pv_kw", "grid_import_kwh", "grid_export_kwh", "p2p_import_kwh", "p2p_export_kwh", "cost")


def p2pstore_command() -> list[str]:
    exe = Path(sys.executable).with_name("p2pstore")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "p2pstore"]


def _tree(root: int) -> list[int]:
    """``root`` and its descendants (from ``/proc/*/stat``)."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(child for child, p in parent.items() if p == pid)
    return out


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def one_run(url: str, args, limit: str | None) -> dict:
    """Wall seconds, peak tree PSS and largest RSS (bytes) of one ``p2pstore run``."""
    cmd = [*p2pstore_command(), "--db", url, "run", "--households", str(args.households), "--prosumer-share", "0.7",
           "--days", str(args.days), "--series", "full", "--seed", str(args.seed),
           *(x for m in args.mechanism or () for x in ("--mechanism", m))]
    if limit:
        cmd += ["--memory-limit", limit]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], sum(_pss(pid) for pid in _tree(proc.pid)))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"p2pstore run failed: {err.strip()}")
    return {"wall": wall, "pss": peak[0], "rss": usage.ru_maxrss * 1024, "load": (load, os.getloadavg()[0])}


def check_same(url: str, chunked: int, whole: int, households: int) -> list[str]:
    """Differences between the two runs as read back (empty: none)."""
    import numpy as np

    from p2pstore.store import Store

    problems = []
    with Store(url, migrate=False) as store:
        bills = store.bills([chunked, whole]).pivot_table(index=["mechanism", "household"], columns="run_id",
                                                          values="bill")
        if not np.array_equal(bills[chunked].to_numpy(), bills[whole].to_numpy()):
            problems.append("bills differ")
        sums = ", ".join(f"SUM({c}) AS {c}" for c in SERIES)
        got = {r: store.query(f"SELECT mechanism, COUNT(*) AS n, {sums} FROM household_series WHERE run_id = {r} "
                              "GROUP BY mechanism ORDER BY mechanism", timeout=0) for r in (chunked, whole)}
        a, b = got[chunked], got[whole]
        if a["mechanism"].tolist() != b["mechanism"].tolist() or a["n"].tolist() != b["n"].tolist():
            problems.append("household_series rows differ")
        for c in SERIES:
            if not np.allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-12, atol=0):
                problems.append(f"household_series SUM({c}) differs")
        labels = store.households(whole)["household"].tolist()[::97]
        x, y = store.series(chunked, household=labels), store.series(whole, household=labels)
        for c in SERIES:
            if len(x) != len(y) or not np.array_equal(x[c].to_numpy(), y[c].to_numpy()):
                problems.append(f"household_series.{c} of sampled households differs")
    return problems


def rows(url: str, run_id: int) -> dict[str, int]:
    from p2pstore.store import Store

    with Store(url, migrate=False) as store:
        return {t: int(store.query(f"SELECT COUNT(*) AS n FROM {t} WHERE run_id = {run_id}")["n"][0]) for t in TABLES}


def backend(name: str, url: str, args) -> None:
    measured = {}
    for case, limit in (("chunked", args.memory_limit), ("whole", None)):
        m = one_run(url, args, limit)
        measured[case] = m
        run_id = len(measured)
        print(f"{name:10} {case:8} wall {m['wall']:6.1f} s   peak PSS (tree) {m['pss'] / 2**20:7.1f} MiB   "
              f"largest RSS {m['rss'] / 2**20:7.1f} MiB   load {m['load'][0]:.2f} -> {m['load'][1]:.2f}   "
              f"rows {rows(url, run_id)}", flush=True)
    c, w = measured["chunked"], measured["whole"]
    print(f"{name:10} chunked / whole: wall {c['wall'] / w['wall']:.2f}x, peak PSS {c['pss'] / w['pss']:.2f}x")
    problems = check_same(url, 1, 2, args.households)
    print(f"{name:10} read back: {'the same' if not problems else '; '.join(problems)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--mechanism", action="append", help="repeatable (default: the run's default mechanisms)")
    parser.add_argument("--memory-limit", default="300MB", help="of the chunked run (default 300MB)")
    parser.add_argument("--pg-admin-url", help="also on PostgreSQL: a database created here and dropped after")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_full_chunks_"))
    try:
        backend("sqlite", f"sqlite:///{tmp / 'full.db'}", args)
        if args.pg_admin_url:
            from sqlalchemy import create_engine, make_url, text

            name = f"bench_full_chunks_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE {name}"))
            try:
                url = make_url(args.pg_admin_url).set(database=name).render_as_string(hide_password=False)
                backend("postgresql", url, args)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
                admin.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
