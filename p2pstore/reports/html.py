"""Self-contained HTML reports: tables plus figures embedded as base64 PNG (opens offline).

A single-run report has the notebook's daily table and its two figures, community load and PV
over a June and a December week, bills per household,
clearing prices over time and by hour of day, and the KPI table. A many-run report (``--runs`` /
``--batch``) has the distributions of savings per mechanism, every KPI against a grouping
scenario parameter, the comparison table and the table of runs. Nothing here writes to the store.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from p2pstore.progress import ProgressFactory, no_progress
from p2pstore.reports import figures as F
from p2pstore.reports.compare import (compare_metrics, format_run_ids, metric_order, ordered_mechanisms, row_decimals,
                                      select_runs, with_derived_params)
from p2pstore.reports.daily import notebook_daily_frame
from p2pstore.reports.numbers import format_value, metric_label
from p2pstore.reports.output import check_output_dir, check_output_file
from p2pstore.reports.tables import text_columns


#: Scenario parameters tried, in order, when a many-run report has no ``by``: the first that
#: takes more than one value among the runs is used.
GROUPING_CANDIDATES = ("prosumer_share", "prosumers", "consumers", "households", "days", "generator", "weather",
                       "pv_kwp", "annual_load_kwh", "pv_sizing_factor",
                       "prosumer_sell_tariff", "consumer_buy_tariff", "prosumer_buy_tariff",
                       "inverter_outages", "maintenance_windows", "mechanisms", "start")


#: Savings KPIs whose distribution a many-run report shows, in order of preference.
SAVINGS_METRICS = ("savings_vs_conventional_pct", "savings_vs_conventional")


def metric_source(name: str) -> str:
    """Where a KPI's definition comes from (``p2pstore``, or the paper and its equations)."""
    from p2pstore.kpis import get_metric

    metric = get_metric(name)
    return "" if metric is None else metric.source


#: Resolution of the PNGs embedded in the HTML page (dots per inch; 7 in wide = 770 px).
HTML_DPI = 110


@dataclasses.dataclass
class Report:
    """An assembled report: title, HTML body sections and the figures.

    ``figures`` holds ``(slug, title, png)`` (the PNG embedded in the page) and, with
    ``figure_format``, the same figures rendered as png, svg or pdf at ``dpi`` in ``files``
    (``(slug, bytes)``) for :meth:`write`. ``bar`` advances by one per figure."""

    title: str
    subtitle: str = ""
    sections: list[str] = dataclasses.field(default_factory=list)
    figures: list[tuple[str, str, bytes]] = dataclasses.field(default_factory=list)
    figure_format: str | None = None
    dpi: int = F.PRINT_DPI
    files: list[tuple[str, bytes]] = dataclasses.field(default_factory=list)
    bar: Any = None

    def heading(self, text: str, note: str = "") -> None:
        self.sections.append(f"<h2>{html.escape(text)}</h2>")
        if note:
            self.sections.append(f'<p class="note">{html.escape(note)}</p>')

    def table(self, df: pd.DataFrame, *, digits=2, caption: str = "") -> None:
        """``df`` as an HTML table; ``digits``: decimals of its float columns (see
        :func:`p2pstore.reports.tables.text_columns`)."""
        self.sections.append(_table_html(df, digits=digits, caption=caption))

    def paragraph(self, text: str) -> None:
        self.sections.append(f"<p>{html.escape(text)}</p>")

    def figure(self, slug: str, fig, *, title: str | None = None) -> None:
        png = F.png_bytes(fig, HTML_DPI)
        title = title or (fig.axes[0].get_title().replace("\n", " ") if fig.axes else slug)
        self.figures.append((slug, title, png))
        if self.figure_format is not None:
            self.files.append((slug, png if (self.figure_format, self.dpi) == ("png", HTML_DPI)
                               else F.figure_bytes(fig, self.figure_format, self.dpi)))
        if self.bar is not None:
            self.bar.update(1)
        data = base64.b64encode(png).decode("ascii")
        self.sections.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(title)}">'
            f"<figcaption>{html.escape(title)}</figcaption></figure>"
        )

    def to_html(self) -> str:
        body = "\n".join(self.sections)
        return _PAGE.format(title=html.escape(self.title), subtitle=html.escape(self.subtitle), body=body)

    def write(self, path: str | Path, figures_dir: str | Path | None = None) -> list[Path]:
        """Write the HTML file (and, with ``figures_dir``, every figure as
        ``NN-slug.<figure_format>``); return the paths, the HTML first."""
        path = Path(path)
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8")
        written = [path]
        if figures_dir is not None:
            figures_dir = Path(figures_dir)
            figures_dir.mkdir(parents=True, exist_ok=True)
            for k, (slug, data) in enumerate(self.files, start=1):
                target = figures_dir / f"{k:02d}-{slug}.{self.figure_format}"
                target.write_bytes(data)
                written.append(target)
        return written


