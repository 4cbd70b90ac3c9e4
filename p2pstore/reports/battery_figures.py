"""Battery sections of the reports (docs/batteries.md): the state of charge over a week in the
report of one run, and the value of storage per kWh of capacity across the runs of a sweep.

The value of storage of a run, per mechanism, is what its batteries save the community:
``(B0 - B) / C``, currency per kWh of capacity, with ``B`` the run's community bill (the shared
battery's bill included), ``C`` its battery capacity (``battery_capacity_kwh``) and ``B0`` the
community bill of the runs of the selection without battery capacity (none, or capacity 0) under
the same mechanism and seed. This module is imported only when a report is made.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sqlalchemy import select

from p2pstore import display, registry
from p2pstore.batteries.params import COMMUNITY_BATTERY
from p2pstore.reports.figure_style import (COLUMN_WIDTH, DEFAULT_OPTIONS, PAGE_WIDTH, FigureOptions, color,
                                           legend_below, new_figure, styled, tick_text, title,
                                           wrap_label)
from p2pstore.store.schema import BatterySeries, RunBattery

#: Home batteries drawn one by one in the state-of-charge figure; more are drawn as a band.
MAX_LINES = 6
VALUE = "value_per_kwh"
#: Axis label of the capacity a sweep's value of storage is drawn against when no parameter is given.
CAPACITY_LABEL = "Battery capacity of the run (kWh)"


def battery_frames(store, run_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(batteries, battery_series)`` rows of run ``run_id`` (empty frames without batteries)."""
    with store.engine.connect() as conn:
        params = pd.read_sql_query(select(RunBattery.__table__).where(RunBattery.run_id == run_id), conn)
        series = pd.read_sql_query(select(BatterySeries.__table__).where(BatterySeries.run_id == run_id)
                                   .order_by(BatterySeries.household, BatterySeries.slot), conn)
    return params, series


@styled
def soc_week(params: pd.DataFrame, series: pd.DataFrame, times: pd.Series,
             options: FigureOptions = DEFAULT_OPTIONS) -> Figure:
    """State of charge (% of capacity) over the first week of the run: the shared battery, and
    the home batteries one by one (up to :data:`MAX_LINES`) or as their mean and range.
    ``times``: each slot's start, indexed by slot."""
    cap = params.set_index("household")["capacity_kwh"]
    week = series.assign(ts=series["slot"].map(times))
    week = week[week["ts"] < times.iloc[0] + pd.Timedelta(days=7)].copy()
    week["pct"] = 100.0 * week["soc_kwh"] / week["household"].map(cap).where(lambda c: c > 0)
    fig = new_figure(*options.size(PAGE_WIDTH, 2.6))
    ax = fig.add_subplot()
    homes = week[week["household"] != COMMUNITY_BATTERY]
    names = list(dict.fromkeys(homes["household"]))
    if len(names) <= MAX_LINES:
        for k, name in enumerate(names):
            one = homes[homes["household"] == name]
            ax.plot(one["ts"], one["pct"], linewidth=0.8, color=f"C{k % 10}", label=f"home battery {name}")
    elif names:
        wide = homes.pivot_table(index="ts", columns="household", values="pct")
        ax.fill_between(wide.index, wide.min(axis=1), wide.max(axis=1), color="tab:blue", alpha=0.2, linewidth=0,
                        label=f"{len(names)} home batteries: range")
        ax.plot(wide.index, wide.mean(axis=1), color="tab:blue", linewidth=0.9, label="home batteries: mean")
    shared = week[week["household"] == COMMUNITY_BATTERY]
    if len(shared):
        ax.plot(shared["ts"], shared["pct"], color="black", linewidth=1.2, label="community battery")
    ax.set_ylabel(options.label("soc", "State of charge (% of capacity)"))
    ax.set_ylim(0, 100)
    ax.grid(True, linestyle="--", alpha=0.5)
    ax.xaxis.set_major_locator(DayLocator())
    ax.xaxis.set_major_formatter(DateFormatter("%a %d %b"))
    title(ax, f"State of charge over the first week ({params['dispatch'].iloc[0]} dispatch)", options)
    handles, labels = ax.get_legend_handles_labels()
    legend_below(fig, handles, labels, grow=options.height is None)
    return fig


def battery_run_section(report, store, run_id: int, prices: pd.DataFrame, options: FigureOptions) -> None:
    """The battery section of the report of one run (nothing when the run has no battery);
    ``prices``: its ``clearing_prices`` rows (their ``slot`` and ``ts`` date the slots)."""
    params, series = battery_frames(store, run_id)
    if params.empty:
        return
    report.heading("Batteries", f"Dispatch rule {params['dispatch'].iloc[0]!r}; parameters per battery (kWh, kW, "
                   "one-way efficiency, state-of-charge bounds as fractions of the capacity); docs/batteries.md.")
    report.table(params.drop(columns=["run_id", "dispatch"]), digits=3)
    if series.empty or prices.empty:
        report.paragraph("No battery series stored for this run (stored with --series full).")
        return
    times = prices.drop_duplicates("slot").set_index("slot")["ts"].sort_index()
    report.figure("battery-soc-week", soc_week(params, series, pd.to_datetime(times), options),
                  title="State of charge over the first week")


