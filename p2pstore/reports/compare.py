"""Cross-run comparison: per mechanism, mean / median / min / max of each KPI across runs.

KPIs are read from ``run_metrics`` (computed at write time, defined in docs/metrics.md); this
module only selects runs, groups and aggregates. Nothing here writes to the store.

Example::

    from p2pstore import Store
    from p2pstore.reports.compare import compare
    table = compare(Store("sqlite:///p2pstore.db"), batch="pv", by="prosumers",
                    metrics=["savings_vs_conventional_pct"])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from p2pstore.errors import NotFoundError, P2PStoreError
from p2pstore import display, registry
from p2pstore.kpis import BATTERY_METRIC_NAMES, METRIC_NAMES
from p2pstore.scenario import FIELDS
from p2pstore.status import RunStatus

if TYPE_CHECKING:
    import pandas as pd

#: Columns of the comparison table per group, in order: the number of runs with a value, the
#: sample statistics (``sd`` with ddof 1) and the Student-t 95 % confidence interval of the mean.
STATISTICS = ("n", "mean", "median", "sd", "min", "max", "ci95_low", "ci95_high")
#: Cells ``--pivot`` can show: one statistic, or the mean with its sd or 95 % CI half-width.
PIVOT_STATS = ("mean", "median", "sd", "min", "max", "mean±sd", "mean±ci95")
#: ASCII spellings of the ± statistics (easier to type in a shell).
PIVOT_ALIASES = {"mean+-sd": "mean±sd", "mean+-ci95": "mean±ci95"}
COMPARE_FORMATS = ("table", "csv", "json", "markdown", "latex")
#: Confidence level of the interval columns.
CONFIDENCE = 0.95

#: Grouping keys derived per run from the stored scenario (filling runs whose spec lacks them).
DERIVED_PARAMS = {
    "households": (("consumers", "prosumers"), lambda p: p["consumers"] + p["prosumers"]),
    "prosumer_share": (("consumers", "prosumers"), lambda p: p["prosumers"] / (p["consumers"] + p["prosumers"])),
}


class NoRunsError(NotFoundError):
    """The selection holds no run with results."""


class UnknownMetricError(NotFoundError):
    """A KPI name that is not stored for the selected runs."""


class UnknownParameterError(NotFoundError):
    """A ``--by`` name that is not a scenario field."""


class UnknownMechanismError(NotFoundError):
    """A ``--mechanism`` name that no selected run settled."""


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
    return _in_order(names, (*METRIC_NAMES, *BATTERY_METRIC_NAMES))


def ordered_mechanisms(names: Iterable[str]) -> list[str]:
    """Mechanism names in the order results are reported (:func:`p2pstore.registry.ordered`)."""
    return registry.ordered(names)


def with_derived_params(params: pd.DataFrame) -> pd.DataFrame:
    """``params`` (see ``Store.run_params``) with the :data:`DERIVED_PARAMS` columns, derived
    for the runs whose stored spec does not set them (a stored value is kept as it is)."""
    derived = {}
    for name, (parts, fn) in DERIVED_PARAMS.items():
        if not set(parts) <= set(params.columns):
            continue
        values = fn(params)
        derived[name] = params[name].fillna(values) if name in params.columns else values
    return params.assign(**derived)


def known_parameters() -> list[str]:
    """Every name ``--by`` accepts: the scenario's fields, the derived ones and ``batch``."""
    return sorted({*FIELDS, *DERIVED_PARAMS, "batch"})


def scenario_parameter(params: pd.DataFrame, by: str) -> pd.DataFrame:
    """``run_id`` and the value of scenario parameter ``by`` for each run of ``params``
    (``Store.run_params`` rows), as people read it (:func:`p2pstore.display.parameter_value`:
    hashes shortened, a file by its name, an unset value ``(none)``).

    Any field of :class:`p2pstore.scenario.Scenario` works (range fields also as
    ``<name>_low`` / ``<name>_high``), plus ``batch``; ``households`` (consumers + prosumers) and
    ``prosumer_share`` (prosumers / households) are derived for runs whose spec does not set them.
    A field no selected run sets (``tariffs`` without tariff files) groups every run under ``(none)``.
    """
    params = with_derived_params(params)
    if by not in params.columns:
        if by not in FIELDS:
            raise UnknownParameterError(f"unknown scenario parameter {by!r} (known: {', '.join(known_parameters())})")
        params = params.assign(**{by: None})
    values = params[by].map(lambda v: display.parameter_value(by, v))
    if values.map(lambda v: isinstance(v, (list, dict))).any():
        values = values.map(str)
    return params[["run_id"]].assign(**{by: values.to_numpy()})


