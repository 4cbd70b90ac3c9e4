"""The software that settled each run: table ``run_provenance`` (run_id, component, version).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Runs stored before this revision have no rows here: their provenance is unknown, and
``p2pstore runs show`` says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_provenance",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("component", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_provenance_run_id_runs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "component", name=op.f("pk_run_provenance")),
    )


def downgrade() -> None:
    op.drop_table("run_provenance")
