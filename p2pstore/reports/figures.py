"""Matplotlib figures of stored results. Each function takes DataFrames and returns a Figure.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas, never through
``pyplot``: no GUI backend is touched and a notebook's own pyplot state is left alone. This
module is imported only when a report is made (it imports matplotlib at import time).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from p2pstore import registry
from p2pstore.reports.compare import ordered_mechanisms
from p2pstore.reports.numbers import format_value

#: Colours in registry order: the notebook's three keep its default colour cycle (blue, orange,
#: green), so one mechanism has one colour in every figure.
PALETTE = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
           "tab:olive", "tab:cyan", "tab:gray")
PRICE_COLUMNS = {"import_price": "import", "export_price": "export", "p2p_price": "P2P"}
#: Formats figures are written in, and their default resolution for raster output (dots per inch).
FIGURE_FORMATS = ("png", "svg", "pdf")
PRINT_DPI = 300
#: Above this many households a run's bills are shown as distributions, not one bar per household.
MAX_BARS = 30
#: Above this many days daily series are shown as monthly means (the days faint behind them) and
#: per-slot prices as daily means.
LONG_HORIZON_DAYS = 92
SHORT_PRICES_DAYS = 14
#: The mechanism savings are measured against: not drawn in savings figures (it is 0 by definition).
BASELINE = "conventional"


def label(mechanism: str) -> str:
    """The mechanism's label in legends and tables (the registry's; its name if unknown)."""
    known = registry.mechanisms().get(mechanism)
    return known.label if known is not None else mechanism


def color(mechanism: str) -> str:
    names = registry.names()
    index = names.index(mechanism) if mechanism in names else sum(map(ord, mechanism))
    return PALETTE[index % len(PALETTE)]


def new_figure(width: float = 7.0, height: float = 4.0) -> Figure:
    """A figure sized for print (inches; 7 in is a page's text width) on the Agg canvas."""
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = 100) -> bytes:
    """The figure rendered as ``fmt`` (png, svg or pdf; ``dpi`` matters for png only)."""
    buf = io.BytesIO()
    metadata = {"Software": None} if fmt == "png" else {"Creator": None, "Date": None} if fmt == "svg" else \
        {"Creator": None, "Producer": None, "CreationDate": None}
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata)  # no dates: the same figure, the same bytes
    return buf.getvalue()


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """The figure rendered as PNG."""
    return figure_bytes(fig, "png", dpi)


def community_size(n_households: int, consumers: int | None = None, prosumers: int | None = None) -> str:
    """``"20 households (14 consumers, 6 prosumers)"``: the community a figure is about."""
    text = f"{n_households:,} household{'s' if n_households != 1 else ''}"
    if consumers is not None and prosumers is not None:
        text += f" ({consumers:,} consumers, {prosumers:,} prosumers)"
    return text


def _finish(fig: Figure, ax, *, legend: bool = True, extra_handles=()) -> Figure:
    """Grid, a legend of the visible lines only (plus ``extra_handles``), tight layout."""
    ax.grid(True, linestyle="--", alpha=0.5)
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        keep = [(h, lab) for h, lab in zip(handles, labels) if _visible(h)]
        keep += [(h, h.get_label()) for h in extra_handles]
        if keep:
            ax.legend(*zip(*keep), fontsize="small")
    fig.tight_layout()
    return fig


def _visible(artist) -> bool:
    """False for a line with no finite point (it draws nothing, so it gets no legend entry)."""
    get = getattr(artist, "get_ydata", None)
    if get is None:
        return True
    y = np.asarray(get(), dtype=float)
    return bool(np.isfinite(y).any())


def _plot_daily(ax, dates, values, *, color=None, label=None, long: bool = False) -> None:
    """A daily series: as it is, or (``long``) faint days behind their monthly means (drawn at
    mid-month) so a year stays readable."""
    values = pd.Series(np.asarray(values, dtype=float))
    if not long:
        ax.plot(np.asarray(dates), values.to_numpy(), color=color, label=label)
        return
    dates = pd.to_datetime(pd.Series(dates)).reset_index(drop=True)
    ax.plot(dates, values, color=color, alpha=0.25, linewidth=0.6)
    monthly = values.groupby(dates.dt.to_period("M")).mean()
    mid = [p.start_time + (p.end_time - p.start_time) / 2 for p in monthly.index]
    ax.plot(mid, monthly.to_numpy(), "-o", markersize=3, color=color, label=label)


