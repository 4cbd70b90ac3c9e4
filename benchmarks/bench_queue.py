"""Queue throughput on PostgreSQL: drain a sweep with 1, 2 and 4 ``p2pstore worker --burst`` processes.

    python benchmarks/bench_queue.py                         # CPU-bound sweep, 1/2/4 workers, 3 repeats
    python benchmarks/bench_queue.py --households 400 --workers 1,2
    python benchmarks/bench_queue.py --sweep default --series full --runs 500 --latency
    python benchmarks/bench_queue.py --workers 1,2 --repeat 5 --admin-url postgresql://postgres@127.0.0.1/postgres

Sweeps (``--sweep``):

* ``cpu`` (default): runs whose time is computation, not queueing — the notebook generator's
  community (``--households``, default 100: 30 % consumers, 70 % prosumers) over a year
  (35,040 slots) settled by the seven built-in mechanisms, ``--series none``. A run writes its
  bills, daily bills, metrics and per-slot prices (one array row per mechanism on PostgreSQL):
  at 100 households about 0.6 s of the worker's CPU and 0.1 s of PostgreSQL's, printed per
  drain; more households, more of the worker's.
* ``default``: the notebook's default scenario (10 households, 30 days) with ``--series``
  (``full`` writes ~100,000 rows per run: bound by PostgreSQL's ingest, not by the queue).

For each repeat and worker count (the order of the counts alternates between repeats) a fresh
database gets ``--runs`` queued runs (seeds 0..runs-1) and that many worker processes (each
``--concurrency 1``, ``--poll`` as given; one BLAS thread each, as every ``p2pstore`` command
sets unless ``OPENBLAS_NUM_THREADS`` says otherwise) drain it. Measured per drain:

* **runs/s**: runs over the span from the first claim to the last commit (from the runs
  table). The workers' start-up before their first claim (~0.7 s) is outside it; the settling
  process's start-up (~1.5 s: numpy, the settlement, a connection) is inside, as the first run
  waits for it. ``incl. start`` is runs over launch-to-last-exit.
* **CPU per run**: of the worker processes and their settling processes (``getrusage`` of
  children), and of PostgreSQL's backends serving the bench's database (client connections and
  autovacuum, read from ``/proc`` by sampling ``pg_stat_activity``; only when the server runs
  on this host). The machine's total busy CPU (``/proc/stat``) minus these is **others**: work
  that is not the drain's (other users, the server's shared WAL writer and checkpointer).

Printed: per worker count the median and spread (min-max) of each figure, the scaling ratios
per repeat and of the medians, and why they are what they are: throughput (launch to exit) is
the cores the drain keeps busy divided by the CPU a run costs, so each scaling ratio is printed
as the product of those two ratios; the **ceiling** of n workers is n times one worker's
throughput, or less when n times the cores one worker keeps busy exceeds the machine's cores
(what n workers reach at best, with every core theirs and no run costing more CPU than alone). Before and after the drains (unless ``--no-probe``) two tasks are timed
alone and two copies at once in two processes: a pure-Python loop and the sweep's generation
and settlement without a database (numpy over arrays of tens of MB, which share the memory
bandwidth): what two processes get from the machine at the time.
``--latency``: also the enqueue-to-start latency of single runs enqueued to idle workers.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

import sqlalchemy as sa

CPU_MECHANISMS = ("conventional", "mmr", "bill_sharing", "sdr", "mmr_lit", "bs_lit", "bs_lit_slot")
WORKER = "import sys; from p2pstore.cli import main; main(sys.argv[1:])"
TICK = os.sysconf("SC_CLK_TCK")


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


def scenarios(sweep: str, n_runs: int, households: int = 100) -> list:
    from p2pstore.scenario import Scenario

    if sweep == "cpu":
        consumers = round(0.3 * households)
        return [Scenario(seed=s, consumers=consumers, prosumers=households - consumers, days=365,
                         mechanisms=CPU_MECHANISMS) for s in range(n_runs)]
    return [Scenario(seed=s) for s in range(n_runs)]


# -- CPU accounting --------------------------------------------------------------------------
def proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of process ``pid``, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> float:
    """CPU seconds the whole machine spent not idle since boot (``/proc/stat``; steal excluded)."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, *_ = (int(x) for x in f.readline().split()[1:])
    return (user + nice + system + irq + softirq) / TICK


def children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class BackendCPU:
    """CPU of PostgreSQL's backends serving database ``dbname`` (client connections, autovacuum),
    sampled every ``every`` seconds from ``pg_stat_activity`` and ``/proc`` while running. Each
    backend's CPU is its last reading; CPU spent after the last sample of a backend that then
    exits is missed (at most ``every`` seconds of it). ``seconds`` stays None when the server's
    processes are not visible here (another host, another container)."""

    def __init__(self, admin: str, dbname: str, every: float = 0.1):
        self.admin, self.dbname, self.every = admin, dbname, every
        self.last: dict[int, float] = {}
        self.visible = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float | None:
        return sum(self.last.values()) if self.visible else None

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            while True:
                pids = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                    (self.dbname,)).fetchall()
                for (pid,) in pids:
                    cpu = proc_cpu(pid)
                    if cpu is not None:
                        self.visible = True
                        self.last[pid] = cpu
                if self._stop.wait(self.every):
                    return


