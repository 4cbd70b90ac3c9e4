"""Telling a database that is away from one that is wrong, and waiting for the first.

Database errors reach here already typed (:mod:`p2pstore.store.errmap` maps them where the
store opens connections and transactions); :func:`classify` reads the type:

- ``TRANSIENT`` (:class:`~p2pstore.errors.TransientStoreError`): the connection was refused,
  reset or closed, the server is starting up or shutting down, a SQLite file is locked by
  another writer, a serialization failure or deadlock: the same call may succeed later;
- ``PERMANENT`` (any other :class:`~p2pstore.errors.StoreError`): authentication failed, the
  database or role does not exist, the file is not a database, the store is read-only, a
  constraint, bad SQL: trying again changes nothing;
- ``None``: not a database error at all.

:func:`call_with_retry` calls a function until it succeeds, retrying transient errors with an
exponential backoff for up to a given patience.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from p2pstore.errors import (DatabaseUnavailable, ErrorClass, LockBusyError, StoreError, TransientStoreError,
                             error_class)
from p2pstore.store.errmap import error_type, one_line

TRANSIENT = ErrorClass.transient
PERMANENT = ErrorClass.permanent

T = TypeVar("T")


def classify(exc: BaseException) -> ErrorClass | None:
    """``TRANSIENT``, ``PERMANENT`` or None (not a database error), from ``exc``'s type alone; a
    driver error that reached here unmapped is typed by the same table
    (:func:`p2pstore.store.errmap.error_type`)."""
    if isinstance(exc, StoreError):
        return error_class(exc)
    kind = error_type(exc)
    if kind is None:
        return None
    return ErrorClass.transient if issubclass(kind, TransientStoreError) else ErrorClass.permanent


def is_transient(exc: BaseException) -> bool:
    return classify(exc) == TRANSIENT


def is_lock_wait(exc: BaseException) -> bool:
    """SQLite's "database is locked" (or PostgreSQL's lock not available): another writer's
    turn, not an outage."""
    kind = type(exc) if isinstance(exc, StoreError) else error_type(exc)
    return kind is not None and issubclass(kind, LockBusyError)


def describe(exc: BaseException) -> str:
    """One line for a database error: the driver's first line when it was mapped from one (their
    messages are multi-line), else the exception's own first line."""
    detail = getattr(exc, "detail", None)
    return detail if detail is not None else one_line(exc)


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
