"""Store goals of the per-slot layout, and the store's write throughput against the raw driver.

Default (the goals), on each backend, ``--repeat`` times (order alternating, fresh database each):

* ``p2pstore run --series none`` and ``--series full`` of the notebook generator's community
  (30 consumers + 70 prosumers x 365 days, 3 default mechanisms), all-in (a subprocess: imports,
  settlement, store); goal: full <= 5x none, on SQLite and on PostgreSQL;
* SQLite: the database file holding one ``full`` run; goal <= 250 MB;
* reading one household's year of one mechanism back through the ``household_series`` view and
  through ``Store.series``; goal <= 0.5 s.

Medians, spreads (min-max) and the ratios measured in the same run are printed.
``--compare-raw``: ``Store.write_results`` of a ``full`` run against the raw driver's bulk load of
the same rows (target: store >= 0.8x raw), the former benchmark. PostgreSQL databases are
created and dropped by this script.

``--sweep``: the size of a stored sweep, and reads over it. 10 runs (seeds 0..9) of 12
consumers + 28 prosumers x 60 days, the 7 built-in mechanisms, ``--series community``, written
with ``Store.write_results`` into a fresh database, ``--repeat`` times per backend. Size per run =
(size after the writes - size of the freshly migrated empty store) / 10: SQLite the database
file (with its write-ahead log), PostgreSQL the sum of ``pg_total_relation_size`` over the
schema's tables. Raw = 8 bytes x (7 values x mechanisms x slots + 4 values x slots), the
information as float64 (prices, supply-demand ratio, grid import/export, P2P energy and cost per
mechanism and slot; slot time, P2P flag, community load and PV per slot). Goals: <= 1.5x raw on
SQLite, <= 2x on PostgreSQL. Then the reads: one run's ``clearing_prices`` and
``community_series`` (SQL on the driver's cursor, and ``Store.prices`` /
``Store.community_series``), and an aggregate over all 10 runs (cost per mechanism and month,
``community_series`` joined to ``clearing_prices`` for the slot's month).

    python benchmarks/bench_store.py                                    # the goals, both backends
    python benchmarks/bench_store.py --consumers 3 --prosumers 7 --days 30 --backends sqlite
    python benchmarks/bench_store.py --compare-raw --days 90
    python benchmarks/bench_store.py --sweep                            # sweep size and reads
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import types
import uuid
from pathlib import Path

import numpy as np

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


from p2pstore.store.schema import RESULT_TABLES  # noqa: E402  (tables a run writes)
from p2pstore.store.schema.slot_tables import tables_on  # noqa: E402  (those of one backend)


# -- the two ways of writing -------------------------------------------------------------------
#: Client-side CPU seconds of each store write (the rest of the wall time is the database's).
CLIENT_CPU: list[float] = []


def via_store(url: str, settlement, scenario) -> tuple[int, float]:
    from p2pstore.store import Store

    with Store(url) as store:
        run_id = store.create_run(scenario)
        t0, c0 = time.perf_counter(), time.process_time()
        assert store.write_results(run_id, settlement, "full")
        elapsed = time.perf_counter() - t0
        CLIENT_CPU.append(time.process_time() - c0)
        from sqlalchemy import text

        with store.engine.connect() as conn:
            tables = tables_on(store.engine.dialect.name, RESULT_TABLES)
            rows = sum(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables)
    return rows, elapsed


def prepared_rows(backend: str, run_id: int, settlement) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    """Every row of the run as the raw driver wants it, per table (built before timing)."""
    from p2pstore.store import bulk
    from p2pstore.store.results import writer

    from p2pstore.store.schema import ARRAY_TABLES

    out = {}
    for table, blocks in writer.result_blocks(run_id, settlement, "full", backend):
        cols = bulk.COLUMNS[table]
        if backend == "sqlite":
            rows = list(bulk._sqlite_rows(cols, blocks))
        elif table in ARRAY_TABLES:  # a block is one row of arrays (psycopg adapts the lists)
            rows = [tuple(b[c].tolist() if isinstance(b[c], np.ndarray) else b[c] for c in cols) for b in blocks]
        else:
            types_ = bulk._pg_types(table)
            rows = [row for b in blocks for row in bulk._pg_row_values(cols, types_, b)]
        out[table] = (cols, rows)
    return out


def via_raw_driver(backend: str, url: str, settlement, scenario) -> tuple[int, float]:
    from p2pstore.store import Store
    from p2pstore.store import bulk

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
                types_ = bulk._pg_types(table)
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types([types_[c] for c in cols])
                    for row in rows:
                        copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - t0
    return n, elapsed


def compare_raw(args, dbs: Databases) -> bool:
    from p2pstore.scenario import Scenario

    t0 = time.perf_counter()
    settlement = make_settlement(args.consumers + args.prosumers, args.days)
    scenario = Scenario(days=1)  # only the run row refers to it
    print(f"settled {args.consumers + args.prosumers} households x {args.days} days "
          f"({len(settlement.results)} mechanisms) in {time.perf_counter() - t0:.1f}s")
    worst = float("inf")
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
    print(f"target >= 0.8x: {'met' if worst >= 0.8 else 'NOT met'} (worst {worst:.2f}x)")
    return worst >= 0.8


# -- the goals -----------------------------------------------------------------------------------
def cli_run(url: str, args, series: str) -> float:
    """Wall time of ``p2pstore run`` in a subprocess (everything a user waits for)."""
    cmd = [sys.executable, "-m", "p2pstore", "--db", url, "run", "--consumers", str(args.consumers),
           "--prosumers", str(args.prosumers), "--days", str(args.days), "--series", series, "--json"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def upgrade(url: str) -> None:
    subprocess.run([sys.executable, "-m", "p2pstore", "--db", url, "db", "upgrade"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sqlite_size(url: str) -> int:
    path = Path(url.removeprefix("sqlite:///"))
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))  # with -wal / -shm


def read_times(url: str, repeat: int) -> tuple[list[float], list[float], int]:
    """Seconds to read one household's year of one mechanism: the view (SQL on the driver's
    cursor, as a client such as ``p2pstore query`` or a notebook reads it), ``Store.series``."""
    from p2pstore.store import Store

    view, api = [], []
    with Store(url) as store:
        run_id = int(store.runs()["run_id"].max())
        household = store.households(run_id)["household"].iloc[-1]
        sql = (f"SELECT * FROM household_series WHERE run_id = {run_id} AND mechanism = 'bill_sharing' "
               f"AND household = '{household}' ORDER BY slot")
        for _ in range(repeat):
            t0 = time.perf_counter()
            with store.engine.connect() as conn:
                cursor = conn.connection.dbapi_connection.cursor()
                cursor.execute(sql)
                rows = cursor.fetchall()
                cursor.close()
            view.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            frame = store.series(run_id, "bill_sharing", household)
            api.append(time.perf_counter() - t0)
            assert len(frame) == len(rows) > 0
    return view, api, len(rows)


def _stats(values: list[float]) -> str:
    return f"median {statistics.median(values):6.2f}s (spread {min(values):.2f}-{max(values):.2f}s)"


def goals(args, dbs: Databases) -> bool:
    ok = True
    print(f"community: {args.consumers} consumers + {args.prosumers} prosumers x {args.days} days, "
          f"notebook generator, 3 default mechanisms; {args.repeat} repeats")
    for backend in args.backends.split(","):
        times: dict[str, list[float]] = {"none": [], "full": []}
        ratios, sizes, view, api = [], [], [], []
        rows = 0
        for i in range(args.repeat):
            pair = {}
            for series in (("none", "full") if i % 2 == 0 else ("full", "none")):
                dbs.settle(backend)
                url = dbs.new(backend)
                upgrade(url)
                pair[series] = cli_run(url, args, series)
                times[series].append(pair[series])
                if series == "full":
                    if backend == "sqlite":
                        sizes.append(sqlite_size(url))
                    v, a, rows = read_times(url, 3)
                    view += v
                    api += a
            ratios.append(pair["full"] / pair["none"])
        ratio = statistics.median(ratios)
        print(f"{backend:10s} run --series none  {_stats(times['none'])}")
        print(f"{backend:10s} run --series full  {_stats(times['full'])}")
        print(f"{backend:10s} full / none        median {ratio:6.2f}x (spread {min(ratios):.2f}-{max(ratios):.2f}x; "
              f"goal <= 5x: {'met' if ratio <= 5 else 'NOT met'})")
        ok &= ratio <= 5
        if sizes:
            mb = statistics.median(sizes) / 1e6
            print(f"{backend:10s} database file, one full run  {mb:7.1f} MB (goal <= 250 MB: "
                  f"{'met' if mb <= 250 else 'NOT met'})")
            ok &= mb <= 250
        for name, values in (("household_series view", view), ("Store.series", api)):
            med = statistics.median(values)
            print(f"{backend:10s} read one household-year ({rows} rows) via {name:21s} {_stats(values)} "
                  f"(goal <= 0.5 s: {'met' if med <= 0.5 else 'NOT met'})")
            ok &= med <= 0.5
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--consumers", type=int, default=30)
    ap.add_argument("--prosumers", type=int, default=70)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--repeat", type=int, default=3, help="measurements of each figure (>= 3 for a spread)")
    ap.add_argument("--compare-raw", action="store_true", help="store vs raw driver write throughput instead")
    ap.add_argument("--sweep", action="store_true", help="size of a stored 10-run sweep and reads over it instead")
    ap.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN)
    args = ap.parse_args(argv)

    dbs = Databases(args.pg_admin_url)
    try:
        if args.sweep:
            from bench_store_sweep import sweep

            ok = sweep(args, dbs)
        else:
            ok = compare_raw(args, dbs) if args.compare_raw else goals(args, dbs)
    finally:
        dbs.close()
    print("all goals met" if ok else "some goals NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
