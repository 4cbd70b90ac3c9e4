"""Cross-run comparison: per mechanism, mean / median / min / max of each KPI across runs.

KPIs are read from ``run_metrics`` (computed at write time, defined in docs/metrics.md); this
module only selects runs, groups and aggregates. Nothing here writes to the store.

Example::

    from p2pstore import Store
    from p2pstore.reports.compare import compare
    table = compare(Store("sqlite:///p2pstore.db"), batch="pv-sweep", by="prosumers",
                    metrics=["savings_vs_conventional_pct"])
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from p2pstore.errors import NotFoundError, P2PStoreError
from p2pstore.scenario import FIELDS, MECHANISMS
from p2pstore.status import RunStatus

if TYPE_CHECKING:
    import pandas as pd

STATISTICS = ("mean", "median", "min", "max")
COMPARE_FORMATS = ("table", "csv", "json", "markdown")

#: Grouping keys that are not scenario fields but are derived per run.
DERIVED_PARAMS = {"households": ("consumers", "prosumers")}


class NoRunsError(NotFoundError):
    """The selection holds no run with results."""


class UnknownMetricError(NotFoundError):
    """A KPI name that is not stored for the selected runs."""


class UnknownParameterError(NotFoundError):
    """A ``--by`` name that is not a scenario field."""


def parse_run_ids(text: str | Iterable[Any]) -> list[int]:
    """``"1,2,5-8"`` (or an iterable of such pieces) -> ``[1, 2, 5, 6, 7, 8]``."""
    pieces = [text] if isinstance(text, str) else [str(t) for t in text]
    ids: list[int] = []
    for piece in pieces:
        for part in piece.replace(" ", ",").split(","):
            if not part:
                continue
            try:
                if "-" in part.strip("-"):
                    lo, hi = part.split("-", 1)
                    lo_i, hi_i = int(lo), int(hi)
                    if hi_i < lo_i:
                        raise ValueError
                    ids.extend(range(lo_i, hi_i + 1))
                else:
                    ids.append(int(part))
            except ValueError:
                raise P2PStoreError(f"bad run id list {piece!r}: expected ids like 1,2,5-8") from None
    if not ids:
        raise NoRunsError("no run ids given")
    return list(dict.fromkeys(ids))


def format_run_ids(ids: Iterable[int], sep: str = ",") -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3,7"``: the inverse of :func:`parse_run_ids` (sorted)."""
    parts: list[str] = []
    start = prev = None
    for i in sorted(ids):
        if start is not None and i == prev + 1:
            prev = i
            continue
        if start is not None:
            parts.append(f"{start}-{prev}" if prev != start else str(start))
        start = prev = i
    if start is not None:
        parts.append(f"{start}-{prev}" if prev != start else str(start))
    return sep.join(parts)


def select_runs(store, run_ids: Iterable[int] | None = None, batch: str | None = None) -> pd.DataFrame:
    """The succeeded runs of ``run_ids`` and/or ``batch`` (one row each, see ``Store.runs``).

    Unknown ids or batch raise :class:`NotFoundError`; an explicit id whose run has no results
    (queued, running, failed) raises too; a batch's unfinished runs are left out, and a selection
    with no finished run raises :class:`NoRunsError`.
    """
    if run_ids is None and batch is None:
        raise NoRunsError("select runs with --runs IDS or --batch NAME")
    ids = None if run_ids is None else sorted({int(r) for r in run_ids})
    if ids is not None and not ids:
        raise NoRunsError("no run ids given")
    runs = store.runs(batch=batch, run_ids=ids)
    if ids is not None:
        found = set(runs["run_id"].astype(int))
        missing = [i for i in ids if i not in found]
        if missing and batch is None:
            shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
            raise NotFoundError(f"no run with id {shown}" if len(missing) == 1 else f"no runs with ids {shown}")
        if missing:
            raise NotFoundError(f"run {missing[0]} is not in batch {batch!r}")
        unfinished = runs[runs["status"] != RunStatus.succeeded]
        if len(unfinished):
            row = unfinished.iloc[0]
            raise NoRunsError(f"run {int(row['run_id'])} is {row['status']} and has no results")
    elif runs.empty:
        raise NotFoundError(f"no batch named {batch!r}")
    done = runs[runs["status"] == RunStatus.succeeded].reset_index(drop=True)
    if done.empty:
        counts = ", ".join(f"{n} {s}" for s, n in runs["status"].value_counts().items())
        raise NoRunsError(f"no finished runs in batch {batch!r} ({counts})")
    return done


