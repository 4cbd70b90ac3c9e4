"""Store write throughput: ``Store.write_results`` vs the raw driver's bulk load of the same rows.

For each backend, one run's ``full`` series is written twice into fresh databases:

1. through ``Store.write_results`` (everything included: volumes from the settlement, rows
   built from numpy, the guarded status update, one transaction);
2. with the raw driver (sqlite3 ``executemany``; psycopg ``COPY ... (FORMAT BINARY)`` with
   ``set_types`` + ``write_row``) from row tuples built *before* the clock starts.

It prints rows/s of each and their ratio (target: store >= 0.8x raw). The PostgreSQL databases
are created and dropped by this script.

    python benchmarks/bench_store.py                          # 100 households x 90 days
    python benchmarks/bench_store.py --households 20 --days 7 --backends sqlite
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import types
import uuid
from pathlib import Path

DEFAULT_PG_ADMIN = os.environ.get("P2PSTORE_TEST_PG_ADMIN_URL",
                                  "postgresql://postgres@127.0.0.1:5432/postgres")


def make_settlement(households: int, days: int):
    from p2pstore.scenario import Scenario
    from p2pstore.simulate import simulate

    consumers = max(1, round(households * 0.3))
    s = simulate(Scenario(consumers=consumers, prosumers=households - consumers, days=days))
    try:
        metrics = s.metrics
    except ImportError:  # KPI module not there yet: a stand-in of the same shape
        metrics = {m: {"community_bill": float(r.bills.sum())} for m, r in s.results.items()}
    return types.SimpleNamespace(profiles=s.profiles, flows=s.flows, results=s.results,
                                 daily=s.daily, metrics=metrics)


# -- databases ---------------------------------------------------------------------------------
class Databases:
    """Fresh databases per measurement; removes them all at the end."""

    def __init__(self, pg_admin: str):
        self.pg_admin = pg_admin.replace("postgresql+psycopg://", "postgresql://", 1)
        self.tmp = tempfile.TemporaryDirectory(prefix="bench_store_")
        self.pg_names: list[str] = []

    def new(self, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{Path(self.tmp.name) / uuid.uuid4().hex}.db"
        import psycopg

        name = f"p2pstore_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.pg_admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.pg_names.append(name)
        return self.pg_admin.rsplit("/", 1)[0] + "/" + name

    def settle(self, backend: str) -> None:
        """Flush the server's dirty pages before a measurement (PostgreSQL CHECKPOINT)."""
        if backend != "postgresql":
            return
        import psycopg

        with psycopg.connect(self.pg_admin, autocommit=True) as conn:
            for name in self.pg_names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.pg_names.clear()
            conn.execute("CHECKPOINT")

    def close(self) -> None:
        import psycopg

        if self.pg_names:
            with psycopg.connect(self.pg_admin, autocommit=True) as conn:
                for name in self.pg_names:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.tmp.cleanup()


# -- the two ways of writing -------------------------------------------------------------------
#: Client-side CPU seconds of each store write (the rest of the wall time is the database's).
CLIENT_CPU: list[float] = []


def via_store(url: str, settlement, scenario) -> tuple[int, float]:
    from p2pstore.store import Store

    with Store(url) as store:
        run_id = store.create_run(scenario)
        store.mark_running(run_id, "bench")
        t0, c0 = time.perf_counter(), time.process_time()
        assert store.write_results(run_id, settlement, "full", worker="bench")
        elapsed = time.perf_counter() - t0
        CLIENT_CPU.append(time.process_time() - c0)
        from sqlalchemy import text

        with store.engine.connect() as conn:
            rows = sum(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                       for t in ("households", "bills", "daily_bills", "clearing_prices",
                                 "household_series", "community_series", "run_metrics"))
    return rows, elapsed


def prepared_rows(backend: str, run_id: int, settlement) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    """Every row of the run as the raw driver wants it, per table (built before timing)."""
    from p2pstore.store import writer

    out = {}
    for table, blocks in writer.result_blocks(run_id, settlement, "full"):
        cols = writer.COLUMNS[table]
        if backend == "sqlite":
            rows = list(writer._sqlite_rows(cols, blocks))
        else:
            types_ = writer._pg_types(table)
            rows = [row for b in blocks for row in writer._pg_row_values(cols, types_, b)]
        out[table] = (cols, rows)
    return out


def via_raw_driver(backend: str, url: str, settlement, scenario) -> tuple[int, float]:
    from p2pstore.store import Store, writer

    with Store(url) as store:  # schema and the run row, as for the store path
        run_id = store.create_run(scenario)
    tables = prepared_rows(backend, run_id, settlement)
    n = sum(len(rows) for _, rows in tables.values())
    if backend == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")  # same constraints as the store's connections
        t0 = time.perf_counter()
        conn.execute("BEGIN")
        for table, (cols, rows) in tables.items():
            conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                             rows)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - t0
        conn.close()
        return n, elapsed
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            for table, (cols, rows) in tables.items():
                types_ = writer._pg_types(table)
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types([types_[c] for c in cols])
                    for row in rows:
                        copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - t0
    return n, elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=100)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--repeat", type=int, default=3, help="best of N for each measurement")
    ap.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN)
    args = ap.parse_args(argv)

    from p2pstore.scenario import Scenario

    t0 = time.perf_counter()
    settlement = make_settlement(args.households, args.days)
    scenario = Scenario(days=1)  # only the run row refers to it
    print(f"settled {args.households} households x {args.days} days "
          f"({len(settlement.results)} mechanisms) in {time.perf_counter() - t0:.1f}s")
    dbs = Databases(args.pg_admin_url)
    worst = float("inf")
    try:
        for backend in args.backends.split(","):
            store_best = raw_best = float("inf")
            CLIENT_CPU.clear()
            rows = 0
            for i in range(args.repeat):
                # alternate which goes first, and start each from a checkpointed server, so that
                # neither pays for the other's dirty pages
                for which in (("store", "raw") if i % 2 == 0 else ("raw", "store")):
                    dbs.settle(backend)
                    if which == "store":
                        rows, t = via_store(dbs.new(backend), settlement, scenario)
                        store_best = min(store_best, t)
                    else:
                        raw_rows, t = via_raw_driver(backend, dbs.new(backend), settlement, scenario)
                        raw_best = min(raw_best, t)
                assert raw_rows == rows, (raw_rows, rows)
            raw_name = "sqlite3 executemany" if backend == "sqlite" else "psycopg COPY binary write_row"
            ratio = raw_best / store_best
            worst = min(worst, ratio)
            print(f"{backend:10s} {rows:>9,} rows  store {rows / store_best:>12,.0f} rows/s ({store_best:.2f}s)"
                  f"  raw {raw_name} {rows / raw_best:>12,.0f} rows/s ({raw_best:.2f}s)"
                  f"  ratio {ratio:.2f}x  (store client CPU {min(CLIENT_CPU):.2f}s)")
    finally:
        dbs.close()
    print(f"target >= 0.8x: {'met' if worst >= 0.8 else 'NOT met'} (worst {worst:.2f}x)")
    return 0 if worst >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
