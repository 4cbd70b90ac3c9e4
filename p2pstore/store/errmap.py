"""Database errors mapped once: a driver's exception becomes one :class:`~p2pstore.errors.StoreError`
subclass, chosen by the driver's exception class and error code, never by message text.

The mapping runs where the store opens connections and transactions
(:mod:`p2pstore.store.engine`: every engine's ``handle_error`` event, and the scope of
:func:`~p2pstore.store.engine.begin_write`, :func:`~p2pstore.store.engine.transaction` and
:func:`~p2pstore.store.engine.connect` for driver calls made outside SQLAlchemy). Everything
above sees typed errors; whether to try again is read from the type
(:func:`p2pstore.errors.error_class`).

- SQLite: the primary result code (``sqlite_errorcode & 0xFF``), :data:`SQLITE_CODES`.
- PostgreSQL: the SQLSTATE (exact code first, then its two-character class), :data:`PG_STATES`
  and :data:`PG_CLASSES`. A connection attempt that fails gets no SQLSTATE from libpq; then
  libpq's ping tells a server that answered and refused us (authentication, missing database
  or role: permanent) from one that did not answer or is starting or stopping (transient),
  :data:`PG_PING`; a host name that does not resolve is permanent.
- A connection SQLAlchemy saw drop, and a pool with no free connection: transient.
"""

from __future__ import annotations

import socket
import sqlite3
import sys

from p2pstore.errors import (AccessDeniedError, ConflictError, IntegrityViolation, LockBusyError,
                             NotADatabaseError, PermanentStoreError, ReadOnlyError, StoreError,
                             TransientStoreError)

#: SQLite primary result codes (https://sqlite.org/rescode.html) and the error each maps to;
#: other codes are permanent.
SQLITE_CODES: dict[int, type[StoreError]] = {
    sqlite3.SQLITE_BUSY: LockBusyError,
    sqlite3.SQLITE_LOCKED: LockBusyError,
    sqlite3.SQLITE_READONLY: ReadOnlyError,
    sqlite3.SQLITE_NOTADB: NotADatabaseError,
    sqlite3.SQLITE_CORRUPT: NotADatabaseError,
    sqlite3.SQLITE_CANTOPEN: NotADatabaseError,
    sqlite3.SQLITE_CONSTRAINT: IntegrityViolation,
    sqlite3.SQLITE_PERM: AccessDeniedError,
    sqlite3.SQLITE_AUTH: AccessDeniedError,
}
#: PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html).
PG_STATES: dict[str, type[StoreError]] = {
    "57P01": TransientStoreError,  # admin_shutdown
    "57P02": TransientStoreError,  # crash_shutdown
    "57P03": TransientStoreError,  # cannot_connect_now (starting up)
    "53300": TransientStoreError,  # too_many_connections
    "40001": ConflictError,  # serialization_failure
    "40P01": ConflictError,  # deadlock_detected
    "55P03": LockBusyError,  # lock_not_available
    "3D000": AccessDeniedError,  # invalid_catalog_name (no such database)
    "42501": AccessDeniedError,  # insufficient_privilege
    "25006": ReadOnlyError,  # read_only_sql_transaction
}
#: SQLSTATE classes, for codes not in :data:`PG_STATES`; others are permanent.
PG_CLASSES: dict[str, type[StoreError]] = {
    "08": TransientStoreError,  # connection exception
    "28": AccessDeniedError,  # invalid authorization specification
    "23": IntegrityViolation,  # integrity constraint violation
}
#: libpq's ping of the server after a connection attempt failed without a SQLSTATE, by
#: ``psycopg.pq.Ping`` value: OK (it answers, so it refused us), REJECT (starting or stopping),
#: NO_RESPONSE (not reached), NO_ATTEMPT (bad connection parameters).
PG_PING: dict[int, type[StoreError]] = {
    0: AccessDeniedError,
    1: TransientStoreError,
    2: TransientStoreError,
    3: PermanentStoreError,
}


def one_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (driver errors are multi-line)."""
    orig = getattr(exc, "orig", None) or exc
    for line in str(orig).splitlines():
        if line.strip():
            return line.strip()
    return type(orig).__name__


def error_type(exc: BaseException, *, disconnect: bool = False, conninfo: str | None = None,
               connecting: bool = False) -> type[StoreError] | None:
    """The :class:`StoreError` subclass for ``exc`` (a driver error, possibly wrapped by
    SQLAlchemy), or None when it is not a database error.

    ``disconnect``: SQLAlchemy saw the connection drop. ``connecting``: ``exc`` came from a
    connection attempt (``conninfo``: libpq's connection string, to ping the server)."""
    if isinstance(exc, StoreError):
        return type(exc)
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.TimeoutError):  # the pool had no connection free
        return TransientStoreError
    driver = getattr(exc, "orig", None) if sa_exc is not None and isinstance(exc, sa_exc.DBAPIError) else exc
    if isinstance(driver, sqlite3.Error):
        code = getattr(driver, "sqlite_errorcode", None)
        return PermanentStoreError if code is None else SQLITE_CODES.get(code & 0xFF, PermanentStoreError)
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(driver, psycopg.Error):
        state = driver.sqlstate
        if state:
            return PG_STATES.get(state) or PG_CLASSES.get(state[:2], PermanentStoreError)
        if connecting and conninfo is not None:
            return _pg_refusal(conninfo)
        if disconnect or isinstance(driver, (psycopg.OperationalError, psycopg.InterfaceError)):
            return TransientStoreError  # the connection was lost mid-statement
        return PermanentStoreError
    if disconnect:
        return TransientStoreError
    if sa_exc is not None and isinstance(exc, sa_exc.DBAPIError):
        return PermanentStoreError
    return None


def _pg_refusal(conninfo: str) -> type[StoreError]:
    """Why a PostgreSQL connection attempt failed without a SQLSTATE (see :data:`PG_PING`)."""
    # psycopg is loaded already (the error came from it); SQLite users never import it
    from psycopg import conninfo as ci, pq

    kind = PG_PING.get(int(pq.PGconn.ping(conninfo.encode())), PermanentStoreError)  # ping waits <= 2 s
    if kind is TransientStoreError:
        host = ci.conninfo_to_dict(conninfo).get("host")
        if host and not str(host).startswith("/"):
            try:
                socket.getaddrinfo(str(host).split(",")[0], None)
            except socket.gaierror as exc:
                if exc.errno != socket.EAI_AGAIN:  # a name that does not exist, not a DNS outage
                    return PermanentStoreError
    return kind


def map_error(exc: BaseException, *, context: str | None = None, **how) -> StoreError | None:
    """``exc`` as a new :class:`StoreError` of its :func:`error_type` (None: not a database
    error). Its message is ``"<context>: <the driver's first line>"`` (or that line alone);
    ``detail`` keeps the driver's line, ``context`` the prefix. ``how``: see :func:`error_type`.
    """
    kind = error_type(exc, **how)
    if kind is None:
        return None
    if isinstance(exc, StoreError):
        return with_context(exc, context) if context else exc
    detail = one_line(exc)
    new = kind(f"{context}: {detail}" if context else detail)
    new.detail, new.context = detail, context
    return new


def with_context(exc: StoreError, context: str) -> StoreError:
    """A mapped ``exc`` (its type kept) whose message starts with ``context``; ``exc`` itself when
    it already has a context or is p2pstore's own (not a driver's) error."""
    if exc.detail is None or exc.context is not None:
        return exc
    new = type(exc)(f"{context}: {exc.detail}")
    new.detail, new.context = exc.detail, context
    new.__cause__ = exc.__cause__
    return new
