"""Reading the software that settled runs (table ``run_provenance``, written with the results by
:mod:`p2pstore.store.results.writer`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from p2pstore.store.schema import RunProvenance

_table = RunProvenance.__table__


def read_provenance(engine, run_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """``{run_id: {component: version}}`` of the runs ``run_ids`` that have provenance rows
    (runs stored before provenance was recorded, or without results, are absent)."""
    ids = sorted({int(r) for r in run_ids})
    found: dict[int, dict[str, str]] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), 10_000):
            stmt = (select(_table.c.run_id, _table.c.component, _table.c.version)
                    .where(_table.c.run_id.in_(ids[start:start + 10_000]))
                    .order_by(_table.c.run_id, _table.c.component))
            for run_id, component, version in conn.execute(stmt):
                found.setdefault(int(run_id), {})[component] = version
    return found
