"""Migration 0012 stores the per-slot series once per run and per mechanism, behind the views
``clearing_prices`` and ``community_series``: over runs stored at the previous revision (series
full, community and none; SDR with infinite ratios; conventional's NULL prices; literature
mechanisms with P2P-off slots and undefined prices; a battery run) every row of the documented
tables reads back the same, bit for bit, up and down and up again. And at head nothing all NULL
is stored, while the views show a row per mechanism and slot."""

from __future__ import annotations

import math
import struct

from alembic import command
from sqlalchemy import text

from p2pstore import run_scenario
from p2pstore.scenario import Scenario
from p2pstore.store import Store
from p2pstore.store.engine import create_engine
from p2pstore.store.schema import SLOT_TABLES, migrate
from store_helpers import import_sdr_case

EVERY = ("conventional", "mmr", "bill_sharing", "sdr", "mmr_lit", "bs_lit", "bs_lit_slot")
DOCUMENTED = ("clearing_prices", "community_series", "household_series", "bills", "daily_bills", "run_metrics")
ORDER = {"household_series": "run_id, mechanism, household, slot", "bills": "run_id, mechanism, household",
         "daily_bills": "run_id, mechanism, day", "run_metrics": "run_id, mechanism, metric"}


def _exact(value):
    """A value compared exactly: a float by its bits (-0.0 is not 0.0, NaN equals NaN)."""
    if isinstance(value, float):
        return ("float", struct.pack(">d", value))
    return value


def _read(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {t: [tuple(_exact(v) for v in row) for row in conn.execute(
                    text(f"SELECT * FROM {t} ORDER BY {ORDER.get(t, 'run_id, mechanism, slot')}"))]
                for t in DOCUMENTED}


def _fill(store: Store) -> list[int]:
    """Runs of every kind the layout has to hold; their ids."""
    ids = []
    for seed, series in ((5, "full"), (6, "community"), (7, "none")):
        run_id, _ = run_scenario(Scenario(seed=seed, consumers=2, prosumers=3, days=3, mechanisms=EVERY),
                                 store, series=series)
        ids.append(run_id)
    import_sdr_case(store)  # SDR with an infinite ratio
    ids.append(run_scenario(Scenario(profiles="c7", mechanisms=EVERY), store, series="community")[0])
    ids.append(run_scenario(Scenario(seed=8, consumers=1, prosumers=3, days=2, battery_share=1.0,
                                     mechanisms=("conventional", "sdr", "bs_lit")), store, series="full")[0])
    return ids


def test_migration_keeps_every_value(db_url):
    with Store(db_url) as store:
        ids = _fill(store)
    config = migrate.alembic_config(db_url)
    command.downgrade(config, "0011")  # the store as the previous revision keeps it (tables, not views)
    engine = create_engine(db_url)
    try:
        before = _read(engine)
        ratios = [r[-1] for r in before["clearing_prices"] if r[1] == "sdr" and r[-1] is not None]
        assert ("float", struct.pack(">d", math.inf)) in ratios
        assert len(before["community_series"]) == 7 * (2 * 3 * 96 + 4) + 3 * 2 * 96
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM clearing_prices WHERE mechanism = 'conventional' "
                                     "AND import_price IS NULL")).scalar() > 0
        command.upgrade(config, "0012")
        assert _read(engine) == before
        command.downgrade(config, "0011")
        assert _read(engine) == before
        command.upgrade(config, "head")
        assert _read(engine) == before
        with engine.begin() as conn:
            conn.execute(text(f"DELETE FROM runs WHERE id = {ids[0]}"))
            per_run, per_mechanism = SLOT_TABLES[engine.dialect.name]
            for table in (per_run, per_mechanism):
                assert ids[0] not in conn.execute(text(f"SELECT DISTINCT run_id FROM {table}")).scalars().all()
    finally:
        engine.dispose()


def test_nothing_all_null_is_stored_and_views_have_every_row(store):
    runs = {}
    for series in ("community", "none"):
        scenario = Scenario(seed=4, consumers=2, prosumers=3, days=2, mechanisms=EVERY)
        runs[series], _ = run_scenario(scenario, store, series=series)
    slots = 2 * 96
    per_run, per_mechanism = SLOT_TABLES[store.dialect]
    values = ("import_price", "export_price", "p2p_price", "supply_demand_ratio",
              "grid_import_kwh", "grid_export_kwh", "p2p_kwh", "cost")
    with store.engine.connect() as conn:
        def scalar(sql):
            return conn.execute(text(sql)).scalar()

        assert scalar(f"SELECT COUNT(*) FROM {per_mechanism} WHERE {' AND '.join(f'{v} IS NULL' for v in values)}") == 0
        if store.dialect == "postgresql":  # no array whose every element is NULL; a row per run
            for v in values:
                assert scalar(f"SELECT COUNT(*) FROM {per_mechanism} WHERE {v} IS NOT NULL AND NOT EXISTS "
                              f"(SELECT 1 FROM unnest({v}) x WHERE x IS NOT NULL)") == 0
            assert scalar(f"SELECT COUNT(*) FROM {per_run}") == 2
        else:
            assert scalar(f"SELECT COUNT(*) FROM {per_run}") == 2 * slots
        # conventional without series has nothing to store: no prices, no flows
        assert scalar(f"SELECT COUNT(*) FROM {per_mechanism} WHERE run_id = {runs['none']} AND mechanism = 0") == 0
        assert scalar(f"SELECT load_kw IS NULL FROM {per_run} WHERE run_id = {runs['none']} LIMIT 1")
        for series, run_id in runs.items():
            assert scalar(f"SELECT COUNT(*) FROM clearing_prices WHERE run_id = {run_id}") == len(EVERY) * slots
            shown = scalar(f"SELECT COUNT(*) FROM community_series WHERE run_id = {run_id}")
            assert shown == (len(EVERY) * slots if series == "community" else 0)
    prices = store.prices(runs["none"], "conventional")
    assert len(prices) == slots and prices[["import_price", "export_price", "p2p_price"]].isna().all().all()
