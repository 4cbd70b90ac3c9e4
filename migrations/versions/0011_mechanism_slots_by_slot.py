"""``mechanism_slots`` keyed by (run, slot, mechanism): the view's join is a key prefix.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

The ``household_series`` view joins ``mechanism_slots`` to ``household_slots`` on
``(run_id, slot)``. With the primary key ``(run_id, mechanism, slot)`` that join is no prefix of
any index: SQLite, whatever its statistics, searched the table by ``run_id`` alone and filtered
every mechanism-slot of the run for each household-slot (an aggregate over a stored year did not
finish). Keyed ``(run_id, slot, mechanism)``, each household-slot finds its mechanisms' rows by
key, and a query naming a mechanism finds its one row. Rows, columns and values are unchanged;
SQLite rebuilds the table (its views set aside and put back as they were), PostgreSQL replaces
the primary key. Downgrading restores the former key.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_BEFORE = ('run_id', 'mechanism', 'slot')
KEY_AFTER = ('run_id', 'slot', 'mechanism')
FACTORS = ('grid_import_h', 'grid_export_h', 'p2p_import_h', 'p2p_export_h',
           'import_tariff_h', 'import_price_h', 'export_tariff_h', 'export_price_h')


def _mechanism_slots(key: tuple[str, ...]) -> sa.Table:
    """``mechanism_slots`` with primary key ``key``: the table SQLite's rebuild creates."""
    md = sa.MetaData()
    sa.Table('runs', md, sa.Column('id', sa.Integer(), primary_key=True))
    return sa.Table(
        'mechanism_slots', md,
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('mechanism', sa.String(length=32), nullable=False),
        sa.Column('slot', sa.Integer(), nullable=False),
        *(sa.Column(f, sa.Float(), nullable=False) for f in FACTORS),
        sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name='fk_mechanism_slots_run_id_runs', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint(*key, name='pk_mechanism_slots'),
        sqlite_with_rowid=False)


def _set_key(key: tuple[str, ...]) -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute('ALTER TABLE mechanism_slots DROP CONSTRAINT pk_mechanism_slots')
        op.execute(f"ALTER TABLE mechanism_slots ADD CONSTRAINT pk_mechanism_slots PRIMARY KEY ({', '.join(key)})")
        return
    # SQLite: a table is rebuilt to change its primary key; views reading it are set aside meanwhile
    views = bind.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'view'").all()
    for name, _ in views:
        op.execute(f'DROP VIEW {name}')
    with op.batch_alter_table('mechanism_slots', copy_from=_mechanism_slots(key), recreate='always'):
        pass  # the copy's definition carries the new key
    for _, sql in views:
        op.execute(sql)


def upgrade() -> None:
    _set_key(KEY_AFTER)


def downgrade() -> None:
    _set_key(KEY_BEFORE)
