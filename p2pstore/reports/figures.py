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
from matplotlib.ticker import MaxNLocator

from p2pstore.reports.compare import ordered_mechanisms

#: The notebook's legend labels; other mechanisms fall back to their stored name.
MECHANISM_LABELS = {"conventional": "Conventional", "mmr": "MMR", "bill_sharing": "Bill-sharing"}
#: One colour per mechanism in every figure (the notebook's default colour cycle order).
MECHANISM_COLORS = {"conventional": "tab:blue", "mmr": "tab:orange", "bill_sharing": "tab:green"}
_EXTRA_COLORS = ("tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
PRICE_COLUMNS = {"import_price": "import", "export_price": "export", "p2p_price": "P2P"}


def label(mechanism: str) -> str:
    return MECHANISM_LABELS.get(mechanism, mechanism)


def color(mechanism: str) -> str:
    if mechanism in MECHANISM_COLORS:
        return MECHANISM_COLORS[mechanism]
    return _EXTRA_COLORS[sum(map(ord, mechanism)) % len(_EXTRA_COLORS)]


def new_figure(width: float = 10, height: float = 5) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """The figure rendered as PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _finish(fig: Figure, ax, *, legend: bool = True) -> Figure:
    ax.grid(True, linestyle="--", alpha=0.5)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    return fig


# -- single run: the notebook's two figures ------------------------------------------------------
def daily_load_pv(daily: pd.DataFrame) -> Figure:
    """The notebook's first figure: daily average load per house and PV per prosumer (kWh/day).

    ``daily``: one run's ``daily_bills`` rows (any one mechanism's energy columns are used:
    they do not depend on the mechanism).
    """
    one = daily[daily["mechanism"] == daily["mechanism"].iloc[0]].sort_values("day")
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot(one["day"], one["avg_load_kwh_per_house"], label="Avg load per house (kWh/day)")
    ax.plot(one["day"], one["avg_pv_kwh_per_prosumer"], label="Avg PV per prosumer (kWh/day)")
    ax.set_xlabel("Day")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("Energy (kWh)")
    ax.set_title("Daily average load & PV over community")
    return _finish(fig, ax)


def daily_community_bill(daily: pd.DataFrame, currency: str = "Rs") -> Figure:
    """The notebook's second figure: daily community bill per mechanism (currency/day)."""
    fig = new_figure()
    ax = fig.add_subplot()
    for mech in ordered_mechanisms(daily["mechanism"]):
        one = daily[daily["mechanism"] == mech].sort_values("day")
        ax.plot(one["day"], one["bill"], label=label(mech), color=color(mech))
    ax.set_xlabel("Day")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"Community bill ({currency}/day)")
    ax.set_title("Daily community bill under different mechanisms")
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
def household_bills(bills: pd.DataFrame, currency: str = "Rs") -> Figure:
    """Grouped bars: each household's bill over the horizon under each mechanism."""
    households = list(dict.fromkeys(bills.sort_values("position", kind="stable")["household"]))
    mechs = ordered_mechanisms(bills["mechanism"])
    wide = bills.pivot_table(index="household", columns="mechanism", values="bill", aggfunc="first")
    wide = wide.reindex(index=households, columns=mechs)
    fig = new_figure(max(8.0, 0.45 * len(households) * len(mechs) + 2), 5)
    ax = fig.add_subplot()
    x = np.arange(len(households))
    width = 0.8 / max(len(mechs), 1)
    for k, mech in enumerate(mechs):
        ax.bar(x + (k - (len(mechs) - 1) / 2) * width, wide[mech].to_numpy(), width, label=label(mech),
               color=color(mech))
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, households)
    ax.set_xlabel("Household")
    ax.set_ylabel(f"Bill ({currency}; negative = net income)")
    ax.set_title("Bill per household under different mechanisms")
    return _finish(fig, ax)


def _price_frames(prices: pd.DataFrame):
    """(mechanism, column, series) for every price column a mechanism actually sets."""
    for mech in ordered_mechanisms(prices["mechanism"]):
        one = prices[prices["mechanism"] == mech].sort_values("slot")
        for col, name in PRICE_COLUMNS.items():
            if one[col].notna().any():
                yield mech, col, name, one