def _day_axis(fig: Figure, ax, long: bool, what: str) -> None:
    """x axis of a daily series: day numbers, or (``long``) dates under monthly means of ``what``."""
    if long:
        ax.set_xlabel(f"Date (points: monthly means of the {what})")
        fig.autofmt_xdate()
    else:
        ax.set_xlabel("Day")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# -- single run: the notebook's two figures ------------------------------------------------------
def daily_load_pv(daily: pd.DataFrame, community: str = "") -> Figure:
    """The notebook's first figure: daily average load per house and PV per prosumer (kWh/day).

    ``daily``: one run's ``daily_bills`` rows (any one mechanism's energy columns are used:
    they do not depend on the mechanism). Horizons longer than :data:`LONG_HORIZON_DAYS` show
    monthly means over the faint days. ``community``: :func:`community_size` text for the title.
    """
    one = daily[daily["mechanism"] == daily["mechanism"].iloc[0]].sort_values("day")
    long = len(one) > LONG_HORIZON_DAYS
    fig = new_figure()
    ax = fig.add_subplot()
    x = one["date"] if long else one["day"]
    _plot_daily(ax, x, one["avg_load_kwh_per_house"], color="tab:blue", label="Avg load per house (kWh/day)", long=long)
    _plot_daily(ax, x, one["avg_pv_kwh_per_prosumer"], color="tab:orange", label="Avg PV per prosumer (kWh/day)",
                long=long)
    _day_axis(fig, ax, long, "daily values")
    ax.set_ylabel("Energy (kWh/day)")
    ax.set_title("Daily average load & PV over community" + (f"\n{community}" if community else ""), fontsize=11)
    return _finish(fig, ax)


def daily_community_bill(daily: pd.DataFrame, currency: str = "Rs", community: str = "") -> Figure:
    """The notebook's second figure: daily community bill per mechanism (currency/day)."""
    fig = new_figure()
    ax = fig.add_subplot()
    long = daily["day"].nunique() > LONG_HORIZON_DAYS
    for mech in ordered_mechanisms(daily["mechanism"]):
        one = daily[daily["mechanism"] == mech].sort_values("day")
        _plot_daily(ax, one["date"] if long else one["day"], one["bill"], color=color(mech), label=label(mech),
                    long=long)
    _day_axis(fig, ax, long, "daily bills")
    ax.set_ylabel(f"Community bill ({currency}/day)")
    ax.set_title("Daily community bill under different mechanisms" + (f"\n{community}" if community else ""),
                 fontsize=11)
    return _finish(fig, ax)


#: Weeks a single-run report shows per-slot load and PV for: the first week from each of these days
#: (name, month, day), near the solstices, that lies inside the horizon.
SEASON_WEEKS = (("June", 6, 21), ("December", 12, 21))


def season_week_starts(first: pd.Timestamp, end: pd.Timestamp) -> list[tuple[str, pd.Timestamp]]:
    """``(label, start)`` of the first 7 days from 21 June and from 21 December inside the horizon
    ``[first, end)``; the horizon's first (up to) 7 days when neither fits."""
    week = pd.Timedelta(days=7)
    found = []
    for name, month, day in SEASON_WEEKS:
        for year in range(first.year, end.year + 1):
            start = pd.Timestamp(year, month, day)
            if first <= start and start + week <= end:
                found.append((f"week from {day} {name} {year}", start))
                break
    return found or [("first week" if end - first >= week else "horizon", first)]


def load_pv_weeks(series: pd.DataFrame) -> Figure:
    """Community load and PV (kW) per slot over a June and a December week (:func:`season_week_starts`).

    ``series``: one mechanism's ``community_series`` rows with a ``ts`` column (slot start).
    """
    ts = series["ts"]
    step = ts.iloc[1] - ts.iloc[0] if len(ts) > 1 else pd.Timedelta(minutes=15)
    weeks = season_week_starts(ts.iloc[0], ts.iloc[-1] + step)
    fig = new_figure(12, 3.2 * len(weeks) + 0.6)
    axes = fig.subplots(len(weeks), 1, sharey=True, squeeze=False)[:, 0]
    for ax, (name, start) in zip(axes, weeks):
        one = series[(series["ts"] >= start) & (series["ts"] < start + pd.Timedelta(days=7))]
        ax.plot(one["ts"], one["load_kw"], linewidth=0.9, color="tab:red", label="Load")
        ax.plot(one["ts"], one["pv_kw"], linewidth=0.9, color="tab:olive", label="PV")
        ax.set_title(f"Community load and PV, {name}", fontsize=11)
        ax.set_ylabel("Power (kW)")
        ax.grid(True, linestyle="--", alpha=0.5)
        ax.legend(loc="upper right")
        ax.xaxis.set_major_locator(DayLocator())
        ax.xaxis.set_major_formatter(DateFormatter("%a %d %b"))
    fig.tight_layout()
    return fig


