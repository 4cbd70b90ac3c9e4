"""Every documented query over ``household_series`` is planned by indexed keys, on both backends,
without statistics.

The queries are the ```sql examples of docs/schema.md that read ``household_series`` (the
cookbook among them) and the two shapes every analysis starts from: a run's per-household
aggregate, and one household's series. SQLite plans them in a database never ANALYZEd: in every
nest of loops, each table after the outermost must be searched by ``run_id`` and at least one
more key column (never scanned, never through an automatic index). PostgreSQL is made to plan
nested loops only (hash and merge joins and sequential scans off: the plan it would take if its
estimates favoured them), and the inner side of every nested loop must be an index scan on
``run_id`` and at least one more key column.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

from p2pstore import Scenario, Store
from p2pstore.simulate import simulate
from test_schema_queries import fill, only_for, sql_examples

STORED = {"household_slots", "mechanism_slots", "households", "household_series_explicit", "run_mechanisms",
          "run_slots", "mechanism_series", "run_slot_arrays", "mechanism_series_arrays", "bills", "daily_bills",
          "run_metrics", "clearing_prices", "community_series"}  # the views too: a view scanned whole is caught
ALIASES = {"s": "household_slots", "m": "mechanism_slots", "h": "households", "t": "clearing_prices",
           "rm": "run_mechanisms",
           "rs": "run_slots", "mv": "mechanism_series", "ma": "mechanism_series_arrays"}
SHAPES = [
    ("aggregate", "SELECT mechanism, household, SUM(cost) AS cost FROM household_series WHERE run_id = :run_id "
                  "GROUP BY mechanism, household"),
    ("one household", "SELECT slot, cost FROM household_series WHERE run_id = :run_id AND household = 'P1' "
                      "AND mechanism = 'mmr' ORDER BY slot"),
    ("one mechanism", "SELECT household, SUM(grid_import_kwh) FROM household_series WHERE run_id = :run_id "
                      "AND mechanism = 'bill_sharing' GROUP BY household"),
]
QUERIES = SHAPES + [(name, statement) for name, info, statement, _ in sql_examples()
                    if "household_series" in statement.lower() and only_for(info, statement) is None]


@pytest.fixture
def plan_store(db_url):
    """Three runs with full series (the middle one queried), on a fresh database."""
    store = Store(db_url)
    ids = []
    for seed in (1, 2, 3):
        scenario = Scenario(seed=seed, consumers=2, prosumers=3, days=2)
        run_id = store.create_run(scenario)
        assert store.write_results(run_id, simulate(scenario), "full")
        ids.append(run_id)
    try:
        yield store, ids[1]
    finally:
        store.engine.dispose()


#: Tables with a handful of rows per run (one per mechanism, or one): found by ``run_id`` alone,
#: the rows a nested loop reads again for each outer row do not grow with slots or households.
PER_RUN = {"run_mechanisms", "run_slot_arrays", "mechanism_series_arrays"}


def sqlite_violations(conn, sql: str) -> list[str]:
    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
    nests: dict[int, list[str]] = {}
    for _, parent, _, detail in rows:
        m = re.match(r"(SCAN|SEARCH) (\w+)", detail)
        if m and ALIASES.get(m.group(2), m.group(2)) in STORED:
            nests.setdefault(parent, []).append((ALIASES.get(m.group(2), m.group(2)), detail))
    bad = []
    for details in nests.values():
        for k, (table, detail) in enumerate(details):
            if "AUTOMATIC" in detail:
                bad.append(detail)
            elif k > 0:
                keys = re.search(r"\((.*)\)( LEFT-JOIN)?$", detail)
                equal = re.findall(r"(\w+)=\?", keys.group(1)) if keys and detail.startswith("SEARCH") else []
                if "run_id" not in equal or (len(equal) < 2 and table not in PER_RUN):
                    bad.append(detail)
    return bad


def _nodes(plan: dict, *, rescanned: bool = False):
    """``plan`` and the nodes under it; ``rescanned``: only those a nested loop runs again for
    each outer row (not under a Materialize, computed once, nor in an InitPlan or SubPlan)."""
    yield plan
    if rescanned and plan["Node Type"] == "Materialize":
        return
    for child in plan.get("Plans", []):
        if not (rescanned and child.get("Parent Relationship") in ("InitPlan", "SubPlan")):
            yield from _nodes(child, rescanned=rescanned)


INDEX_COLUMNS = """SELECT i.relname, array_agg(a.attname ORDER BY k.ord) FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
GROUP BY i.relname"""


def _equalities(cond: str) -> set[str]:
    """Columns compared with ``=`` in a PostgreSQL index condition."""
    bare = re.sub(r"::[\w ]+", "", cond.replace('"', "")).replace("(", " ").replace(")", " ")
    return set(re.findall(r"(\w+) = ", bare))


def postgresql_violations(conn, sql: str) -> list[str]:
    indexes = dict(conn.exec_driver_sql(INDEX_COLUMNS).all())
    for setting in ("enable_hashjoin", "enable_mergejoin", "enable_seqscan"):
        conn.exec_driver_sql(f"SET LOCAL {setting} = off")
    plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}").scalar()
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    bad = []
    for node in _nodes(plan):
        if node["Node Type"] != "Nested Loop":
            continue
        inner_side = next(c for c in node["Plans"] if c.get("Parent Relationship") == "Inner")
        for inner in _nodes(inner_side, rescanned=True):
            table = inner.get("Relation Name")
            if table not in STORED:
                continue
            scan = inner
            if inner["Node Type"] == "Bitmap Heap Scan":  # its index and condition are its child's
                scan = next(n for n in _nodes(inner) if n["Node Type"] == "Bitmap Index Scan")
            key = indexes.get(scan.get("Index Name"), [])
            equal = _equalities(scan.get("Index Cond", ""))
            # run_id and the next key column by equality: the inner rows found by a key prefix
            if table in PER_RUN and key[:1] == ["run_id"] and "run_id" in equal:
                continue
            if len(key) < 2 or key[0] != "run_id" or not {key[0], key[1]} <= equal:
                bad.append(f"{inner['Node Type']} on {table} by {scan.get('Index Name')} {key}: "
                           f"{scan.get('Index Cond') or inner.get('Filter', '')}")
    return bad


@pytest.mark.parametrize("name,statement", QUERIES, ids=[q[0] for q in QUERIES])
def test_documented_query_is_planned_by_keys(plan_store, backend, name, statement):
    store, run_id = plan_store
    sql = fill(statement, run_id, "docs")
    with store.engine.begin() as conn:
        if backend == "sqlite":
            assert not conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").all()  # no statistics
            bad = sqlite_violations(conn, sql)
        else:
            bad = postgresql_violations(conn, sql)
    assert not bad, f"{name}: joined without its keys:\n" + "\n".join(bad)


def test_the_check_catches_a_join_by_run_id_only(plan_store, backend):
    """The former key of mechanism_slots, (run_id, mechanism, slot), joined by run_id alone."""
    store, run_id = plan_store
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ms_old AS SELECT * FROM mechanism_slots")
        conn.exec_driver_sql("CREATE INDEX ix_ms_old ON ms_old (run_id, mechanism, slot)")
        sql = (f"SELECT m.mechanism, SUM(s.load_kw * m.grid_import_h) FROM household_slots s "
               f"JOIN ms_old m ON m.run_id = s.run_id AND m.slot = s.slot WHERE s.run_id = {run_id} "
               "GROUP BY m.mechanism")
        STORED.add("ms_old")
        try:
            bad = sqlite_violations(conn, sql) if backend == "sqlite" else postgresql_violations(conn, sql)
        finally:
            STORED.discard("ms_old")
        assert bad  # a table of the join searched by run_id alone


def test_statistics_follow_large_writes(plan_store, backend):
    """PostgreSQL: after each of the three runs the statistics of the tables it grew describe it
    (ANALYZE when a write is large against the estimate); SQLite is never analyzed (its plans
    above need no statistics)."""
    store, _ = plan_store
    with store.engine.connect() as conn:
        if backend == "sqlite":
            assert not conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").all()
            return
        for table in ("household_slots", "mechanism_slots", "households", "mechanism_series_arrays", "bills"):
            rows = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar()
            estimated = conn.exec_driver_sql(f"SELECT reltuples FROM pg_class WHERE oid = '{table}'::regclass").scalar()
            assert estimated == rows, table
