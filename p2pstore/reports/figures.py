"""Matplotlib figures of one stored run. Each function takes DataFrames and returns a Figure.

Every figure is sized for a journal page (at most :data:`~figure_style.PAGE_WIDTH` inches wide),
drawn in the print style of :mod:`p2pstore.reports.figure_style` (TrueType fonts, legend below
the axes) and takes :class:`~figure_style.FigureOptions` (title on or off, size, mechanisms,
axis labels). Many-run figures are in :mod:`p2pstore.reports.sweep_figures`; both are re-exported
here. This module is imported only when a report is made (it imports matplotlib).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from p2pstore import display, registry
from p2pstore.reports.figure_style import (COLUMN_WIDTH, DEFAULT_OPTIONS, FIGURE_FORMATS, PAGE_WIDTH, PALETTE,  # noqa: F401
                                           PRINT_DPI, FigureOptions, color, equal_groups, figure_bytes, group_label,
                                           legend_below, new_figure, png_bytes, same_values_note, styled, title)
from p2pstore.reports.sweep_figures import (BASELINE, grouped_boxes, metric_distribution,  # noqa: F401
                                            metric_vs_parameter)

PRICE_COLUMNS = {"import_price": "Import price", "export_price": "Export price", "p2p_price": "P2P price"}
#: Above this many bars (households x mechanisms) a run's bills are shown as distributions.
MAX_BARS = 30
MAX_BAR_COUNT = 90
#: Above this many days daily series are shown as monthly means (the days faint behind them) and
#: per-slot prices as daily means.
LONG_HORIZON_DAYS = 92
SHORT_PRICES_DAYS = 14


def label(mechanism: str) -> str:
    """The mechanism's label in legends and tables (:func:`p2pstore.display.mechanism`)."""
    return display.mechanism(mechanism)


def registry_rank(mechanism: str) -> tuple[int, str]:
    """Sort key of a mechanism in report order."""
    names = registry.names()
    return (names.index(mechanism) if mechanism in names else len(names), mechanism)


def community_size(n_households: int, consumers: int | None = None, prosumers: int | None = None) -> str:
    """``"20 households (14 consumers, 6 prosumers)"``: the community a figure is about."""
    text = f"{n_households:,} household{'s' if n_households != 1 else ''}"
    if consumers is not None and prosumers is not None:
        text += f" ({consumers:,} consumers, {prosumers:,} prosumers)"
    return text


def _grid(ax) -> None:
    ax.grid(True, linestyle="--", alpha=0.5)


def _legend_of_axes(fig: Figure, axes, options: FigureOptions, note: str = "", extra=()) -> Figure:
    """One figure legend of the labelled artists of ``axes`` (each label once), plus ``extra``."""
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(text, handle)
    for handle in extra:
        seen.setdefault(handle.get_label(), handle)
    legend_below(fig, list(seen.values()), list(seen), note, grow=options.height is None)
    return fig


def _plot_daily(ax, dates, values, *, color=None, label=None, long: bool = False) -> None:
    """A daily series: as it is, or (``long``) faint days behind their monthly means (drawn at
    mid-month) so a year stays readable."""
    values = pd.Series(np.asarray(values, dtype=float))
    if not long:
        ax.plot(np.asarray(dates), values.to_numpy(), color=color, label=label)
        return
    dates = pd.to_datetime(pd.Series(dates)).reset_index(drop=True)
    ax.plot(dates, values, color=color, alpha=0.25, linewidth=0.5)
    monthly = values.groupby(dates.dt.to_period("M")).mean()
    mid = [p.start_time + (p.end_time - p.start_time) / 2 for p in monthly.index]
    ax.plot(mid, monthly.to_numpy(), "-o", markersize=2.5, color=color, label=label)


def _day_axis(ax, long: bool, what: str, options: FigureOptions) -> None:
    """x axis of a daily series: day numbers, or (``long``) dates under monthly means of ``what``."""
    if long:
        ax.set_xlabel(options.label("date", f"Date (points: monthly means of the {what})"))
        ax.xaxis.set_major_formatter(DateFormatter("%b %Y"))
        for text in ax.get_xticklabels():
            text.set(rotation=30, ha="right")
    else:
        ax.set_xlabel(options.label("day", "Day"))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# -- the notebook's two figures ------------------------------------------------------------------