# -- single run: bills and prices --------------------------------------------------------------
def household_bills(bills: pd.DataFrame, currency: str = "Rs", community: str = "") -> Figure:
    """Each household's bill over the horizon under each mechanism: grouped bars up to
    :data:`MAX_BARS` households, else the distribution of the bills per mechanism, consumers and
    prosumers apart (box plots, every household a point)."""
    households = list(dict.fromkeys(bills.sort_values("position", kind="stable")["household"]))
    if len(households) > MAX_BARS:
        return _household_bill_distribution(bills, currency, community)
    mechs = ordered_mechanisms(bills["mechanism"])
    wide = bills.pivot_table(index="household", columns="mechanism", values="bill", aggfunc="first")
    wide = wide.reindex(index=households, columns=mechs)
    fig = new_figure(max(7.0, 0.25 * len(households) * len(mechs) + 1.5), 4.0)
    ax = fig.add_subplot()
    x = np.arange(len(households))
    width = 0.8 / max(len(mechs), 1)
    for k, mech in enumerate(mechs):
        ax.bar(x + (k - (len(mechs) - 1) / 2) * width, wide[mech].to_numpy(), width, label=label(mech),
               color=color(mech))
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, households, rotation=90 if len(households) > 12 else 0)
    ax.set_xlabel("Household")
    ax.set_ylabel(f"Bill over the horizon ({currency}; < 0 = net income)")
    ax.set_title("Bill per household under different mechanisms" + (f"\n{community}" if community else ""),
                 fontsize=11)
    return _finish(fig, ax)


def _household_bill_distribution(bills: pd.DataFrame, currency: str, community: str) -> Figure:
    mechs = ordered_mechanisms(bills["mechanism"])
    kinds = [k for k in ("consumer", "prosumer") if (bills["kind"] == k).any()] or list(dict.fromkeys(bills["kind"]))
    fig = new_figure()
    ax = fig.add_subplot()
    handles = _grouped_boxes(ax, mechs, len(kinds), lambda mech: [
        bills.loc[(bills["mechanism"] == mech) & (bills["kind"] == kind), "bill"].to_numpy() for kind in kinds])
    ax.axhline(0, color="black", linewidth=0.8)
    counts = bills.drop_duplicates("household")["kind"].value_counts()
    ax.set_xticks(range(len(kinds)), [f"{kind}s (n = {counts.get(kind, 0):,})" for kind in kinds])
    ax.set_ylabel(f"Bill over the horizon ({currency}; < 0 = net income)")
    ax.set_title("Bills per household: distribution under each mechanism" + (f"\n{community}" if community else ""),
                 fontsize=11)
    return _finish(fig, ax, extra_handles=handles)


def _grouped_boxes(ax, mechs: list[str], n_groups: int, data_of) -> list[Patch]:
    """Box plots side by side: at each of ``n_groups`` x positions one box per mechanism
    (``data_of(mechanism)``: its arrays, one per group). Returns legend handles of the mechanisms
    drawn."""
    width = 0.8 / max(len(mechs), 1)
    rng = np.random.default_rng(0)  # fixed jitter: the same report twice is the same file
    handles = []
    for k, mech in enumerate(mechs):
        positions = np.arange(n_groups) + (k - (len(mechs) - 1) / 2) * width
        if _boxes(ax, data_of(mech), positions, width * 0.85, color(mech), rng):
            handles.append(Patch(facecolor=color(mech), alpha=0.45, label=label(mech)))
    return handles


