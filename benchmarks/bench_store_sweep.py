"""``bench_store.py --sweep``: the size of a stored sweep per run against the raw size of its
information, and the time of reads over it (see bench_store's docstring)."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

MECHANISMS = ("conventional", "mmr", "bill_sharing", "sdr", "mmr_lit", "bs_lit", "bs_lit_slot")
RUNS, CONSUMERS, PROSUMERS, DAYS = 10, 12, 28, 60
GOAL = {"sqlite": 1.5, "postgresql": 2.0}

#: Reads timed on the driver's cursor (``{run_id}``: the sweep's middle run).
QUERIES = {
    "one run's clearing_prices": "SELECT * FROM clearing_prices WHERE run_id = {run_id} ORDER BY mechanism, slot",
    "one run's community_series": "SELECT * FROM community_series WHERE run_id = {run_id} ORDER BY mechanism, slot",
    "10 runs: cost by mechanism, month": (
        "SELECT c.mechanism, SUBSTR(CAST(p.ts AS TEXT), 1, 7) AS month, SUM(c.cost) AS cost "
        "FROM community_series c JOIN clearing_prices p "
        "ON p.run_id = c.run_id AND p.mechanism = c.mechanism AND p.slot = c.slot "
        "GROUP BY c.mechanism, SUBSTR(CAST(p.ts AS TEXT), 1, 7)"),
    "10 runs: cost by mechanism": "SELECT mechanism, SUM(cost) FROM community_series GROUP BY mechanism",
    "10 runs: mean sdr price by run": (
        "SELECT run_id, AVG(import_price), MAX(supply_demand_ratio) FROM clearing_prices "
        "WHERE mechanism = 'sdr' GROUP BY run_id"),
}


def _settlements() -> list:
    from p2pstore.scenario import Scenario
    from p2pstore.simulate import simulate

    out = []
    for seed in range(RUNS):
        scenario = Scenario(seed=seed, consumers=CONSUMERS, prosumers=PROSUMERS, days=DAYS, mechanisms=MECHANISMS)
        out.append((scenario, simulate(scenario)))
    return out


def _sqlite_bytes(url: str) -> int:
    path = Path(url.removeprefix("sqlite:///"))
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))  # with -wal / -shm


def _table_bytes(store) -> dict[str, int]:
    """Bytes per table: SQLite from ``dbstat`` when compiled in, PostgreSQL
    ``pg_total_relation_size`` (heap, TOAST and indexes)."""
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":
            rows = conn.exec_driver_sql(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' "
                "AND relnamespace = current_schema()::regnamespace").all()
            return dict(rows)
        try:
            rows = conn.exec_driver_sql("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").all()
        except Exception:  # noqa: BLE001 - SQLite built without dbstat: no breakdown
            return {}
        return dict(rows)


def _size(store, url: str) -> int:
    if store.dialect == "postgresql":
        return sum(_table_bytes(store).values())
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return _sqlite_bytes(url)


def _timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _reads(store, run_id: int, repeat: int) -> dict[str, list[float]]:
    def driver(sql):
        def run():
            with store.engine.connect() as conn:
                cursor = conn.connection.dbapi_connection.cursor()
                cursor.execute(sql)
                rows = cursor.fetchall()
                cursor.close()
            assert rows
        return run

    out = {name: _timed(driver(sql.format(run_id=run_id)), repeat) for name, sql in QUERIES.items()}
    out["Store.prices(run)"] = _timed(lambda: store.prices(run_id), repeat)
    out["Store.community_series(run)"] = _timed(lambda: store.community_series(run_id), repeat)
    return out


def _once(backend: str, dbs, settlements, repeat: int):
    from p2pstore.store import Store

    dbs.settle(backend)
    url = dbs.new(backend)
    with Store(url) as store:
        empty, empty_tables = _size(store, url), _table_bytes(store)
        t0 = time.perf_counter()
        ids = []
        for scenario, settlement in settlements:
            run_id = store.create_run(scenario, "community")
            assert store.write_results(run_id, settlement, "community")
            ids.append(run_id)
        write_s = time.perf_counter() - t0
        size, tables = _size(store, url), _table_bytes(store)
        grown = {t: (b - empty_tables.get(t, 0)) / len(ids) for t, b in tables.items() if b > empty_tables.get(t, 0)}
        reads = _reads(store, ids[len(ids) // 2], repeat)
    return (size - empty) / len(ids), write_s, grown, reads


def _spread(values: list[float], unit: str, scale: float = 1.0) -> str:
    v = [x * scale for x in values]
    return f"median {statistics.median(v):8.3f} {unit} (spread {min(v):.3f}-{max(v):.3f})"


def sweep(args, dbs) -> bool:
    t0 = time.perf_counter()
    settlements = _settlements()
    p = settlements[0][1].profiles
    raw = 8 * (7 * len(MECHANISMS) * p.n_slots + 4 * p.n_slots)
    print(f"sweep: {RUNS} runs of {CONSUMERS} consumers + {PROSUMERS} prosumers x {DAYS} days, "
          f"{len(MECHANISMS)} mechanisms, --series community (settled in {time.perf_counter() - t0:.1f}s); "
          f"raw float64 information {raw / 1e6:.3f} MB per run; {args.repeat} repeats; "
          f"load average {os.getloadavg()[0]:.2f}")
    ok = True
    for backend in args.backends.split(","):
        sizes, writes, reads, grown = [], [], {}, {}
        for _ in range(args.repeat):
            size, write_s, grown, r = _once(backend, dbs, settlements, 3)
            sizes.append(size)
            writes.append(write_s / RUNS)
            for name, values in r.items():
                reads.setdefault(name, []).extend(values)
        mb = statistics.median(sizes) / 1e6
        ratio = statistics.median(sizes) / raw
        met = ratio <= GOAL[backend]
        ok &= met
        print(f"{backend:10s} size per run {_spread(sizes, 'MB', 1e-6)}  {ratio:.2f}x raw "
              f"(goal <= {GOAL[backend]}x = {GOAL[backend] * raw / 1e6:.2f} MB: {'met' if met else 'NOT met'})")
        print(f"{backend:10s}   by table (MB/run): " + ", ".join(
            f"{t} {b / 1e6:.3f}" for t, b in sorted(grown.items(), key=lambda kv: -kv[1]) if b >= 5e3))
        print(f"{backend:10s} write per run {_spread(writes, 's')}")
        for name, values in reads.items():
            print(f"{backend:10s} read {name:36s} {_spread(values, 's')}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return ok
