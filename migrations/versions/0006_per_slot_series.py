"""Per-slot household series: profiles once per run, per-slot factors per mechanism, a view.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

``household_series`` stored seven floats per household, mechanism and slot, although load and
PV are the same under every mechanism and each built-in mechanism's flows and cost follow from
them and a few numbers per slot. From this revision:

* ``household_slots`` (run, household position, slot): load and PV once per run, with the
  household's tariffs where they vary over time (NULL for a flat tariff: ``households``); no
  foreign key (PostgreSQL would check it row by row): written and deleted with the run's results;
* ``mechanism_slots`` (run, mechanism, slot): the hours that turn import/export kW into grid and
  P2P kWh, and the coefficients of the cost's affine form in the household's own tariffs;
* ``household_series_explicit``: the old table, renamed, same columns: the rows of mechanisms
  whose cost has no such form (plugins) and every run stored before this revision;
* the view ``household_series``, with the old table's columns: derived rows
  (``household_slots`` x ``households`` x ``mechanism_slots``) UNION ALL the explicit rows.

Upgrading renames the table (no row is copied or changed): old runs read back unchanged.
Downgrading copies the derived rows into the explicit table, drops the new tables and renames
it back, so every run keeps its series (costs as the view computes them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERIES_COLUMNS = ('run_id', 'mechanism', 'household', 'slot', 'load_kw', 'pv_kw', 'grid_import_kwh',
                  'grid_export_kwh', 'p2p_import_kwh', 'p2p_export_kwh', 'cost')


def derived_select(dialect: str) -> str:
    """The derived rows of the view, in the columns of ``household_series``.

    Import and export are ``max(L - PV, 0)`` and ``max(PV - L, 0)`` as the settlement computes
    them (bit for bit); each flow is one product with a stored factor, as numpy multiplies it.
    """
    zero = 'CAST(0 AS DOUBLE PRECISION)' if dialect == 'postgresql' else '0.0'
    imp = f'(CASE WHEN s.load_kw > s.pv_kw THEN s.load_kw - s.pv_kw ELSE {zero} END)'
    exp = f'(CASE WHEN s.pv_kw > s.load_kw THEN s.pv_kw - s.load_kw ELSE {zero} END)'
    return f"""SELECT s.run_id AS run_id, m.mechanism AS mechanism, h.household AS household, s.slot AS slot,
       s.load_kw AS load_kw, s.pv_kw AS pv_kw,
       {imp} * m.grid_import_h AS grid_import_kwh,
       {exp} * m.grid_export_h AS grid_export_kwh,
       {imp} * m.p2p_import_h AS p2p_import_kwh,
       {exp} * m.p2p_export_h AS p2p_export_kwh,
       {imp} * (COALESCE(s.lambda_buy, h.lambda_buy) * m.import_tariff_h + m.import_price_h)
         - {exp} * (COALESCE(s.lambda_sell, h.lambda_sell) * m.export_tariff_h + m.export_price_h) AS cost
FROM household_slots s
JOIN households h ON h.run_id = s.run_id AND h.position = s.position
JOIN mechanism_slots m ON m.run_id = s.run_id AND m.slot = s.slot"""


def view_sql(dialect: str) -> str:
    columns = ', '.join(SERIES_COLUMNS)
    return (f'CREATE VIEW household_series AS\n{derived_select(dialect)}\n'
            f'UNION ALL\nSELECT {columns} FROM household_series_explicit')


def _rename_constraints(old: str, new: str) -> None:
    """PostgreSQL: constraint names follow the table (SQLite keeps them in the table's SQL)."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE {new} RENAME CONSTRAINT pk_{old} TO pk_{new}')
        op.execute(f'ALTER TABLE {new} RENAME CONSTRAINT fk_{old}_run_id_runs TO fk_{new}_run_id_runs')


def upgrade() -> None:
    op.create_table('household_slots',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('load_kw', sa.Float(), nullable=False),
    sa.Column('pv_kw', sa.Float(), nullable=False),
    sa.Column('lambda_buy', sa.Float(), nullable=True),
    sa.Column('lambda_sell', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('run_id', 'position', 'slot', name=op.f('pk_household_slots')),
    sqlite_with_rowid=False,
    )
    op.create_table('mechanism_slots',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('mechanism', sa.String(length=32), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('grid_import_h', sa.Float(), nullable=False),
    sa.Column('grid_export_h', sa.Float(), nullable=False),
    sa.Column('p2p_import_h', sa.Float(), nullable=False),
    sa.Column('p2p_export_h', sa.Float(), nullable=False),
    sa.Column('import_tariff_h', sa.Float(), nullable=False),
    sa.Column('import_price_h', sa.Float(), nullable=False),
    sa.Column('export_tariff_h', sa.Float(), nullable=False),
    sa.Column('export_price_h', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_mechanism_slots_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'mechanism', 'slot', name=op.f('pk_mechanism_slots')),
    sqlite_with_rowid=False,
    )
    op.rename_table('household_series', 'household_series_explicit')
    _rename_constraints('household_series', 'household_series_explicit')
    op.execute(view_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.execute('DROP VIEW household_series')
    columns = ', '.join(SERIES_COLUMNS)
    op.execute(f'INSERT INTO household_series_explicit ({columns})\n'
               f'{derived_select(op.get_bind().dialect.name)}')
    op.drop_table('mechanism_slots')
    op.drop_table('household_slots')
    op.rename_table('household_series_explicit', 'household_series')
    _rename_constraints('household_series_explicit', 'household_series')
