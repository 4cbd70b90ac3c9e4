"""Units, labels and the one number formatter of every output (CLI tables, Markdown, LaTeX, HTML).

Each KPI's label, unit and natural precision come from :data:`p2pstore.kpis.METRICS` (the one
list of KPIs); ``{cur}`` in a unit is the scenario's currency.
This module imports nothing heavy: the CLI uses it on every table it prints.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from p2pstore.kpis import get_metric


#: Decimals of money in bills, totals and daily tables (currency).
MONEY_DECIMALS = 2


def metric_unit(name: str, currency: str = "Rs") -> str:
    """The unit of KPI ``name`` with the currency filled in ("" when dimensionless or unknown)."""
    metric = get_metric(name)
    return metric.unit.format(cur=currency) if metric is not None else ""


def metric_label(name: str, currency: str = "Rs") -> str:
    """Axis and table label of KPI ``name``: its words and, in parentheses, its unit (an unknown
    name: the name itself)."""
    metric = get_metric(name)
    return metric.caption(currency) if metric is not None else name


def metric_decimals(name: str) -> int | None:
    """The natural number of decimals of KPI ``name`` (None: unknown, chosen by magnitude)."""
    metric = get_metric(name)
    return None if metric is None else metric.decimals


def is_missing(value: Any) -> bool:
    """None, NaN or pandas' NA/NaT (all shown as an empty cell)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT, NA
    except (TypeError, ValueError):
        return False


def magnitude_decimals(values) -> int:
    """Decimals for numbers of unknown unit: 2 from 100 up, 3 from 1, else 4 (by the largest)."""
    finite = [abs(float(v)) for v in values if not is_missing(v) and math.isfinite(float(v))]
    top = max(finite, default=0.0)
    return 2 if top >= 100 else 3 if top >= 1 else 4


def format_number(value: Any, decimals: int | None = None, *, thousands: bool = True) -> str:
    """One number as text, the same in every output: "" for missing values, integers as they are
    (ids, counts, seeds), floats with ``decimals`` (None: :func:`magnitude_decimals`) and a
    thousands separator; no negative zero."""
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return str(int(value))
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return str(x)
    d = magnitude_decimals([x]) if decimals is None else decimals
    text = f"{x:,.{d}f}" if thousands else f"{x:.{d}f}"
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]
    return text


def format_value(value: Any) -> str:
    """A cell of a column without a unit's precision (a grouping value, an id, a label): text as it
    is, integral floats as integers, other floats in their shortest exact form (0.1, 3.8)."""
    if is_missing(value):
        return ""
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "f"):
        x = float(value)
        return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def format_plus_minus(center: Any, spread: Any, decimals: int | None = None) -> str:
    """``"8.46 ± 0.95"`` (both at ``decimals``); only the centre when the spread is missing."""
    if is_missing(center):
        return ""
    if decimals is None:
        decimals = magnitude_decimals([center])
    text = format_number(center, decimals)
    return text if is_missing(spread) else f"{text} ± {format_number(spread, decimals)}"