@styled
def daily_load_pv(daily: pd.DataFrame, community: str = "", options: FigureOptions = DEFAULT_OPTIONS) -> Figure:
    """The notebook's first figure: daily average load per house and PV per prosumer (kWh/day).

    ``daily``: one run's ``daily_bills`` rows (any one mechanism's energy columns are used: they
    do not depend on the mechanism). Horizons longer than :data:`LONG_HORIZON_DAYS` show monthly
    means over the faint days. ``community``: :func:`community_size` text for the title.
    """
    one = daily[daily["mechanism"] == daily["mechanism"].iloc[0]].sort_values("day")
    long = len(one) > LONG_HORIZON_DAYS
    fig = new_figure(*options.size(PAGE_WIDTH, 2.6))
    ax = fig.add_subplot()
    x = one["date"] if long else one["day"]
    _plot_daily(ax, x, one["avg_load_kwh_per_house"], color="tab:blue", label="Average load per house", long=long)
    _plot_daily(ax, x, one["avg_pv_kwh_per_prosumer"], color="tab:orange", label="Average PV per prosumer", long=long)
    _day_axis(ax, long, "daily values", options)
    ax.set_ylabel(options.label("energy", "Energy (kWh/day)"))
    title(ax, "Daily average load & PV over community", options, community)
    _grid(ax)
    return _legend_of_axes(fig, [ax], options)


@styled
def daily_community_bill(daily: pd.DataFrame, currency: str = "Rs", community: str = "",
                         options: FigureOptions = DEFAULT_OPTIONS) -> Figure:
    """The notebook's second figure: daily community bill per mechanism (currency/day);
    mechanisms with equal bills every day are drawn once (:func:`same_values_note`)."""
    fig = new_figure(*options.size(PAGE_WIDTH, 2.6))
    ax = fig.add_subplot()
    long = daily["day"].nunique() > LONG_HORIZON_DAYS
    lines = {}
    for mech in options.keep(daily["mechanism"]):
        one = daily[daily["mechanism"] == mech].sort_values("day")
        lines[mech] = ((one["date"] if long else one["day"]).to_numpy(), one["bill"].to_numpy())
    groups = equal_groups(lines)
    for mechs, (x, y) in groups:
        _plot_daily(ax, x, y, color=color(mechs[0]), label=group_label(mechs), long=long)
    _day_axis(ax, long, "daily bills", options)
    ax.set_ylabel(options.label("bill", f"Community bill ({currency}/day)"))
    title(ax, "Daily community bill under different mechanisms", options, community)
    _grid(ax)
    return _legend_of_axes(fig, [ax], options, same_values_note([g for g, _ in groups]))


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


@styled
def load_pv_weeks(series: pd.DataFrame, options: FigureOptions = DEFAULT_OPTIONS) -> Figure:
    """Community load and PV (kW) per slot over a June and a December week (:func:`season_week_starts`).

    ``series``: one mechanism's ``community_series`` rows with a ``ts`` column (each slot's start,
    in the run's own calendar: the weekdays are those of the data's year).
    """
    ts = series["ts"]
    step = ts.iloc[1] - ts.iloc[0] if len(ts) > 1 else pd.Timedelta(minutes=15)
    weeks = season_week_starts(ts.iloc[0], ts.iloc[-1] + step)
    fig = new_figure(*options.size(PAGE_WIDTH, 2.0 * len(weeks) + 0.5))
    axes = fig.subplots(len(weeks), 1, sharey=True, squeeze=False)[:, 0]
    for ax, (name, start) in zip(axes, weeks):
        one = series[(series["ts"] >= start) & (series["ts"] < start + pd.Timedelta(days=7))]
        ax.plot(one["ts"], one["load_kw"], linewidth=0.7, color="tab:red", label="Load")
        ax.plot(one["ts"], one["pv_kw"], linewidth=0.7, color="tab:olive", label="PV")
        if options.title:
            ax.set_title(f"Community load and PV, {name}")
        ax.set_ylabel(options.label("power", "Power (kW)"))
        _grid(ax)
        ax.xaxis.set_major_locator(DayLocator())
        ax.xaxis.set_major_formatter(DateFormatter("%a %d %b %Y" if len(weeks) == 1 else "%a %d %b"))
    return _legend_of_axes(fig, axes, options)


