"""Export one stored run's tables as CSV or Parquet files (one file per table).

Parquet needs pyarrow, the optional ``parquet`` extra (``pip install 'p2pstore[parquet]'``).
Nothing here writes to the store.
"""

from __future__ import annotations

import json
from pathlib import Path

from p2pstore.errors import NotFoundError, P2PStoreError
from p2pstore.reports.output import check_output_dir

EXPORT_FORMATS = ("csv", "parquet")


class MissingDependencyError(P2PStoreError):
    """An optional dependency needed for the requested output is not installed."""


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "parquet export needs pyarrow: pip install 'p2pstore[parquet]' (or use --format csv)"
        ) from None


def run_tables(store, run_id: int) -> dict:
    """Every table of run ``run_id`` as DataFrames, keyed by table name (``runs`` holds one row,
    ``scenarios`` the run's scenario). Empty series tables are kept (with their columns)."""
    runs = store.runs(run_ids=[run_id])
    if runs.empty:
        raise NotFoundError(f"no run with id {run_id}")
    scenario_id = int(runs["scenario_id"].iloc[0])
    scenarios = store.scenarios()
    tables = {
        "runs": runs,
        "scenarios": scenarios[scenarios["scenario_id"] == scenario_id].reset_index(drop=True),
        "households": store.households(run_id),
        "bills": store.bills([run_id]),
        "daily_bills": store.daily_bills([run_id]),
        "clearing_prices": store.prices([run_id]),
        "household_series": store.series(run_id),
        "community_series": store.community_series(run_id),
        "run_metrics": store.metrics(run_ids=[run_id]),
    }
    return tables


def export_run(store, run_id: int, out_dir: str | Path, fmt: str = "csv") -> list[Path]:
    """Write run ``run_id``'s tables to ``out_dir`` as ``<table>.csv`` or ``<table>.parquet``,
    plus ``scenario.json`` (the spec). Returns the written paths. ``out_dir`` is checked first."""
    if fmt not in EXPORT_FORMATS:
        raise P2PStoreError(f"unknown export format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")
    if fmt == "parquet":
        _require_pyarrow()
    out = check_output_dir(out_dir, "export directory")
    tables = run_tables(store, int(run_id))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(path, index=False)
        else:
            df.to_parquet(path, index=False)
        written.append(path)
    spec = tables["scenarios"]["spec_json"].iloc[0]
    path = out / "scenario.json"
    path.write_text(json.dumps(json.loads(spec), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written.append(path)
    return written
