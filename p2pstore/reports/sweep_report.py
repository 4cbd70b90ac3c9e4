"""The report of several stored runs (``--runs`` / ``--batch``): the distributions of savings per
mechanism, every KPI against a grouping scenario parameter, savings by kind of household, the
comparison table and the table of runs. Nothing here writes to the store."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from p2pstore import display
from p2pstore.progress import ProgressFactory, no_progress
from p2pstore.reports import sweep_figures as SF
from p2pstore.reports.battery_figures import battery_sweep_section
from p2pstore.reports.compare import (compare_metrics, format_run_ids, metric_order, ordered_mechanisms, row_decimals,
                                      scenario_parameter, select_runs, with_derived_params)
from p2pstore.reports.figure_style import DEFAULT_OPTIONS, PRINT_DPI, FigureOptions
from p2pstore.reports.groups import compare_by_kind, with_battery_kinds
from p2pstore.reports.numbers import format_value, metric_label
from p2pstore.reports.report_page import Report
from p2pstore.reports.run_report import currency_of_spec, provenance_table, safe_url
from p2pstore.store.results.battery_owners import battery_owners

#: Scenario parameters tried, in order, when a many-run report has no ``by``: the first that
#: takes more than one value among the runs is used.
GROUPING_CANDIDATES = ("prosumer_share", "prosumers", "consumers", "households", "days", "generator", "weather",
                       "pv_kwp", "annual_load_kwh", "pv_sizing_factor",
                       "prosumer_sell_tariff", "consumer_buy_tariff", "prosumer_buy_tariff",
                       "inverter_outages", "maintenance_windows", "battery_share", "battery_kwh_per_kwp",
                       "shared_battery_kwh", "battery_dispatch", "tariffs", "profiles", "mechanisms", "start")
#: Savings KPIs whose distribution a many-run report shows, in order of preference.
SAVINGS_METRICS = ("savings_vs_conventional_pct", "savings_vs_conventional")


def choose_grouping(params: pd.DataFrame) -> str | None:
    """The first of :data:`GROUPING_CANDIDATES` that takes more than one value in ``params``
    (``prosumer_share`` only when the runs were sized by it: otherwise it follows prosumers)."""
    sized_by_share = "prosumer_share" in params.columns and params["prosumer_share"].notna().any()
    params = with_derived_params(params)
    for name in GROUPING_CANDIDATES:
        if name == "prosumer_share" and not sized_by_share:
            continue
        if name in params.columns and params[name].astype(str).nunique() > 1:
            return name
    return None


def parameter_label(by: str, params: pd.DataFrame, currency: str = "Rs") -> str:
    """Axis label of grouping parameter ``by``: its display name and unit and, when every run has
    the same number of households, the community size (``Prosumer share (of 20 households)``)."""
    name = display.parameter(by, currency)
    sizes = with_derived_params(params).get("households")
    if by in ("households", "consumers", "prosumers") or sizes is None or sizes.nunique() != 1:
        return name
    n = int(sizes.iloc[0])
    return f"{name} (of {n:,} households)" if by == "prosumer_share" else f"{name} ({n:,} households)"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "figure"


def _savings_figures(report: Report, metrics, params, names, by, by_label, currency, options) -> None:
    savings = [n for n in SAVINGS_METRICS if n in names]
    if not savings:
        return
    report.heading("Savings per mechanism", "Savings against conventional settlement across runs"
                   + (f", per value of {by}" if by else "") + ": box = quartiles, line = median, "
                   "triangle = mean, points = runs. The conventional baseline (0 by definition) is left out.")
    rows = metrics[metrics["mechanism"] != SF.BASELINE]
    if by:
        rows = rows.drop(columns=[by], errors="ignore").merge(scenario_parameter(params, by), on="run_id", how="left")
    for name in savings:
        report.figure(f"distribution-{_slug(name)}", SF.metric_distribution(
            rows, name, metric_label(name, currency), by=by, by_label=by_label, options=options),
            title=f"{metric_label(name, currency)}: distribution across runs")


def _kpi_figures(report: Report, table, names, by, by_label, currency, options) -> None:
    report.heading(f"KPIs against {by}", f"Mean across runs per value of {by}; the band is the 95% "
                   "confidence interval of the mean (Student t). Savings figures leave out the "
                   "conventional baseline.")
    report.sections.append('<div class="grid">')
    for name in names:
        rows = table[table["mechanism"] != SF.BASELINE] if name in SAVINGS_METRICS else table
        report.figure(f"{_slug(name)}-vs-{_slug(by)}", SF.metric_vs_parameter(
            rows, by, name, metric_label(name, currency), by_label=by_label, options=options),
            title=f"{metric_label(name, currency)} against {by_label}")
    report.sections.append("</div>")


def _kind_section(report: Report, store, ids: list[int], currency: str, options: FigureOptions) -> None:
    bills = store.bills(ids)
    if options.mechanisms is not None:
        bills = bills[bills["mechanism"].isin(options.mechanisms)]
    if bills.empty:
        return
    table = compare_by_kind(with_battery_kinds(bills, battery_owners(store.engine, ids)))
    table["mechanism"] = display.mechanisms(table["mechanism"])
    units = {"bill_per_household": currency, "savings_per_household": currency, "savings_vs_conventional_pct": "%"}
    table.insert(3, "unit", table["metric"].map(units))
    report.heading("Bills and savings by kind of household", "Per kind of household, across runs: the bill per "
                   "household and the savings against the same households' conventional bill.")
    stats = ["mean", "median", "sd", "min", "max", "ci95_low", "ci95_high"]
    report.table(table, digits={c: 2 for c in stats})


def _comparison_table(report: Report, table, by) -> None:
    report.heading("Comparison table", "Per mechanism" + (f" and {by}" if by else "")
                   + ": n runs, mean, median, sd, min, max and the 95% confidence interval of the mean of "
                   "each KPI (docs/metrics.md).")
    shown = table.copy()
    shown["mechanism"] = display.mechanisms(shown["mechanism"])
    stats = [c for c in ("mean", "median", "sd", "min", "max", "ci95_low", "ci95_high") if c in shown.columns]
    digits = row_decimals(shown["metric"], shown[stats])
    report.table(shown, digits={c: digits for c in stats})


def many_runs_report(store, run_ids: Iterable[int] | None = None, batch: str | None = None,
                     by: str | None = None, *, figure_format: str | None = None, dpi: int = PRINT_DPI,
                     progress: ProgressFactory = no_progress, options: FigureOptions = DEFAULT_OPTIONS) -> Report:
    """The report of several stored runs (see the module docstring)."""
    runs = select_runs(store, run_ids, batch)
    ids = runs["run_id"].astype(int).tolist()
    params = store.run_params(ids)
    by = by or choose_grouping(params)
    metrics = store.metrics(run_ids=ids)
    table = compare_metrics(metrics, ids, by=by, params=params, mechanisms=_chosen(metrics, options))
    names = metric_order(metrics["metric"])
    currency = currency_of_spec(params.iloc[0].to_dict())
    by_label = parameter_label(by, params, currency) if by else None
    where = f"batch {batch!r}" if batch is not None else f"runs {format_run_ids(ids)}"
    report = Report(title=f"p2pstore comparison: {where}" if batch is not None else "p2pstore comparison",
                    subtitle=f"{len(ids)} finished runs ({where})" + (f", grouped by {by}" if by else "")
                    + f" — {safe_url(store)}", figure_format=figure_format, dpi=dpi)
    n_savings = sum(n in names for n in SAVINGS_METRICS)
    with progress(n_savings + (len(names) if by else 0), f"report of {len(ids)} runs") as report.bar:
        _savings_figures(report, metrics, params, names, by, by_label, currency, options)
        if by is not None:
            _kpi_figures(report, table, names, by, by_label, currency, options)
    _kind_section(report, store, ids, currency, options)
    battery_sweep_section(report, metrics, params, by, currency, options)
    _comparison_table(report, table, by)
    report.heading("Runs included")
    report.table(_runs_table(runs, params, metrics, by), digits=2)
    report.heading("Software", "The versions that settled the runs, and how many runs each.")
    report.table(provenance_table(store, ids), digits=None)
    return report


def _chosen(metrics: pd.DataFrame, options: FigureOptions) -> list[str] | None:
    if options.mechanisms is None:
        return None
    return [m for m in ordered_mechanisms(metrics["mechanism"]) if m in options.mechanisms] or list(options.mechanisms)


def _runs_table(runs: pd.DataFrame, params: pd.DataFrame, metrics: pd.DataFrame, by: str | None) -> pd.DataFrame:
    out = runs[["run_id", "batch", "seed", "consumers", "prosumers", "days"]].copy()
    out["batch"] = out["batch"].fillna("")
    if by is not None and by not in out.columns:
        out = out.merge(scenario_parameter(params, by), on="run_id", how="left")
    bill = metrics[metrics["metric"] == "community_bill"]
    if len(bill):
        wide = bill.pivot_table(index="run_id", columns="mechanism", values="value", aggfunc="first")
        wide = wide.reindex(columns=ordered_mechanisms(wide.columns))
        wide.columns = [f"bill {display.mechanism(m)}" for m in wide.columns]
        out = out.merge(wide.reset_index(), on="run_id", how="left")
    out["finished"] = runs["finished_at"].map(format_value).to_numpy()
    return out
