"""Store layer: SQLAlchemy Core tables, Alembic migrations, bulk writers and DataFrame readers.

``Store(url)`` is the entry point; see :mod:`p2pstore.store.api`. Sub-packages by job:
:mod:`.schema` (tables, migrations glue, maintenance), :mod:`.queue` (runs, leases,
schedules), :mod:`.results` (writing, the series formula, readers, streams), :mod:`.profilesets`
(stored profile sets and tariff files), :mod:`.querygate` (the read-only ``query``).
"""

__all__ = ["Store", "RunRequest", "resolve_url"]

_LAZY = {
    "Store": "p2pstore.store.api",
    "RunRequest": "p2pstore.store.api",
    "resolve_url": "p2pstore.store.engine",
}


def __getattr__(name):
    if name in _LAZY:
        # lazy: the profile reader's helper process (python -m p2pstore.store.results.profile_reader)
        # imports this package and must not load the whole store at its start-up
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