# -- a drain ---------------------------------------------------------------------------------
def drain(admin: str, args, n_workers: int) -> dict:
    from p2pstore.jobs.enqueue import enqueue
    from p2pstore.store import Store

    url = make_db(admin)
    store = Store(url)
    try:
        t0 = time.perf_counter()
        enqueue(store, scenarios(args.sweep, args.runs, args.households), series=args.series, batch="bench")
        t_enqueue = time.perf_counter() - t0
        with store.engine.connect() as conn:
            launched = conn.execute(sa.text("SELECT clock_timestamp()")).scalar()
        load_before = os.getloadavg()[0]
        busy0, ours0, t0 = machine_busy(), children_cpu(), time.perf_counter()
        with BackendCPU(admin, url.rsplit("/", 1)[1]) as pg:
            procs = start_workers(url, n_workers, "--burst", "--poll", str(args.poll))
            for p in procs:
                if p.wait() != 0:
                    raise SystemExit(f"worker exited with {p.returncode}")
        wall = time.perf_counter() - t0
        busy, workers_cpu = machine_busy() - busy0, children_cpu() - ours0
        load_after = os.getloadavg()[0]
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT status, started_at, finished_at FROM runs ORDER BY id")).all()
        assert all(r.status == "succeeded" for r in rows), {r.status for r in rows}
        first, last = min(r.started_at for r in rows), max(r.finished_at for r in rows)
        span = seconds(last - first)
        n = args.runs
        out = {"workers": n_workers, "runs": n, "enqueue_s": t_enqueue, "span_s": span, "wall_s": wall,
               "runs_per_s": n / span, "runs_per_s_wall": n / wall, "first_claim_s": seconds(first - launched),
               "worker_cpu": workers_cpu / n, "pg_cpu": None if pg.seconds is None else pg.seconds / n,
               "others_cpu": None if pg.seconds is None else max(0.0, busy - workers_cpu - pg.seconds) / n,
               "busy_cores": busy / wall, "load": (load_before, load_after)}
        if args.latency:
            out["median_idle_latency_s"] = idle_latency(store, url, n_workers, args.poll)
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


# -- what the machine gives two processes --------------------------------------------------------
def _spin(n: int) -> float:
    """Seconds of a pure-Python loop of ``n`` steps (no memory traffic)."""
    t = time.perf_counter()
    s = 0
    for i in range(n):
        s += i * i
    return time.perf_counter() - t


def _settle(households: int, n: int = 3) -> float:
    """Seconds to generate and settle ``n`` runs of the cpu sweep, without a database."""
    from p2pstore.jobs.execute import community_profiles
    from p2pstore.simulate import simulate

    t = time.perf_counter()
    for s in scenarios("cpu", n, households):
        simulate(s, community_profiles(None, s), series="none")
    return time.perf_counter() - t


def probe(households: int) -> dict[str, float]:
    """Throughput of two copies of a task run at once in two processes relative to one copy
    alone (2.0: two free cores, nothing shared): a pure-Python loop, and the cpu sweep's
    generation and settlement (numpy over arrays of tens of MB: memory bandwidth is shared)."""
    out = {}
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_settle, [households, households], chunksize=1)  # both processes up, imports done
        for name, fn, arg in (("loop", _spin, 20_000_000), ("settle", _settle, households)):
            one = pool.apply(fn, (arg,))
            t = time.perf_counter()
            pool.map(fn, [arg, arg], chunksize=1)
            out[name] = 2 * one / (time.perf_counter() - t)
    return out


