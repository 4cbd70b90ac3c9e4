"""The report of one stored run: the notebook's daily table and its two figures, community load
and PV over a June and a December week, bills per household (and by kind of household),
clearing prices over time and by hour of day, the KPI table and the software that settled it.
Nothing here writes to the store."""

from __future__ import annotations

import json

import pandas as pd

from p2pstore import display
from p2pstore.progress import ProgressFactory, no_progress
from p2pstore.reports import figures as F
from p2pstore.reports.battery_figures import battery_run_section
from p2pstore.reports.compare import metric_order, ordered_mechanisms, row_decimals, select_runs
from p2pstore.settlement.daily import notebook_daily_frame
from p2pstore.reports.figure_style import DEFAULT_OPTIONS, PRINT_DPI, FigureOptions
from p2pstore.reports.groups import kind_table, with_battery_kinds
from p2pstore.reports.numbers import format_value, metric_label
from p2pstore.reports.report_page import Report
from p2pstore.store.results.battery_owners import battery_owners
from p2pstore.store.results.provenance_rows import read_provenance


def run_spec(store, run_id: int) -> dict:
    """The run's scenario parameters (``Store.run_params``' row) as a dict."""
    params = store.run_params([run_id])
    return params.iloc[0].to_dict() if len(params) else {}


def currency_of_spec(spec: dict) -> str:
    return str(spec.get("currency") or "Rs")


def safe_url(store) -> str:
    """The store's URL without its password (a label on the page)."""
    try:
        return store.engine.url.render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only a label on the page
        return ""


def metric_source(name: str) -> str:
    """Where a KPI's definition comes from (``p2pstore``, or the paper and its equations)."""
    from p2pstore.kpis import get_metric  # kpis is light; imported here as the KPI table is built

    metric = get_metric(name)
    return "" if metric is None else metric.source


def notebook_daily_table(daily: pd.DataFrame, currency: str = "Rs") -> pd.DataFrame:
    """The notebook's ``daily_df``: day, avg_load_kWh_per_house, avg_pv_kWh_per_prosumer,
    bill_conv_Rs, bill_mmr_Rs, bill_bs_Rs (one bill column per stored mechanism)."""
    mechs = ordered_mechanisms(daily["mechanism"])
    first = daily[daily["mechanism"] == mechs[0]].sort_values("day")
    bills = {m: daily[daily["mechanism"] == m].sort_values("day")["bill"].to_numpy() for m in mechs}
    return notebook_daily_frame(first["day"].to_numpy(), first["avg_load_kwh_per_house"].to_numpy(),
                                first["avg_pv_kwh_per_prosumer"].to_numpy(), bills, currency)


def kpi_table(metrics: pd.DataFrame, currency: str = "Rs") -> pd.DataFrame:
    """One run's KPIs: a row per metric (with its label and unit), a column per mechanism."""
    if metrics.empty:
        return pd.DataFrame(columns=["metric", "meaning"])
    wide = metrics.pivot_table(index="metric", columns="mechanism", values="value", aggfunc="first", dropna=False)
    wide = wide.reindex(index=metric_order(metrics["metric"]), columns=ordered_mechanisms(metrics["mechanism"]))
    wide.columns = display.mechanisms(wide.columns)
    wide.insert(0, "meaning", [metric_label(m, currency) for m in wide.index])
    wide.insert(1, "definition", [metric_source(m) for m in wide.index])
    return wide.reset_index()


def community_bill_table(metrics: pd.DataFrame, currency: str = "Rs") -> pd.DataFrame:
    """One run's community bill per mechanism and, when the run settled conventionally too, its
    savings against it (the stored KPIs ``community_bill`` and ``savings_vs_conventional[_pct]``)."""
    kpis = metrics.pivot_table(index="mechanism", columns="metric", values="value", aggfunc="first", dropna=False)
    kpis = kpis.reindex(ordered_mechanisms(kpis.index))
    table = pd.DataFrame({"mechanism": display.mechanisms(kpis.index),
                          f"community bill ({currency})": kpis["community_bill"].to_numpy()})
    if "conventional" in kpis.index:
        table[f"savings vs conventional ({currency})"] = kpis["savings_vs_conventional"].to_numpy()
        table["savings (%)"] = kpis["savings_vs_conventional_pct"].to_numpy()
    return table