# -- bills and prices ---------------------------------------------------------------------------
@styled
def household_bills(bills: pd.DataFrame, currency: str = "Rs", community: str = "",
                    options: FigureOptions = DEFAULT_OPTIONS) -> Figure:
    """Each household's bill over the horizon under each mechanism: grouped bars up to
    :data:`MAX_BARS` households (and :data:`MAX_BAR_COUNT` bars), else the distribution of the
    bills per mechanism, consumers and prosumers apart (box plots, every household a point)."""
    households = list(dict.fromkeys(bills.sort_values("position", kind="stable")["household"]))
    mechs = options.keep(bills["mechanism"])
    if len(households) > MAX_BARS or len(households) * len(mechs) > MAX_BAR_COUNT:
        return _household_bill_distribution(bills, mechs, currency, community, options)
    wide = bills.pivot_table(index="household", columns="mechanism", values="bill", aggfunc="first")
    wide = wide.reindex(index=households, columns=mechs)
    fig = new_figure(*options.size(PAGE_WIDTH, 2.8))
    ax = fig.add_subplot()
    x = np.arange(len(households))
    width = 0.8 / max(len(mechs), 1)
    for k, mech in enumerate(mechs):
        ax.bar(x + (k - (len(mechs) - 1) / 2) * width, wide[mech].to_numpy(), width, label=label(mech),
               color=color(mech))
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks(x, households, rotation=90 if len(households) > 12 else 0)
    ax.set_xlabel(options.label("household", "Household"))
    ax.set_ylabel(options.label("bill", f"Bill over the horizon ({currency})"))
    title(ax, "Bill per household under different mechanisms", options, community)
    _grid(ax)
    return _legend_of_axes(fig, [ax], options)


def _household_bill_distribution(bills: pd.DataFrame, mechs: list[str], currency: str, community: str,
                                 options: FigureOptions) -> Figure:
    kinds = [k for k in ("consumer", "prosumer") if (bills["kind"] == k).any()] or list(dict.fromkeys(bills["kind"]))
    fig = new_figure(*options.size(PAGE_WIDTH, 2.8))
    ax = fig.add_subplot()
    handles = grouped_boxes(ax, mechs, len(kinds), lambda mech: [
        bills.loc[(bills["mechanism"] == mech) & (bills["kind"] == kind), "bill"].to_numpy() for kind in kinds])
    ax.axhline(0, color="black", linewidth=0.6)
    counts = bills.drop_duplicates("household")["kind"].value_counts()
    ax.set_xticks(range(len(kinds)), [f"{kind}s (n = {counts.get(kind, 0):,})" for kind in kinds])
    ax.set_ylabel(options.label("bill", f"Bill over the horizon ({currency})"))
    title(ax, "Bills per household: distribution under each mechanism", options, community)
    _grid(ax)
    return _legend_of_axes(fig, [ax], options, extra=handles)


def _price_lines(prices: pd.DataFrame, options: FigureOptions, reduce) -> dict[str, dict[str, tuple]]:
    """Per price column a mechanism sets somewhere: ``{mechanism: (x, y)}`` after ``reduce(one, column)``."""
    out: dict[str, dict[str, tuple]] = {}
    for mech in options.keep(prices["mechanism"]):
        one = prices[prices["mechanism"] == mech].sort_values("slot")
        for col in PRICE_COLUMNS:
            if one[col].notna().any():
                out.setdefault(col, {})[mech] = reduce(one, col)
    return out


