"""Migration 0008 over a store filled at 0007: every succeeded run gets its mechanisms in
``run_mechanisms`` (built-ins with their display names, a plugin under its name), its results
stay, and the rows go with their run."""

from __future__ import annotations

from sqlalchemy import text

from p2pstore.store import Store
from p2pstore.store.schema import migrate
from p2pstore.store.engine import create_engine
from p2pstore.store.results.run_mechanisms import stored_mechanisms


def test_upgrade_fills_run_mechanisms_from_the_runs(db_url):
    from alembic import command

    from p2pstore.scenario import Scenario

    command.upgrade(migrate.alembic_config(db_url), "0007")
    engine = create_engine(db_url)
    try:
        scenario = Scenario(days=1, consumers=1, prosumers=1, seed=4)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO scenarios (id, spec_hash, spec_json, seed, consumers, prosumers, days) "
                              "VALUES (1, :h, :s, 4, 1, 1, 1)"), {"h": scenario.spec_hash(), "s": scenario.canonical_json()})
            for run_id, status, names in ((1, "succeeded", "conventional,flat_p2p,mmr"), (2, "queued", "mmr")):
                conn.execute(text("INSERT INTO runs (id, scenario_id, status, mechanisms, series, priority, attempts, "
                                  "max_attempts) VALUES (:r, 1, :s, :m, 'none', 0, 1, 3)"),
                             {"r": run_id, "s": status, "m": names})
            conn.execute(text("INSERT INTO bills VALUES (1, 'flat_p2p', 'C1', 2.5, 0, 0, 0, 0, 0)"))
        assert migrate.upgrade(db_url)[0] == "0007"
        assert stored_mechanisms(engine, 1) == [
            {"mechanism": "conventional", "label": "Conventional", "plugin": None},
            {"mechanism": "flat_p2p", "label": "flat_p2p", "plugin": None},
            {"mechanism": "mmr", "label": "MMR", "plugin": None}]
        assert stored_mechanisms(engine, 2) == []  # nothing settled yet: written with its results
        with Store(db_url) as store:
            assert store.bills([1])["bill"].tolist() == [2.5]
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM runs WHERE id = 1"))
            assert conn.execute(text("SELECT COUNT(*) FROM run_mechanisms")).scalar() == 0
    finally:
        engine.dispose()
