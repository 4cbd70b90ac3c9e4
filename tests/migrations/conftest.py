"""pytest-alembic fixtures: the installed migrations against a fresh database on each backend."""

from __future__ import annotations

import pytest


@pytest.fixture
def alembic_config():
    from p2pstore.store.schema.migrate import alembic_config as make_config

    return make_config()


@pytest.fixture
def alembic_engine(db_url):
    from p2pstore.store.engine import create_engine

    engine = create_engine(db_url)
    yield engine
    engine.dispose()