def _price_panels(fig: Figure, panels: dict, styles: str, currency: str):
    """One axes per price column (rows), a line per group of mechanisms with equal prices in that
    panel (drawn in its first mechanism's colour). Returns the axes, a legend handle per mechanism
    and the note naming the equal ones per panel."""
    cols = [c for c in PRICE_COLUMNS if c in panels]
    axes = fig.subplots(max(len(cols), 1), 1, sharex=True, squeeze=False)[:, 0]
    handles: dict[str, Line2D] = {}
    notes = []
    for ax, col in zip(axes, cols):
        groups = equal_groups(panels[col])
        for mechs, (x, y) in groups:
            ax.plot(x, np.asarray(y, dtype=float), styles, markersize=2.5, linewidth=0.9, color=color(mechs[0]))
            for mech in mechs:
                handles.setdefault(mech, Line2D([], [], color=color(mech), label=label(mech)))
            if len(mechs) > 1:
                notes.append(f"{PRICE_COLUMNS[col].lower()}: " + " = ".join(map(label, mechs)))
        ax.set_ylabel(f"{PRICE_COLUMNS[col]}\n({currency}/kWh)")
        _grid(ax)
    if not cols:
        axes[0].text(0.5, 0.5, "no mechanism sets a community-wide price\n(per-household tariffs only)",
                     ha="center", va="center", transform=axes[0].transAxes)
    order = [h for m, h in sorted(handles.items(), key=lambda kv: registry_rank(kv[0]))]
    note = "Drawn once where equal (first one's colour): " + "; ".join(notes) + "." if notes else ""
    return axes, order, note


@styled
def prices_over_time(prices: pd.DataFrame, currency: str = "Rs", community: str = "",
                     options: FigureOptions = DEFAULT_OPTIONS) -> Figure:
    """Clearing prices of every mechanism that sets them (currency/kWh), one panel per kind of
    price: per slot for up to :data:`SHORT_PRICES_DAYS` days, else their daily mean over the
    slots where they are set."""
    ts = pd.to_datetime(prices["ts"])
    daily = (ts.max() - ts.min()) > pd.Timedelta(days=SHORT_PRICES_DAYS)

    def reduce(one, col):
        x, y = pd.to_datetime(one["ts"]), one[col]
        if daily:
            means = y.groupby(x.dt.floor("D")).mean()
            return means.index.to_numpy(), means.to_numpy()
        return x.to_numpy(), y.to_numpy()

    panels = _price_lines(prices, options, reduce)
    fig = new_figure(*options.size(PAGE_WIDTH, 1.4 * max(len(panels), 1) + 0.7))
    axes, handles, note = _price_panels(fig, panels, "-", currency)
    axes[-1].set_xlabel(options.label("date", "Date (daily means)" if daily else "Time"))
    for text in axes[-1].get_xticklabels():
        text.set(rotation=30, ha="right")
    if options.title:
        fig.suptitle("Clearing prices over time" + (f"\n{community}" if community else ""))
    legend_below(fig, handles, [h.get_label() for h in handles], note, grow=options.height is None)
    return fig


@styled
def prices_by_hour(prices: pd.DataFrame, currency: str = "Rs", community: str = "",
                   options: FigureOptions = DEFAULT_OPTIONS) -> Figure:
    """Mean clearing price by hour of day (slots where the price is set), per mechanism, one panel
    per kind of price."""
    def reduce(one, col):
        profile = one[col].groupby(pd.to_datetime(one["ts"]).dt.hour).mean()
        return profile.index.to_numpy(), profile.to_numpy()

    panels = _price_lines(prices, options, reduce)
    fig = new_figure(*options.size(PAGE_WIDTH, 1.4 * max(len(panels), 1) + 0.7))
    axes, handles, note = _price_panels(fig, panels, "-o", currency)
    axes[-1].set_xticks(range(0, 24, 2))
    axes[-1].set_xlim(-0.5, 23.5)
    axes[-1].set_xlabel(options.label("hour", "Hour of day"))
    if options.title:
        fig.suptitle("Clearing prices by hour of day" + (f"\n{community}" if community else ""))
    legend_below(fig, handles, [h.get_label() for h in handles], note, grow=options.height is None)
    return fig


def legend_texts(fig: Figure) -> list[str]:
    """The entries of a figure's legends (tests and captions read them)."""
    return [t.get_text().replace("\n", " ") for legend in fig.legends for t in legend.get_texts()]