def _boxes(ax, data, positions, width, face, rng) -> bool:
    """Box plots of ``data`` at ``positions`` (quartiles, median line, mean triangle) with every
    value a faint jittered point; empty groups are skipped. False when nothing was drawn."""
    keep = [(d, p) for d, p in zip(data, positions) if len(d)]
    if not keep:
        return False
    data, positions = zip(*keep)
    boxes = ax.boxplot(data, positions=positions, widths=width, showmeans=True, patch_artist=True,
                       manage_ticks=False, showfliers=False, medianprops={"color": "black"},
                       meanprops={"marker": "^", "markerfacecolor": "white", "markeredgecolor": "black",
                                  "markersize": 5})
    for patch in boxes["boxes"]:
        patch.set_facecolor(face)
        patch.set_alpha(0.45)
    for d, p in zip(data, positions):
        size = 2 if len(d) > 200 else 3
        ax.plot(p + rng.uniform(-width / 3, width / 3, len(d)), d, "o", alpha=0.35, markersize=size,
                color="tab:gray", zorder=1)
    return True


def _price_frames(prices: pd.DataFrame):
    """(mechanism, column, series) for every price column a mechanism actually sets."""
    for mech in ordered_mechanisms(prices["mechanism"]):
        one = prices[prices["mechanism"] == mech].sort_values("slot")
        for col, name in PRICE_COLUMNS.items():
            if one[col].notna().any():
                yield mech, col, name, one


def prices_over_time(prices: pd.DataFrame, currency: str = "Rs", community: str = "") -> Figure:
    """Clearing prices of every mechanism that sets them (currency/kWh): per slot for up to
    :data:`SHORT_PRICES_DAYS` days, else their daily mean over the slots where they are set."""
    fig = new_figure()
    ax = fig.add_subplot()
    styles = {"import_price": "-", "export_price": "--", "p2p_price": ":"}
    ts = pd.to_datetime(prices["ts"])
    daily = (ts.max() - ts.min()) > pd.Timedelta(days=SHORT_PRICES_DAYS)
    drawn = False
    for mech, col, name, one in _price_frames(prices):
        x, y = pd.to_datetime(one["ts"]), one[col]
        if daily:
            means = y.groupby(x.dt.floor("D")).mean()
            x, y = means.index, means
        ax.plot(x, y.to_numpy(), styles[col], linewidth=0.9, color=color(mech), label=f"{label(mech)} {name}")
        drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "no mechanism sets a community-wide price\n(per-household tariffs only)",
                ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("Date (daily means)" if daily else "Time")
    ax.set_ylabel(f"Price ({currency}/kWh)")
    ax.set_title("Clearing prices over time" + (f"\n{community}" if community else ""), fontsize=11)
    fig.autofmt_xdate()
    return _finish(fig, ax)


def prices_by_hour(prices: pd.DataFrame, currency: str = "Rs", community: str = "") -> Figure:
    """Mean clearing price by hour of day (slots where the price is set), per mechanism."""
    fig = new_figure()
    ax = fig.add_subplot()
    styles = {"import_price": "-o", "export_price": "--s", "p2p_price": ":^"}
    drawn = False
    for mech, col, name, one in _price_frames(prices):
        hours = pd.to_datetime(one["ts"]).dt.hour
        profile = one[col].groupby(hours).mean()
        ax.plot(profile.index, profile.to_numpy(), styles[col], markersize=3, color=color(mech),
                label=f"{label(mech)} {name}")
        drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "no mechanism sets a community-wide price", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlim(-0.5, 23.5)
    ax.set_xlabel("Hour of day")
    ax.set_ylabel(f"Mean price ({currency}/kWh)")
    ax.set_title("Clearing prices by hour of day" + (f"\n{community}" if community else ""), fontsize=11)
    return _finish(fig, ax)


# -- many runs ---------------------------------------------------------------------------------
def _positions(values: list) -> tuple[dict, bool]:
    """x position of each grouping value: the value itself when all are numbers, else its index."""
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)
    return {v: (float(v) if numeric else float(i)) for i, v in enumerate(values)}, numeric


def _parameter_axis(ax, values: list, numeric: bool, by: str, by_label: str | None) -> None:
    if not numeric:
        ax.set_xticks(range(len(values)), [format_value(v) for v in values])
    elif all(float(v).is_integer() for v in values):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(by_label or by)


