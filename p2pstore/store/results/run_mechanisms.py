"""The mechanisms a stored run was settled with, as they were then (``run_mechanisms``).

Written with the run's results (:mod:`p2pstore.store.results.writer`), read here without the registry:
a run settled by a plugin that has since been uninstalled still shows its mechanisms' display
names and where they came from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from p2pstore.store.schema import RunMechanism

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def stored_mechanisms(engine: Engine, run_id: int) -> list[dict[str, Any]]:
    """``[{"mechanism", "label", "plugin"}, ...]`` of run ``run_id`` in settlement order
    (``plugin``: ``"dist version (module:function)"``, None for a built-in or when unknown);
    empty for a run without results."""
    stmt = (select(RunMechanism.mechanism, RunMechanism.label, RunMechanism.plugin)
            .where(RunMechanism.run_id == run_id).order_by(RunMechanism.position))
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


def plugin_of(engine: Engine, mechanism: str) -> str | None:
    """How the newest run settled with ``mechanism`` described its plugin
    (``"dist version (module:function)"``), None if no stored run says."""
    stmt = (select(RunMechanism.plugin).where(RunMechanism.mechanism == mechanism, RunMechanism.plugin.is_not(None))
            .order_by(RunMechanism.run_id.desc()).limit(1))
    with engine.connect() as conn:
        return conn.execute(stmt).scalar()