def prices_over_time(prices: pd.DataFrame, currency: str = "Rs") -> Figure:
    """Per-slot clearing prices of every mechanism that sets them (currency/kWh)."""
    fig = new_figure(12, 5)
    ax = fig.add_subplot()
    styles = {"import_price": "-", "export_price": "--", "p2p_price": ":"}
    drawn = False
    for mech, col, name, one in _price_frames(prices):
        ax.plot(one["ts"], one[col], styles[col], linewidth=0.9, color=color(mech), label=f"{label(mech)} {name}")
        drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "no mechanism sets a community-wide price\n(per-household tariffs only)",
                ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("Time")
    ax.set_ylabel(f"Price ({currency}/kWh)")
    ax.set_title("Clearing prices over time")
    fig.autofmt_xdate()
    return _finish(fig, ax)


def prices_by_hour(prices: pd.DataFrame, currency: str = "Rs") -> Figure:
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
    ax.set_title("Clearing prices by hour of day")
    return _finish(fig, ax)


# -- many runs ---------------------------------------------------------------------------------
def metric_distribution(values: pd.DataFrame, metric: str, ylabel: str | None = None) -> Figure:
    """Box plot (with the runs as points) of ``metric`` per mechanism across runs.

    ``values``: long metrics rows (run_id, mechanism, metric, value).
    """
    rows = values[(values["metric"] == metric) & values["value"].notna()]
    mechs = ordered_mechanisms(rows["mechanism"])
    data = [rows.loc[rows["mechanism"] == m, "value"].to_numpy() for m in mechs]
    fig = new_figure(max(6.0, 2.2 * len(mechs) + 2), 5)
    ax = fig.add_subplot()
    if mechs:
        boxes = ax.boxplot(data, tick_labels=[label(m) for m in mechs], showmeans=True, patch_artist=True,
                           medianprops={"color": "black"},
                           meanprops={"marker": "^", "markerfacecolor": "white", "markeredgecolor": "black"})
        for patch, mech in zip(boxes["boxes"], mechs):
            patch.set_facecolor(color(mech))
            patch.set_alpha(0.35)
        rng = np.random.default_rng(0)  # fixed jitter: the same report twice is the same file
        for k, d in enumerate(data, start=1):
            ax.plot(k + rng.uniform(-0.12, 0.12, len(d)), d, "o", alpha=0.45, markersize=4, color="tab:gray")
    ax.set_xlabel("Mechanism")
    ax.set_ylabel(ylabel or metric)
    ax.set_title(f"{ylabel or metric}: distribution across {rows['run_id'].nunique()} runs", fontsize=11)
    return _finish(fig, ax, legend=False)


def metric_vs_parameter(table: pd.DataFrame, by: str, metric: str, ylabel: str | None = None) -> Figure:
    """Mean of ``metric`` per mechanism against scenario parameter ``by``, with the min-max band.

    ``table``: :func:`p2pstore.reports.compare.compare` output grouped ``by``.
    """
    rows = table[table["metric"] == metric]
    fig = new_figure(8, 4.5)
    ax = fig.add_subplot()
    values = list(dict.fromkeys(rows[by]))
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)
    positions = {v: (v if numeric else i) for i, v in enumerate(values)}
    for mech in ordered_mechanisms(rows["mechanism"]):
        one = rows[rows["mechanism"] == mech]
        x = np.array([positions[v] for v in one[by]], dtype=float)
        order = np.argsort(x, kind="stable")
        x = x[order]
        line = ax.plot(x, one["mean"].to_numpy()[order], "-o", markersize=4, label=label(mech), color=color(mech))[0]
        ax.fill_between(x, one["min"].to_numpy()[order], one["max"].to_numpy()[order],
                        color=line.get_color(), alpha=0.15, linewidth=0)
    if not numeric:
        ax.set_xticks(range(len(values)), [str(v) for v in values])
    elif all(float(v).is_integer() for v in values):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(by)
    ax.set_ylabel(ylabel or metric)
    ax.set_title(f"{ylabel or metric} against {by}\n(mean over runs; band = min to max)", fontsize=11)
    return _finish(fig, ax)

