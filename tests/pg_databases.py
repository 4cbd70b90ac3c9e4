"""PostgreSQL test databases: uniquely named, created on the server at
``P2PSTORE_TEST_PG_ADMIN_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``)
and dropped afterwards. Imported by the conftests and by tests that need a database by name.

When the server does not answer, :func:`make_pg_database` fails the test if ``CI`` or
``P2PSTORE_REQUIRE_PG`` is set (CI must never skip PostgreSQL tests) and skips it otherwise.
"""

from __future__ import annotations

import os
import uuid

import pytest

#: The backends a store test runs on. The PostgreSQL run is marked ``slow``: the fast tier
#: (``pytest -m "not slow"``) runs these tests on SQLite only and keeps the tests written for
#: PostgreSQL alone; the full suite (CI) runs both.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]

PG_ADMIN_URL = os.environ.get(
    "P2PSTORE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _pg_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _require_pg() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("P2PSTORE_REQUIRE_PG"))


def make_pg_database() -> str:
    """Create a fresh PostgreSQL database; return its SQLAlchemy URL."""
    import psycopg

    name = f"p2pstore_test_{uuid.uuid4().hex[:12]}"
    try:
        pg_admin(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        msg = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
        if _require_pg():
            pytest.fail(msg)
        pytest.skip(msg)
    return pg_url(name)


def drop_pg_database(url: str) -> None:
    """Drop the database, and its query gate role (``p2pstore_reader_<oid>``, cluster-wide)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True, connect_timeout=5) as conn:
        oid = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if oid is not None:
        pg_admin(f"DROP ROLE IF EXISTS p2pstore_reader_{oid[0]}")


def pg_url(name: str) -> str:
    """SQLAlchemy URL of database ``name`` on the admin URL's server."""
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def pg_admin(sql: str) -> None:
    """Run one statement on the server the test databases live on (autocommit)."""
    import psycopg

    with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)
