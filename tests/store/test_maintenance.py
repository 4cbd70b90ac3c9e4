"""Deleting runs (every row of theirs, nothing else), database size, VACUUM and ``info``. Both
backends."""

from __future__ import annotations

import dataclasses
import types

import pytest
import sqlalchemy as sa

from db_counts import table_counts
from p2pstore.errors import InputError, NotFoundError
from p2pstore.store import RunRequest
from p2pstore.store.queue import actions
from p2pstore.store.schema import maintenance
from p2pstore.store.schema import RESULT_TABLES, Base, tables_on
from store_helpers import SCENARIO


def _per_run(store) -> dict[str, dict[int, int]]:
    """``{table: {run_id: rows}}`` of every table with a run_id column."""
    out = {}
    with store.engine.connect() as conn:
        for t in actions.run_tables(dialect=store.dialect):
            out[t.name] = dict(conn.execute(sa.select(t.c.run_id, sa.func.count()).group_by(t.c.run_id)).all())
    return out


def _with_explicit_rows(settlement):
    """The settlement with one mechanism's cost form dropped, so that its household series is
    stored explicitly (``household_series_explicit``) beside the derived ones."""
    results = dict(settlement.results)
    name = sorted(results)[0]
    results[name] = dataclasses.replace(results[name], cost_form=None)
    return types.SimpleNamespace(**{**vars(settlement), "results": results})


def _stored_runs(store, settlement, n=3, batch=None, series="full"):
    ids = store.create_runs([RunRequest(SCENARIO.replace(seed=s), series=series, batch=batch) for s in range(n)])
    mixed = _with_explicit_rows(settlement)  # every per-run table gets rows of every run
    for rid in ids:
        assert store.write_results(rid, mixed, series)
    return ids


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_run_tables_are_every_table_with_a_run_id_but_views(dialect):
    names = {t.name for t in actions.run_tables(dialect=dialect)}
    assert set(tables_on(dialect, RESULT_TABLES)) <= names
    assert names == {t.name for t in Base.metadata.sorted_tables
                     if "run_id" in t.c and not t.info.get("is_view") and t.info.get("dialect", dialect) == dialect}
    md = sa.MetaData()
    sa.Table("parent", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("child", md, sa.Column("run_id", sa.ForeignKey("parent.id")))
    sa.Table("a_view", md, sa.Column("run_id", sa.Integer), info={"is_view": True})
    assert [t.name for t in actions.run_tables(md)] == ["child"]


def test_delete_removes_every_row_of_the_runs_and_nothing_else(store, settlement, db_url):
    keep, gone, also_gone = _stored_runs(store, settlement)
    [queued] = store.create_runs([RunRequest(SCENARIO, batch="q")])
    before, per_run = table_counts(db_url), _per_run(store)
    assert all(per_run[t][gone] > 0 for t in tables_on(store.dialect, RESULT_TABLES))  # full series: every table

    out = actions.delete_runs(store.engine, [gone, also_gone, queued])
    assert out["run_ids"] == sorted([gone, also_gone, queued])

    after, per_run_after = table_counts(db_url), _per_run(store)
    for table, rows in per_run_after.items():
        assert gone not in rows and also_gone not in rows and queued not in rows, table
        assert rows.get(keep) == per_run[table].get(keep), table  # the other run's rows all stay
        assert out["rows"][table] == sum(per_run[table].get(r, 0) for r in (gone, also_gone, queued))
    views = ("household_series", "clearing_prices", "community_series")
    with store.engine.connect() as conn:  # the views over the per-run tables follow them
        for view in views:
            view_rows = dict(conn.execute(sa.text(f"SELECT run_id, COUNT(*) FROM {view} GROUP BY run_id")).all())
            assert view_rows == {keep: before[view] // 3}, view
    for table, n in before.items():
        if table in views:
            continue  # checked above
        if table == "runs":
            assert after[table] == n - 3
        elif table not in per_run:
            assert after[table] == n, table  # scenarios, profile sets, schedules: untouched
        else:
            assert after[table] == per_run_after[table].get(keep, 0), table
    assert list(store.runs()["run_id"]) == [keep]


def test_delete_by_batch(store, settlement):
    keep = _stored_runs(store, settlement, n=1, batch="keep")
    doomed = _stored_runs(store, settlement, n=2, batch="old", series="community")
    out = actions.delete_runs(store.engine, batch="old")
    assert out["run_ids"] == doomed and out["rows"]["runs"] == 2
    assert set(store.runs()["run_id"]) == set(keep)


def test_refusals_delete_nothing(store, settlement, db_url):
    [done] = _stored_runs(store, settlement, n=1, batch="b")
    claim = store.create_claimed_run(RunRequest(SCENARIO, batch="b"), "cli@host:1", lease_s=60)
    before = table_counts(db_url)
    with pytest.raises(InputError, match=f"run {claim.run_id} is running"):
        actions.delete_runs(store.engine, [done, claim.run_id])
    with pytest.raises(InputError, match="is running"):
        actions.delete_runs(store.engine, batch="b")
    with pytest.raises(NotFoundError, match="no run with id 999"):
        actions.delete_runs(store.engine, [done, 999])
    with pytest.raises(NotFoundError, match="no runs in batch 'none'"):
        actions.delete_runs(store.engine, batch="none")
    with pytest.raises(InputError, match="not both"):
        actions.delete_runs(store.engine, [done], batch="b")
    with pytest.raises(InputError, match="give run ids or --batch"):
        actions.delete_runs(store.engine)
    assert table_counts(db_url) == before
    assert actions.deletable(store.engine, [done]) == {done: "succeeded"}


def test_size_vacuum_and_info(store, settlement, backend):
    ids = _stored_runs(store, settlement, n=3)
    size = maintenance.database_size(store.engine)
    assert size > 0
    info = maintenance.info(store.engine)
    assert info["backend"] == backend and info["revision"] == info["head"]
    assert info["runs"]["succeeded"] == 3 and set(info["runs"]) >= {"queued", "running", "failed"}
    assert info["rows"]["runs"] == 3 and info["rows"]["bills"] == 3 * len(settlement.profiles.labels) * 3
    assert "***" not in info["url"] or "@" in info["url"]
    actions.delete_runs(store.engine, ids)
    before, after = maintenance.vacuum(store.engine)
    assert before > 0 and after > 0
    if backend == "sqlite":
        assert after < before and maintenance.free_bytes(store.engine) == 0
    else:
        assert maintenance.free_bytes(store.engine) is None
    assert maintenance.info(store.engine)["rows"]["bills"] == 0


def test_format_growth():
    assert maintenance.format_growth(1024, 3 * 1024) == "database 1.0 KiB -> 3.0 KiB (+2.0 KiB)"
    assert maintenance.format_growth(2048, 1024) == "database 2.0 KiB -> 1.0 KiB (-1.0 KiB)"
