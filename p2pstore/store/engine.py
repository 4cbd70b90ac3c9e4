"""Database URL resolution and engine creation (SQLite pragmas, PostgreSQL driver choice).

One URL setting: an explicit URL, else ``P2PSTORE_DATABASE_URL``, else ``sqlite:///./p2pstore.db``.
Every problem opening the database surfaces as a one-line :class:`StoreError` naming the URL
with its password masked.

Database errors are mapped here, once (:mod:`p2pstore.store.errmap`): every engine made by
:func:`create_engine` turns the driver errors SQLAlchemy sees into typed
:class:`~p2pstore.errors.StoreError` subclasses (transient or permanent), and the scopes of
:func:`connect`, :func:`begin_write` and :func:`transaction` do the same for driver calls made
beside SQLAlchemy (bulk COPY, raw cursors).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from p2pstore.errors import StoreError
from p2pstore.store.errmap import map_error, one_line, with_context

__all__ = ["one_line"]  # re-exported: callers read it from here

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

ENV_VAR = "P2PSTORE_DATABASE_URL"
DEFAULT_URL = "sqlite:///./p2pstore.db"
SUPPORTED_DIALECTS = ("sqlite", "postgresql")

#: SQLite waits this long (milliseconds) for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Execution option: on SQLite, begin the transaction with ``BEGIN IMMEDIATE`` (writers).
SQLITE_IMMEDIATE = "p2pstore_sqlite_immediate"
#: Key in ``Connection.info``: ``time.monotonic()`` when a SQLite writer got the write lock.
WRITE_LOCK_AT = "p2pstore_write_lock_at"
#: PostgreSQL connection attempts give up after this many seconds.
PG_CONNECT_TIMEOUT_S = 10


def resolve_url(url: str | None = None) -> str:
    """Return the database URL to use: ``url``, else the environment, else the default file.

    ``postgresql://`` and ``postgres://`` are rewritten to ``postgresql+psycopg://`` (psycopg 3).
    """
    url = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    url = url.strip()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if url.startswith("postgres+"):
        return "postgresql+" + url[len("postgres+"):]
    return url


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    try:
        from sqlalchemy.engine import make_url  # SQLAlchemy on first use: commands without a database start faster

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparseable: still never echo a password
        head, sep, tail = url.partition("@")
        if sep and ":" in head.split("//", 1)[-1]:
            scheme, _, cred = head.partition("//")
            user = cred.split(":", 1)[0]
            return f"{scheme}//{user}:***@{tail}"
        return url


def create_engine(url: str | None = None, *, sqlite_busy_timeout_s: float | None = None) -> Engine:
    """Create a SQLAlchemy engine for ``url`` (resolved by :func:`resolve_url`).

    Does not connect; :func:`connect` does. Raises :class:`StoreError` for a malformed
    URL or an unsupported dialect. ``sqlite_busy_timeout_s``: how long a SQLite statement waits
    for another writer's lock before failing with "database is locked" (default
    :data:`SQLITE_BUSY_TIMEOUT_MS`).
    """
    # SQLAlchemy on first use (about 0.1 s): commands that never open a database start without it
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url  # (start-up cost, as above)
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError  # (start-up cost, as above)

    url = resolve_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"cannot parse database URL {mask_url(url)!r} "
                         "(expected sqlite:///PATH or postgresql://USER@HOST/DB)") from None
    dialect = parsed.get_backend_name()
    if dialect not in SUPPORTED_DIALECTS:
        raise StoreError(f"unsupported database {dialect!r} in URL {mask_url(url)!r} "
                         f"(supported: {', '.join(SUPPORTED_DIALECTS)})")
    try:
        if dialect == "sqlite":
            busy_ms = SQLITE_BUSY_TIMEOUT_MS if sqlite_busy_timeout_s is None else int(sqlite_busy_timeout_s * 1000)
            engine = sa.create_engine(parsed, connect_args={"timeout": busy_ms / 1000})
            _configure_sqlite(engine, busy_ms)
        else:
            engine = sa.create_engine(
                parsed, pool_pre_ping=True, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S}
            )
    except (NoSuchModuleError, ImportError, ArgumentError) as exc:
        raise StoreError(f"cannot use database URL {mask_url(url)!r}: {one_line(exc)}") from None
    sa.event.listen(engine, "handle_error", _map_handled_error)
    return engine


def _map_handled_error(ctx):
    """SQLAlchemy's ``handle_error`` hook: raise the driver error as a typed StoreError (a failed
    connection attempt names the URL). Pre-pings are left to the pool (it reconnects)."""
    if ctx.is_pre_ping:
        return None
    engine = ctx.engine
    connecting = ctx.connection is None
    mapped = map_error(ctx.original_exception, disconnect=ctx.is_disconnect, connecting=connecting,
                       conninfo=_conninfo(engine) if connecting else None,
                       context=f"cannot connect to database {engine_url(engine)!r}" if connecting else None)
    return mapped


def _conninfo(engine: Engine) -> str | None:
    """libpq's connection string for a PostgreSQL engine (to ping its server), else None."""
    if engine is None or engine.dialect.name != "postgresql":
        return None
    # psycopg is loaded already on this path (a PostgreSQL connection attempt failed)
    from psycopg.conninfo import make_conninfo

    _, params = engine.dialect.create_connect_args(engine.url)
    params = {k: v for k, v in params.items() if isinstance(v, (str, int))}  # not psycopg's adapters
    return make_conninfo("", **{**params, "connect_timeout": 2})