def _in_order(names: Iterable[str], order: Sequence[str]) -> list[str]:
    """Distinct ``names`` in the order of ``order``; names it lacks last, sorted."""
    rank = {name: i for i, name in enumerate(order)}
    return sorted(dict.fromkeys(names), key=lambda n: (rank.get(n, len(rank)), n))


def metric_order(names: Iterable[str]) -> list[str]:
    """KPI names in the order the metrics module defines them (unknown names last, sorted)."""
    from p2pstore.settlement.metrics import METRIC_NAMES

    return _in_order(names, METRIC_NAMES)


def ordered_mechanisms(names: Iterable[str]) -> list[str]:
    """Mechanism names in the order results are reported (:data:`p2pstore.scenario.MECHANISMS`)."""
    return _in_order(names, MECHANISMS)


def with_derived_params(params: pd.DataFrame) -> pd.DataFrame:
    """``params`` (see ``Store.run_params``) plus the :data:`DERIVED_PARAMS` columns it lacks."""
    derived = {name: sum(params[c] for c in parts) for name, parts in DERIVED_PARAMS.items()
               if name not in params.columns and set(parts) <= set(params.columns)}
    return params.assign(**derived)


def scenario_parameter(params: pd.DataFrame, by: str) -> pd.DataFrame:
    """``run_id`` and the value of scenario parameter ``by`` for each run of ``params``
    (``Store.run_params`` rows).

    Any field of :class:`p2pstore.scenario.Scenario` works (range fields also as
    ``<name>_low`` / ``<name>_high``), plus ``households`` (consumers + prosumers) and ``batch``.
    """
    params = with_derived_params(params)
    if by not in params.columns:
        known = sorted({*FIELDS, *DERIVED_PARAMS, "batch"})
        raise UnknownParameterError(f"unknown scenario parameter {by!r} (known: {', '.join(known)})")
    return params[["run_id", by]]