def kpi_digits(table: pd.DataFrame) -> dict:
    """Decimals of :func:`kpi_table`'s mechanism columns: each KPI (row) at its precision."""
    mechs = [c for c in table.columns if c not in ("metric", "meaning", "definition")]
    digits = row_decimals(table["metric"], table[mechs]) if len(table) else []
    return {c: digits for c in mechs}


def provenance_table(store, run_ids: list[int]) -> pd.DataFrame:
    """The software that settled the runs: per component, its versions and how many runs used each
    (runs stored before provenance was recorded are counted as ``not recorded``)."""
    found = read_provenance(store.engine, run_ids)
    rows = [(component, version, run_id) for run_id, versions in found.items() for component, version in versions.items()]
    table = pd.DataFrame(rows, columns=["component", "version", "run_id"])
    table = table.groupby(["component", "version"], sort=False)["run_id"].nunique().reset_index(name="runs")
    missing = len(set(run_ids) - set(found))
    if missing:
        table = pd.concat([table, pd.DataFrame([{"component": "(all)", "version": "not recorded", "runs": missing}])])
    return table.reset_index(drop=True)


def run_start(spec: dict, daily: pd.DataFrame) -> pd.Timestamp | None:
    """The first day the run settled: its stored daily table's first date (a run on a profile set
    whose spec leaves ``start`` unset starts where the set does), else the spec's ``start``."""
    if len(daily) and "date" in daily.columns and daily["date"].notna().any():
        return pd.Timestamp(pd.to_datetime(daily["date"]).min()).normalize()
    start = spec.get("start")
    return pd.Timestamp(start) if isinstance(start, str) and start else None


def community_series_with_time(store, run_id: int, spec: dict, start: pd.Timestamp | None = None) -> pd.DataFrame:
    """The stored community series of a run's first mechanism (load and PV do not depend on it),
    sorted by slot, with ``ts``: each slot's start, from ``start`` (default: :func:`run_start`)
    and the scenario's ``slot_minutes``."""
    mechanism = str(spec.get("mechanisms", "conventional")).split(",")[0]
    series = store.community_series(run_id, mechanism=mechanism)
    if start is None:
        start = run_start(spec, store.daily_bills([run_id], mechanism=mechanism))
    minutes = series["slot"].astype("int64") * int(spec.get("slot_minutes") or 15)
    return series.assign(ts=(start or pd.Timestamp("2025-01-01")) + pd.to_timedelta(minutes, unit="min"))


def _header(report: Report, run, run_id: int, spec: dict) -> None:
    report.heading("Run")
    summary = {
        "run": run_id, "batch": run["batch"] or "", "status": run["status"],
        "mechanisms": ", ".join(display.mechanisms(str(run["mechanisms"]).split(","))), "series": run["series"],
        "finished": format_value(run["finished_at"]), "scenario hash": str(run["spec_hash"])[:12],
    }
    report.table(pd.DataFrame([summary]), digits=None)
    scenario = pd.DataFrame({"parameter": list(spec), "value": [json.dumps(v) if isinstance(v, (list, dict)) else str(v)
                                                                for v in spec.values()]})
    scenario = scenario[~scenario["parameter"].str.endswith(("_low", "_high")) & (scenario["parameter"] != "run_id")]
    report.sections.append("<details><summary>Scenario parameters</summary>")
    report.table(scenario, digits=None)
    report.sections.append("</details>")


def _daily_section(report: Report, daily, currency: str, community: str, options: FigureOptions) -> None:
    report.heading("Daily table", "The notebook's daily table: average load per house, average PV per "
                   f"prosumer (kWh/day) and the community bill per mechanism ({currency}/day).")
    if daily.empty:
        report.paragraph("No daily bills stored for this run.")
        return
    report.table(notebook_daily_table(daily, currency))
    report.figure("daily-load-pv", F.daily_load_pv(daily, community, options),
                  title="Daily average load & PV over community")
    report.figure("daily-community-bill", F.daily_community_bill(daily, currency, community, options),
                  title="Daily community bill under different mechanisms")


