"""Helpers shared by the store tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

from p2pstore.scenario import Scenario

#: Small scenario of the store tests: 2 consumers + 3 prosumers, 2 days.
SCENARIO = Scenario(days=2, consumers=2, prosumers=3, seed=7)


def count(store, table: str, run_id: int | None = None) -> int:
    """Rows of ``table`` (of one run if ``run_id``)."""
    from sqlalchemy import text

    sql = f"SELECT COUNT(*) FROM {table}" + ("" if run_id is None else " WHERE run_id = :r")
    with store.engine.connect() as conn:
        return conn.execute(text(sql), {"r": run_id}).scalar_one()
