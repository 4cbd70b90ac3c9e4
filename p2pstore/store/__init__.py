"""Store layer: SQLAlchemy models, Alembic migrations, bulk writers and DataFrame readers.

``Store(url)`` is the entry point; see :mod:`p2pstore.store.api`.
"""

from p2pstore.store.api import RunRequest, Store
from p2pstore.store.engine import resolve_url

__all__ = ["Store", "RunRequest", "resolve_url"]