def _table_html(df: pd.DataFrame, *, digits=2, caption: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    text = text_columns(df, {} if digits is None else digits)
    rows = []
    for cells_of_row in zip(*(text[str(c)] for c in df.columns)):
        cells = "".join(
            f'<td class="num">{html.escape(v)}</td>' if num else f"<td>{html.escape(v)}</td>"
            for v, num in zip(cells_of_row, numeric)
        )
        rows.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _spec(store, run_id: int) -> dict:
    params = store.run_params([run_id])
    return params.iloc[0].to_dict() if len(params) else {}


def _currency(spec: dict) -> str:
    return str(spec.get("currency") or "Rs")


def _safe_url(store) -> str:
    try:
        return store.engine.url.render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only a label on the page
        return ""


# -- single run ----------------------------------------------------------------------------------
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
    wide.columns = [F.label(m) for m in wide.columns]
    wide.insert(0, "meaning", [metric_label(m, currency) for m in wide.index])
    wide.insert(1, "definition", [metric_source(m) for m in wide.index])
    return wide.reset_index()


def community_bill_table(metrics: pd.DataFrame, currency: str = "Rs") -> pd.DataFrame:
    """One run's community bill per mechanism and, when the run settled conventionally too, its
    savings against it (the stored KPIs ``community_bill`` and ``savings_vs_conventional[_pct]``)."""
    kpis = metrics.pivot_table(index="mechanism", columns="metric", values="value", aggfunc="first", dropna=False)
    kpis = kpis.reindex(ordered_mechanisms(kpis.index))
    table = pd.DataFrame({"mechanism": [F.label(m) for m in kpis.index],
                          f"community bill ({currency})": kpis["community_bill"].to_numpy()})
    if "conventional" in kpis.index:
        table[f"savings vs conventional ({currency})"] = kpis["savings_vs_conventional"].to_numpy()
        table["savings (%)"] = kpis["savings_vs_conventional_pct"].to_numpy()
    return table


def kpi_digits(table: pd.DataFrame) -> dict:
    """Decimals of :func:`kpi_table`'s mechanism columns: each KPI (row) at its precision."""
    mechs = [c for c in table.columns if c not in ("metric", "meaning")]
    digits = row_decimals(table["metric"], table[mechs]) if len(table) else []
    return {c: digits for c in mechs}


def community_series_with_time(store, run_id: int, spec: dict) -> pd.DataFrame:
    """The stored community series of a run's first mechanism (load and PV do not depend on it),
    sorted by slot, with ``ts``, each slot's start from the scenario's ``start`` and ``slot_minutes``."""
    mechanism = str(spec.get("mechanisms", "conventional")).split(",")[0]
    series = store.community_series(run_id, mechanism=mechanism)
    minutes = series["slot"].astype("int64") * int(spec.get("slot_minutes", 15))
    return series.assign(ts=pd.Timestamp(spec.get("start", "2025-01-01")) + pd.to_timedelta(minutes, unit="min"))


def single_run_report(store, run_id: int, *, figure_format: str | None = None, dpi: int = F.PRINT_DPI,
                      progress: ProgressFactory = no_progress) -> Report:
    """The report of one stored run (see the module docstring)."""
    runs = select_runs(store, [run_id])
    run = runs.iloc[0]
    spec = _spec(store, run_id)
    currency = _currency(spec)
    consumers, prosumers = int(run["consumers"]), int(run["prosumers"])
    community = F.community_size(consumers + prosumers, consumers, prosumers)
    report = Report(
        title=f"p2pstore run {run_id}",
        subtitle=f"seed {run['seed']}, {community}, {run['days']} days from {spec.get('start', '?')} — "
                 f"{_safe_url(store)}",
        figure_format=figure_format, dpi=dpi,
    )
    report.heading("Run")
    summary = {
        "run": run_id, "batch": run["batch"] or "", "status": run["status"],
        "mechanisms": run["mechanisms"], "series": run["series"],
        "finished": format_value(run["finished_at"]), "scenario hash": str(run["spec_hash"])[:12],
    }
    report.table(pd.DataFrame([summary]), digits=None)
    scenario = pd.DataFrame({"parameter": list(spec), "value": [json.dumps(v) if isinstance(v, (list, dict)) else str(v)
                                                                for v in spec.values()]})
    scenario = scenario[~scenario["parameter"].str.endswith(("_low", "_high")) & (scenario["parameter"] != "run_id")]
    report.sections.append("<details><summary>Scenario parameters</summary>")
    report.table(scenario, digits=None)
    report.sections.append("</details>")

    bills = store.bills([run_id])
    metrics = store.metrics(run_ids=[run_id])
    daily = store.daily_bills([run_id])
    prices = store.prices([run_id])
    series = community_series_with_time(store, run_id, spec)
    n_figures = (2 if len(daily) else 0) + (1 if len(series) else 0) + 1 + (2 if len(prices) else 0)
    with progress(n_figures, f"report of run {run_id}") as report.bar:
        report.heading("Community bill")
        report.table(community_bill_table(metrics, currency))

        report.heading("Daily table", "The notebook's daily table: average load per house, average PV per "
                       f"prosumer (kWh/day) and the community bill per mechanism ({currency}/day).")
        if daily.empty:
            report.paragraph("No daily bills stored for this run.")
        else:
            report.table(notebook_daily_table(daily, currency))
            report.figure("daily-load-pv", F.daily_load_pv(daily, community))
            report.figure("daily-community-bill", F.daily_community_bill(daily, currency, community))

        report.heading("Load and PV over a week", "Community load and PV per slot (kW), in a June and a December "
                       "week when the horizon has them.")
        if series.empty:
            report.paragraph("No per-slot series stored for this run (stored with --series full or community).")
        else:
            report.figure("load-pv-weeks", F.load_pv_weeks(series), title="Community load and PV over a week")

        report.heading("Bills per household", f"Bill over the horizon ({currency}); negative = net income."
                       + (f" The figure shows their distribution ({community})." if consumers + prosumers > F.MAX_BARS
                          else ""))
        wide = bills.pivot_table(index="household", columns="mechanism", values="bill", aggfunc="first")
        order = list(dict.fromkeys(bills["household"]))
        wide = wide.reindex(index=order, columns=ordered_mechanisms(bills["mechanism"]))
        kinds = bills.drop_duplicates("household").set_index("household")["kind"]
        wide.columns = [F.label(m) for m in wide.columns]
        wide.insert(0, "kind", kinds.reindex(wide.index).to_numpy())
        report.table(wide.reset_index())
        report.figure("household-bills", F.household_bills(bills, currency, community))

        report.heading("Clearing prices", f"Community-wide prices per slot ({currency}/kWh). Conventional "
                       "settlement uses each household's own tariffs and sets no community price.")
        if prices.empty:
            report.paragraph("No clearing prices stored for this run.")
        else:
            report.figure("prices-over-time", F.prices_over_time(prices, currency, community))
            report.figure("prices-by-hour", F.prices_by_hour(prices, currency, community))

    report.heading("KPIs", "Per mechanism; definitions, formulas and sources in docs/metrics.md.")
    kpis = kpi_table(metrics, currency)
    report.table(kpis, digits=kpi_digits(kpis))
    return report


# -- many runs -----------------------------------------------------------------------------------
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


def parameter_label(by: str, params: pd.DataFrame) -> str:
    """Axis label of grouping parameter ``by``: its name and, when every run has the same number of
    households, the community size (``prosumer_share (of 20 households)``)."""
    sizes = with_derived_params(params).get("households")
    if by in ("households", "consumers", "prosumers") or sizes is None or sizes.nunique() != 1:
        return by
    n = int(sizes.iloc[0])
    return f"{by} (of {n:,} households)" if by == "prosumer_share" else f"{by} ({n:,} households)"


def many_runs_report(store, run_ids: Iterable[int] | None = None, batch: str | None = None,
                     by: str | None = None, *, figure_format: str | None = None, dpi: int = F.PRINT_DPI,
                     progress: ProgressFactory = no_progress) -> Report:
    """The report of several stored runs (see the module docstring)."""
    runs = select_runs(store, run_ids, batch)
    ids = runs["run_id"].astype(int).tolist()
    params = store.run_params(ids)
    if by is None:
        by = choose_grouping(params)
    metrics = store.metrics(run_ids=ids)
    table = compare_metrics(metrics, ids, by=by, params=params)
    names = metric_order(metrics["metric"])
    currency = _currency(params.iloc[0].to_dict())
    by_label = parameter_label(by, params) if by else None
    where = f"batch {batch!r}" if batch is not None else f"runs {format_run_ids(ids)}"
    report = Report(
        title=f"p2pstore comparison: {where}" if batch is not None else "p2pstore comparison",
        subtitle=f"{len(ids)} finished runs ({where})" + (f", grouped by {by}" if by else "")
                 + f" — {_safe_url(store)}",
        figure_format=figure_format, dpi=dpi,
    )
    savings = [n for n in SAVINGS_METRICS if n in names]
    with progress(len(savings) + (len(names) if by else 0), f"report of {len(ids)} runs") as report.bar:
        if savings:
            report.heading("Savings per mechanism", "Savings against conventional settlement across runs"
                           + (f", per value of {by}" if by else "") + ": box = quartiles, line = median, "
                           "triangle = mean, points = runs. The conventional baseline (0 by definition) is left out.")
            report.sections.append('<div class="grid">')
            rows = metrics[metrics["mechanism"] != F.BASELINE]
            if by:
                rows = rows.drop(columns=[by], errors="ignore").merge(
                    with_derived_params(params)[["run_id", by]], on="run_id", how="left")
            for name in savings:
                report.figure(f"distribution-{_slug(name)}",
                              F.metric_distribution(rows, name, metric_label(name, currency), by=by, by_label=by_label))
            report.sections.append("</div>")
        if by is not None:
            report.heading(f"KPIs against {by}", f"Mean across runs per value of {by}; the band is the 95% "
                           "confidence interval of the mean (Student t). Savings figures leave out the "
                           "conventional baseline.")
            report.sections.append('<div class="grid">')
            for name in names:
                rows = table[table["mechanism"] != F.BASELINE] if name in SAVINGS_METRICS else table
                report.figure(f"{_slug(name)}-vs-{_slug(by)}",
                              F.metric_vs_parameter(rows, by, name, metric_label(name, currency), by_label=by_label))
            report.sections.append("</div>")
    report.heading("Comparison table", "Per mechanism" + (f" and {by}" if by else "")
                   + ": n runs, mean, median, sd, min, max and the 95% confidence interval of the mean of "
                   "each KPI (docs/metrics.md).")
    shown = table.copy()
    shown["mechanism"] = shown["mechanism"].map(F.label)
    stats = [c for c in ("mean", "median", "sd", "min", "max", "ci95_low", "ci95_high") if c in shown.columns]
    digits = row_decimals(shown["metric"], shown[stats])
    report.table(shown, digits={c: digits for c in stats})
    report.heading("Runs included")
    report.table(_runs_table(runs, params, metrics, by), digits=2)
    return report


def _runs_table(runs: pd.DataFrame, params: pd.DataFrame, metrics: pd.DataFrame, by: str | None) -> pd.DataFrame:
    cols = ["run_id", "batch", "seed", "consumers", "prosumers", "days"]
    out = runs[cols].copy()
    out["batch"] = out["batch"].fillna("")
    if by is not None and by not in out.columns:
        out = out.merge(with_derived_params(params)[["run_id", by]], on="run_id", how="left")
    bill = metrics[metrics["metric"] == "community_bill"]
    if len(bill):
        wide = bill.pivot_table(index="run_id", columns="mechanism", values="value", aggfunc="first")
        wide = wide.reindex(columns=ordered_mechanisms(wide.columns))
        wide.columns = [f"bill {F.label(m)}" for m in wide.columns]
        out = out.merge(wide.reset_index(), on="run_id", how="left")
    out["finished"] = runs["finished_at"].map(format_value).to_numpy()
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "figure"


def make_report(store, out: str | Path, *, run_id: int | None = None, run_ids: Iterable[int] | None = None,
                batch: str | None = None, by: str | None = None, figures_dir: str | Path | None = None,
                figure_format: str = "png", dpi: int | None = None, png_dir: str | Path | None = None,
                progress: ProgressFactory = no_progress) -> list[Path]:
    """Build the single-run (``run_id``) or many-run (``run_ids`` / ``batch``) report and write it
    to ``out``; with ``figures_dir`` also every figure as ``NN-name.<figure_format>`` (png, svg or
    pdf; ``dpi`` for png, default 300). ``png_dir`` is ``figures_dir`` with PNGs. Returns the
    written paths, the HTML first. Both destinations are checked before the report is built."""
    from p2pstore.errors import P2PStoreError

    if png_dir is not None:
        if figures_dir is not None:
            raise P2PStoreError("give --figures-dir or its alias --png-dir, not both")
        figures_dir, figure_format = png_dir, "png"
    if figure_format not in F.FIGURE_FORMATS:
        raise P2PStoreError(f"unknown figure format {figure_format!r} (known: {', '.join(F.FIGURE_FORMATS)})")
    if dpi is not None and not 10 <= dpi <= 2400:
        raise P2PStoreError(f"--dpi must be between 10 and 2400, got {dpi}")
    check_output_file(out, "report file")
    if figures_dir is not None:
        check_output_dir(figures_dir, "--png-dir" if png_dir is not None else "--figures-dir")
    options = {"figure_format": figure_format if figures_dir is not None else None,
               "dpi": dpi or F.PRINT_DPI, "progress": progress}
    if run_id is not None:
        report = single_run_report(store, int(run_id), **options)
    else:
        report = many_runs_report(store, run_ids=run_ids, batch=batch, by=by, **options)
    return report.write(out, figures_dir)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.4; }}
h1 {{ margin-bottom: 0.1em; }}
.subtitle, .note {{ color: #555; }}
h2 {{ border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }}
table {{ border-collapse: collapse; font-size: 0.88em; margin: 0.5em 0 1em; }}
th, td {{ border: 1px solid #ddd; padding: 0.25em 0.6em; }}
th {{ background: #f3f3f3; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
tbody tr:nth-child(even) {{ background: #fafafa; }}
.scroll {{ overflow-x: auto; max-height: 36em; overflow-y: auto; }}
figure {{ margin: 1em 0; }}
figure img {{ max-width: 100%; height: auto; border: 1px solid #eee; }}
figcaption {{ color: #555; font-size: 0.9em; }}
details {{ margin: 0.5em 0; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 0 1.5em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="subtitle">{subtitle}</p>
{body}
<footer><p class="note">Generated by p2pstore. Figures are embedded; this file opens offline.</p></footer>
</body>
</html>
"""
