"""Matplotlib figures of many stored runs: the distribution of a KPI per mechanism (small
multiples, one panel per mechanism, when runs are grouped by a parameter) and a KPI's mean with
its 95 % confidence band against a parameter.

Sizes and style as in :mod:`p2pstore.reports.figure_style`: a KPI against a parameter fits one
journal column (3.5 in); distributions take the page width and wrap into rows of panels rather
than grow wider. Mechanisms with equal values are drawn once, marked, and named in a note.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from p2pstore.reports.figure_style import (COLUMN_WIDTH, DEFAULT_OPTIONS, PAGE_WIDTH, FigureOptions, color,
                                           equal_groups, group_label, legend_below, new_figure, same_values_note,
                                           styled, tick_text, wrap_label)

#: The mechanism savings are measured against: not drawn in savings figures (it is 0 by definition).
BASELINE = "conventional"
#: Panels per row of a distribution figure.
PANELS_PER_ROW = 3


def grouped_boxes(ax, mechs: list[str], n_groups: int, data_of) -> list[Patch]:
    """Box plots side by side: at each of ``n_groups`` x positions one box per mechanism
    (``data_of(mechanism)``: its arrays, one per group). Returns legend handles of the mechanisms
    drawn."""
    width = 0.8 / max(len(mechs), 1)
    rng = np.random.default_rng(0)  # fixed jitter: the same report twice is the same file
    handles = []
    for k, mech in enumerate(mechs):
        positions = np.arange(n_groups) + (k - (len(mechs) - 1) / 2) * width
        if boxes(ax, data_of(mech), positions, width * 0.85, color(mech), rng):
            handles.append(Patch(facecolor=color(mech), alpha=0.45, label=group_label([mech])))
    return handles


def boxes(ax, data, positions, width, face, rng) -> bool:
    """Box plots of ``data`` at ``positions`` (quartiles, median line, mean triangle) with every
    value a faint jittered point; empty groups are skipped. False when nothing was drawn."""
    keep = [(d, p) for d, p in zip(data, positions) if len(d)]
    if not keep:
        return False
    data, positions = zip(*keep)
    drawn = ax.boxplot(data, positions=positions, widths=width, showmeans=True, patch_artist=True,
                       manage_ticks=False, showfliers=False, medianprops={"color": "black", "linewidth": 0.8},
                       meanprops={"marker": "^", "markerfacecolor": "white", "markeredgecolor": "black",
                                  "markersize": 3.5})
    for patch in drawn["boxes"]:
        patch.set_facecolor(face)
        patch.set_alpha(0.45)
    for d, p in zip(data, positions):
        size = 1.5 if len(d) > 200 else 2
        ax.plot(p + rng.uniform(-width / 3, width / 3, len(d)), d, "o", alpha=0.35, markersize=size,
                color="tab:gray", zorder=1)
    return True


def _sorted_values(values) -> list:
    return sorted(dict.fromkeys(values), key=lambda v: (isinstance(v, str), v))


@styled
def metric_distribution(values: pd.DataFrame, metric: str, ylabel: str | None = None, *, by: str | None = None,
                        by_label: str | None = None, options: FigureOptions = DEFAULT_OPTIONS) -> Figure:
    """Box plots (every run a point) of ``metric`` per mechanism across runs; with ``by`` (a
    column of ``values``), one panel per mechanism with a box per value of that parameter.

    ``values``: long metrics rows (run_id, mechanism, metric, value[, by]). Mechanisms whose
    values are equal in every run share a panel (marked, and named in a note).
    """
    rows = values[(values["metric"] == metric) & values["value"].notna()]
    ylabel = options.label(metric, ylabel or metric)
    runs = rows["run_id"].nunique()
    if by is None:
        return _distribution_one_panel(rows, metric, ylabel, runs, options)
    groups = _sorted_values(rows[by])
    per_mech = {}
    for mech in options.keep(rows["mechanism"]):
        mine = rows[rows["mechanism"] == mech].sort_values("run_id")
        per_mech[mech] = (mine["run_id"].to_numpy(), mine["value"].to_numpy(dtype=float), mine)
    panels = equal_groups(per_mech)
    ncols = min(len(panels), PANELS_PER_ROW) or 1
    nrows = math.ceil(len(panels) / ncols) or 1
    fig = new_figure(*options.size(PAGE_WIDTH, 1.9 * nrows + 0.4))
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False).ravel()
    rng = np.random.default_rng(0)
    for ax, (mechs, (_, _, mine)) in zip(axes, panels):
        data = [mine.loc[mine[by] == g, "value"].to_numpy() for g in groups]
        boxes(ax, data, np.arange(len(groups)), 0.6, color(mechs[0]), rng)
        ax.set_title(group_label(mechs))
        labels = [tick_text(g, 10) for g in groups]
        flat = sum(len(t) + 2 for t in labels) * 0.065 < fig.get_figwidth() / ncols - 0.5  # ~0.065 in per char
        ax.set_xticks(range(len(groups)), labels, rotation=0 if flat else 45, ha="center" if flat else "right")
        ax.grid(True, axis="y", linestyle="--", alpha=0.5)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel(wrap_label(ylabel, 1.6))
    for k, ax in enumerate(axes[:len(panels)]):
        if k + ncols >= len(panels):  # the lowest panel of its column
            ax.set_xlabel(options.label(by, by_label or by))
    if options.title:
        fig.suptitle(wrap_label(f"{ylabel}: distribution across {runs} runs", 0.9 * fig.get_figwidth()))
    legend_below(fig, [], [], _box_note(same_values_note([m for m, _ in panels])), grow=options.height is None)
    return fig


def _box_note(note: str) -> str:
    explain = "Box: quartiles; line: median; triangle: mean; points: runs."
    return f"{explain} {note}" if note else explain


def _distribution_one_panel(rows: pd.DataFrame, metric: str, ylabel: str, runs: int,
                            options: FigureOptions) -> Figure:
    mechs = options.keep(rows["mechanism"])
    fig = new_figure(*options.size(COLUMN_WIDTH if len(mechs) <= 4 else PAGE_WIDTH, 2.6))
    ax = fig.add_subplot()
    data = [rows.loc[rows["mechanism"] == m, "value"].to_numpy() for m in mechs]
    rng = np.random.default_rng(0)
    for k, (mech, d) in enumerate(zip(mechs, data)):
        boxes(ax, [d], [k], 0.6, color(mech), rng)
    ax.set_xticks(range(len(mechs)), [group_label([m]) for m in mechs], rotation=30 if len(mechs) > 3 else 0,
                  ha="right" if len(mechs) > 3 else "center")
    ax.set_ylabel(wrap_label(ylabel, 2.2))
    ax.grid(True, axis="y", linestyle="--", alpha=0.5)
    if options.title:
        ax.set_title(wrap_label(f"{ylabel}: distribution across {runs} runs", 0.9 * fig.get_figwidth()))
    legend_below(fig, [], [], _box_note(""), grow=options.height is None)
    return fig


def _positions(values: list) -> tuple[dict, bool]:
    """x position of each grouping value: the value itself when all are numbers, else its index."""
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)
    return {v: (float(v) if numeric else float(i)) for i, v in enumerate(values)}, numeric


def _parameter_axis(ax, values: list, numeric: bool, xlabel: str) -> None:
    if not numeric:
        ax.set_xticks(range(len(values)), [tick_text(v) for v in values], rotation=30 if len(values) > 3 else 0,
                      ha="right" if len(values) > 3 else "center")
    elif all(float(v).is_integer() for v in values):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)


def _mean_lines(rows: pd.DataFrame, by: str, positions: dict, options: FigureOptions):
    """``{mechanism: (x, mean, ci95_low, ci95_high)}`` sorted by x."""
    lines = {}
    for mech in options.keep(rows["mechanism"]):
        one = rows[rows["mechanism"] == mech]
        x = np.array([positions[v] for v in one[by]], dtype=float)
        order = np.argsort(x, kind="stable")
        lines[mech] = (x[order], *(one[c].to_numpy(dtype=float)[order] for c in ("mean", "ci95_low", "ci95_high")))
    return lines


@styled
def metric_vs_parameter(table: pd.DataFrame, by: str, metric: str, ylabel: str | None = None, *,
                        by_label: str | None = None, options: FigureOptions = DEFAULT_OPTIONS) -> Figure:
    """Mean of ``metric`` per mechanism against scenario parameter ``by``, with a band for the
    95 % confidence interval of the mean (Student t; none where a point has a single run).

    ``table``: :func:`p2pstore.reports.compare.compare` output grouped ``by``. Mechanisms without a
    finite mean get no line and no legend entry; mechanisms with equal means are drawn once, their
    entry marked and the others named in a note.
    """
    rows = table[table["metric"] == metric]
    values = _sorted_values(rows[by])
    positions, numeric = _positions(values)
    groups = equal_groups(_mean_lines(rows, by, positions, options))
    note = same_values_note([g for g, _ in groups])
    fig = new_figure(*options.size(COLUMN_WIDTH, 2.3 + (0.3 if options.title else 0)))
    ax = fig.add_subplot()
    handles = []
    for mechs, (x, mean, low, high) in groups:
        handles += ax.plot(x, mean, "-o", markersize=3, label=group_label(mechs), color=color(mechs[0]))
        if np.isfinite(low).any():
            ax.fill_between(x, low, high, color=color(mechs[0]), alpha=0.18, linewidth=0)
    if any(np.isfinite(low).any() for _, (_, _, low, _) in groups):
        handles.append(Patch(facecolor="tab:gray", alpha=0.3, label="95% CI of the mean"))
    xlabel = options.label(by, by_label or by)
    _parameter_axis(ax, values, numeric, xlabel)
    ylabel = options.label(metric, ylabel or metric)
    ax.set_ylabel(wrap_label(ylabel, 2.0))
    ax.grid(True, linestyle="--", alpha=0.5)
    if options.title:
        runs = rows["n"].max() if len(rows) else 0
        ax.set_title(wrap_label(f"{ylabel} (mean of up to {runs} runs per point)", 0.9 * fig.get_figwidth()))
    legend_below(fig, handles, [h.get_label() for h in handles], note, grow=options.height is None)
    return fig
