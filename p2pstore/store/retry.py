"""Telling a database that is away from one that is wrong, and waiting for the first.

:func:`classify` sorts an exception into

- ``TRANSIENT``: the connection was refused, reset or closed, the server is starting up or
  shutting down, a SQLite file is locked by another writer, a serialization failure or
  deadlock: the same call may succeed later;
- ``PERMANENT``: authentication failed, the database or role does not exist, the file is not a
  database, the store is read-only, or any other database error (a constraint, bad SQL): trying
  again changes nothing;
- ``None``: not a database error at all.

:func:`call_with_retry` calls a function until it succeeds, retrying transient errors with an
exponential backoff for up to a given patience.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from p2pstore.errors import DatabaseUnavailable, StoreError

TRANSIENT = "transient"
PERMANENT = "permanent"

T = TypeVar("T")

#: PostgreSQL SQLSTATEs worth retrying: connection exceptions (class 08), admin/crash shutdown,
#: cannot connect now, too many connections, serialization failure, deadlock, lock not available.
_PG_TRANSIENT_STATES = {"57P01", "57P02", "57P03", "53300", "40001", "40P01", "55P03"}
#: Connection failures without a SQLSTATE that no retry will mend (libpq's messages).
_PG_PERMANENT_MESSAGES = ("password authentication failed", "no password supplied", "does not exist",
                          "pg_hba.conf", "permission denied", "authentication failed",
                          "invalid connection option", "invalid dsn", "could not translate host name")
#: SQLite result codes worth retrying (another connection holds the lock).
_SQLITE_TRANSIENT = ("SQLITE_BUSY", "SQLITE_LOCKED")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the driver error it wraps, and the exceptions it was raised from or during."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]


def classify(exc: BaseException) -> str | None:
    """``TRANSIENT``, ``PERMANENT`` or None (not a database error); see the module docstring."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    psycopg = sys.modules.get("psycopg")
    for e in _chain(exc):
        if isinstance(e, DatabaseUnavailable):
            return TRANSIENT
        errorname = getattr(e, "sqlite_errorname", None)
        if errorname is not None:
            return TRANSIENT if errorname.startswith(_SQLITE_TRANSIENT) else PERMANENT
        if psycopg is not None and isinstance(e, psycopg.Error):
            return _classify_pg(e, psycopg)
        if sa_exc is not None and isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return TRANSIENT
        if sa_exc is not None and isinstance(e, sa_exc.TimeoutError):  # connection pool exhausted
            return TRANSIENT
    for e in _chain(exc):
        if isinstance(e, StoreError) or (sa_exc is not None and isinstance(e, sa_exc.DBAPIError)):
            return PERMANENT
    return None


def _classify_pg(e, psycopg) -> str:
    state = getattr(e, "sqlstate", None)
    if state:
        return TRANSIENT if state.startswith("08") or state in _PG_TRANSIENT_STATES else PERMANENT
    message = str(e).lower()
    if any(m in message for m in _PG_PERMANENT_MESSAGES):
        return PERMANENT
    return TRANSIENT if isinstance(e, (psycopg.OperationalError, psycopg.InterfaceError)) else PERMANENT


def is_transient(exc: BaseException) -> bool:
    return classify(exc) == TRANSIENT


def is_lock_wait(exc: BaseException) -> bool:
    """SQLite's "database is locked": another writer's turn, not an outage."""
    return any(str(getattr(e, "sqlite_errorname", "")).startswith(_SQLITE_TRANSIENT) for e in _chain(exc))


def describe(exc: BaseException) -> str:
    """One line for a database error: the driver's first line when there is a driver error
    behind it (their messages are multi-line), else the exception's own first line."""
    from p2pstore.store.engine import one_line

    sa_exc = sys.modules.get("sqlalchemy.exc")
    for e in _chain(exc):
        if sa_exc is not None and isinstance(e, sa_exc.DBAPIError):
            return one_line(e)
        if getattr(e, "sqlite_errorname", None) is not None or type(e).__module__.startswith("psycopg"):
            return one_line(e)
    return one_line(exc)


def call_with_retry(
    fn: Callable[[], T],
    *,
    patience: float | None = None,
    on_retry: Callable[[BaseException, float], None] | None = None,
    first_delay: float = 0.5,
    max_delay: float = 10.0,
    stop: threading.Event | None = None,
    retry_if: Callable[[BaseException], bool] = is_transient,
) -> T:
    """``fn()``, retried on transient database errors with a doubling delay (``first_delay`` up
    to ``max_delay`` seconds).

    ``patience``: give up after this many seconds with :class:`DatabaseUnavailable` (one line
    naming the last error); None waits as long as it takes. ``on_retry(exc, delay)`` is called
    before each wait. ``stop``: an event that ends the waiting early (the last error is raised).
    ``retry_if``: which errors to retry (default: transient ones, see :func:`classify`); the
    others, and non-database exceptions, propagate at once.
    """
    deadline = None if patience is None else time.monotonic() + patience
    delay = first_delay
    while True:
        try:
            return fn()
        except Exception as exc:
            if not retry_if(exc):
                raise
            if deadline is not None and time.monotonic() + delay > deadline:
                raise DatabaseUnavailable(
                    f"the database did not answer for {patience:g} s: {describe(exc)}") from None
            if on_retry is not None:
                on_retry(exc, delay)
            if stop is not None:
                if stop.wait(delay):
                    raise
            else:
                time.sleep(delay)
            delay = min(max_delay, delay * 2)