# -- report ----------------------------------------------------------------------------------
def _spread(values: list[float], fmt: str = ".3f") -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def report(args, results: dict[int, list[dict]], probes: list[dict[str, float]]) -> None:
    what = (f"CPU-bound sweep (notebook generator, {args.households} households x 365 days, 7 mechanisms)"
            if args.sweep == "cpu" else "default scenario (10 households x 30 days)")
    print(f"{args.runs} runs of the {what}, series={args.series}, PostgreSQL, {os.cpu_count()} CPUs, "
          f"{args.repeat} repeat(s), --poll {args.poll}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    if probes:
        print("machine, before and after: two processes at once do "
              + "; ".join(f"{name} " + ", ".join(f"{p[name]:.2f}x" for p in probes) for name in probes[0])
              + " the work of one alone (loop: pure Python; settle: generating and settling without a database)")
    lo = min(results)
    base = statistics.median(r["runs_per_s"] for r in results[lo])
    for n, rs in sorted(results.items()):
        rate = [r["runs_per_s"] for r in rs]
        line = (f"{n} worker(s): {_spread(rate)} runs/s, x{statistics.median(rate) / base:.2f} of {lo}; "
                f"incl. start {_spread([r['runs_per_s_wall'] for r in rs])}; "
                f"CPU per run: workers {_spread([r['worker_cpu'] for r in rs], '.2f')} s")
        if rs[0]["pg_cpu"] is not None:
            line += (f", PostgreSQL {_spread([r['pg_cpu'] for r in rs], '.2f')} s"
                     f", others {_spread([r['others_cpu'] for r in rs], '.2f')} s")
        line += (f"; cores busy {_spread([r['busy_cores'] for r in rs], '.2f')}; first claim after "
                 f"{_spread([r['first_claim_s'] for r in rs], '.2f')} s; load before->after: "
                 + ", ".join(f"{r['load'][0]:.1f}->{r['load'][1]:.1f}" for r in rs))
        if args.latency:
            line += f"; idle enqueue-to-start {statistics.median(r['median_idle_latency_s'] for r in rs):.2f} s"
        print(line)
    for n in sorted(results)[1:]:
        pairs = list(zip(results[lo], results[n]))
        per = [b["runs_per_s"] / a["runs_per_s"] for a, b in pairs]
        others = ["" if a["others_cpu"] is None else
                  f" (others' cores {a['others_cpu'] * a['runs_per_s_wall']:.2f}/{b['others_cpu'] * b['runs_per_s_wall']:.2f})"
                  for a, b in pairs]
        print(f"scaling {lo} -> {n} workers: per repeat " + ", ".join(f"{x:.2f}x{o}" for x, o in zip(per, others))
              + f" (median {statistics.median(per):.2f}x)")
    if results[lo][0]["pg_cpu"] is not None:
        explain(results, lo)


def _cores(r: dict) -> float:
    """Cores the drain kept busy: its CPU (workers + PostgreSQL) over launch-to-exit."""
    return (r["worker_cpu"] + r["pg_cpu"]) * r["runs_per_s_wall"]


def explain(results: dict[int, list[dict]], lo: int) -> None:
    """Throughput = cores kept busy / CPU per run: each scaling ratio (launch to exit) as the
    product of the two ratios, and the ceiling if the drain had every core to itself."""
    cores = os.cpu_count()
    for n in sorted(results)[1:]:
        a, b = results[lo], results[n]
        busy = statistics.median(_cores(y) / _cores(x) for x, y in zip(a, b))
        cpu = statistics.median((x["worker_cpu"] + x["pg_cpu"]) / (y["worker_cpu"] + y["pg_cpu"]) for x, y in zip(a, b))
        wall = statistics.median(y["runs_per_s_wall"] / x["runs_per_s_wall"] for x, y in zip(a, b))
        print(f"  {lo} -> {n} workers incl. start x{wall:.2f} = cores kept busy x{busy:.2f} "
              f"({statistics.median(_cores(x) for x in a):.2f} -> {statistics.median(_cores(y) for y in b):.2f}) "
              f"* CPU per run x{cpu:.2f}")
    busy = statistics.median(_cores(r) for r in results[lo])
    print(f"ceiling: {lo} worker(s) kept {_spread([_cores(r) for r in results[lo]], '.2f')} cores busy; n workers "
          f"keep at most n/{lo} times that and at most {cores}: with the CPU per run unchanged, "
          + ", ".join(f"{n} workers x{min(n / lo, cores / busy):.2f}" for n in sorted(results)[1:]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", choices=["cpu", "default"], default="cpu")
    ap.add_argument("--households", type=int, default=100, help="cpu sweep: community size (30%% consumers)")
    ap.add_argument("--runs", type=int, default=None, help="runs per drain (cpu: 48, default: 500)")
    ap.add_argument("--series", choices=["full", "community", "none"], default=None,
                    help="cpu: none; default: full")
    ap.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--poll", type=float, default=0.2, help="workers' --poll (seconds)")
    ap.add_argument("--latency", action="store_true")
    ap.add_argument("--no-probe", dest="probe", action="store_false", help="skip the 1-vs-2-process probe")
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    from p2pstore.cli import BLAS_THREAD_VARIABLES  # click only: numpy is not imported yet

    for name in BLAS_THREAD_VARIABLES:  # the probes' processes as the workers: one BLAS thread
        os.environ.setdefault(name, "1")
    args.runs = args.runs or (48 if args.sweep == "cpu" else 500)
    args.series = args.series or ("none" if args.sweep == "cpu" else "full")
    counts = [int(x) for x in args.workers.split(",")]
    results: dict[int, list[dict]] = {n: [] for n in counts}
    probes = [probe(args.households)] if args.probe else []
    for rep in range(args.repeat):
        for n in (counts if rep % 2 == 0 else counts[::-1]):
            results[n].append(drain(args.admin_url, args, n))
    if args.probe:
        probes.append(probe(args.households))
    report(args, results, probes)


if __name__ == "__main__":
    main()
