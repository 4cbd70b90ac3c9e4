"""Databases that are not p2pstore's keep exactly what they hold.

Another application's SQLite file or PostgreSQL database is refused by `query`, `runs list`,
`run` and `worker --burst` in one line (its tables, rows and SQLite journal mode unchanged); only
an explicit `p2pstore db upgrade` adds p2pstore's tables. Template databases are refused
outright. Read commands never create the schema, even in an empty database.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import uuid

import pytest
from click.testing import CliRunner

from p2pstore.cli import cli
from pg_databases import drop_pg_database, make_pg_database, pg_admin, pg_url

COMMANDS = [
    ["query", "SELECT 1"],
    ["runs", "list"],
    ["bills", "1"],
    ["compare", "--runs", "1"],
    ["run", "--days", "1", "--series", "none"],
    ["enqueue", "--days", "1"],
    ["schedule", "add", "nightly", "--cron", "0 2 * * *"],
    ["worker", "--burst"],
]


def _p2pstore(url: str, args: list[str]):
    """Run the CLI; the worker in a process of its own (it installs signal handlers)."""
    if args[0] == "worker":
        out = subprocess.run([sys.executable, "-m", "p2pstore", "--db", url, *args, "--poll", "0.1"],
                             capture_output=True, text=True, timeout=120)
        return out.returncode, out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ""
    result = CliRunner().invoke(cli, ["--db", url, *args])
    assert result.exit_code == 0 or result.output.count("\n") == 1, result.output
    return result.exit_code, result.output.strip()


# -- SQLite ------------------------------------------------------------------------------------
@pytest.fixture
def foreign_sqlite(tmp_path):
    path = tmp_path / "inventory.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("CREATE VIEW named AS SELECT name FROM items")
        conn.executemany("INSERT INTO items (name) VALUES (?)", [("bolt",), ("nut",)])
    conn.close()
    return path


def _sqlite_state(path) -> tuple:
    with sqlite3.connect(path) as conn:
        objects = conn.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall()
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        rows = conn.execute("SELECT * FROM items ORDER BY id").fetchall()
    conn.close()
    return objects, mode, rows


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_foreign_sqlite_file_is_left_alone(foreign_sqlite, args):
    before = _sqlite_state(foreign_sqlite)
    digest = hashlib.sha256(foreign_sqlite.read_bytes()).hexdigest()
    code, line = _p2pstore(f"sqlite:///{foreign_sqlite}", args)
    assert code == 2, line
    assert line.startswith("Error: ") and "is not empty and has no p2pstore schema" in line, line
    assert "items" in line and "p2pstore db upgrade" in line
    assert _sqlite_state(foreign_sqlite) == before
    assert before[1] == "delete"
    assert hashlib.sha256(foreign_sqlite.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in foreign_sqlite.parent.iterdir()) == ["inventory.db"]  # no -wal, no -shm


def test_db_upgrade_adds_p2pstore_to_a_foreign_file_explicitly(foreign_sqlite):
    url = f"sqlite:///{foreign_sqlite}"
    assert CliRunner().invoke(cli, ["--db", url, "db", "upgrade"]).exit_code == 0
    assert CliRunner().invoke(cli, ["--db", url, "run", "--days", "1", "--series", "none"]).exit_code == 0
    objects, mode, rows = _sqlite_state(foreign_sqlite)
    assert ("table", "items") in objects and ("table", "runs") in objects
    assert mode == "delete" and rows == [(1, "bolt"), (2, "nut")]  # its journal mode stays its own


def test_read_commands_never_create_the_schema(db_url):
    """An empty database stays empty under read commands; a command that stores creates it."""
    from p2pstore.store.schema import migrate

    for args in (["query", "SELECT 1"], ["runs", "list"], ["schedule", "list"], ["compare", "--runs", "1"]):
        code, line = _p2pstore(db_url, args)
        assert code == 2 and ("has no p2pstore schema" in line or "does not exist" in line), line
        assert migrate.current(db_url)[0] is None
    code, _ = _p2pstore(db_url, ["run", "--days", "1", "--series", "none"])
    assert code == 0 and migrate.current(db_url)[0] == migrate.head_revision()


def test_new_sqlite_store_is_wal(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert CliRunner().invoke(cli, ["--db", url, "run", "--days", "1", "--series", "none"]).exit_code == 0
    with sqlite3.connect(tmp_path / "new.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


# -- PostgreSQL --------------------------------------------------------------------------------
def _pg_tables(url: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
            "ORDER BY 1, 2").fetchall()


@pytest.fixture
def foreign_pg():
    """A PostgreSQL database of another application: a table, a view, a sequence, a schema."""
    url = make_pg_database()
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, item text)")
        conn.execute("INSERT INTO orders (item) VALUES ('bolt'), ('nut')")
        conn.execute("CREATE VIEW open_orders AS SELECT * FROM orders")
        conn.execute("CREATE SCHEMA billing")
        conn.execute("CREATE TABLE billing.invoices (id int)")
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.mark.slow
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_foreign_pg_database_is_left_alone(foreign_pg, args):
    before = _pg_tables(foreign_pg)
    code, line = _p2pstore(foreign_pg, args)
    assert code == 2, line
    assert line.startswith("Error: ") and "is not empty and has no p2pstore schema" in line, line
    assert "public.orders" in line
    assert _pg_tables(foreign_pg) == before


@pytest.fixture
def own_template():
    """A template database of this test's own (never template0/template1/postgres)."""
    name = f"p2pstore_test_tmpl_{uuid.uuid4().hex[:10]}"
    pg_admin(f'CREATE DATABASE "{name}" IS_TEMPLATE true')
    try:
        yield pg_url(name)
    finally:
        pg_admin(f'ALTER DATABASE "{name}" IS_TEMPLATE false')
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
@pytest.mark.parametrize("args", [*COMMANDS, ["db", "upgrade"], ["db", "current"]], ids=lambda a: " ".join(a[:2]))
def test_template_databases_are_refused(own_template, args):
    code, line = _p2pstore(own_template, args)
    assert code == 2, line
    assert "is a template database" in line, line
    assert _pg_tables(own_template) == []


def test_template1_is_refused_and_unchanged():
    """template1 itself: refused before anything is read or written (no test writes there)."""
    url = pg_url("template1")
    for args in (["query", "SELECT 1"], ["run", "--days", "1", "--series", "none"], ["db", "upgrade"]):
        code, line = _p2pstore(url, args)
        assert code == 2 and "/template1'" in line and "is a template database" in line, line
    assert not [t for t in _pg_tables(url) if t[1] in ("runs", "scenarios", "alembic_version")]
