"""Errors that reach the user as one line (the CLI prints ``Error: <message>`` and exits 2).

Anything raised as a :class:`P2PStoreError` is a user-facing problem (bad input, wrong URL,
database at the wrong revision); anything else is a bug and keeps its traceback.
"""


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
    """The database cannot be used as asked (unreachable, wrong revision, read-only refused)."""


class NotFoundError(P2PStoreError):
    """A run, batch or schedule that does not exist."""


class DataWarning(UserWarning):
    """Odd but legal input data (a sell tariff above the buy tariff, a household without load):
    stored as given, and reported (the CLI prints ``Warning: <one line>`` on stderr)."""


class UnknownMechanismError(P2PStoreError):
    """A mechanism name that neither a built-in nor an installed plugin provides."""


class MechanismError(P2PStoreError):
    """A plugin mechanism that cannot be loaded, raises, or returns costs of the wrong shape or
    with NaN; the message names the plugin. The run fails and none of its results are written."""
class DatabaseUnavailable(StoreError):
    """The database stopped answering (connection lost, server restarting, SQLite file locked by
    another writer) for longer than the caller was willing to wait: worth trying again later."""
