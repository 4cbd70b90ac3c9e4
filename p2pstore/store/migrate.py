"""Schema versioning: Alembic owns the schema; the store checks the revision at start-up.

A fresh database (none of p2pstore's tables) is migrated to head on first use. A database at an
older revision is refused with a message naming ``p2pstore db upgrade``; one at a revision this
version does not know (written by a newer p2pstore) is refused too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from p2pstore.errors import StoreError
from p2pstore.store.engine import begin_write, connect, create_engine, engine_url, one_line

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection, Engine

#: Arbitrary constant key of the PostgreSQL advisory lock that serialises concurrent migrations.
_PG_MIGRATION_LOCK = 7_302_114_517


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the installed migrations (works without alembic.ini)."""
    from importlib.resources import files

    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("p2pstore.migrations")))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest revision this p2pstore knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def _revision_of(conn: Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _has_p2pstore_tables(conn: Connection) -> bool:
    from sqlalchemy import inspect

    from p2pstore.store.models import Base

    existing = set(inspect(conn).get_table_names())
    return bool(existing & set(Base.metadata.tables))


def _upgrade_engine(engine: Engine, target: str = "head") -> None:
    """Upgrade in one transaction; on PostgreSQL under an advisory lock (concurrent first use)."""
    from alembic import command
    from sqlalchemy import text

    cfg = alembic_config()
    with begin_write(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)


def ensure_schema(engine: Engine, *, migrate: bool = True) -> str:
    """Check the schema revision of ``engine``'s database; migrate a fresh one if ``migrate``.

    Returns the revision. Raises :class:`StoreError` when the database is unreachable, at an
    older revision, at an unknown revision, or holds p2pstore tables without a version.
    """
    from sqlalchemy.exc import DBAPIError

    where = engine_url(engine)
    head = head_revision()
    with connect(engine) as conn:
        try:
            rev = _revision_of(conn)
            has_tables = rev is None and _has_p2pstore_tables(conn)
        except DBAPIError as exc:
            raise StoreError(f"cannot read schema version of {where!r}: {one_line(exc)}") from None
    if rev == head:
        return rev
    if rev is None and not has_tables:
        if not migrate:
            raise StoreError(f"database {where!r} has no p2pstore schema: run 'p2pstore db upgrade'")
        try:
            _upgrade_engine(engine)
        except DBAPIError as exc:
            raise StoreError(f"cannot create the schema in {where!r}: {one_line(exc)}") from None
        return head
    if rev is None:
        raise StoreError(f"database {where!r} has p2pstore tables but no schema version; "
                         "it was not created by p2pstore's migrations")
    if rev in _known_revisions():
        raise StoreError(f"database {where!r} is at schema revision {rev}, this p2pstore needs {head}: "
                         "run 'p2pstore db upgrade' (back up the database first)")
    raise StoreError(f"database {where!r} is at schema revision {rev}, unknown to this p2pstore "
                     f"(head {head}); it was written by a newer p2pstore: upgrade p2pstore")


def upgrade(url: str | None = None, target: str = "head") -> tuple[str | None, str]:
    """Upgrade the database at ``url`` to ``target``; return ``(revision_before, revision_after)``.

    For ``p2pstore db upgrade``. A revision unknown to this p2pstore raises :class:`StoreError`.
    """
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(url)
    try:
        with connect(engine) as conn:
            before = _revision_of(conn)
        if before is not None and before not in _known_revisions():
            raise StoreError(f"database {engine_url(engine)!r} is at schema revision {before}, unknown "
                             "to this p2pstore: upgrade p2pstore instead")
        try:
            _upgrade_engine(engine, target)
        except DBAPIError as exc:
            raise StoreError(f"cannot upgrade {engine_url(engine)!r}: {one_line(exc)}") from None
        with engine.connect() as conn:
            return before, _revision_of(conn)
    finally:
        engine.dispose()


def current(url: str | None = None) -> tuple[str | None, str]:
    """``(revision, head)`` of the database at ``url`` (for ``p2pstore db current``).

    ``revision`` is None for an empty database; ``head`` is the newest revision this p2pstore knows.
    """
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(url)
    try:
        with connect(engine) as conn:
            try:
                rev = _revision_of(conn)
            except DBAPIError as exc:
                raise StoreError(f"cannot read schema version of {engine_url(engine)!r}: {one_line(exc)}") from None
        return rev, head_revision()
    finally:
        engine.dispose()
