"""Per-slot series stored once per run and per mechanism; ``clearing_prices`` and
``community_series`` become views.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

``clearing_prices`` and ``community_series`` held a row per mechanism and slot that repeated
what every mechanism of a run shares (the slot's start, its P2P flag, the community's load and
PV) and rows of NULL prices (``conventional``). Now the run's slots are stored once and each
mechanism's values once, nothing all NULL; views with the former tables' columns give the same
rows (a row per mechanism of ``run_mechanisms`` and slot) and values:

* SQLite, rows: ``run_slots`` (run, slot) and ``mechanism_series`` (run, mechanism position,
  slot; a row only where a value is not NULL).
* PostgreSQL, arrays over the slots (a row costs some 30 bytes besides its values; arrays are
  compressed): ``run_slot_arrays`` (a row per run) and ``mechanism_series_arrays`` (a row per run
  and mechanism position; a NULL array where all its values are NULL, no row where all are). The
  views read each run's arrays once, element by element (``unnest`` in one select list).

Stored runs are moved with ``INSERT ... SELECT``; downgrading rebuilds the tables from the views.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRICES = ('import_price', 'export_price', 'p2p_price', 'supply_demand_ratio')
FLOWS = ('grid_import_kwh', 'grid_export_kwh', 'p2p_kwh', 'cost')
VALUES = PRICES + FLOWS


def _fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=f'fk_{table}_run_id_runs', ondelete='CASCADE')


def _create_storage(dialect: str) -> None:
    if dialect == 'postgresql':
        array = sa.ARRAY
        op.create_table('run_slot_arrays',
                        sa.Column('run_id', sa.Integer(), nullable=False),
                        sa.Column('ts', array(sa.DateTime()), nullable=False),
                        sa.Column('p2p_allowed', array(sa.Boolean()), nullable=False),
                        sa.Column('load_kw', array(sa.Float()), nullable=True),
                        sa.Column('pv_kw', array(sa.Float()), nullable=True),
                        _fk('run_slot_arrays'), sa.PrimaryKeyConstraint('run_id', name='pk_run_slot_arrays'))
        op.create_table('mechanism_series_arrays',
                        sa.Column('run_id', sa.Integer(), nullable=False),
                        sa.Column('mechanism', sa.Integer(), nullable=False),
                        *(sa.Column(c, array(sa.Float()), nullable=True) for c in VALUES),
                        _fk('mechanism_series_arrays'),
                        sa.PrimaryKeyConstraint('run_id', 'mechanism', name='pk_mechanism_series_arrays'))
        return
    op.create_table('run_slots',
                    sa.Column('run_id', sa.Integer(), nullable=False),
                    sa.Column('slot', sa.Integer(), nullable=False),
                    sa.Column('ts', sa.DateTime(), nullable=False),
                    sa.Column('p2p_allowed', sa.Boolean(), nullable=False),
                    sa.Column('load_kw', sa.Float(), nullable=True),
                    sa.Column('pv_kw', sa.Float(), nullable=True),
                    _fk('run_slots'), sa.PrimaryKeyConstraint('run_id', 'slot', name='pk_run_slots'),
                    sqlite_with_rowid=False)
    op.create_table('mechanism_series',
                    sa.Column('run_id', sa.Integer(), nullable=False),
                    sa.Column('mechanism', sa.Integer(), nullable=False),
                    sa.Column('slot', sa.Integer(), nullable=False),
                    *(sa.Column(c, sa.Float(), nullable=True) for c in VALUES),
                    _fk('mechanism_series'),
                    sa.PrimaryKeyConstraint('run_id', 'mechanism', 'slot', name='pk_mechanism_series'),
                    sqlite_with_rowid=False)


def _create_tables() -> None:
    """The tables of revision 0011."""
    op.create_table('clearing_prices',
                    sa.Column('run_id', sa.Integer(), nullable=False),
                    sa.Column('mechanism', sa.String(length=32), nullable=False),
                    sa.Column('slot', sa.Integer(), nullable=False),
                    sa.Column('ts', sa.DateTime(), nullable=False),
                    sa.Column('p2p_allowed', sa.Boolean(), nullable=False),
                    *(sa.Column(c, sa.Float(), nullable=True) for c in PRICES),
                    _fk('clearing_prices'),
                    sa.PrimaryKeyConstraint('run_id', 'mechanism', 'slot', name='pk_clearing_prices'))
    op.create_table('community_series',
                    sa.Column('run_id', sa.Integer(), nullable=False),
                    sa.Column('mechanism', sa.String(length=32), nullable=False),
                    sa.Column('slot', sa.Integer(), nullable=False),
                    sa.Column('load_kw', sa.Float(), nullable=False),
                    sa.Column('pv_kw', sa.Float(), nullable=False),
                    *(sa.Column(c, sa.Float(), nullable=False) for c in FLOWS),
                    _fk('community_series'),
                    sa.PrimaryKeyConstraint('run_id', 'mechanism', 'slot', name='pk_community_series'))


# -- the views -----------------------------------------------------------------------------------
def _sqlite_view(columns: str) -> str:
    """Rows of every slot of ``run_slots`` (``rs``) and mechanism of ``run_mechanisms`` (``rm``),
    with the mechanism's prices (``mv``; NULL where no row is stored). SQLite's
    CROSS JOIN keeps ``run_slots`` before ``run_mechanisms`` in every plan: a join to the view by
    slot then finds the slot by key, then the mechanism by key, whatever the statistics."""
    return (f"SELECT rs.run_id AS run_id, rm.mechanism AS mechanism, rs.slot AS slot, {columns}\n"
            "FROM run_slots rs\n"
            "CROSS JOIN run_mechanisms rm ON rm.run_id = rs.run_id\n"
            "LEFT JOIN mechanism_series mv "
            "ON mv.run_id = rm.run_id AND mv.mechanism = rm.position AND mv.slot = rs.slot")


def _postgresql_view(slot_columns: tuple[str, ...], values: tuple[str, ...], outer: bool) -> str:
    """Every mechanism of ``run_mechanisms`` with the run's arrays read once, element by element:
    set-returning functions of one select list advance together (an absent or shorter array reads
    as NULL), slot ``k`` is element ``k + 1``. In the select list they stream (``unnest`` in FROM
    would first copy every array into a tuple store) and are estimated at 1,000 rows, not 10:
    joins and aggregates over the views run a fifth to a half faster (bench_store --sweep)."""
    srfs = ", ".join([f"unnest(rs.{c}) AS {c}" for c in slot_columns] + [f"unnest(ma.{c}) AS {c}" for c in values])
    columns = ", ".join(f"u.{c} AS {c}" for c in (*slot_columns, *values))
    return (f"SELECT rs.run_id AS run_id, rm.mechanism AS mechanism, u.slot AS slot, {columns}\n"
            "FROM run_slot_arrays rs\n"
            "JOIN run_mechanisms rm ON rm.run_id = rs.run_id\n"
            f"{'LEFT JOIN' if outer else 'JOIN'} mechanism_series_arrays ma "
            "ON ma.run_id = rm.run_id AND ma.mechanism = rm.position\n"
            "CROSS JOIN LATERAL (SELECT CAST(generate_series(0, cardinality(rs.ts) - 1) AS integer) AS slot, "
            f"{srfs}) u")


def slot_view_sql(dialect: str) -> dict[str, str]:
    """The SELECT of each view on ``dialect``."""
    if dialect == 'postgresql':
        return {'clearing_prices': _postgresql_view(('ts', 'p2p_allowed'), PRICES, True),
                'community_series': _postgresql_view(('load_kw', 'pv_kw'), FLOWS, False)
                + "\nWHERE rs.load_kw IS NOT NULL"}
    return {'clearing_prices': _sqlite_view("rs.ts AS ts, rs.p2p_allowed AS p2p_allowed, "
                                            + ", ".join(f"mv.{c} AS {c}" for c in PRICES)),
            'community_series': _sqlite_community_view()}


def _sqlite_community_view() -> str:
    """The rows of ``mechanism_series`` that hold a run's series (every mechanism-slot of a run
    stored with series has its cost, one without has none), the slot's load and PV looked up by
    key only where a query reads them (an aggregate of costs reads ``mechanism_series`` alone)."""
    shared = ", ".join(f"(SELECT rs.{c} FROM run_slots rs WHERE rs.run_id = mv.run_id AND rs.slot = mv.slot) AS {c}"
                       for c in ('load_kw', 'pv_kw'))
    return (f"SELECT mv.run_id AS run_id, rm.mechanism AS mechanism, mv.slot AS slot, {shared}, "
            + ", ".join(f"mv.{c} AS {c}" for c in FLOWS) + "\n"
            "FROM run_mechanisms rm\n"
            "JOIN mechanism_series mv ON mv.run_id = rm.run_id AND mv.mechanism = rm.position\n"
            "WHERE mv.cost IS NOT NULL")


# -- moving the rows ----------------------------------------------------------------------------
#: Each stored mechanism-slot with its position and both tables' values (``c`` NULL without series).
_JOINED = """FROM clearing_prices p
JOIN run_mechanisms m ON m.run_id = p.run_id AND m.mechanism = p.mechanism
LEFT JOIN community_series c ON c.run_id = p.run_id AND c.mechanism = p.mechanism AND c.slot = p.slot"""
#: ... of the run's first mechanism only (what every mechanism shares is read from it).
_FIRST = "m.position = (SELECT MIN(f.position) FROM run_mechanisms f WHERE f.run_id = p.run_id)"
_ANY_VALUE = f"COALESCE({', '.join(f'p.{c}' for c in PRICES)}, {', '.join(f'c.{c}' for c in FLOWS)}) IS NOT NULL"


def _check_movable(conn) -> None:
    """Refuse rows the new layout cannot hold as they are: a mechanism missing from
    ``run_mechanisms``, or a run whose mechanisms disagree on a slot's time, flag, load or PV."""
    orphans = conn.exec_driver_sql(
        "SELECT COUNT(*) FROM clearing_prices p WHERE NOT EXISTS (SELECT 1 FROM run_mechanisms m "
        "WHERE m.run_id = p.run_id AND m.mechanism = p.mechanism)").scalar()
    differing = conn.exec_driver_sql(
        "SELECT COUNT(*) FROM (SELECT p.run_id, p.slot FROM clearing_prices p "
        "LEFT JOIN community_series c ON c.run_id = p.run_id AND c.mechanism = p.mechanism AND c.slot = p.slot "
        "GROUP BY p.run_id, p.slot HAVING COUNT(DISTINCT p.ts) > 1 OR COUNT(DISTINCT p.p2p_allowed) > 1 "
        "OR COUNT(DISTINCT c.load_kw) > 1 OR COUNT(DISTINCT c.pv_kw) > 1) d").scalar()
    if orphans or differing:
        raise RuntimeError(f"cannot move the per-slot series: {orphans} clearing_prices rows of mechanisms "
                           f"missing from run_mechanisms, {differing} slots whose mechanisms disagree on "
                           "time, P2P flag, load or PV")


