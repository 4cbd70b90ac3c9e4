"""A comparison as a LaTeX table for a paper: a ``table`` environment (caption, label) around a
booktabs ``tabular`` that fits a page.

Wide layout (the default while it fits :data:`MAX_COLUMNS` columns): a row per value of the
grouping parameter under a heading row per KPI (its words and unit), a column per mechanism
(display names) holding one cell (``mean ± ci95`` by default) and the number of runs once.
Long layout (many mechanisms): a row per mechanism and grouping value, four columns. Every text
is escaped; the caption too (write plain text: ``%`` and ``_`` are safe).
"""

from __future__ import annotations

import re

import pandas as pd

from p2pstore import display
from p2pstore.errors import P2PStoreError
from p2pstore.reports.compare import PIVOT_ALIASES, PIVOT_STATS, STATISTICS, ordered_mechanisms, row_decimals
from p2pstore.reports.numbers import format_number, format_plus_minus, format_value, metric_label
from p2pstore.reports.tables import latex_escape

#: Most columns of the wide layout; more mechanisms switch to the long layout.
MAX_COLUMNS = 8
LAYOUTS = ("auto", "wide", "long")
#: Statistic of each cell when none is asked for.
DEFAULT_STAT = "mean±ci95"
STAT_TITLES = {"mean±sd": "mean $\\pm$ sd", "mean±ci95": "mean $\\pm$ 95\\,\\% CI"}
LABEL_PATTERN = re.compile(r"[A-Za-z0-9:._/-]+")


def _cells(rows: pd.DataFrame, stat: str, decimals: list) -> list[str]:
    center, _, spread = stat.partition("±")
    if spread == "sd":
        spreads = rows["sd"].tolist()
    elif spread == "ci95":
        spreads = (rows["ci95_high"] - rows["mean"]).tolist()
    else:
        return [format_number(v, d) for v, d in zip(rows[center].tolist(), decimals)]
    return [format_plus_minus(c, s, d) for c, s, d in zip(rows[center].tolist(), spreads, decimals)]


def _n_text(n: pd.Series) -> str:
    lo, hi = int(n.min()), int(n.max())
    return str(lo) if lo == hi else f"{lo}--{hi}"


def _metric_heading(metric: str, currency: str, width: int) -> str:
    return rf"\multicolumn{{{width}}}{{l}}{{\textit{{{latex_escape(metric_label(metric, currency))}}}}} \\"


def _wide(table: pd.DataFrame, by: str | None, stat: str, currency: str) -> list[str]:
    mechs = ordered_mechanisms(table["mechanism"])
    head = ([latex_escape(display.parameter(by, currency))] if by else ["KPI"]) + \
        [latex_escape(display.mechanism(m)) for m in mechs] + ["$n$"]
    span = rf" & \multicolumn{{{len(mechs)}}}{{c}}{{{STAT_TITLES.get(stat, stat)}}} & \\"
    out = [rf"\begin{{tabular}}{{l{'r' * (len(mechs) + 1)}}}", r"\toprule", span, rf"\cmidrule(lr){{2-{len(mechs) + 1}}}",
           " & ".join(head) + r" \\", r"\midrule"]
    for k, metric in enumerate(dict.fromkeys(table["metric"])):
        rows = table[table["metric"] == metric]
        cells = dict(zip(zip(rows[by] if by else [None] * len(rows), rows["mechanism"]),
                         _cells(rows, stat, row_decimals(rows["metric"], rows[["mean"]]))))
        if by:
            out += [r"\addlinespace"] if k else []
            out.append(_metric_heading(metric, currency, len(head)))
        for value in dict.fromkeys(rows[by]) if by else [None]:
            first = format_value(display.parameter_value(by, value)) if by else metric_label(metric, currency)
            n = rows[rows[by] == value]["n"] if by else rows["n"]
            line = [latex_escape(first)] + [latex_escape(cells.get((value, m), "")) for m in mechs] + [_n_text(n)]
            out.append(" & ".join(line) + r" \\")
    return out + [r"\bottomrule", r"\end{tabular}"]


def _long(table: pd.DataFrame, by: str | None, stat: str, currency: str) -> list[str]:
    head = ([latex_escape(display.parameter(by, currency))] if by else []) + ["Mechanism", STAT_TITLES.get(stat, stat),
                                                                              "$n$"]
    out = [rf"\begin{{tabular}}{{{'l' * (len(head) - 2)}rr}}", r"\toprule", " & ".join(head) + r" \\", r"\midrule"]
    for k, metric in enumerate(dict.fromkeys(table["metric"])):
        rows = table[table["metric"] == metric]
        cells = _cells(rows, stat, row_decimals(rows["metric"], rows[["mean"]]))
        if k:
            out.append(r"\addlinespace")
        out.append(_metric_heading(metric, currency, len(head)))
        previous = object()
        for (_, row), cell in zip(rows.iterrows(), cells):
            first = []
            if by:
                value = display.parameter_value(by, row[by])
                first = [latex_escape(format_value(value)) if value != previous else ""]
                previous = value
            out.append(" & ".join([*first, latex_escape(display.mechanism(row["mechanism"])), latex_escape(cell),
                                   str(int(row["n"]))]) + r" \\")
    return out + [r"\bottomrule", r"\end{tabular}"]


def latex_compare(table: pd.DataFrame, stat: str | None = None, *, caption: str | None = None,
                  label: str | None = None, layout: str = "auto") -> str:
    """:func:`p2pstore.reports.compare.compare`'s long table as a LaTeX ``table`` (``booktabs``).

    ``stat``: each cell (:data:`~p2pstore.reports.compare.PIVOT_STATS`; default ``mean±ci95``,
    the ± being the 95 % CI half-width); ``layout``: ``wide``, ``long`` or ``auto`` (wide up to
    :data:`MAX_COLUMNS` columns). The grouping parameter is the table's column beside
    ``mechanism`` that is not a statistic (none when ungrouped).
    """
    stat = PIVOT_ALIASES.get(stat or DEFAULT_STAT, stat or DEFAULT_STAT)
    if stat not in PIVOT_STATS:
        raise P2PStoreError(f"unknown statistic {stat!r} (known: {', '.join(PIVOT_STATS)})")
    if layout not in LAYOUTS:
        raise P2PStoreError(f"unknown layout {layout!r} (known: {', '.join(LAYOUTS)})")
    if label is not None and not LABEL_PATTERN.fullmatch(label):
        raise P2PStoreError(f"bad LaTeX label {label!r}: letters, digits and : . _ / - only, e.g. tab:savings")
    keys = [c for c in table.columns if c not in ("mechanism", "metric", "unit", *STATISTICS)]
    by = keys[0] if keys else None
    n_mechs = table["mechanism"].nunique()
    wide = layout == "wide" or (layout == "auto" and n_mechs + 2 <= MAX_COLUMNS)
    currency = table.attrs.get("currency", "Rs")
    body = (_wide if wide else _long)(table, by, stat, currency)
    out = [r"\begin{table}[htbp]", r"\centering"]
    if caption:
        out.append(rf"\caption{{{latex_escape(caption)}}}")
    if label:
        out.append(rf"\label{{{label}}}")
    return "\n".join([*out, *body, r"\end{table}"])