@contextlib.contextmanager
def errors_mapped(engine: Engine, what: str | None = None, *, context: str | None = None) -> Iterator[None]:
    """Inside: driver errors (and SQLAlchemy's pool timeout) are raised as typed StoreErrors;
    ``what`` (``"store results of run 3"``) makes their message ``cannot <what> in <URL>: ...``
    (``context``: the whole prefix instead). Non-database exceptions pass unchanged."""
    if what:
        context = f"cannot {what} in {engine_url(engine)!r}"
    try:
        yield
    except StoreError as exc:
        if context is None:
            raise
        new = with_context(exc, context)
        if new is exc:
            raise
        raise new from exc.__cause__
    except Exception as exc:
        mapped = map_error(exc, context=context)
        if mapped is None:
            raise
        raise mapped from exc


def connect(engine: Engine) -> Connection:
    """``engine.connect()``; a failure is a one-line :class:`StoreError` naming the URL."""
    with errors_mapped(engine):
        return engine.connect()


@contextlib.contextmanager
def transaction(engine: Engine, what: str | None = None, *, write: bool = False) -> Iterator[Connection]:
    """``engine.begin()`` (``BEGIN IMMEDIATE`` on SQLite for a ``write``), with errors mapped
    (see :func:`errors_mapped`): the one scope where a transaction's errors get their type."""
    with errors_mapped(engine, what):
        if write:
            engine = engine.execution_options(**{SQLITE_IMMEDIATE: True})
        with engine.begin() as conn:
            yield conn


def begin_write(engine: Engine, what: str | None = None):
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite): :func:`transaction` with ``write``."""
    return transaction(engine, what, write=True)


def db_timestamp(engine_or_conn, value: dt.datetime) -> dt.datetime:
    """``value`` (aware, or naive meaning UTC) as the backend stores it: aware UTC on PostgreSQL
    (a naive value would be read in the session's time zone), naive UTC on SQLite."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return value if engine_or_conn.dialect.name == "postgresql" else value.replace(tzinfo=None)


def sqlite_path(engine: Engine) -> str | None:
    """The file of a SQLite engine (None for an in-memory database, or for PostgreSQL).

    ``sqlite:///file:PATH?mode=ro&uri=true`` URLs give ``PATH``.
    """
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if database in (None, "", ":memory:"):
        return None
    if engine.url.query.get("uri") in ("true", "1") and database.startswith("file:"):
        path = database[len("file:"):]
        return None if path in ("", ":memory:") or "mode=memory" in str(engine.url) else path
    return database


def sqlite_url_is_readonly(engine: Engine) -> bool:
    """Whether a SQLite URL asks for a read-only connection (``?mode=ro``, ``immutable=1``)."""
    q = engine.url.query
    return q.get("mode") == "ro" or q.get("immutable") in ("1", "true")


def engine_url(engine: Engine) -> str:
    """The engine's URL with the password masked."""
    return engine.url.render_as_string(hide_password=True)


def _configure_sqlite(engine: Engine, busy_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    """WAL, busy timeout, foreign keys on every connection; real BEGIN/COMMIT transactions.

    pysqlite's own transaction handling defers BEGIN and commits around DDL; taking over
    (``isolation_level=None`` + an explicit BEGIN) makes every SQLAlchemy transaction a real
    SQLite transaction, which the one-transaction result write and the migrations rely on.
    """
    from sqlalchemy import event  # loaded already by create_engine; kept lazy like it (start-up cost)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised through every test
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            if sqlite_path(engine) is not None:
                _ensure_wal(cur)
            cur.execute("PRAGMA foreign_keys=ON")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover
        # Writers ask for IMMEDIATE: taking the write lock up front lets busy_timeout queue
        # them, where a read-then-write upgrade in WAL mode would fail with SQLITE_BUSY.
        immediate = conn.get_execution_options().get(SQLITE_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        if immediate:
            conn.info[WRITE_LOCK_AT] = time.monotonic()


def _ensure_wal(cur) -> None:
    """Put a new (empty) database file in WAL mode, a persistent property of the file.

    Only an empty file is switched: a file with tables keeps the journal mode it has (p2pstore's
    own files are WAL since their creation; another application's file is never changed).
    Switching needs an exclusive lock, and SQLite answers "database is locked" at once, without
    its busy handler, when several connections open a fresh file together; so switch only when
    needed, and retry within the busy timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if (cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal"
                    and cur.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0):
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = (exc.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