def _bills_section(report: Report, store, run_id: int, bills, currency: str, community: str,
                   options: FigureOptions) -> None:
    many = bills["household"].nunique() > F.MAX_BARS
    report.heading("Bills per household", f"Bill over the horizon ({currency}); negative = net income."
                   + (f" The figure shows their distribution ({community})." if many else ""))
    wide = bills.pivot_table(index="household", columns="mechanism", values="bill", aggfunc="first")
    wide = wide.reindex(index=list(dict.fromkeys(bills["household"])), columns=ordered_mechanisms(bills["mechanism"]))
    kinds = bills.drop_duplicates("household").set_index("household")["kind"]
    wide.columns = display.mechanisms(wide.columns)
    wide.insert(0, "kind", kinds.reindex(wide.index).to_numpy())
    report.table(wide.reset_index())
    report.figure("household-bills", F.household_bills(bills, currency, community, options),
                  title="Bill per household under different mechanisms")
    report.heading("Bills and savings by kind of household", "Per kind of household (battery owners apart): the "
                   "total bill, the bill per household, and the savings against the same households' conventional "
                   "bill.")
    report.table(kind_table(with_battery_kinds(bills, battery_owners(store.engine, [run_id])), currency))


def _prices_section(report: Report, prices, currency: str, community: str, options: FigureOptions) -> None:
    report.heading("Clearing prices", f"Community-wide prices per slot ({currency}/kWh). Conventional "
                   "settlement uses each household's own tariffs and sets no community price.")
    if prices.empty:
        report.paragraph("No clearing prices stored for this run.")
        return
    report.figure("prices-over-time", F.prices_over_time(prices, currency, community, options),
                  title="Clearing prices over time")
    report.figure("prices-by-hour", F.prices_by_hour(prices, currency, community, options),
                  title="Clearing prices by hour of day")


def single_run_report(store, run_id: int, *, figure_format: str | None = None, dpi: int = PRINT_DPI,
                      progress: ProgressFactory = no_progress, options: FigureOptions = DEFAULT_OPTIONS) -> Report:
    """The report of one stored run (see the module docstring)."""
    run = select_runs(store, [run_id]).iloc[0]
    spec = run_spec(store, run_id)
    currency = currency_of_spec(spec)
    consumers, prosumers = int(run["consumers"]), int(run["prosumers"])
    community = F.community_size(consumers + prosumers, consumers, prosumers)
    bills, metrics = store.bills([run_id]), store.metrics(run_ids=[run_id])
    daily, prices = store.daily_bills([run_id]), store.prices([run_id])
    start = run_start(spec, daily)
    series = community_series_with_time(store, run_id, spec, start)
    report = Report(title=f"p2pstore run {run_id}", subtitle=f"seed {run['seed']}, {community}, {run['days']} days "
                    f"from {start.date().isoformat() if start is not None else 'an unknown day'} — {safe_url(store)}",
                    figure_format=figure_format, dpi=dpi)
    _header(report, run, run_id, spec)
    n_figures = (2 if len(daily) else 0) + (1 if len(series) else 0) + 1 + (2 if len(prices) else 0)
    with progress(n_figures, f"report of run {run_id}") as report.bar:
        report.heading("Community bill")
        report.table(community_bill_table(metrics, currency))
        _daily_section(report, daily, currency, community, options)
        report.heading("Load and PV over a week", "Community load and PV per slot (kW), in a June and a December "
                       "week when the horizon has them.")
        if series.empty:
            report.paragraph("No per-slot series stored for this run (stored with --series full or community).")
        else:
            report.figure("load-pv-weeks", F.load_pv_weeks(series, options), title="Community load and PV over a week")
        battery_run_section(report, store, run_id, prices, options)
        _bills_section(report, store, run_id, bills, currency, community, options)
        _prices_section(report, prices, currency, community, options)
    report.heading("KPIs", "Per mechanism; definitions, formulas and sources in docs/metrics.md.")
    kpis = kpi_table(metrics, currency)
    report.table(kpis, digits=kpi_digits(kpis))
    report.heading("Software", "The versions that settled this run; p2pstore runs verify settles it again and "
                   "compares.")
    report.table(provenance_table(store, [run_id]), digits=None)
    return report