def _move_rows(dialect: str) -> None:
    conn = op.get_bind()
    _check_movable(conn)
    if dialect == 'postgresql':
        def agg(column: str) -> str:
            return f"CASE WHEN bool_or({column} IS NOT NULL) THEN array_agg({column} ORDER BY p.slot) END"

        op.execute("INSERT INTO run_slot_arrays (run_id, ts, p2p_allowed, load_kw, pv_kw)\n"
                   "SELECT p.run_id, array_agg(p.ts ORDER BY p.slot), array_agg(p.p2p_allowed ORDER BY p.slot), "
                   f"{agg('c.load_kw')}, {agg('c.pv_kw')}\n{_JOINED}\nWHERE {_FIRST}\nGROUP BY p.run_id")
        values = [f"p.{c}" for c in PRICES] + [f"c.{c}" for c in FLOWS]
        op.execute(f"INSERT INTO mechanism_series_arrays (run_id, mechanism, {', '.join(VALUES)})\n"
                   f"SELECT p.run_id, m.position, {', '.join(agg(v) for v in values)}\n{_JOINED}\n"
                   f"GROUP BY p.run_id, m.position\nHAVING bool_or({_ANY_VALUE})")
        return
    op.execute("INSERT INTO run_slots (run_id, slot, ts, p2p_allowed, load_kw, pv_kw)\n"
               f"SELECT p.run_id, p.slot, p.ts, p.p2p_allowed, c.load_kw, c.pv_kw\n{_JOINED}\nWHERE {_FIRST}\n"
               "ORDER BY p.run_id, p.slot")
    op.execute(f"INSERT INTO mechanism_series (run_id, mechanism, slot, {', '.join(VALUES)})\n"
               f"SELECT p.run_id, m.position, p.slot, {', '.join(f'p.{c}' for c in PRICES)}, "
               f"{', '.join(f'c.{c}' for c in FLOWS)}\n{_JOINED}\nWHERE {_ANY_VALUE}\n"
               "ORDER BY p.run_id, m.position, p.slot")


#: Mechanisms found by name within a run (the views' rows of one mechanism, by key).
MECHANISM_INDEX = 'ix_run_mechanisms_run_id_mechanism'


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_index(MECHANISM_INDEX, 'run_mechanisms', ['run_id', 'mechanism'], unique=True)
    _create_storage(dialect)
    _move_rows(dialect)
    op.drop_table('community_series')
    op.drop_table('clearing_prices')
    for name, sql in slot_view_sql(dialect).items():
        op.execute(f"CREATE VIEW {name} AS\n{sql}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    views = slot_view_sql(dialect)
    for name in views:
        op.execute(f"DROP VIEW {name}")
    _create_tables()
    for name, sql in views.items():
        op.execute(f"INSERT INTO {name}\nSELECT * FROM (\n{sql}\n) v ORDER BY run_id, mechanism, slot")
    if dialect == 'postgresql':
        op.drop_table('mechanism_series_arrays')
        op.drop_table('run_slot_arrays')
    else:
        op.drop_table('mechanism_series')
        op.drop_table('run_slots')
    op.drop_index(MECHANISM_INDEX, table_name='run_mechanisms')
