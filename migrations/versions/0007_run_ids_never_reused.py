"""Run ids are never reused: SQLite's ``runs.id`` becomes ``INTEGER PRIMARY KEY AUTOINCREMENT``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Without AUTOINCREMENT, SQLite gives a new row the highest id in the table plus one, so deleting
the newest runs (``runs delete``) hands their ids to the next runs, and a script or a report
that kept an old id would read another run. With it, SQLite keeps the highest id ever used in
``sqlite_sequence`` and never goes below it. PostgreSQL's ``runs.id`` is a sequence, which never
reuses values: nothing changes there.

The change does not touch a stored row: the column is the table's rowid either way, so only the
table's definition in ``sqlite_schema`` is rewritten (the procedure SQLite's documentation gives
for schema changes that keep the file's content: writable schema, schema version bumped, integrity
checked), inside the upgrade's transaction. Rebuilding the table instead would delete every
result: dropping ``runs`` cascades to the tables that refer to it while foreign keys are on,
which they are for the whole transaction. ``sqlite_sequence`` starts at the highest id stored;
ids of runs deleted before the upgrade above it may be given once more (SQLite kept no record
of them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PLAIN = (r"\bid INTEGER NOT NULL,", r"\s*CONSTRAINT pk_runs PRIMARY KEY \(id\),")
_AUTO = "id INTEGER NOT NULL CONSTRAINT pk_runs PRIMARY KEY AUTOINCREMENT,"


def _rewrite_runs(change) -> None:
    """Replace the ``runs`` table's definition with ``change(sql)`` (same rows, same file
    layout), bumping the schema version so that every connection reads it again."""
    conn = op.get_bind()
    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'")).scalar_one()
    version = conn.execute(sa.text("PRAGMA schema_version")).scalar_one()
    conn.execute(sa.text("PRAGMA writable_schema = ON"))
    try:
        conn.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'runs'"),
                     {"sql": change(sql)})
        conn.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    finally:
        conn.execute(sa.text("PRAGMA writable_schema = OFF"))
    problems = conn.execute(sa.text("PRAGMA integrity_check")).scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"runs table rewrite failed the integrity check: {problems[:3]}")


def _one(pattern: str, replacement: str, sql: str) -> str:
    new, n = re.subn(pattern, replacement, sql, count=1)
    if n != 1:
        raise RuntimeError(f"unexpected definition of the runs table (no {pattern!r}): {sql}")
    return new


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # sqlite_sequence exists once any table with AUTOINCREMENT was created
    op.execute("CREATE TABLE _p2pstore_sequence_maker (id INTEGER PRIMARY KEY AUTOINCREMENT)")
    op.execute("DROP TABLE _p2pstore_sequence_maker")
    _rewrite_runs(lambda sql: _one(_PLAIN[1], "", _one(_PLAIN[0], _AUTO, sql)))
    op.execute("DELETE FROM sqlite_sequence WHERE name = 'runs'")
    op.execute("INSERT INTO sqlite_sequence (name, seq) SELECT 'runs', COALESCE(MAX(id), 0) FROM runs")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _rewrite_runs(lambda sql: _one(re.escape(_AUTO), "id INTEGER NOT NULL,", sql)
                  .replace("CONSTRAINT ck_runs_", "CONSTRAINT pk_runs PRIMARY KEY (id), \n\tCONSTRAINT ck_runs_", 1))
    op.execute("DELETE FROM sqlite_sequence WHERE name = 'runs'")
