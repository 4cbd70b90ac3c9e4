"""Shared fixtures: every store/CLI test runs on SQLite and on a real PostgreSQL
(a fresh database per test; see ``pg_databases`` for where, and why CI never skips them)."""

from __future__ import annotations

import pytest

from pg_databases import BACKENDS, drop_pg_database, make_pg_database


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, tmp_path):
    """URL of an empty database (not yet migrated) on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'p2pstore.db'}"
        return
    url = make_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)
