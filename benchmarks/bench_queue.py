"""Queue throughput on PostgreSQL: drain a sweep with 1, 2 and 4 ``p2pstore worker --burst`` processes.

    python benchmarks/bench_queue.py                         # CPU-bound sweep, 1/2/4 workers, 3 repeats
    python benchmarks/bench_queue.py --sweep default --series full --runs 500 --latency
    python benchmarks/bench_queue.py --workers 1,2 --repeat 5 --admin-url postgresql://postgres@127.0.0.1/postgres

Sweeps (``--sweep``):

* ``cpu`` (default): runs whose time is computation, not storage — the notebook generator's
  community of 30 consumers and 70 prosumers over a year (35,040 slots) settled by the seven
  built-in mechanisms, ``--series none``: about half a second of CPU per run (generation and
  settlement) and ~3,300 result rows (bills, daily bills, metrics).
* ``default``: the notebook's default scenario (10 households, 30 days) with ``--series``
  (``full`` writes ~100,000 rows per run: bound by PostgreSQL's ingest, not by the queue).

For each repeat and worker count (the order of the counts alternates between repeats) a fresh
database gets ``--runs`` queued runs (seeds 0..runs-1) and that many worker processes (each
``--concurrency 1``, ``--poll`` as given) drain it. Throughput is runs over the span from the
first start to the last finish (from the runs table). Printed: per worker count the median and
spread (min-max) of runs/s, the scaling ratios of the medians and per repeat, and the load average
of the machine before and after each drain (the machine may be shared: read the ratios with it).
``--latency``: also the enqueue-to-start latency of single runs enqueued to idle workers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid

import sqlalchemy as sa

CPU_MECHANISMS = ("conventional", "mmr", "bill_sharing", "sdr", "mmr_lit", "bs_lit", "bs_lit_slot")
WORKER = "import sys; from p2pstore.cli import main; main(sys.argv[1:])"


def make_db(admin: str) -> str:
    import psycopg

    name = f"p2pstore_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + "/" + name


def drop_db(admin: str, url: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def start_workers(url: str, n: int, *args: str) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", WORKER, "--db", url, "worker", "--name", f"bench{i}", *args],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(n)]


def seconds(delta) -> float:
    return delta.total_seconds()


def scenarios(sweep: str, n_runs: int) -> list:
    from p2pstore.scenario import Scenario

    if sweep == "cpu":
        return [Scenario(seed=s, consumers=30, prosumers=70, days=365, mechanisms=CPU_MECHANISMS)
                for s in range(n_runs)]
    return [Scenario(seed=s) for s in range(n_runs)]


def drain(admin: str, sweep: str, n_runs: int, n_workers: int, series: str, poll: float,
          latency: bool) -> dict:
    from p2pstore.jobs.enqueue import enqueue
    from p2pstore.store import Store

    url = make_db(admin)
    store = Store(url)
    try:
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        enqueue(store, scenarios(sweep, n_runs), series=series, batch="bench")
        t_enqueue = time.perf_counter() - t0
        procs = start_workers(url, n_workers, "--burst", "--poll", str(poll))
        for p in procs:
            if p.wait() != 0:
                raise SystemExit(f"worker exited with {p.returncode}")
        load_after = os.getloadavg()[0]
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT status, enqueued_at, started_at, finished_at FROM runs ORDER BY id")).all()
        assert all(r.status == "succeeded" for r in rows), {r.status for r in rows}
        span = seconds(max(r.finished_at for r in rows) - min(r.started_at for r in rows))
        out = {"workers": n_workers, "runs": n_runs, "enqueue_s": t_enqueue, "span_s": span,
               "runs_per_s": n_runs / span, "load": (load_before, load_after)}
        if latency:
            out["median_idle_latency_s"] = idle_latency(store, url, n_workers, poll)
        return out
    finally:
        store.close()
        drop_db(admin, url)


def idle_latency(store, url: str, n_workers: int, poll: float, samples: int = 15) -> float:
    """Median enqueue-to-start of single runs enqueued while the workers are idle."""
    from p2pstore.jobs.enqueue import enqueue
    from p2pstore.scenario import Scenario

    procs = start_workers(url, n_workers, "--poll", str(poll))
    try:
        time.sleep(4)  # workers up and idle
        for i in range(samples):
            enqueue(store, [Scenario(seed=10_000 + i, days=1)], series="none", batch="latency")
            time.sleep(0.37 * poll)  # not a multiple of the poll
        deadline = time.time() + 120
        while time.time() < deadline:
            with store.engine.connect() as conn:
                left = conn.execute(sa.text(
                    "SELECT COUNT(*) FROM runs WHERE batch='latency' AND status IN ('queued','running')")).scalar()
            if not left:
                break
            time.sleep(0.2)
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT enqueued_at, started_at FROM runs WHERE batch='latency'")).all()
        return statistics.median(seconds(r.started_at - r.enqueued_at) for r in rows)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)


def report(args, results: dict[int, list[dict]]) -> None:
    what = ("CPU-bound sweep (notebook generator, 100 households x 365 days, 7 mechanisms)"
            if args.sweep == "cpu" else "default scenario (10 households x 30 days)")
    print(f"{args.runs} runs of the {what}, series={args.series}, PostgreSQL, {os.cpu_count()} CPUs, "
          f"{args.repeat} repeat(s), --poll {args.poll}")
    base = statistics.median(r["runs_per_s"] for r in results[min(results)])
    for n, rs in sorted(results.items()):
        rates = [r["runs_per_s"] for r in rs]
        med = statistics.median(rates)
        loads = ", ".join(f"{r['load'][0]:.1f}->{r['load'][1]:.1f}" for r in rs)
        line = (f"{n} worker(s): median {med:.3f} runs/s (min {min(rates):.3f}, max {max(rates):.3f}); "
                f"x{med / base:.2f} of {min(results)}; per repeat "
                + ", ".join(f"{x:.3f}" for x in rates) + f"; load average before->after: {loads}")
        if args.latency:
            line += f"; idle enqueue-to-start {statistics.median(r['median_idle_latency_s'] for r in rs):.2f} s"
        print(line)
    lo = min(results)
    for n in sorted(results)[1:]:
        per = [b["runs_per_s"] / a["runs_per_s"] for a, b in zip(results[lo], results[n])]
        print(f"scaling {lo} -> {n} workers: per repeat " + ", ".join(f"{x:.2f}x" for x in per)
              + f" (median {statistics.median(per):.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", choices=["cpu", "default"], default="cpu")
    ap.add_argument("--runs", type=int, default=None, help="runs per drain (cpu: 12, default: 500)")
    ap.add_argument("--series", choices=["full", "community", "none"], default=None,
                    help="cpu: none; default: full")
    ap.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--poll", type=float, default=0.2, help="workers' --poll (seconds)")
    ap.add_argument("--latency", action="store_true")
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    args.runs = args.runs or (12 if args.sweep == "cpu" else 500)
    args.series = args.series or ("none" if args.sweep == "cpu" else "full")
    counts = [int(x) for x in args.workers.split(",")]
    results: dict[int, list[dict]] = {n: [] for n in counts}
    for rep in range(args.repeat):
        for n in (counts if rep % 2 == 0 else counts[::-1]):
            results[n].append(drain(args.admin_url, args.sweep, args.runs, n, args.series, args.poll,
                                    args.latency))
    report(args, results)


if __name__ == "__main__":
    main()
