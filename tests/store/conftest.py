"""Store fixtures: a migrated store on each backend and a small settled scenario."""

from __future__ import annotations

import types

import pytest

from store_helpers import SCENARIO


@pytest.fixture(scope="session")
def settlement():
    """Settlement of :data:`SCENARIO` (2 + 3 households, 2 days, every mechanism)."""
    from p2pstore.simulate import simulate

    s = simulate(SCENARIO)
    return types.SimpleNamespace(profiles=s.profiles, flows=s.flows, results=s.results,
                                 daily=s.daily, metrics=s.metrics, totals=s.totals)


@pytest.fixture
def store(db_url):
    from p2pstore.store import Store

    st = Store(db_url)
    yield st
    st.close()

