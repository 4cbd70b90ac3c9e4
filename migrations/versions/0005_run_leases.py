"""Run leases and claim tokens: ``runs.claim_token`` and ``runs.lease_expires_at``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Each claim of a run gets a fresh random token; results, failures and lease renewals are
accepted only with the current token, so an attempt that lost its run (reaped, cancelled,
released) can never commit, whichever worker it belongs to. The owner of a running run holds a
lease until ``lease_expires_at`` and renews it; the reaper takes only runs whose lease expired.

Both columns are nullable and added in place (no table rebuild on SQLite). A run left
``running`` by an older p2pstore has no lease and is taken back by the first reaper: stop the
workers before upgrading.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('runs', sa.Column('claim_token', sa.String(length=32), nullable=True))
    op.add_column('runs', sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('runs', 'lease_expires_at')
    op.drop_column('runs', 'claim_token')
