"""clearing_prices.supply_demand_ratio: the supply-demand ratio of SDR pricing per slot.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

A nullable float column: the ratio E / I of the community's net export offers to its net import
needs (Liu et al. 2017), set by the ``sdr`` mechanism in P2P-on slots, +Infinity where nobody
needs power (I = 0), NULL in P2P-off slots and for every other mechanism. Adding a nullable
column rebuilds nothing on either backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('clearing_prices', sa.Column('supply_demand_ratio', sa.Float(), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops a plain column in place (no table rebuild).
    op.drop_column('clearing_prices', 'supply_demand_ratio')
