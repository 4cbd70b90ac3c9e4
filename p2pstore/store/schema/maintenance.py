"""Database upkeep: size, contents (``p2pstore db info``) and ``VACUUM`` (``p2pstore db vacuum``).

Sizes are the database's own accounting: on SQLite ``page_count * page_size`` (the file once the
write-ahead log is checkpointed) and the free pages ``VACUUM`` returns to the file system; on
PostgreSQL ``pg_database_size(current_database())``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from p2pstore.limits import format_bytes
from p2pstore.status import RUN_STATUSES
from p2pstore.store.engine import engine_url, sqlite_path
from p2pstore.store.schema import VIEWS, Base, Run
from p2pstore.store.schema.migrate import head_revision, revision_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def database_size(engine: Engine) -> int:
    """Bytes the database takes (see the module docstring)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())
        return int(conn.exec_driver_sql("PRAGMA page_count").scalar_one()) * _page_size(conn)


def free_bytes(engine: Engine) -> int | None:
    """SQLite: bytes of free pages (what ``VACUUM`` gives back); None on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA freelist_count").scalar_one()) * _page_size(conn)


def _page_size(conn) -> int:
    return int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())


def vacuum(engine: Engine, *, full: bool = False) -> tuple[int, int]:
    """Reclaim the space of deleted rows; return the database size ``(before, after)`` in bytes.

    SQLite: ``VACUUM`` (rewrites the file without its free pages) and a checkpoint that truncates
    the write-ahead log. PostgreSQL: ``VACUUM (ANALYZE)`` outside a transaction (space becomes
    reusable, statistics are refreshed; the files rarely shrink), or with ``full``
    ``VACUUM (FULL, ANALYZE)`` (rewrites every table, giving space back to the system; holds an
    exclusive lock on each table meanwhile, so workers wait).
    """
    before = database_size(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (FULL, ANALYZE)" if full else "VACUUM (ANALYZE)")
    else:
        raw = engine.raw_connection()  # the driver connection runs in autocommit (no BEGIN)
        try:
            cur = raw.cursor()
            cur.execute("VACUUM")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cur.close()
        finally:
            raw.close()
    return before, database_size(engine)


def info(engine: Engine) -> dict[str, Any]:
    """What ``p2pstore db info`` prints: URL (password hidden), backend, schema revision (and the
    newest one), size, runs by status and rows per table (views included, marked)."""
    runs = Run.__table__
    out: dict[str, Any] = {"url": engine_url(engine), "backend": engine.dialect.name}
    path = sqlite_path(engine)
    if path is not None:
        out["file"] = path
    with engine.connect() as conn:
        out["revision"] = revision_of(conn)
        out["head"] = head_revision()
        status = dict.fromkeys(RUN_STATUSES, 0)
        for name, n in conn.execute(sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status)):
            status[name] = n
        out["runs"] = status
        existing = set(sa.inspect(conn).get_table_names()) | set(sa.inspect(conn).get_view_names())
        tables = [*Base.metadata.tables.values(), *VIEWS.tables.values()]
        out["rows"] = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                       for t in sorted(tables, key=lambda t: t.name) if t.name in existing}
        out["views"] = sorted(t.name for t in VIEWS.tables.values() if t.name in existing)
    out["size_bytes"] = database_size(engine)
    out["free_bytes"] = free_bytes(engine)
    return out


def format_growth(before: int, after: int) -> str:
    """``"database 1.2 MiB -> 3.4 MiB (+2.2 MiB)"``."""
    delta = after - before
    return f"database {format_bytes(before)} -> {format_bytes(after)} ({'+' if delta >= 0 else '-'}" \
           f"{format_bytes(abs(delta))})"
