"""Cron schedules: table ``schedules`` and the (schedule_id, fire_time) key on ``runs``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Every firing of a schedule inserts one run keyed unique on (schedule_id, fire_time), so several
workers firing the same schedule enqueue one run. The key is a unique index and schedule_id has no
FOREIGN KEY so that SQLite adds and drops both in place: rebuilding ``runs`` with foreign keys on
would cascade-delete every result row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('cron', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('mechanisms', sa.String(length=200), nullable=False),
    sa.Column('series', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("series IN ('full', 'community', 'none')", name=op.f('ck_schedules_series')),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenarios.id'], name=op.f('fk_schedules_scenario_id_scenarios')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedules')),
    sa.UniqueConstraint('name', name=op.f('uq_schedules_name'))
    )
    op.add_column('runs', sa.Column('schedule_id', sa.Integer(), nullable=True))
    op.add_column('runs', sa.Column('fire_time', sa.DateTime(timezone=True), nullable=True))
    op.create_index('uq_runs_schedule_id_fire_time', 'runs', ['schedule_id', 'fire_time'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_runs_schedule_id_fire_time', table_name='runs')
    op.drop_column('runs', 'fire_time')
    op.drop_column('runs', 'schedule_id')
    op.drop_table('schedules')
