"""Shared fixtures: every store/CLI test runs on SQLite and on a real PostgreSQL.

PostgreSQL: a uniquely named database is created on the server at ``P2PSTORE_TEST_PG_ADMIN_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) and dropped afterwards.
When the server does not answer, PostgreSQL tests fail if ``CI`` or ``P2PSTORE_REQUIRE_PG`` is
set (CI must never skip them), and are skipped otherwise.
"""

from __future__ import annotations

import os
import uuid

import pytest

PG_ADMIN_URL = os.environ.get(
    "P2PSTORE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


def _pg_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _require_pg() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("P2PSTORE_REQUIRE_PG"))


def make_pg_database() -> str:
    """Create a fresh PostgreSQL database; return its SQLAlchemy URL."""
    import psycopg

    name = f"p2pstore_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        msg = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
        if _require_pg():
            pytest.fail(msg)
        pytest.skip(msg)
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
