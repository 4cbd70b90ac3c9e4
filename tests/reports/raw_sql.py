"""Reading ``run_metrics`` with plain SQL (not through the readers), to check the readers and the
comparison against."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import create_engine, text


def raw_metrics(url: str, ids: list[int]) -> pd.DataFrame:
    """run_metrics of the runs ``ids`` joined with their scenarios: run_id, mechanism, metric,
    value, consumers, prosumers, spec_json."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT m.run_id, m.mechanism, m.metric, m.value, s.consumers, s.prosumers, s.spec_json "
                "FROM run_metrics m JOIN runs r ON r.id = m.run_id JOIN scenarios s ON s.id = r.scenario_id"
            )).all()
    finally:
        engine.dispose()
    df = pd.DataFrame(rows, columns=["run_id", "mechanism", "metric", "value", "consumers", "prosumers", "spec_json"])
    return df[df["run_id"].isin(ids)]
