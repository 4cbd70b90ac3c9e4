"""Read-only ad-hoc SQL: SELECTs work, writes are refused and change nothing."""

from __future__ import annotations

import pytest
from store_helpers import SCENARIO, count

from p2pstore.errors import StoreError
from p2pstore.store.querygate.query import run_readonly_query


@pytest.fixture
def stored(store, settlement):
    run_id = store.create_run(SCENARIO)
    store.write_results(run_id, settlement, "full")
    return store, run_id


def _snapshot(store) -> dict:
    from sqlalchemy import inspect

    tables = sorted(inspect(store.engine).get_table_names())
    return {t: count(store, t) for t in tables}


def test_select_returns_columns_and_rows(stored, settlement):
    store, run_id = stored
    cols, rows = run_readonly_query(
        store.engine, f"SELECT mechanism, SUM(bill) AS total FROM bills WHERE run_id = {run_id} "
                      "GROUP BY mechanism ORDER BY mechanism")
    assert cols == ["mechanism", "total"]
    totals = settlement.totals()
    assert {m: pytest.approx(t, rel=1e-12) for m, t in rows} == totals
    df = store.query("SELECT household FROM households WHERE household LIKE 'P%'")
    assert list(df.columns) == ["household"] and len(df) == 3


@pytest.mark.parametrize("sql", [
    "INSERT INTO run_metrics (run_id, mechanism, metric, value) VALUES (1, 'x', 'y', 1.0)",
    "DELETE FROM bills",
    "DROP TABLE bills",
    "UPDATE runs SET status = 'failed'",
    "CREATE TABLE evil (x INTEGER)",
])
def test_writes_are_refused_and_change_nothing(stored, sql):
    store, run_id = stored
    before = _snapshot(store)
    with pytest.raises(StoreError, match="^read-only: ") as err:
        run_readonly_query(store.engine, sql)
    assert "\n" not in str(err.value)
    assert _snapshot(store) == before
    assert store.get_run(run_id)["status"] == "succeeded"


@pytest.mark.parametrize("sql", ["SELECT 1; DELETE FROM bills", "SELECT 1; COMMIT; DROP TABLE bills"])
def test_multiple_statements_cannot_escape(stored, sql):
    store, _ = stored
    before = _snapshot(store)
    with pytest.raises(StoreError):
        run_readonly_query(store.engine, sql)
    assert _snapshot(store) == before


@pytest.mark.parametrize("sql, words", [("SELECT nope FROM bills", "nope"), ("SELEC 1", "SELEC"), ("  ", "empty")])
def test_sql_errors_are_one_line(stored, sql, words):
    store, _ = stored
    with pytest.raises(StoreError, match="^SQL error: ") as err:
        run_readonly_query(store.engine, sql)
    assert "\n" not in str(err.value) and words in str(err.value)
