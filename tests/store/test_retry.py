"""Telling an absent database from a wrong one (p2pstore.store.retry), on real driver errors."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
import sqlalchemy as sa

from p2pstore.errors import DatabaseUnavailable, StoreError
from p2pstore.store.retry import PERMANENT, TRANSIENT, call_with_retry, classify, describe, is_lock_wait

from pg_databases import PG_ADMIN_URL


def _raised(fn) -> BaseException:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001
        return exc
    raise AssertionError("nothing raised")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sqlite_lock_is_transient_and_a_bad_file_permanent(tmp_path):
    path = tmp_path / "db.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, timeout=0, isolation_level=None)
    locked = _raised(lambda: waiter.execute("BEGIN IMMEDIATE"))
    holder.execute("ROLLBACK")
    assert classify(locked) == TRANSIENT and is_lock_wait(locked)
    assert describe(locked) == "database is locked"
    junk = tmp_path / "junk.db"
    junk.write_text("not a database\n" * 100)
    not_db = _raised(lambda: sqlite3.connect(junk).execute("SELECT * FROM sqlite_master"))
    assert classify(not_db) == PERMANENT and not is_lock_wait(not_db)


def test_postgresql_refused_is_transient_missing_database_permanent():
    refused = _raised(lambda: psycopg.connect(f"postgresql://postgres@127.0.0.1:{_free_port()}/x", connect_timeout=5))
    assert classify(refused) == TRANSIENT
    missing_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/p2pstore_no_such_database"
    engine = sa.create_engine(missing_url)
    missing = _raised(engine.connect)
    engine.dispose()
    assert isinstance(missing, sa.exc.OperationalError) and classify(missing) == PERMANENT
    assert 'database "p2pstore_no_such_database" does not exist' in describe(missing)


def test_errors_wrapped_in_store_errors_keep_their_kind(tmp_path):
    def wrapped(exc):
        try:
            raise exc
        except Exception:
            raise StoreError("cannot store results of run 1: ...") from None

    engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/x")
    err = _raised(lambda: wrapped(_raised(engine.connect)))
    engine.dispose()
    assert isinstance(err, StoreError) and classify(err) == TRANSIENT
    assert classify(StoreError("database at revision 0001: run 'p2pstore db upgrade'")) == PERMANENT
    assert classify(DatabaseUnavailable("gone")) == TRANSIENT
    assert classify(ValueError("a bug")) is None


def test_constraint_violations_are_permanent(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with engine.connect() as conn:
        err = _raised(lambda: conn.exec_driver_sql("INSERT INTO t VALUES (1)"))
    engine.dispose()
    assert isinstance(err, sa.exc.IntegrityError) and classify(err) == PERMANENT


def test_call_with_retry_waits_out_transient_errors_only():
    calls, waits = [], []
    refused = _raised(lambda: psycopg.connect(f"postgresql://postgres@127.0.0.1:{_free_port()}/x"))

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise refused
        return "ok"

    assert call_with_retry(flaky, first_delay=0.01, on_retry=lambda e, d: waits.append(d)) == "ok"
    assert waits == [0.01, 0.02]
    with pytest.raises(DatabaseUnavailable, match="did not answer for 0.05 s: connection failed"):
        call_with_retry(lambda: (_ for _ in ()).throw(refused), patience=0.05, first_delay=0.01)
    with pytest.raises(ValueError):
        call_with_retry(lambda: (_ for _ in ()).throw(ValueError("a bug")), first_delay=0.01)
