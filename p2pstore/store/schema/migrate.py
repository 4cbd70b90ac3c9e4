"""Schema versioning: Alembic owns the schema; the store checks the revision at start-up.

An *empty* database (no tables or views at all) is migrated to head on first use by commands that
store. Anything else without p2pstore's schema is left alone: a database that holds another
application's tables needs an explicit ``p2pstore db upgrade``, and read commands never create
or change schema. PostgreSQL template databases are refused outright (every database created from
them would inherit p2pstore's tables). A database at an older revision is refused with a message
naming ``p2pstore db upgrade``; one at a revision this version does not know (written by a newer
p2pstore) is refused too.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

from p2pstore.errors import StoreError
from p2pstore.store.engine import (
    begin_write,
    connect,
    create_engine,
    engine_url,
    errors_mapped,
    sqlite_path,
    sqlite_url_is_readonly,
)

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection, Engine

#: Arbitrary constant key of the PostgreSQL advisory lock that serialises concurrent migrations.
_PG_MIGRATION_LOCK = 7_302_114_517


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the installed migrations (works without alembic.ini)."""
    # lazy: alembic loads in ~0.3 s: only commands that migrate pay for it
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("p2pstore.migrations")))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest revision this p2pstore knows."""
    return _chain()[-1]


def _known_revisions() -> set[str]:
    return set(_chain())


@functools.cache
def _chain() -> tuple[str, ...]:
    """The revisions of the installed migrations, oldest first.

    Read from the ``revision`` / ``down_revision`` lines of the files, without importing Alembic
    (every command checks the revision at start-up, and Alembic's script loader takes a good part
    of a second). Anything but one linear chain falls back to Alembic's own reading.
    """
    pattern = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(?:None|['\"]([^'\"]+)['\"])", re.M)
    parents: dict[str, str | None] = {}
    for f in files("p2pstore.migrations.versions").iterdir():
        if not f.name.endswith(".py") or f.name.startswith("_"):
            continue
        found = {key: value or None for key, value in pattern.findall(f.read_text())}
        if "revision" not in found:
            return _alembic_chain()
        parents[found["revision"]] = found.get("down_revision")
    chain: list[str] = []
    children = {parent: rev for rev, parent in parents.items()}
    rev = children.get(None)
    while rev is not None:
        chain.append(rev)
        rev = children.get(rev)
    if not chain or len(chain) != len(parents) or len(children) != len(parents):
        return _alembic_chain()
    return tuple(chain)


def _alembic_chain() -> tuple[str, ...]:
    # lazy: alembic loads in ~0.3 s: only commands that migrate pay for it
    from alembic.script import ScriptDirectory

    return tuple(s.revision for s in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions())))


def revision_of(conn: Connection) -> str | None:
    """The database's revision (None: no ``alembic_version`` table, or an empty one): read with
    one SELECT, Alembic only for a database with several heads."""
    if conn.dialect.name == "sqlite":
        exists = conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                   "AND name = 'alembic_version'")).first() is not None
    else:
        # a query on the catalog (not to_regclass, whose cached lookup may miss a table another
        # transaction created meanwhile), in the default schema as Alembic looks
        exists = conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'alembic_version' AND c.relkind IN ('r', 'p') AND n.nspname = current_schema())"
        )).scalar()
    if not exists:
        return None
    versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) <= 1:
        return versions[0] if versions else None
    # lazy: alembic loads in ~0.3 s: only commands that migrate pay for it
    from alembic.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


_revision_of = revision_of


def _user_tables(conn: Connection) -> list[str]:
    """Every table, view and sequence outside the system catalogs (schema-qualified on
    PostgreSQL), sorted: an empty list means an empty database."""
    if conn.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
    else:
        sql = ("SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S') AND n.nspname NOT IN ('pg_catalog', "
               "'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'")
    return sorted(conn.execute(text(sql)).scalars())


def _refuse_template(conn: Connection, where: str) -> None:
    """:class:`StoreError` if ``conn`` is on a PostgreSQL template database (template0/1 or any
    database marked ``datistemplate``)."""
    if conn.dialect.name != "postgresql":
        return
    if conn.execute(text("SELECT datistemplate FROM pg_database WHERE datname = current_database()")).scalar():
        raise StoreError(f"database {where!r} is a template database: p2pstore does not use it (every database "
                         "created from it would inherit p2pstore's tables); create one, e.g. CREATE DATABASE p2p")


def _foreign(where: str, tables: list[str]) -> StoreError:
    shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
    return StoreError(f"database {where!r} is not empty and has no p2pstore schema (it holds {shown}); p2pstore "
                      "does not change another application's database implicitly: use a database of its own, "
                      "or add p2pstore's tables with 'p2pstore db upgrade'")


def check_sqlite_file(engine: Engine, *, write: bool) -> None:
    """Refuse, before connecting, what SQLite would get wrong silently.

    An in-memory database (``sqlite://``) is refused: whatever is stored there is gone when the
    process exits. A file that does not exist is refused for reading (connecting would create
    it). For writing, a read-only URL (``?mode=ro``) or a file or directory without write
    permission (also when running as root, who could write anyway) is refused.
    """
    if engine.dialect.name != "sqlite":
        return
    where = engine_url(engine)
    path = sqlite_path(engine)
    if path is None:
        raise StoreError(f"{where!r} is an in-memory SQLite database, lost when the command ends: give a file, "
                         "e.g. sqlite:///p2pstore.db")
    file = Path(path)
    if not file.exists():
        if not write:
            raise StoreError(f"SQLite database {str(file)!r} does not exist (commands that store results create "
                             "it; or run 'p2pstore db upgrade')")
        return
    if not write:
        return
    if sqlite_url_is_readonly(engine):
        raise StoreError(f"database {where!r} is opened read-only (mode=ro): this command writes to it")
    for target in (file, file.resolve().parent):
        mode = target.stat().st_mode
        if not os.access(target, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            what = "directory" if target.is_dir() else "file"
            raise StoreError(f"SQLite database {str(file)!r} is read-only (its {what} {str(target)!r} is not "
                             "writable): this command writes to it")


def _upgrade_engine(engine: Engine, target: str = "head", *, require_empty: bool = False) -> None:
    """Upgrade in one transaction; on PostgreSQL under an advisory lock (concurrent first use).

    ``require_empty``: only if the database is still empty or already p2pstore's once the lock is
    held (another process may have written meanwhile).
    """
    # lazy: alembic loads in ~0.3 s: only commands that migrate pay for it
    from alembic import command

    cfg = alembic_config()
    with begin_write(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        if require_empty and _revision_of(conn) is None:
            tables = _user_tables(conn)
            if tables:
                raise _foreign(engine_url(engine), tables)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)


def ensure_schema(engine: Engine, *, migrate: bool = True) -> str:
    """Check the schema revision of ``engine``'s database; migrate an empty one if ``migrate``.

    Returns the revision. Raises :class:`StoreError` when the database is unreachable, a
    template, in memory, another application's (not empty, no p2pstore schema), without schema
    and ``migrate`` is false, at an older revision, at an unknown revision, or holds p2pstore
    tables without a version.
    """
    where = engine_url(engine)
    check_sqlite_file(engine, write=migrate)
    head = head_revision()
    with connect(engine) as conn, errors_mapped(engine, context=f"cannot read schema version of {where!r}"):
        _refuse_template(conn, where)
        rev = _revision_of(conn)
        tables = _user_tables(conn) if rev is None else []
    if rev == head:
        return rev
    if rev is None and {"runs", "scenarios"} <= {t.rsplit(".", 1)[-1] for t in tables}:
        raise StoreError(f"database {where!r} has p2pstore tables but no schema version; "
                         "it was not created by p2pstore's migrations")
    if rev is None and tables:
        raise _foreign(where, tables)
    if rev is None:
        if not migrate:
            raise StoreError(f"database {where!r} has no p2pstore schema: run 'p2pstore db upgrade' "
                             "(or a command that stores results)")
        with errors_mapped(engine, context=f"cannot create the schema in {where!r}"):
            _upgrade_engine(engine, require_empty=True)
        return head
    if rev in _known_revisions():
        raise StoreError(f"database {where!r} is at schema revision {rev}, this p2pstore needs {head}: "
                         "run 'p2pstore db upgrade' (back up the database first)")
    raise StoreError(f"database {where!r} is at schema revision {rev}, unknown to this p2pstore "
                     f"(head {head}); it was written by a newer p2pstore: upgrade p2pstore")


def upgrade(url: str | None = None, target: str = "head") -> tuple[str | None, str]:
    """Upgrade the database at ``url`` to ``target``; return ``(revision_before, revision_after)``.

    For ``p2pstore db upgrade``. A revision unknown to this p2pstore raises :class:`StoreError`.
    """
    engine = create_engine(url)
    try:
        check_sqlite_file(engine, write=True)
        with connect(engine) as conn:
            _refuse_template(conn, engine_url(engine))
            before = _revision_of(conn)
        if before is not None and before not in _known_revisions():
            raise StoreError(f"database {engine_url(engine)!r} is at schema revision {before}, unknown "
                             "to this p2pstore: upgrade p2pstore instead")
        with errors_mapped(engine, context=f"cannot upgrade {engine_url(engine)!r}"):
            _upgrade_engine(engine, target)
        with engine.connect() as conn:
            return before, _revision_of(conn)
    finally:
        engine.dispose()


def _missing_file_in_existing_dir(path: str) -> bool:
    return not Path(path).exists() and Path(path).resolve().parent.is_dir()


def current(url: str | None = None) -> tuple[str | None, str]:
    """``(revision, head)`` of the database at ``url`` (for ``p2pstore db current``).

    ``revision`` is None for an empty database; ``head`` is the newest revision this p2pstore knows.
    """
    engine = create_engine(url)
    try:
        path = sqlite_path(engine)
        if engine.dialect.name == "sqlite" and (path is None or _missing_file_in_existing_dir(path)):
            return None, head_revision()  # nothing to read, and connecting would create the file
        with connect(engine) as conn, errors_mapped(
                engine, context=f"cannot read schema version of {engine_url(engine)!r}"):
            _refuse_template(conn, engine_url(engine))
            rev = _revision_of(conn)
        return rev, head_revision()
    finally:
        engine.dispose()