def compare(store, run_ids: Iterable[int] | None = None, batch: str | None = None, by: str | None = None,
            metrics: Iterable[str] | None = None, mechanisms: Iterable[str] | None = None) -> pd.DataFrame:
    """Per mechanism (and ``by`` value), the statistics of each KPI across runs.

    Returns a long DataFrame with columns ``[by,] mechanism, metric, unit,`` and
    :data:`STATISTICS` (``n`` counts the runs with a value; ``sd`` is the sample standard
    deviation, ddof 1; ``ci95_low`` / ``ci95_high`` the Student-t 95 % confidence interval of the
    mean, NaN when ``n < 2``), ordered by metric, ``by`` value and mechanism. ``mechanisms`` keeps
    only those (e.g. without the conventional baseline). ``df.attrs["run_ids"]`` lists the runs
    used, ``df.attrs["currency"]`` the currency of the money units.
    """
    runs = select_runs(store, run_ids, batch)
    ids = runs["run_id"].astype(int).tolist()
    params = store.run_params(ids)
    return compare_metrics(store.metrics(run_ids=ids), ids, by=by, params=params, metrics=metrics,
                           mechanisms=mechanisms)


def currency_of(params: pd.DataFrame | None) -> str:
    """The currency of the runs of ``params`` (``Store.run_params`` rows); "currency" if they mix."""
    if params is None or "currency" not in params.columns or params.empty:
        return "Rs"
    found = params["currency"].dropna().unique()
    return str(found[0]) if len(found) == 1 else "currency"


