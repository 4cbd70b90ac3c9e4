"""The mechanisms of each run as they were when it was settled: ``run_mechanisms``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

A run settled by a plugin must stay readable once the plugin is uninstalled: its bills, prices,
series (costs as per-slot factors in ``mechanism_slots``, or explicit rows) and metrics are
stored already; this table adds the mechanism's display name and the plugin it came from
(distribution, version, function), one row per mechanism, in settlement order. Runs stored
before this revision get their rows from ``runs.mechanisms``: a built-in's display name as it is
at this revision, a plugin's name as its display name (what entry-point plugins show) and no
plugin description (it was not kept).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The built-in mechanisms' display names at this revision (a migration keeps its own copy).
BUILTIN_LABELS = {
    "conventional": "Conventional", "mmr": "MMR", "bill_sharing": "Bill-sharing", "sdr": "SDR (Liu 2017)",
    "mmr_lit": "MMR (Long 2017)", "bs_lit": "Bill sharing (Long 2017)", "bs_lit_slot": "Bill sharing per slot",
}


def upgrade() -> None:
    table = op.create_table(
        'run_mechanisms',
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('mechanism', sa.String(length=32), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('plugin', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_mechanisms_run_id_runs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('run_id', 'position', name=op.f('pk_run_mechanisms')),
    )
    conn = op.get_bind()
    runs = conn.execute(sa.text("SELECT id, mechanisms FROM runs WHERE status = 'succeeded' ORDER BY id"))
    rows = [{"run_id": run_id, "position": k, "mechanism": name, "label": BUILTIN_LABELS.get(name, name),
             "plugin": None}
            for run_id, names in runs for k, name in enumerate(n for n in names.split(",") if n)]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table('run_mechanisms')
