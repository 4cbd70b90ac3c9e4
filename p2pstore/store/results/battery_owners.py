"""Which households of stored runs own a home battery (table ``batteries``), for results by kind
of household."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from p2pstore.store.schema import Base


def battery_owners(engine, run_ids: Iterable[int]) -> set[tuple[int, str]]:
    """``{(run_id, household)}`` of the households with a battery in the runs ``run_ids``."""
    table = Base.metadata.tables["batteries"]
    ids = sorted({int(r) for r in run_ids})
    found: set[tuple[int, str]] = set()
    with engine.connect() as conn:
        for start in range(0, len(ids), 10_000):
            stmt = select(table.c.run_id, table.c.household).where(table.c.run_id.in_(ids[start:start + 10_000]))
            found.update((int(r), str(h)) for r, h in conn.execute(stmt))
    return found
