"""Row counts of every p2pstore table: tests compare them before and after a refused command."""

from __future__ import annotations


def table_counts(db_url: str) -> dict[str, int]:
    """``{table: rows}`` of every table but ``alembic_version``, and of every view (such as
    ``household_series``); a fresh engine each call."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            names = [n for n in inspector.get_table_names() + inspector.get_view_names() if n != "alembic_version"]
            return {n: conn.execute(text(f"SELECT COUNT(*) FROM {n}")).scalar_one() for n in names}
    finally:
        engine.dispose()