def storage_value(metrics: pd.DataFrame, params: pd.DataFrame) -> pd.DataFrame:
    """Per run and mechanism with battery capacity: ``run_id, mechanism, seed, capacity_kwh,
    value_per_kwh`` (see the module docstring); empty when no run of the selection lacks capacity."""
    wide = metrics.pivot_table(index=["run_id", "mechanism"], columns="metric", values="value", aggfunc="first")
    wide = wide.reset_index()
    if "battery_capacity_kwh" not in wide.columns:
        return pd.DataFrame(columns=["run_id", "mechanism", "seed", "capacity_kwh", VALUE])
    wide["capacity_kwh"] = wide["battery_capacity_kwh"].fillna(0.0)
    wide = wide.merge(params[["run_id", "seed"]], on="run_id", how="left")
    base = wide[wide["capacity_kwh"] <= 0].groupby(["mechanism", "seed"])["community_bill"].mean().rename("base")
    out = wide[wide["capacity_kwh"] > 0].join(base, on=["mechanism", "seed"], how="inner")
    out[VALUE] = (out["base"] - out["community_bill"]) / out["capacity_kwh"]
    return out[["run_id", "mechanism", "seed", "capacity_kwh", VALUE]]


@styled
def value_per_kwh(value: pd.DataFrame, params: pd.DataFrame, by: str, currency: str = "Rs",
                  options: FigureOptions = DEFAULT_OPTIONS, by_label: str | None = None) -> Figure:
    """Mean value of storage per kWh of capacity (currency/kWh), per mechanism (and dispatch
    rule, as line styles, when the runs differ in it), against scenario parameter ``by``
    (``capacity_kwh``: the run's capacity), labelled ``by_label`` (default: its display name)."""
    keep = ["run_id", by] + (["battery_dispatch"] if "battery_dispatch" in params.columns and by != "battery_dispatch"
                             else [])
    table = value.drop(columns=[c for c in keep[1:] if c in value.columns]).merge(params[keep], on="run_id", how="left")
    rules = list(dict.fromkeys(table["battery_dispatch"].dropna())) if "battery_dispatch" in table.columns else []
    styles = {rule: ("-", "--", ":", "-.")[k % 4] for k, rule in enumerate(rules)}
    fig = new_figure(*options.size(COLUMN_WIDTH, 2.6))
    ax = fig.add_subplot()
    levels = sorted(table[by].dropna().unique(), key=lambda v: (isinstance(v, str), v))
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) for v in levels)
    where = {v: (float(v) if numeric else k) for k, v in enumerate(levels)}
    keys = ["mechanism", "battery_dispatch"] if len(rules) > 1 else ["mechanism"]
    rank = {m: k for k, m in enumerate(registry.ordered(table["mechanism"].unique()))}  # report order
    for key, rows in sorted(table.groupby(keys, sort=False), key=lambda kv: rank[kv[1]["mechanism"].iloc[0]]):
        mech = rows["mechanism"].iloc[0]
        mean = rows.groupby(by)[VALUE].mean().reindex(levels)
        ax.plot([where[v] for v in levels], mean.to_numpy(), styles[key[1]] if len(keys) > 1 else "-",
                marker="o", markersize=3, color=color(mech), label=display.mechanism(mech))
    handles, labels = ax.get_legend_handles_labels()
    if len(keys) > 1:  # one entry per mechanism (colour) and one per dispatch rule (line style)
        first: dict = {}
        for text, handle in zip(labels, handles):
            first.setdefault(text, handle)  # each mechanism's colour, in drawing order
        handles = [*(Line2D([], [], color=h.get_color(), marker="o", markersize=3) for h in first.values()),
                   *(Line2D([], [], color="gray", linestyle=styles[r]) for r in rules)]
        labels = [*first, *(f"{r} dispatch" for r in rules)]
    if not numeric:
        ax.margins(x=0.2)  # room for the first and last level's tick text
        ax.set_xticks(range(len(levels)), [tick_text(display.parameter_value(by, v)) for v in levels])
    default = CAPACITY_LABEL if by == "capacity_kwh" else display.parameter(by, currency)
    ax.set_xlabel(options.label(by, by_label or default))
    ax.set_ylabel(options.label(VALUE, wrap_label(f"Value of storage ({currency} per kWh of capacity)",
                                                  0.8 * fig.get_figheight())))
    ax.axhline(0.0, color="gray", linewidth=0.6)
    ax.grid(True, linestyle="--", alpha=0.5)
    title(ax, "Community savings per kWh of battery capacity", options)
    legend_below(fig, handles, labels, grow=options.height is None)
    return fig


def battery_sweep_section(report, metrics: pd.DataFrame, params: pd.DataFrame, by: str | None, currency: str,
                          options: FigureOptions) -> None:
    """The battery section of a report of several runs (nothing unless some runs have batteries)."""
    if "battery_capacity_kwh" not in set(metrics["metric"]):
        return
    value = storage_value(metrics, params)
    value = value[value["mechanism"].isin(options.keep(value["mechanism"].unique()))]
    report.heading("Value of storage", "Per mechanism: the community bill saved by the batteries per kWh of "
                   "battery capacity, against runs of the same seed without battery capacity (docs/batteries.md).")
    if value.empty:
        report.paragraph("No run of this selection lacks battery capacity: nothing to measure the batteries "
                         "against (sweep the capacity from 0, e.g. --sweep shared_battery_kwh=0,50,100).")
        return
    group = by if by is not None and by in params.columns else "capacity_kwh"
    if group == "capacity_kwh":
        params = params.merge(value.groupby("run_id")["capacity_kwh"].first(), on="run_id", how="left")
    report.table(value.groupby(["mechanism"], sort=False)[VALUE].describe()[["count", "mean", "min", "max"]]
                 .reset_index(), digits=3)
    report.figure("value-per-kwh", value_per_kwh(value, params, group, currency, options),
                  title="Value of storage per kWh of capacity")
