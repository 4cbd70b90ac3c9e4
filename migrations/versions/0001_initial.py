"""Initial schema: scenarios, runs (the queue) and every result table of a run.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Mirrors p2pstore/store/models.py (checked by tests/migrations). Timestamps default to the
server's ``now()``; result tables cascade-delete with their run.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('scenarios',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spec_hash', sa.String(length=64), nullable=False),
    sa.Column('spec_json', sa.Text(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('consumers', sa.Integer(), nullable=False),
    sa.Column('prosumers', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scenarios')),
    sa.UniqueConstraint('spec_hash', name=op.f('uq_scenarios_spec_hash'))
    )
    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('mechanisms', sa.String(length=200), nullable=False),
    sa.Column('series', sa.String(length=16), nullable=False),
    sa.Column('batch', sa.String(length=200), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("series IN ('full', 'community', 'none')", name=op.f('ck_runs_series')),
    sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name=op.f('ck_runs_status')),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenarios.id'], name=op.f('fk_runs_scenario_id_scenarios')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    op.create_index(op.f('ix_runs_batch'), 'runs', ['batch'], unique=False)
    op.create_index('ix_runs_queue', 'runs', ['status', 'priority', 'id'], unique=False)
    op.create_index(op.f('ix_runs_scenario_id'), 'runs', ['scenario_id'], unique=False)
    op.create_table('bills',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('mechanism', sa.String(length=32), nullable=False),
    sa.Column('household', sa.String(length=16), nullable=False),
    sa.Column('bill', sa.Float(), nullable=False),
    sa.Column('self_consumed_kwh', sa.Float(), nullable=False),
    sa.Column('grid_import_kwh', sa.Float(), nullable=False),
    sa.Column('grid_export_kwh', sa.Float(), nullable=False),
    sa.Column('p2p_import_kwh', sa.Float(), nullable=False),
    sa.Column('p2p_export_kwh', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_bills_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'mechanism', 'household', name=op.f('pk_bills'))
    )
    op.create_table('clearing_prices',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('mechanism', sa.String(length=32), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('ts', sa.DateTime(), nullable=False),
    sa.Column('p2p_allowed', sa.Boolean(), nullable=False),
    sa.Column('import_price', sa.Float(), nullable=True),
    sa.Column('export_price', sa.Float(), nullable=True),
    sa.Column('p2p_price', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_clearing_prices_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'mechanism', 'slot', name=op.f('pk_clearing_prices'))
    )
    op.create_table('community_series',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('mechanism', sa.String(length=32), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('load_kw', sa.Float(), nullable=False),
    sa.Column('pv_kw', sa.Float(), nullable=False),
    sa.Column('grid_import_kwh', sa.Float(), nullable=False),
    sa.Column('grid_export_kwh', sa.Float(), nullable=False),
    sa.Column('p2p_kwh', sa.Float(), nullable=False),
    sa.Column('cost', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_community_series_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'mechanism', 'slot', name=op.f('pk_community_series'))
    )
    op.create_table('daily_bills',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('mechanism', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('date', sa.DateTime(), nullable=False),
    sa.Column('bill', sa.Float(), nullable=False),
    sa.Column('avg_load_kwh_per_house', sa.Float(), nullable=False),
    sa.Column('avg_pv_kwh_per_prosumer', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_daily_bills_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'mechanism', 'day', name=op.f('pk_daily_bills'))
    )
    op.create_table('household_series',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('mechanism', sa.String(length=32), nullable=False),
    sa.Column('household', sa.String(length=16), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('load_kw', sa.Float(), nullable=False),
    sa.Column('pv_kw', sa.Float(), nullable=False),
    sa.Column('grid_import_kwh', sa.Float(), nullable=False),
    sa.Column('grid_export_kwh', sa.Float(), nullable=False),
    sa.Column('p2p_import_kwh', sa.Float(), nullable=False),
    sa.Column('p2p_export_kwh', sa.Float(), nullable=False),
    sa.Column('cost', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_household_series_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'mechanism', 'household', 'slot', name=op.f('pk_household_series'))
    )
    op.create_table('households',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('household', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('lambda_buy', sa.Float(), nullable=False),
    sa.Column('lambda_sell', sa.Float(), nullable=False),
    sa.Column('load_kwh', sa.Float(), nullable=False),
    sa.Column('pv_kwh', sa.Float(), nullable=False),
    sa.CheckConstraint("kind IN ('consumer', 'prosumer')", name=op.f('ck_households_kind')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_households_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'position', name=op.f('pk_households')),
    sa.UniqueConstraint('run_id', 'household', name=op.f('uq_households_run_id_household'))
    )
    op.create_table('run_metrics',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('mechanism', sa.String(length=32), nullable=False),
    sa.Column('metric', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_metrics_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'mechanism', 'metric', name=op.f('pk_run_metrics'))
    )


def downgrade() -> None:
    op.drop_table('run_metrics')
    op.drop_table('households')
    op.drop_table('household_series')
    op.drop_table('daily_bills')
    op.drop_table('community_series')
    op.drop_table('clearing_prices')
    op.drop_table('bills')
    op.drop_index(op.f('ix_runs_scenario_id'), table_name='runs')
    op.drop_index('ix_runs_queue', table_name='runs')
    op.drop_index(op.f('ix_runs_batch'), table_name='runs')
    op.drop_table('runs')
    op.drop_table('scenarios')
