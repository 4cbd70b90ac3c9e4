"""A small sweep stored once per backend and module: four finished runs in batch ``sweep`` (two
prosumer counts, two seeds each), one queued run in the same batch, and one finished run outside
it. The tests only read it (reports and exports write files under ``tmp_path``)."""

from __future__ import annotations

import dataclasses

import pytest
from pg_databases import BACKENDS, drop_pg_database, make_pg_database

from p2pstore import Scenario, Store
from p2pstore.simulate import simulate

SWEEP = [(11, 2), (12, 2), (13, 4), (14, 4)]  # (seed, prosumers)


@dataclasses.dataclass
class Sweep:
    url: str
    store: Store
    ids: list[int]      # finished runs of batch "sweep"
    queued: int         # a queued run of batch "sweep" (no results)
    single: int         # a finished run outside any batch, notebook-sized community, 3 days


def store_run(store: Store, scenario: Scenario, *, batch: str | None = None, series: str = "full") -> int:
    run_id = store.create_run(scenario, series=series, batch=batch)
    assert store.write_results(run_id, simulate(scenario), series)
    return run_id


@pytest.fixture(scope="module", params=BACKENDS)
def sweep_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sweep') / 'p2pstore.db'}"
        return
    url = make_pg_database()  # fails under CI, skips elsewhere, when PostgreSQL is down
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(scope="module")
def sweep(sweep_url):
    store = Store(sweep_url)
    try:
        ids = [store_run(store, Scenario(seed=seed, consumers=2, prosumers=p, days=2), batch="sweep")
               for seed, p in SWEEP]
        queued = store.create_run(Scenario(seed=99, consumers=2, prosumers=3, days=2), batch="sweep")
        single = store_run(store, Scenario(days=3))
        yield Sweep(sweep_url, store, ids, queued, single)
    finally:
        store.engine.dispose()
