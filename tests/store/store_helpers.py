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


def import_sdr_case(store, name: str = "c7") -> None:
    """The profile set of the literature spec's case c7 (4 households, 4 slots): SDR's ratio is
    0, 0.5, 2.5 and +Infinity (nobody needs power in the last slot)."""
    import numpy as np
    import pandas as pd

    from p2pstore.jobs.build_profiles import import_profiles

    load = [[1, 1, 0.5, 1], [1, 1, 0.5, 0.5], [1, 1, 1, 0], [1, 1, 1, 0]]
    pv = [[0, 2, 4, 1], [0, 1, 2, 0.5], [0, 0, 0, 0], [0, 0, 0, 0]]
    index = pd.date_range("2025-01-01", periods=4, freq="15min", name="timestamp")
    names = ["H1", "H2", "H3", "H4"]
    import_profiles(store, name, load=pd.DataFrame(np.array(load).T, index=index, columns=names),
                    pv=pd.DataFrame(np.array(pv).T, index=index, columns=names),
                    tariffs=pd.DataFrame({"household": names, "buy": [0.3] * 4, "sell": [0.1, 0.1, 0, 0]}))
