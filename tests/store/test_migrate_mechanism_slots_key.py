"""Migration 0011 re-keys ``mechanism_slots`` by (run, slot, mechanism) over stored runs: every
value read back through ``household_series`` and the table itself is unchanged, both ways, and
the runs' rows still go with their run."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from p2pstore.scenario import Scenario
from p2pstore.simulate import simulate
from p2pstore.store import Store
from p2pstore.store.schema import migrate
from p2pstore.store.engine import create_engine

SERIES = "SELECT * FROM household_series ORDER BY run_id, mechanism, household, slot"
FACTORS = "SELECT * FROM mechanism_slots ORDER BY run_id, mechanism, slot"


def _read(engine) -> tuple[list, list]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(SERIES))], [tuple(r) for r in conn.execute(text(FACTORS))]


def _key(engine) -> list[str]:
    return inspect(engine).get_pk_constraint("mechanism_slots")["constrained_columns"]


def test_rekey_keeps_every_value(db_url):
    with Store(db_url) as store:
        for seed in (5, 6):
            scenario = Scenario(seed=seed, consumers=2, prosumers=2, days=2,
                                mechanisms=("conventional", "mmr", "bill_sharing", "sdr", "bs_lit"))
            assert store.write_results(store.create_run(scenario), simulate(scenario), "full")
    config = migrate.alembic_config(db_url)
    command.downgrade(config, "0010")  # the store as the previous revision keeps it
    engine = create_engine(db_url)
    try:
        assert _key(engine) == ["run_id", "mechanism", "slot"]
        before = _read(engine)
        assert len(before[0]) == 2 * 5 * 4 * 192 and len(before[1]) == 2 * 5 * 192
        command.upgrade(config, "0011")
        assert _key(engine) == ["run_id", "slot", "mechanism"]
        assert _read(engine) == before
        command.downgrade(config, "0010")
        assert _read(engine) == before
        command.upgrade(config, "head")
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM runs WHERE id = 1"))
            assert conn.execute(text("SELECT COUNT(DISTINCT run_id) FROM mechanism_slots")).scalar() == 1
    finally:
        engine.dispose()