def compare_metrics(long: pd.DataFrame, ids: list[int], by: str | None = None, params: pd.DataFrame | None = None,
                    metrics: Iterable[str] | None = None, mechanisms: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`compare` on frames already read: ``long`` the runs' ``Store.metrics`` rows,
    ``params`` their ``Store.run_params`` rows (needed with ``by``; gives the currency)."""
    # imported when called: the CLI imports this module at start-up without pandas or scipy
    from p2pstore.reports.numbers import metric_unit

    if long.empty:
        raise NoRunsError("the selected runs have no stored KPIs")
    available = metric_order(long["metric"])
    wanted = list(dict.fromkeys(metrics or []))
    unknown = [m for m in wanted if m not in available]
    if unknown:
        raise UnknownMetricError(f"unknown metric {unknown[0]!r} (known: {', '.join(available)})")
    names = wanted or available
    long = long[long["metric"].isin(names)]
    settled = ordered_mechanisms(long["mechanism"])
    kept = list(dict.fromkeys(mechanisms or []))
    missing = [m for m in kept if m not in settled]
    if missing:
        raise UnknownMechanismError(f"no selected run settled mechanism {missing[0]!r} (settled: {', '.join(settled)})")
    if kept:
        long = long[long["mechanism"].isin(kept)]
    keys = ["mechanism", "metric"]
    if by is not None:
        long = long.drop(columns=[c for c in (by,) if c in long.columns])
        long = long.merge(scenario_parameter(params, by), on="run_id", how="left")
        keys = [by, *keys]
    table = describe(long, keys)
    currency = currency_of(params)
    table.insert(table.columns.get_loc("metric") + 1, "unit", [metric_unit(m, currency) for m in table["metric"]])
    table = _order(table, names, by)
    table.attrs.update(run_ids=ids, currency=currency)
    return table


def describe(long: pd.DataFrame, keys: list[str], value: str = "value") -> pd.DataFrame:
    """Per group of ``keys``: :data:`STATISTICS` of column ``value`` (missing values left out).

    The interval is ``mean ± t(0.975, n - 1) * sd / sqrt(n)`` with the Student-t quantile of
    :func:`scipy.stats.t.ppf`; it is NaN for groups of fewer than two values.
    """
    # imported when called: the CLI imports this module at start-up without pandas or scipy
    import numpy as np
    from scipy import stats  # as numpy above: only when statistics are computed

    grouped = long.groupby(keys, sort=False, dropna=False)[value]
    table = grouped.agg(n="count", mean="mean", median="median", sd="std", min="min", max="max").reset_index()
    n = table["n"].to_numpy(dtype=float)
    table["n"] = table["n"].astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + CONFIDENCE / 2, np.where(n >= 2, n - 1, np.nan)) * table["sd"].to_numpy() / np.sqrt(n)
    table["ci95_low"] = table["mean"] - half
    table["ci95_high"] = table["mean"] + half
    return table


def _order(table: pd.DataFrame, metric_names: Sequence[str], by: str | None) -> pd.DataFrame:
    mech_rank = {m: i for i, m in enumerate(ordered_mechanisms(table["mechanism"]))}
    metric_rank = {m: i for i, m in enumerate(metric_names)}
    sort = table.assign(_metric=table["metric"].map(metric_rank), _mech=table["mechanism"].map(mech_rank))
    keys = ["_metric", "_mech"]
    if by is not None:
        keys = ["_metric", by, "_mech"]
    return sort.sort_values(keys, kind="stable").drop(columns=["_metric", "_mech"]).reset_index(drop=True)


# -- rendering ---------------------------------------------------------------------------------
def row_decimals(metrics: Iterable[str], values: pd.DataFrame) -> list[int | None]:
    """Decimals of each row: its KPI's natural precision, or by the magnitude of the KPI's
    numbers in ``values`` (same rows) when the KPI has none."""
    # imported when called: the CLI imports this module at start-up without pandas or scipy
    from p2pstore.reports.numbers import magnitude_decimals, metric_decimals

    metrics = list(metrics)
    by_magnitude = {}
    for name in dict.fromkeys(metrics):
        if metric_decimals(name) is None:
            rows = [i for i, m in enumerate(metrics) if m == name]
            by_magnitude[name] = magnitude_decimals(values.iloc[rows].to_numpy().ravel().tolist())
    return [metric_decimals(m) if m not in by_magnitude else by_magnitude[m] for m in metrics]


def _unit_headers(table: pd.DataFrame, columns: Iterable[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """With one unit in every row, drop the ``unit`` column and name it in the headers of
    ``columns`` instead (``mean (%)``); else keep the column."""
    units = list(dict.fromkeys(table["unit"])) if "unit" in table.columns else []
    if len(units) != 1:
        return table, {}
    suffix = f" ({units[0]})" if units[0] else ""
    return table.drop(columns="unit"), {c: f"{c}{suffix}" for c in columns}


def render_compare(table: pd.DataFrame, fmt: str = "table") -> str:
    """:func:`compare`'s table as aligned text, Markdown or LaTeX (each KPI at its precision,
    units in the headers when the table holds one unit), or CSV / JSON (every column, full
    precision)."""
    # imported when called: the CLI imports this module at start-up without pandas or scipy
    from p2pstore.reports.tables import render_table

    if fmt not in COMPARE_FORMATS:
        raise P2PStoreError(f"unknown format {fmt!r} (known: {', '.join(COMPARE_FORMATS)})")
    if fmt in ("csv", "json"):
        return render_table(table, fmt)
    value_cols = [c for c in STATISTICS if c in table.columns and c != "n"]
    shown, headers = _unit_headers(table, value_cols)
    digits = row_decimals(shown["metric"], shown[value_cols])
    return render_table(shown, fmt, decimals={c: digits for c in value_cols}, headers=headers, break_on="metric")


def pivot_compare(table: pd.DataFrame, stat: str = "mean") -> pd.DataFrame:
    """A paper's layout of :func:`compare`'s table: mechanisms as columns.

    One row per KPI (and per value of the grouping parameter, if any), in the long table's
    order. Per mechanism: its ``stat`` column named after it (mean, median, sd, min or max across
    the runs; ``mean±sd`` and ``mean±ci95`` give the mean and add ``<mechanism>_sd`` or
    ``<mechanism>_ci95_low`` / ``_ci95_high``), and ``n_<mechanism>``, its run count, after all
    mechanisms' values.
    """
    stat = PIVOT_ALIASES.get(stat, stat)
    if stat not in PIVOT_STATS:
        raise P2PStoreError(f"unknown statistic {stat!r} (known: {', '.join(PIVOT_STATS)})")
    center, _, spread = stat.partition("±")
    extra = {"": [], "sd": ["sd"], "ci95": ["ci95_low", "ci95_high"]}[spread]
    groups = [c for c in table.columns if c not in ("metric", "unit", "mechanism", *STATISTICS)]
    # rank metrics as the long table orders them; unstack then sorts by (rank, group value)
    rank = {name: i for i, name in enumerate(dict.fromkeys(table["metric"]))}
    rows = ["rank", "metric", "unit", *groups]
    keyed = table.assign(rank=table["metric"].map(rank)).set_index([*rows, "mechanism"])
    mechs = ordered_mechanisms(table["mechanism"])
    parts = {}
    for mech in mechs:
        parts[mech] = keyed[center].unstack("mechanism")[mech]
        for col in extra:
            parts[f"{mech}_{col}"] = keyed[col].unstack("mechanism")[mech]
    for mech in mechs:
        parts[f"n_{mech}"] = keyed["n"].unstack("mechanism")[mech].fillna(0).astype("int64")
    # imported when called: the CLI imports this module at start-up without pandas or scipy
    import pandas as pd

    out = pd.DataFrame(parts).reset_index().drop(columns="rank")
    out.columns.name = None
    out.attrs.update(table.attrs, pivot=stat, mechanisms=mechs)
    return out


def render_pivot(wide: pd.DataFrame, fmt: str = "table") -> str:
    """:func:`pivot_compare`'s table: CSV / JSON as it is (full precision); for people, one cell
    per mechanism (``8.46 ± 0.95`` for ``mean±sd`` / ``mean±ci95``, the ± being the sd or the
    CI half-width), each KPI at its precision, the statistic and unit in the headers."""
    # imported when called: the CLI imports this module at start-up without pandas or scipy
    from p2pstore.reports.numbers import format_number, format_plus_minus
    from p2pstore.reports.tables import render_table  # as above: only when a table is rendered

    if fmt not in COMPARE_FORMATS:
        raise P2PStoreError(f"unknown format {fmt!r} (known: {', '.join(COMPARE_FORMATS)})")
    if fmt in ("csv", "json"):
        return render_table(wide, fmt)
    stat = wide.attrs.get("pivot", "mean")
    mechs = wide.attrs.get("mechanisms") or [c for c in wide.columns if f"n_{c}" in wide.columns]
    digits = row_decimals(wide["metric"], wide[mechs])
    cells = {}
    for mech in mechs:
        center = wide[mech].tolist()
        if stat == "mean±sd":
            spread = wide[f"{mech}_sd"].tolist()
        elif stat == "mean±ci95":
            spread = (wide[f"{mech}_ci95_high"] - wide[mech]).tolist()
        else:
            cells[mech] = [format_number(v, d) for v, d in zip(center, digits)]
            continue
        cells[mech] = [format_plus_minus(c, s, d) for c, s, d in zip(center, spread, digits)]
    spreads = {f"{m}_{c}" for m in mechs for c in ("sd", "ci95_low", "ci95_high")}
    shown = wide[[c for c in wide.columns if c not in spreads]]
    title = {"mean±sd": "mean ± sd", "mean±ci95": "mean ± 95% CI"}.get(stat, stat)
    shown, headers = _unit_headers(shown, mechs)
    headers = {m: headers.get(m, m).replace(m, f"{m}: {title}", 1) for m in mechs}
    headers.update({f"n_{m}": f"n {m}" for m in mechs})
    return render_table(shown, fmt, decimals={}, cells=cells, headers=headers, break_on="metric")
