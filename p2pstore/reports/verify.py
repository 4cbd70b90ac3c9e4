"""``p2pstore runs verify``: settle a stored run's scenario again and compare with its stored results.

The run is settled exactly as a worker settles it (its stored scenario, profile set and tariff
file: :func:`p2pstore.jobs.execute.community_profiles`), its rows built as the writer builds them
(:func:`p2pstore.store.results.writer.result_blocks`), and every stored value of the compared tables is
checked for equality (NULL equals NULL, nothing else is tolerated). When values differ, the
summary names the columns, how many values and by how much, and the software versions that
changed since the run was stored (:mod:`p2pstore.provenance`). Nothing is written.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sqlalchemy import select

from p2pstore import provenance
from p2pstore.errors import P2PStoreError
from p2pstore.status import RunStatus
from p2pstore.store.schema import VIEWS, Base
from p2pstore.store.results.provenance_rows import read_provenance
from p2pstore.store.results.slot_series import documented_blocks
from p2pstore.store.results.writer import result_blocks

#: Tables and views compared (per-household series are derived from these and the stored
#: profiles), when the run stores them.
COMPARED = ("households", "bills", "daily_bills", "clearing_prices", "community_series", "run_metrics",
            "batteries", "battery_series")


def _table(name: str):
    """A table of the models, or a view (compared through its columns, keyed by ``info["key"]``)."""
    return Base.metadata.tables.get(name, VIEWS.tables.get(name))


def _columns(name: str) -> tuple[str, ...]:
    return tuple(c.name for c in _table(name).columns)


def _keys(name: str) -> list[str]:
    table = _table(name)
    return list(table.info["key"]) if table.info.get("is_view") else [c.name for c in table.primary_key.columns]


@dataclasses.dataclass
class Verification:
    """What :func:`verify_run` found. ``differences``: one dict per column with differing values
    (table, column, values, differing, max_abs); ``rows``: per table, rows only one side has;
    ``versions``: ``{component: (stored, now)}`` that changed."""

    run_id: int
    values: int = 0
    differences: list[dict] = dataclasses.field(default_factory=list)
    rows: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    versions: dict[str, tuple[str | None, str | None]] = dataclasses.field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not self.differences and not self.rows

    def summary(self) -> str:
        """Lines for people: identical, or what differs and which versions changed."""
        if self.identical:
            return (f"run {self.run_id}: identical to a fresh settlement ({self.values:,} stored values compared"
                    + (f"; versions changed since: {_versions(self.versions)}" if self.versions else "") + ")")
        lines = [f"run {self.run_id} differs from a fresh settlement of its stored scenario:"]
        for table, (only_stored, only_fresh) in self.rows.items():
            lines.append(f"  {table}: {only_stored:,} stored rows not produced again, {only_fresh:,} new rows")
        for d in self.differences:
            lines.append(f"  {d['table']}.{d['column']}: {d['differing']:,} of {d['values']:,} values differ"
                         + (f" (largest difference {d['max_abs']:.3g})" if np.isfinite(d["max_abs"]) else ""))
        lines.append("  versions changed since it was stored: " + (_versions(self.versions) if self.versions
                                                                    else "none recorded as changed"))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "identical": self.identical, "values": self.values,
                "differences": self.differences, "rows": {t: list(v) for t, v in self.rows.items()},
                "versions_changed": {k: list(v) for k, v in self.versions.items()}}


def _versions(changed: dict) -> str:
    return ", ".join(f"{name} {old or '(none)'} -> {new or '(none)'}" for name, (old, new) in changed.items())


def _frame(blocks, columns: tuple[str, ...]) -> pd.DataFrame:
    parts = []
    for block in blocks:
        n = next((len(v) for v in block.values() if isinstance(v, np.ndarray)), 1)
        parts.append(pd.DataFrame({c: (block.get(c) if isinstance(block.get(c), np.ndarray)
                                       else [block.get(c)] * n) for c in columns}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(columns))


def _stored(engine, table: str, run_id: int) -> pd.DataFrame:
    t = _table(table)
    with engine.connect() as conn:
        return pd.read_sql(select(*[t.c[c] for c in _columns(table)]).where(t.c.run_id == run_id), conn)


def _comparable(series: pd.Series, like: pd.Series) -> pd.Series:
    """``series`` as ``like``'s kind: datetimes, floats (booleans and numbers), or text."""
    if pd.api.types.is_datetime64_any_dtype(like):
        return pd.to_datetime(series).astype("datetime64[us]")
    if pd.api.types.is_bool_dtype(like) or pd.api.types.is_numeric_dtype(like) or like.map(
            lambda v: v is None or isinstance(v, (int, float, np.number, bool))).all():
        return pd.to_numeric(series.map(lambda v: np.nan if v is None else float(v)), errors="coerce")
    return series.astype(str)


def _compare_table(result: Verification, table: str, fresh: pd.DataFrame, stored: pd.DataFrame) -> None:
    keys = _keys(table)
    for key in keys:
        stored[key] = _comparable(stored[key], fresh[key]).astype(fresh[key].dtype, errors="ignore")
    merged = fresh.merge(stored, on=keys, how="outer", suffixes=("", "_stored"), indicator=True)
    only_stored, only_fresh = int((merged["_merge"] == "right_only").sum()), int((merged["_merge"] == "left_only").sum())
    if only_stored or only_fresh:
        result.rows[table] = (only_stored, only_fresh)
    both = merged[merged["_merge"] == "both"]
    for column in (c for c in _columns(table) if c not in keys):
        new, old = _comparable(both[column], fresh[column]), _comparable(both[f"{column}_stored"], fresh[column])
        result.values += len(both)
        if pd.api.types.is_float_dtype(new):
            a, b = new.to_numpy(dtype=float), old.to_numpy(dtype=float)
            same = (a == b) | (np.isnan(a) & np.isnan(b))
            with np.errstate(invalid="ignore"):
                gaps = np.abs(a - b)[~same]
            biggest = float(np.nanmax(gaps)) if np.isfinite(gaps).any() else float("inf")
        else:
            same, biggest = (new == old).to_numpy() | (new.isna() & old.isna()).to_numpy(), float("nan")
        if not same.all():
            result.differences.append({"table": table, "column": column, "values": len(both),
                                       "differing": int((~same).sum()), "max_abs": biggest})


def verify_run(store, run_id: int) -> Verification:
    """Settle run ``run_id``'s stored scenario again and compare with its stored results."""
    from p2pstore.jobs.execute import community_profiles  # the jobs layer: loaded when a run is verified
    from p2pstore.simulate import simulate  # numpy settlement: loaded when a run is verified

    run = store.get_run(run_id)
    if run["status"] != RunStatus.succeeded:
        raise P2PStoreError(f"run {run_id} is {run['status']} and has no results to verify")
    scenario = store.scenario_of(run_id)
    settlement = simulate(scenario, community_profiles(store, scenario))
    result = Verification(run_id)
    series = run["series"]
    for table, blocks in (*documented_blocks(run_id, settlement, series), *result_blocks(run_id, settlement, series)):
        if table in COMPARED:
            _compare_table(result, table, _frame(blocks, _columns(table)), _stored(store.engine, table, run_id))
    stored = read_provenance(store.engine, [run_id]).get(run_id, {})
    result.versions = provenance.changed(stored, provenance.collect(settlement.results)) if stored else {}
    return result
