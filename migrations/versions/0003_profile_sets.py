"""Imported profile sets: profile_sets and their long value tables; longer household labels.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

A profile set's values are stored once, keyed by (set, household position, slot), and scenarios
that compute from a set (or from a stored tariff file) reference it in scenario_profile_sets, so
data in use cannot be deleted. The two per-slot tables (profile_values, profile_tariffs) have no
foreign key: PostgreSQL's row-by-row check would take most of a large import's time; the store
writes and deletes their rows with their set. Household labels become the files' names: the ``household``
columns of households, bills and household_series widen from 16 to 64 characters. On SQLite that
rebuilds those three tables (batch mode, with their constraints given explicitly because SQLite
does not reflect them); ``runs`` and ``scenarios`` are never rebuilt.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
LABEL_TABLES = ("households", "bills", "household_series")


def _label_table(name: str, length: int) -> sa.Table:
    """``name`` as 0001 created it, with ``household`` as VARCHAR(length): the batch copy source."""
    md = sa.MetaData(naming_convention=NAMING)
    sa.Table('runs', md, sa.Column('id', sa.Integer(), primary_key=True))
    run_id = sa.Column('run_id', sa.Integer(), sa.ForeignKey('runs.id', ondelete='CASCADE'), nullable=False)
    label = sa.Column('household', sa.String(length=length), nullable=False)
    floats = {
        'households': ('lambda_buy', 'lambda_sell', 'load_kwh', 'pv_kwh'),
        'bills': ('bill', 'self_consumed_kwh', 'grid_import_kwh', 'grid_export_kwh', 'p2p_import_kwh',
                  'p2p_export_kwh'),
        'household_series': ('load_kw', 'pv_kw', 'grid_import_kwh', 'grid_export_kwh', 'p2p_import_kwh',
                             'p2p_export_kwh', 'cost'),
    }[name]
    values = [sa.Column(c, sa.Float(), nullable=False) for c in floats]
    if name == 'households':
        return sa.Table(name, md, run_id, sa.Column('position', sa.Integer(), nullable=False), label,
                        sa.Column('kind', sa.String(length=16), nullable=False), *values,
                        sa.CheckConstraint("kind IN ('consumer', 'prosumer')", name='kind'),
                        sa.PrimaryKeyConstraint('run_id', 'position'),
                        sa.UniqueConstraint('run_id', 'household'))
    mechanism = sa.Column('mechanism', sa.String(length=32), nullable=False)
    if name == 'bills':
        return sa.Table(name, md, run_id, mechanism, label, *values,
                        sa.PrimaryKeyConstraint('run_id', 'mechanism', 'household'))
    slot = sa.Column('slot', sa.Integer(), nullable=False)
    return sa.Table(name, md, run_id, mechanism, label, slot, *values,
                    sa.PrimaryKeyConstraint('run_id', 'mechanism', 'household', 'slot'))


def _relabel(old: int, new: int) -> None:
    for name in LABEL_TABLES:
        with op.batch_alter_table(name, copy_from=_label_table(name, old)) as batch:
            batch.alter_column('household', existing_type=sa.String(length=old), type_=sa.String(length=new),
                               existing_nullable=False)


def upgrade() -> None:
    op.create_table('profile_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('start', sa.DateTime(), nullable=True),
    sa.Column('slot_minutes', sa.Integer(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('consumers', sa.Integer(), nullable=False),
    sa.Column('prosumers', sa.Integer(), nullable=False),
    sa.Column('tariffs', sa.String(length=8), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("kind IN ('profiles', 'tariffs')", name=op.f('ck_profile_sets_kind')),
    sa.CheckConstraint("tariffs IN ('none', 'flat', 'time')", name=op.f('ck_profile_sets_tariffs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profile_sets')),
    sa.UniqueConstraint('content_hash', name=op.f('uq_profile_sets_content_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_profile_sets_name'))
    )
    op.create_table('profile_p2p',
    sa.Column('profile_set_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('p2p_allowed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['profile_set_id'], ['profile_sets.id'], name=op.f('fk_profile_p2p_profile_set_id_profile_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_set_id', 'slot', name=op.f('pk_profile_p2p'))
    )
    op.create_table('profile_set_households',
    sa.Column('profile_set_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('household', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.Column('buy', sa.Float(), nullable=True),
    sa.Column('sell', sa.Float(), nullable=True),
    sa.Column('tariff_series', sa.Integer(), nullable=True),
    sa.Column('load_kwh', sa.Float(), nullable=True),
    sa.Column('pv_kwh', sa.Float(), nullable=True),
    sa.CheckConstraint("kind IN ('consumer', 'prosumer')", name=op.f('ck_profile_set_households_kind')),
    sa.ForeignKeyConstraint(['profile_set_id'], ['profile_sets.id'], name=op.f('fk_profile_set_households_profile_set_id_profile_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_set_id', 'position', name=op.f('pk_profile_set_households')),
    sa.UniqueConstraint('profile_set_id', 'household', name=op.f('uq_profile_set_households_profile_set_id_household'))
    )
    op.create_table('profile_tariffs',
    sa.Column('profile_set_id', sa.Integer(), nullable=False),
    sa.Column('series', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('buy', sa.Float(), nullable=False),
    sa.Column('sell', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('profile_set_id', 'series', 'slot', name=op.f('pk_profile_tariffs'))
    )
    op.create_table('profile_values',
    sa.Column('profile_set_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('load_kw', sa.Float(), nullable=False),
    sa.Column('pv_kw', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('profile_set_id', 'position', 'slot', name=op.f('pk_profile_values'))
    )
    op.create_table('scenario_profile_sets',
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('profile_set_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("role IN ('profiles', 'tariffs')", name=op.f('ck_scenario_profile_sets_role')),
    sa.ForeignKeyConstraint(['profile_set_id'], ['profile_sets.id'], name=op.f('fk_scenario_profile_sets_profile_set_id_profile_sets')),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenarios.id'], name=op.f('fk_scenario_profile_sets_scenario_id_scenarios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('scenario_id', 'role', name=op.f('pk_scenario_profile_sets'))
    )
    op.create_index(op.f('ix_scenario_profile_sets_profile_set_id'), 'scenario_profile_sets', ['profile_set_id'], unique=False)
    _relabel(16, 64)


def downgrade() -> None:
    _relabel(64, 16)
    op.drop_index(op.f('ix_scenario_profile_sets_profile_set_id'), table_name='scenario_profile_sets')
    op.drop_table('scenario_profile_sets')
    op.drop_table('profile_values')
    op.drop_table('profile_tariffs')
    op.drop_table('profile_set_households')
    op.drop_table('profile_p2p')
    op.drop_table('profile_sets')
