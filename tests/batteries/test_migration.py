"""The battery migration over a store filled at the previous revision (SQLite rebuilds
``households`` for its new CHECK): every row kept, the ``household_series`` view back and
answering, cascades intact, the kind ``battery`` accepted; a battery run stored after it; and
down again (the kind turned into ``consumer``, the battery tables gone)."""

from __future__ import annotations

from sqlalchemy import text

from p2pstore.jobs.execute import run_scenario
from p2pstore.scenario import Scenario
from p2pstore.store import Store
from p2pstore.store.schema import migrate
from p2pstore.store.engine import create_engine

BEFORE = "0008"


def _exec(engine, sql, **params):
    with engine.begin() as conn:
        result = conn.execute(text(sql), params)
        return result.fetchall() if result.returns_rows else None


def test_upgrade_keeps_a_stored_run_and_allows_batteries(db_url):
    from alembic import command

    command.upgrade(migrate.alembic_config(db_url), BEFORE)
    engine = create_engine(db_url)
    try:
        _fill(engine)
        before = _exec(engine, "SELECT * FROM household_series ORDER BY mechanism, household, slot")
        assert len(before) == 4
        assert migrate.upgrade(db_url)[1] == migrate.head_revision()
        assert _exec(engine, "SELECT * FROM households ORDER BY position") == [
            (1, 0, "C1", "consumer", 6.0, 0.0, 2.0, 0.0), (1, 1, "P1", "prosumer", 5.0, 3.0, 1.0, 3.0)]
        assert _exec(engine, "SELECT * FROM household_series ORDER BY mechanism, household, slot") == before
        if engine.dialect.name == "sqlite":
            assert _exec(engine, "PRAGMA integrity_check") == [("ok",)]
            assert _exec(engine, "PRAGMA foreign_key_check") == []
        _exec(engine, "INSERT INTO households VALUES (1, 2, 'community_battery', 'battery', 5.5, 3.0, 0, 0)")
        with Store(db_url) as store:
            run_id, s = run_scenario(Scenario(days=1, shared_battery_kwh=5.0), store)
            assert store.households(run_id)["kind"].tolist()[-1] == "battery"
        _exec(engine, "DELETE FROM runs WHERE id = 1")
        assert _exec(engine, "SELECT COUNT(*) FROM households WHERE run_id = 1") == [(0,)]  # cascades hold
        command.downgrade(migrate.alembic_config(db_url), BEFORE)
        assert _exec(engine, f"SELECT kind FROM households WHERE run_id = {run_id} AND household = "
                             "'community_battery'") == [("consumer",)]
    finally:
        engine.dispose()


def _fill(engine) -> None:
    scenario = Scenario(days=1, consumers=1, prosumers=1, seed=4)
    _exec(engine, "INSERT INTO scenarios (id, spec_hash, spec_json, seed, consumers, prosumers, days) "
                  "VALUES (1, :h, :s, 4, 1, 1, 1)", h=scenario.spec_hash(), s=scenario.canonical_json())
    _exec(engine, "INSERT INTO runs (id, scenario_id, status, mechanisms, series, priority, attempts, max_attempts) "
                  "VALUES (1, 1, 'succeeded', 'mmr', 'full', 0, 1, 3)")
    _exec(engine, "INSERT INTO households VALUES (1, 0, 'C1', 'consumer', 6, 0, 2, 0)")
    _exec(engine, "INSERT INTO households VALUES (1, 1, 'P1', 'prosumer', 5, 3, 1, 3)")
    for k in (0, 1):
        for slot in (0, 1):
            _exec(engine, "INSERT INTO household_slots VALUES (1, :k, :s, :l, :p, NULL, NULL)", k=k, s=slot,
                  l=1.0 + slot, p=0.5 * k)
    for slot in (0, 1):
        _exec(engine, "INSERT INTO mechanism_slots VALUES (1, 'mmr', :s, 0.25, 0.25, 0, 0, 0.25, 0, 0.25, 0)", s=slot)
    if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        _exec(engine, "SELECT setval('runs_id_seq', 1), setval('scenarios_id_seq', 1)")