def compare(store, run_ids: Iterable[int] | None = None, batch: str | None = None, by: str | None = None,
            metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """Per mechanism (and ``by`` value), mean / median / min / max of each KPI across runs.

    Returns a long DataFrame with columns ``[by,] mechanism, metric, runs, mean, median, min,
    max`` (``runs`` counts runs with a value), ordered by metric, ``by`` value and mechanism.
    ``df.attrs["run_ids"]`` lists the runs used.
    """
    runs = select_runs(store, run_ids, batch)
    ids = runs["run_id"].astype(int).tolist()
    params = store.run_params(ids) if by is not None else None
    return compare_metrics(store.metrics(run_ids=ids), ids, by=by, params=params, metrics=metrics)


def compare_metrics(long: pd.DataFrame, ids: list[int], by: str | None = None, params: pd.DataFrame | None = None,
                    metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`compare` on frames already read: ``long`` the runs' ``Store.metrics`` rows,
    ``params`` their ``Store.run_params`` rows (needed with ``by``)."""
    if long.empty:
        raise NoRunsError("the selected runs have no stored KPIs")
    available = metric_order(long["metric"])
    wanted = list(dict.fromkeys(metrics or []))
    unknown = [m for m in wanted if m not in available]
    if unknown:
        raise UnknownMetricError(f"unknown metric {unknown[0]!r} (known: {', '.join(available)})")
    names = wanted or available
    long = long[long["metric"].isin(names)]
    keys = ["mechanism", "metric"]
    if by is not None:
        long = long.drop(columns=[c for c in (by,) if c in long.columns])
        long = long.merge(scenario_parameter(params, by), on="run_id", how="left")
        keys = [by, *keys]
    grouped = long.groupby(keys, sort=False, dropna=False)["value"]
    table = grouped.agg(runs="count", mean="mean", median="median", min="min", max="max").reset_index()
    table["runs"] = table["runs"].astype("int64")
    table = _order(table, names, by)
    table.attrs["run_ids"] = ids
    return table


def _order(table: pd.DataFrame, metric_names: Sequence[str], by: str | None) -> pd.DataFrame:
    mech_rank = {m: i for i, m in enumerate(MECHANISMS)}
    metric_rank = {m: i for i, m in enumerate(metric_names)}
    sort = table.assign(
        _metric=table["metric"].map(metric_rank),
        _mech=table["mechanism"].map(lambda m: mech_rank.get(m, len(mech_rank))),
    )
    keys = ["_metric", "_mech", "mechanism"]
    if by is not None:
        keys = ["_metric", by, "_mech", "mechanism"]
    return sort.sort_values(keys, kind="stable").drop(columns=["_metric", "_mech"]).reset_index(drop=True)


# -- rendering ---------------------------------------------------------------------------------
def _decimals(values: Sequence[float]) -> int:
    finite = [abs(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    top = max(finite, default=0.0)
    return 2 if top >= 100 else 3 if top >= 1 else 4


def _cells(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Column names and text cells; a metric's numbers share the decimals its magnitude needs."""
    cols = [str(c) for c in table.columns]
    stats = [c for c in STATISTICS if c in table.columns]
    digits_of: dict = {}
    if "metric" in table.columns and stats:
        for name, group in table.groupby("metric", sort=False):
            digits_of[name] = _decimals(group[stats].to_numpy().ravel().tolist())
    rows = []
    for rec in table.to_dict("records"):
        digits = digits_of.get(rec.get("metric"), _decimals([rec[c] for c in stats]))
        row = []
        for col in table.columns:
            v = rec[col]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                row.append("")
            elif col in stats:
                row.append(f"{v:,.{digits}f}")
            elif isinstance(v, float) and v.is_integer():
                row.append(str(int(v)))
            else:
                row.append(str(v))
        rows.append(row)
    return cols, rows


def pivot_compare(table: pd.DataFrame, stat: str = "mean") -> pd.DataFrame:
    """A paper's layout of :func:`compare`'s table: mechanisms as columns.

    One row per KPI (and per value of the grouping parameter, if any), in the long table's
    order; each mechanism's cell is ``stat`` (mean, median, min or max) across the runs; ``runs``
    counts them.
    """
    if stat not in STATISTICS:
        raise P2PStoreError(f"unknown statistic {stat!r} (known: {', '.join(STATISTICS)})")
    groups = [c for c in table.columns if c not in ("metric", "mechanism", "runs", *STATISTICS)]
    # rank metrics as the long table orders them; unstack then sorts by (rank, group value)
    rank = {name: i for i, name in enumerate(dict.fromkeys(table["metric"]))}
    rows = ["rank", "metric", *groups]
    keyed = table.assign(rank=table["metric"].map(rank)).set_index([*rows, "mechanism"])
    wide = keyed[stat].unstack("mechanism")[ordered_mechanisms(table["mechanism"])]
    wide.insert(0, "runs", keyed["runs"].groupby(level=rows).max())
    out = wide.reset_index().drop(columns="rank")
    out.columns.name = None
    return out


def render_compare(table: pd.DataFrame, fmt: str = "table") -> str:
    """``table`` as aligned text, CSV or JSON (full precision), or a Markdown table."""
    import json

    if fmt == "csv":
        return table.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        return json.dumps(json.loads(table.to_json(orient="records", double_precision=15)), indent=1)
    cols, rows = _cells(table)
    numeric = {c for c in table.columns if c in STATISTICS or c == "runs"}
    if fmt == "markdown":
        align = ["---:" if c in numeric else ":---" for c in table.columns]
        esc = lambda s: s.replace("|", "\\|")  # noqa: E731
        lines = ["| " + " | ".join(map(esc, cols)) + " |", "| " + " | ".join(align) + " |"]
        lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
        return "\n".join(lines)
    if fmt != "table":
        raise P2PStoreError(f"unknown format {fmt!r} (known: {', '.join(COMPARE_FORMATS)})")
    if not rows:
        return "(no rows)"
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    just = [(str.rjust if c in numeric else str.ljust) for c in table.columns]
    fmt_row = lambda r: "  ".join(j(v, w) for j, v, w in zip(just, r, widths)).rstrip()  # noqa: E731
    out = [fmt_row(cols), "  ".join("-" * w for w in widths)]
    previous = None
    for rec, row in zip(table["metric"], rows):
        if previous is not None and rec != previous:
            out.append("")
        out.append(fmt_row(row))
        previous = rec
    return "\n".join(out)
