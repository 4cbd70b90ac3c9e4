"""Database errors mapped once (p2pstore.store.errmap through p2pstore.store.engine), and retry
decisions read from their type (p2pstore.store.retry): one test per mapping, on real SQLite and
real PostgreSQL errors."""

from __future__ import annotations

import socket
import sqlite3
import threading

import psycopg
import pytest
import sqlalchemy as sa

from p2pstore.errors import (AccessDeniedError, ConflictError, DatabaseUnavailable, IntegrityViolation,
                             LockBusyError, NotADatabaseError, PermanentStoreError, ReadOnlyError, StoreError,
                             TransientStoreError)
from p2pstore.store.engine import begin_write, connect, create_engine, transaction
from p2pstore.store.retry import PERMANENT, TRANSIENT, call_with_retry, classify, describe, is_lock_wait

from pg_databases import PG_ADMIN_URL, drop_pg_database, make_pg_database


def _raised(fn) -> BaseException:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001
        return exc
    raise AssertionError("nothing raised")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(engine, sql: str, *, write: bool = True):
    with transaction(engine, write=write) as conn:
        return conn.exec_driver_sql(sql).fetchall() if not write else conn.exec_driver_sql(sql)


@pytest.fixture
def pg():
    url = make_pg_database()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x integer PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1), (2)")
    yield engine
    engine.dispose()
    drop_pg_database(url)


@pytest.fixture
def lite(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", sqlite_busy_timeout_s=0)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1), (2)")
    yield engine
    engine.dispose()


