"""Queue throughput and latency on PostgreSQL: drain N default-size runs with 1, then 2 workers.

    python benchmarks/bench_queue.py [--runs 500] [--series full] [--admin-url postgresql://postgres@127.0.0.1/postgres]

For each worker count a fresh database gets N queued runs of the default scenario (the notebook's:
10 households, 30 days, series=full); that many ``p2pstore worker --burst`` processes drain it.
Prints runs/s (N over first start to last finish, from the runs table), the scaling ratio, and the
enqueue-to-start latency: the median over the drain, and the median for runs enqueued one at a
time to idle workers (the claim tick's latency, --poll 1 s by default).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid

import sqlalchemy as sa

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


def drain(admin: str, n_runs: int, n_workers: int, series: str = "full") -> dict:
    from p2pstore.jobs.enqueue import enqueue
    from p2pstore.scenario import Scenario
    from p2pstore.store import Store

    url = make_db(admin)
    store = Store(url)
    try:
        t0 = time.perf_counter()
        enqueue(store, [Scenario(seed=s) for s in range(n_runs)], series=series, batch="bench")
        t_enqueue = time.perf_counter() - t0
        procs = start_workers(url, n_workers, "--burst")
        for p in procs:
            if p.wait() != 0:
                raise SystemExit(f"worker exited with {p.returncode}")
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT status, enqueued_at, started_at, finished_at FROM runs ORDER BY id")).all()
        assert all(r.status == "succeeded" for r in rows), {r.status for r in rows}
        span = seconds(max(r.finished_at for r in rows) - min(r.started_at for r in rows))
        waits = [seconds(r.started_at - r.enqueued_at) for r in rows]
        idle = idle_latency(store, url, n_workers)
        return {"workers": n_workers, "runs": n_runs, "enqueue_s": t_enqueue, "span_s": span,
                "runs_per_s": n_runs / span, "median_wait_s": statistics.median(waits),
                "median_idle_latency_s": idle}
    finally:
        store.close()
        drop_db(admin, url)


def idle_latency(store, url: str, n_workers: int, samples: int = 15) -> float:
    """Median enqueue-to-start of single runs enqueued while the workers are idle."""
    from p2pstore.jobs.enqueue import enqueue
    from p2pstore.scenario import Scenario

    procs = start_workers(url, n_workers)
    ids = []
    try:
        time.sleep(4)  # workers up and idle
        for i in range(samples):
            ids += enqueue(store, [Scenario(seed=10_000 + i, days=1)], series="none", batch="latency")
            time.sleep(0.37)  # not a multiple of the 1 s poll
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--series", choices=["full", "community", "none"], default="full")
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    results = [drain(args.admin_url, args.runs, n, args.series) for n in (1, 2)]
    print(f"{args.runs} default-size runs (10 households, 30 days), series={args.series}, PostgreSQL")
    for r in results:
        print(f"{r['workers']} worker(s): {r['runs']} runs in {r['span_s']:.1f} s = {r['runs_per_s']:.2f} runs/s; "
              f"enqueue {r['enqueue_s']:.2f} s; median enqueue-to-start {r['median_wait_s']:.1f} s during the drain, "
              f"{r['median_idle_latency_s']:.2f} s to an idle worker")
    print(f"scaling 1 -> 2 workers: {results[1]['runs_per_s'] / results[0]['runs_per_s']:.2f}x")


if __name__ == "__main__":
    main()
