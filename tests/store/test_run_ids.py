"""Run ids are never given twice: after ``runs delete`` a new run gets a new id (SQLite's
AUTOINCREMENT, PostgreSQL's sequence), also in a store upgraded from the previous revision with
runs and results in it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from p2pstore.cli import cli
from p2pstore.store import Store
from p2pstore.store.schema import migrate
from p2pstore.store.engine import create_engine


def invoke(db_url, *args):
    result = CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def enqueue(db_url, n=1):
    return json.loads(invoke(db_url, "enqueue", "--days", "1", "--seeds", f"1..{n}", "--json"))["run_ids"]


def test_deleted_ids_are_not_given_again(db_url):
    assert enqueue(db_url, 3) == [1, 2, 3]
    invoke(db_url, "runs", "delete", "2", "3", "--yes")
    assert enqueue(db_url) == [4]
    invoke(db_url, "runs", "delete", "--batch", json.loads(invoke(db_url, "runs", "list", "--json"))[-1]["batch"],
           "--yes")
    assert enqueue(db_url) == [5]


def _exec(engine, sql, **params):
    with engine.begin() as conn:
        return conn.execute(text(sql), params).fetchall() if sql.lstrip().upper().startswith(("SELECT", "PRAGMA")) \
            else conn.execute(text(sql), params)


def test_upgrade_from_the_previous_revision_keeps_runs_and_results(db_url):
    from alembic import command

    from p2pstore.scenario import Scenario

    command.upgrade(migrate.alembic_config(db_url), "0006")
    engine = create_engine(db_url)
    try:
        scenario = Scenario(days=1, consumers=1, prosumers=1, seed=4)
        _exec(engine, "INSERT INTO scenarios (id, spec_hash, spec_json, seed, consumers, prosumers, days) "
                      "VALUES (1, :h, :s, 4, 1, 1, 1)", h=scenario.spec_hash(), s=scenario.canonical_json())
        for run_id in (1, 2, 3):
            _exec(engine, "INSERT INTO runs (id, scenario_id, status, mechanisms, series, priority, attempts, "
                          "max_attempts) VALUES (:r, 1, 'succeeded', 'mmr', 'full', 0, 1, 3)", r=run_id)
            for k, label in enumerate(("C1", "P1")):
                _exec(engine, "INSERT INTO households VALUES (:r, :k, :l, 'consumer', 6, 3, 1, 1)", r=run_id, k=k,
                      l=label)
                _exec(engine, "INSERT INTO bills VALUES (:r, 'mmr', :l, :b, 0, 0, 0, 0, 0)", r=run_id, l=label,
                      b=run_id + k / 4)
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequence past them, as serial inserts do
            _exec(engine, "SELECT setval('runs_id_seq', 3), setval('scenarios_id_seq', 1)")
        assert migrate.upgrade(db_url) == ("0006", migrate.head_revision())
        rows = _exec(engine, "SELECT run_id, household, bill FROM bills ORDER BY run_id, household")
        assert rows == [(r, label, r + k / 4) for r in (1, 2, 3) for k, label in enumerate(("C1", "P1"))]
        if engine.dialect.name == "sqlite":
            assert _exec(engine, "PRAGMA integrity_check") == [("ok",)]
            assert _exec(engine, "PRAGMA foreign_key_check") == []
        invoke(db_url, "runs", "delete", "3", "--yes")
        assert _exec(engine, "SELECT COUNT(*) FROM bills WHERE run_id = 3") == [(0,)]  # cascades still hold
        assert enqueue(db_url) == [4]
        assert _exec(engine, "SELECT COUNT(*) FROM bills") == [(4,)]
        with Store(db_url) as store:
            assert store.bills([1])["bill"].tolist() == pytest.approx([1.0, 1.25])
    finally:
        engine.dispose()
