"""Errors that reach the user as one line (the CLI prints ``Error: <message>`` and exits 2).

Anything raised as a :class:`P2PStoreError` is a user-facing problem (bad input, wrong URL,
database at the wrong revision); anything else is a bug and keeps its traceback.

Database errors are mapped once, where the store opens connections and runs statements
(:mod:`p2pstore.store.errmap`), into :class:`TransientStoreError` (worth trying again later)
or :class:`PermanentStoreError` (trying again changes nothing); retry decisions read the type
(:func:`error_class`).
"""

import enum


class ErrorClass(enum.StrEnum):
    """Whether the same call may succeed later (``transient``) or never (``permanent``)."""

    transient = "transient"
    permanent = "permanent"


class P2PStoreError(Exception):
    """Base class: a problem the user can fix, described in one line."""


class ScenarioError(P2PStoreError):
    """An invalid scenario field. ``field`` names the offending key."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"scenario field '{field}': {message}")


class InputError(P2PStoreError):
    """Malformed input data (profile file, NaN, negative load, ...)."""


class StoreError(P2PStoreError):
    """The database cannot be used as asked (unreachable, wrong revision, read-only refused).

    The common base of every database error p2pstore raises; a plain ``StoreError`` is
    permanent (see :func:`error_class`)."""

    #: For an error mapped from a driver's: the driver's first line, and the context the
    #: message starts with (None: p2pstore's own error, or no context).
    detail: str | None = None
    context: str | None = None


class TransientStoreError(StoreError):
    """The database did not answer or refused for now (connection refused, reset or lost, the
    server starting or shutting down, too many connections): the same call may succeed later."""


class LockBusyError(TransientStoreError):
    """Another writer holds a lock (SQLite ``database is locked``, PostgreSQL lock not
    available): another writer's turn, not an outage."""


class ConflictError(TransientStoreError):
    """A serialization failure or deadlock: the transaction was rolled back, run it again."""


class PermanentStoreError(StoreError):
    """A database error no retry mends (bad SQL, a constraint, a server-side refusal)."""


class AccessDeniedError(PermanentStoreError):
    """The server answered but refuses this connection: authentication failed, or the
    database or role does not exist, or the privilege is missing."""


class NotADatabaseError(PermanentStoreError):
    """The file is not a SQLite database (or is corrupt), or cannot be opened as one."""


class ReadOnlyError(PermanentStoreError):
    """The database (or its file, or this connection) is read-only and the call writes."""


class IntegrityViolation(PermanentStoreError):
    """A constraint refused a row (unique, foreign key, check, not null)."""


class NotFoundError(P2PStoreError):
    """A run, batch or schedule that does not exist."""


class DataWarning(UserWarning):
    """Odd but legal input data (a sell tariff above the buy tariff, a household without load):
    stored as given, and reported (the CLI prints ``Warning: <one line>`` on stderr)."""


class UnknownMechanismError(P2PStoreError):
    """A mechanism name that neither a built-in nor an installed plugin provides."""


class UnsettleableError(P2PStoreError):
    """A stored run that can never be settled here as it is stored: a worker fails it at once,
    without the retries that could not pass."""


class MechanismNotInstalledError(UnsettleableError, UnknownMechanismError):
    """A stored run names a mechanism no built-in or installed plugin provides (the plugin that
    was to settle it, or did, has been uninstalled); the message names the plugin."""


class MechanismError(P2PStoreError):
    """A plugin mechanism that cannot be loaded, raises, or returns costs of the wrong shape or
    with NaN; the message names the plugin. The run fails and none of its results are written."""
class DatabaseUnavailable(TransientStoreError):
    """The database stopped answering (connection lost, server restarting, SQLite file locked by
    another writer) for longer than the caller was willing to wait: worth trying again later."""


def error_class(exc: BaseException) -> ErrorClass | None:
    """``transient``/``permanent`` for a :class:`StoreError` (by its type), None for anything
    else (not a database error: a bug, or bad input)."""
    if isinstance(exc, TransientStoreError):
        return ErrorClass.transient
    if isinstance(exc, StoreError):
        return ErrorClass.permanent
    return None
