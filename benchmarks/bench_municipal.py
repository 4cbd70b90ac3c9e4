"""A town's year on one machine: wall time and peak memory of ``p2pstore run`` on a municipality.

Runs, in a child process (so its peak RSS is its own, read with ``wait4``)::

    p2pstore --db sqlite:///TMP/municipal.db run --consumers 7500 --prosumers 17500 --days 365 \\
        --mechanism conventional --mechanism sdr --mechanism mmr_lit --mechanism bs_lit \\
        --series community [--memory-limit SIZE]

and prints, per repeat, the wall time, the peak RSS and the machine's load average before and
after (the machine may be shared), then the budget balance of the literature mechanisms read back
from the store, relative to the community's bill. Goals: peak RSS <= 3 GB, wall time <= 300 s,
budget balance 0 to 1e-9 relative.

    python benchmarks/bench_municipal.py                    # the town (about 4 minutes a repeat)
    python benchmarks/bench_municipal.py --consumers 750 --prosumers 1750 --repeats 3
    python benchmarks/bench_municipal.py --memory-limit 1GB
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MECHANISMS = ("conventional", "sdr", "mmr_lit", "bs_lit")
LITERATURE = ("sdr", "mmr_lit", "bs_lit")


def p2pstore_command() -> list[str]:
    exe = Path(sys.executable).with_name("p2pstore")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "p2pstore"]


def one_run(db: str, args) -> tuple[float, float, int]:
    """``(wall seconds, CPU seconds, peak RSS bytes)`` of one ``p2pstore run`` of the town (CPU
    and RSS of the process and the processes it forked: ``wait4`` counts waited descendants,
    RSS as the largest of them)."""
    cmd = [*p2pstore_command(), "--db", db, "run", "--consumers", str(args.consumers), "--prosumers",
           str(args.prosumers), "--days", str(args.days), "--series", "community", "--seed", str(args.seed),
           *(x for m in MECHANISMS for x in ("--mechanism", m))]
    if args.memory_limit:
        cmd += ["--memory-limit", args.memory_limit]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"p2pstore run failed: {err.strip() or out.strip()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def budget_balance(db: str) -> dict[str, float]:
    """Budget balance of each literature mechanism of the last run, relative to its community bill."""
    from p2pstore.store import Store

    with Store(db, migrate=False) as store:
        frame = store.query("SELECT mechanism, metric, value FROM run_metrics WHERE run_id = "
                            "(SELECT MAX(id) FROM runs) AND metric IN ('budget_balance', 'community_bill')")
    values = {(r.mechanism, r.metric): r.value for r in frame.itertuples()}
    return {m: abs(values[(m, "budget_balance")]) / abs(values[(m, "community_bill")]) for m in LITERATURE}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consumers", type=int, default=7_500)
    parser.add_argument("--prosumers", type=int, default=17_500)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--memory-limit", help="passed to p2pstore run (default: what the machine has)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_municipal_"))
    db = f"sqlite:///{tmp / 'municipal.db'}"
    households = args.consumers + args.prosumers
    print(f"{households:,} households ({args.consumers:,} consumers, {args.prosumers:,} prosumers) x "
          f"{args.days} days, {', '.join(MECHANISMS)}, --series community"
          + (f", --memory-limit {args.memory_limit}" if args.memory_limit else ""))
    walls, peaks = [], []
    try:
        for k in range(args.repeats):
            before = os.getloadavg()[0]
            wall, cpu, peak = one_run(db, args)
            walls.append(wall)
            peaks.append(peak)
            print(f"repeat {k + 1}: wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {peak / 1e9:.2f} GB "
                  f"(load average {before:.2f} before, {os.getloadavg()[0]:.2f} after, {os.cpu_count()} cores)")
        spread = f" (min {min(walls):.1f}, max {max(walls):.1f})" if len(walls) > 1 else ""
        print(f"wall time median {statistics.median(walls):.1f} s{spread}; peak RSS max {max(peaks) / 1e9:.2f} GB")
        for m, rel in budget_balance(db).items():
            print(f"budget balance {m}: {rel:.2e} of the community bill")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