# -- SQLite ----------------------------------------------------------------------------------------
def test_sqlite_locked_is_a_transient_lock_wait(lite):
    holder = sqlite3.connect(lite.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        locked = _raised(lambda: _run(lite, "INSERT INTO t VALUES (3)"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert isinstance(locked, LockBusyError) and classify(locked) == TRANSIENT and is_lock_wait(locked)
    assert describe(locked) == "database is locked"


def test_sqlite_not_a_database_is_permanent(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("not a database\n" * 100)
    engine = create_engine(f"sqlite:///{junk}")
    err = _raised(lambda: connect(engine).exec_driver_sql("SELECT * FROM sqlite_master"))
    engine.dispose()
    assert isinstance(err, NotADatabaseError) and classify(err) == PERMANENT and not is_lock_wait(err)
    assert str(err) == f"cannot connect to database {f'sqlite:///{junk}'!r}: file is not a database"


def test_sqlite_cannot_open_is_permanent(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    err = _raised(lambda: connect(engine))
    engine.dispose()
    assert isinstance(err, NotADatabaseError) and classify(err) == PERMANENT


def test_sqlite_read_only_is_permanent(lite):
    ro = create_engine(f"sqlite:///file:{lite.url.database}?mode=ro&uri=true")
    err = _raised(lambda: _run(ro, "INSERT INTO t VALUES (3)"))
    ro.dispose()
    assert isinstance(err, ReadOnlyError) and classify(err) == PERMANENT


def test_sqlite_constraint_is_permanent(lite):
    err = _raised(lambda: _run(lite, "INSERT INTO t VALUES (1)"))
    assert isinstance(err, IntegrityViolation) and classify(err) == PERMANENT


def test_driver_calls_beside_sqlalchemy_are_mapped_in_the_transaction_scope(lite):
    def raw_write():
        with begin_write(lite, "store results of run 7") as conn:
            conn.connection.driver_connection.execute("INSERT INTO t VALUES (1)")

    err = _raised(raw_write)
    assert isinstance(err, IntegrityViolation)
    assert str(err) == f"cannot store results of run 7 in {str(lite.url)!r}: UNIQUE constraint failed: t.x"
    assert describe(err) == "UNIQUE constraint failed: t.x"


# -- PostgreSQL ------------------------------------------------------------------------------------
def _pg_engine(user: str = "postgres", database: str = "postgres", port: int | None = None,
               host: str = "127.0.0.1"):
    base = sa.engine.make_url(PG_ADMIN_URL)
    return create_engine(str(base.set(username=user, database=database, host=host,
                                      port=port or base.port).render_as_string(hide_password=False)))


def test_postgresql_connection_refused_is_transient():
    engine = _pg_engine(port=_free_port())
    err = _raised(lambda: connect(engine))
    engine.dispose()
    assert type(err) is TransientStoreError and classify(err) == TRANSIENT and not is_lock_wait(err)
    assert str(err).startswith("cannot connect to database ") and "Connection refused" in describe(err)


def test_postgresql_missing_database_is_permanent():
    engine = _pg_engine(database="p2pstore_no_such_database")
    err = _raised(lambda: engine.begin().__enter__())
    engine.dispose()
    assert isinstance(err, AccessDeniedError) and classify(err) == PERMANENT
    assert 'database "p2pstore_no_such_database" does not exist' in describe(err)


def test_postgresql_authentication_failure_is_permanent():
    engine = _pg_engine(user="p2pstore_no_such_role")
    err = _raised(lambda: connect(engine))
    engine.dispose()
    assert isinstance(err, AccessDeniedError) and classify(err) == PERMANENT


def test_postgresql_unknown_host_is_permanent():
    engine = _pg_engine(host="p2pstore-no-such-host.invalid")
    err = _raised(lambda: connect(engine))
    engine.dispose()
    assert type(err) is PermanentStoreError and classify(err) == PERMANENT


def test_postgresql_terminated_connection_is_transient(pg):
    with pg.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with pg.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        err = _raised(lambda: conn.exec_driver_sql("SELECT 1"))
    assert isinstance(err, TransientStoreError) and classify(err) == TRANSIENT
    assert _run(pg, "SELECT count(*) FROM t", write=False) == [(2,)]  # the pool reconnects


def test_postgresql_read_only_transaction_is_permanent(pg):
    def write():
        with transaction(pg) as conn:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            conn.exec_driver_sql("INSERT INTO t VALUES (3)")

    err = _raised(write)
    assert isinstance(err, ReadOnlyError) and classify(err) == PERMANENT


def test_postgresql_constraint_is_permanent(pg):
    err = _raised(lambda: _run(pg, "INSERT INTO t VALUES (1)"))
    assert isinstance(err, IntegrityViolation) and classify(err) == PERMANENT


def test_postgresql_lock_not_available_is_a_transient_lock_wait(pg):
    with transaction(pg) as holder:
        holder.exec_driver_sql("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")

        def wait_for_lock():
            with transaction(pg) as conn:
                conn.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
                conn.exec_driver_sql("SELECT * FROM t")

        err = _raised(wait_for_lock)
    assert isinstance(err, LockBusyError) and classify(err) == TRANSIENT and is_lock_wait(err)


def test_postgresql_serialization_failure_is_transient(pg):
    with transaction(pg) as first:
        first.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        first.exec_driver_sql("SELECT * FROM t")  # the snapshot
        _run(pg, "UPDATE t SET x = 10 WHERE x = 1")
        err = _raised(lambda: first.exec_driver_sql("UPDATE t SET x = 11 WHERE x = 1"))
    assert isinstance(err, ConflictError) and classify(err) == TRANSIENT and not is_lock_wait(err)


def test_postgresql_deadlock_is_transient(pg):
    errors: list[BaseException] = []
    both_locked = threading.Barrier(2, timeout=10)

    def lock(first: int, second: int):
        try:
            with transaction(pg) as conn:
                conn.exec_driver_sql(f"UPDATE t SET x = x WHERE x = {first}")
                both_locked.wait()
                conn.exec_driver_sql(f"UPDATE t SET x = x WHERE x = {second}")
        except StoreError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=lock, args=args) for args in ((1, 2), (2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(errors) == 1, errors  # PostgreSQL breaks the cycle by failing one of them
    assert isinstance(errors[0], ConflictError) and classify(errors[0]) == TRANSIENT


# -- the type decides, whatever raises it later -----------------------------------------------------
def test_the_type_decides_not_the_chain():
    engine = _pg_engine(port=_free_port())
    refused = _raised(lambda: connect(engine))
    engine.dispose()

    def raised_outside_the_except():
        try:
            raise refused
        except StoreError as exc:
            caught = exc
        raise caught

    assert classify(_raised(raised_outside_the_except)) == TRANSIENT
    assert classify(StoreError("database at revision 0001: run 'p2pstore db upgrade'")) == PERMANENT
    assert classify(DatabaseUnavailable("gone")) == TRANSIENT
    assert classify(ValueError("a bug")) is None
    # a driver error that reached here unmapped is typed by the same table
    assert classify(_raised(lambda: psycopg.connect(f"postgresql://postgres@127.0.0.1:{_free_port()}/x"))) == TRANSIENT
    assert classify(_raised(lambda: sqlite3.connect(":memory:").execute("SELEC 1"))) == PERMANENT


def test_call_with_retry_waits_out_transient_errors_only():
    calls, waits = [], []
    engine = _pg_engine(port=_free_port())
    refused = _raised(lambda: connect(engine))
    engine.dispose()

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
    permanent = IntegrityViolation("UNIQUE constraint failed")
    with pytest.raises(IntegrityViolation):
        call_with_retry(lambda: (_ for _ in ()).throw(permanent), first_delay=0.01)
