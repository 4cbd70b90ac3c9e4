"""Batteries: ``batteries`` and ``battery_series``, and the kind ``battery`` of a run's household.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

* ``batteries`` (run, household): each battery of a run with its parameters and the dispatch
  rule; the shared battery under the name ``community_battery``;
* ``battery_series`` (run, household, slot): charge and discharge (kW, AC side) and the energy
  at the end of the slot (kWh) of every battery, with ``--series full``;
* ``households.kind`` also takes ``battery``: the shared battery is a member of the community
  (settled like a household). SQLite rebuilds ``households`` for its CHECK constraint (the view
  that reads it is set aside and put back as it was); PostgreSQL replaces the constraint.

Downgrading drops both tables and turns the kind ``battery`` into ``consumer`` (the member's
bills and series stay, under its name).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = ('consumer', 'prosumer')
KINDS_AFTER = ('consumer', 'prosumer', 'battery')
NAMING = {"ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
          "pk": "pk_%(table_name)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _check(kinds: tuple[str, ...]) -> str:
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def _households(kinds: tuple[str, ...]) -> sa.Table:
    """``households`` with the CHECK of ``kinds``: the table SQLite's rebuild creates."""
    md = sa.MetaData(naming_convention=NAMING)
    sa.Table('runs', md, sa.Column('id', sa.Integer(), primary_key=True))
    return sa.Table(
        'households', md,
        sa.Column('run_id', sa.Integer(), sa.ForeignKey('runs.id', ondelete='CASCADE'), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('household', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        *(sa.Column(c, sa.Float(), nullable=False) for c in ('lambda_buy', 'lambda_sell', 'load_kwh', 'pv_kwh')),
        sa.CheckConstraint(_check(kinds), name='kind'),
        sa.PrimaryKeyConstraint('run_id', 'position'),
        sa.UniqueConstraint('run_id', 'household'))


def _set_kinds(after: tuple[str, ...]) -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute('ALTER TABLE households DROP CONSTRAINT ck_households_kind')
        op.execute(f'ALTER TABLE households ADD CONSTRAINT ck_households_kind CHECK ({_check(after)})')
        return
    # SQLite: a table is rebuilt to change a CHECK; views reading it are set aside meanwhile
    views = bind.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'view'").all()
    for name, _ in views:
        op.execute(f'DROP VIEW {name}')
    with op.batch_alter_table('households', copy_from=_households(after), recreate='always'):
        pass  # the copy's definition carries the new CHECK
    for _, sql in views:
        op.execute(sql)


def upgrade() -> None:
    op.create_table('batteries',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('household', sa.String(length=64), nullable=False),
    sa.Column('dispatch', sa.String(length=32), nullable=False),
    sa.Column('capacity_kwh', sa.Float(), nullable=False),
    sa.Column('power_kw', sa.Float(), nullable=False),
    sa.Column('efficiency', sa.Float(), nullable=False),
    sa.Column('soc_min', sa.Float(), nullable=False),
    sa.Column('soc_max', sa.Float(), nullable=False),
    sa.Column('soc_initial', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_batteries_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'household', name=op.f('pk_batteries'))
    )
    op.create_table('battery_series',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('household', sa.String(length=64), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('charge_kw', sa.Float(), nullable=False),
    sa.Column('discharge_kw', sa.Float(), nullable=False),
    sa.Column('soc_kwh', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_battery_series_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'household', 'slot', name=op.f('pk_battery_series')),
    sqlite_with_rowid=False,
    )
    _set_kinds(KINDS_AFTER)


def downgrade() -> None:
    op.execute("UPDATE households SET kind = 'consumer' WHERE kind = 'battery'")
    _set_kinds(KINDS_BEFORE)
    op.drop_table('battery_series')
    op.drop_table('batteries')