def metric_distribution(values: pd.DataFrame, metric: str, ylabel: str | None = None, *, by: str | None = None,
                        by_label: str | None = None) -> Figure:
    """Box plots (every run a point) of ``metric`` per mechanism across runs; with ``by`` (a
    column of ``values``), one group of boxes per value of that parameter.

    ``values``: long metrics rows (run_id, mechanism, metric, value[, by]).
    """
    rows = values[(values["metric"] == metric) & values["value"].notna()]
    mechs = ordered_mechanisms(rows["mechanism"])
    groups = sorted(dict.fromkeys(rows[by]), key=lambda v: (isinstance(v, str), v)) if by else [None]
    fig = new_figure(max(7.0, 0.45 * len(groups) * len(mechs) + 2), 4.0)
    ax = fig.add_subplot()

    def data_of(mech):
        mine = rows[rows["mechanism"] == mech]
        return [(mine[mine[by] == g] if by else mine)["value"].to_numpy() for g in groups]

    handles = _grouped_boxes(ax, mechs, len(groups), data_of)
    if by:
        ax.set_xticks(range(len(groups)), [format_value(g) for g in groups])
        ax.set_xlabel(by_label or by)
    else:
        ax.set_xticks([])
        ax.set_xlabel("Mechanism")
    ax.set_ylabel(ylabel or metric)
    ax.set_title(f"{ylabel or metric}: distribution across {rows['run_id'].nunique()} runs\n"
                 "(box: quartiles, line: median, triangle: mean, points: runs)", fontsize=10)
    return _finish(fig, ax, extra_handles=handles)


def _same_lines(rows: pd.DataFrame, by: str, positions: dict):
    """``[(mechanisms, (x, mean, ci95_low, ci95_high))]``: one entry per distinct line, the
    mechanisms whose means are equal at every point together; mechanisms without a finite mean
    are left out. Arrays are sorted by x."""
    lines: list = []
    for mech in ordered_mechanisms(rows["mechanism"]):
        one = rows[rows["mechanism"] == mech]
        x = np.array([positions[v] for v in one[by]], dtype=float)
        order = np.argsort(x, kind="stable")
        arrays = (x[order], *(one[c].to_numpy(dtype=float)[order] for c in ("mean", "ci95_low", "ci95_high")))
        if not np.isfinite(arrays[1]).any():
            continue
        for mechs, other in lines:
            if np.array_equal(other[0], arrays[0]) and np.allclose(other[1], arrays[1], rtol=1e-9, atol=1e-12,
                                                                   equal_nan=True):
                mechs.append(mech)
                break
        else:
            lines.append(([mech], arrays))
    return lines


def metric_vs_parameter(table: pd.DataFrame, by: str, metric: str, ylabel: str | None = None, *,
                        by_label: str | None = None) -> Figure:
    """Mean of ``metric`` per mechanism against scenario parameter ``by``, with a band for the
    95 % confidence interval of the mean (Student t; none where a point has a single run).

    ``table``: :func:`p2pstore.reports.compare.compare` output grouped ``by``. Mechanisms without a
    finite mean get no line and no legend entry; mechanisms with equal means share one line and
    one entry ("Conventional = Bill-sharing").
    """
    rows = table[table["metric"] == metric]
    fig = new_figure()
    ax = fig.add_subplot()
    values = sorted(dict.fromkeys(rows[by]), key=lambda v: (isinstance(v, str), v))
    positions, numeric = _positions(values)
    banded = False
    for mechs, (x, mean, low, high) in _same_lines(rows, by, positions):
        # mechanisms with the same means share one line (one hidden behind another would still
        # get a legend entry): "Conventional = Bill-sharing"
        ax.plot(x, mean, "-o", markersize=4, label=" = ".join(label(m) for m in mechs), color=color(mechs[-1]))
        if np.isfinite(low).any():
            ax.fill_between(x, low, high, color=color(mechs[-1]), alpha=0.18, linewidth=0)
            banded = True
    _parameter_axis(ax, values, numeric, by, by_label)
    ax.set_ylabel(ylabel or metric)
    runs = rows["n"].max() if len(rows) else 0
    ax.set_title(f"{ylabel or metric} against {by_label or by}\n(mean of up to {runs} runs per point)", fontsize=10)
    band = [Patch(facecolor="tab:gray", alpha=0.3, label="95% CI of the mean")] if banded else []
    return _finish(fig, ax, extra_handles=band)
