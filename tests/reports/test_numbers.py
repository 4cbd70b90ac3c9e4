"""One number formatter and the table formats for people: units and precision per KPI, Markdown
alignment row, LaTeX booktabs tabular with escaped text."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from p2pstore.kpis import METRICS
from p2pstore.reports.numbers import (format_number, format_plus_minus, format_value, metric_decimals, metric_label,
                                      metric_unit)
from p2pstore.reports.tables import latex_escape, render_table
from p2pstore.settlement.metrics import METRIC_NAMES


def test_every_metric_has_a_unit_and_a_precision():
    assert [m.name for m in METRICS] == list(METRIC_NAMES)
    assert all(metric_decimals(name) is not None for name in METRIC_NAMES)
    assert metric_decimals("a_new_kpi") is None
    assert metric_unit("community_bill", "EUR") == "EUR" and metric_unit("savings_vs_conventional_pct") == "%"
    assert metric_label("grid_import_kwh") == "Grid import (kWh)"
    assert metric_label("a_new_kpi") == "a_new_kpi"


@pytest.mark.parametrize("value, decimals, text", [
    (5532.262, 2, "5,532.26"), (19750.7802, 1, "19,750.8"), (-0.0001, 2, "0.00"), (-3.14159, 3, "-3.142"),
    (None, 2, ""), (float("nan"), 2, ""), (np.float64(0.5), 3, "0.500"), (7, 2, "7"), (np.int64(12), None, "12"),
    (1234.5, None, "1,234.50"), (0.01234, None, "0.0123"),
])
def test_format_number(value, decimals, text):
    assert format_number(value, decimals) == text


def test_format_value_and_plus_minus():
    assert [format_value(v) for v in (0.1, 3.0, 7, "x", None, pd.Timestamp("2025-01-02 03:04"))] == \
        ["0.1", "3", "7", "x", "", "2025-01-02 03:04"]
    assert format_plus_minus(8.4567, 0.9512, 2) == "8.46 ± 0.95"
    assert format_plus_minus(8.4567, math.nan, 2) == "8.46"


def test_markdown_has_an_alignment_row_and_latex_a_booktabs_tabular():
    df = pd.DataFrame({"mechanism": ["mmr", "bill_sharing"], "share": [0.1, 0.2], "mean": [1234.5678, -2.5]})
    md = render_table(df, "markdown", decimals={"mean": 2}).splitlines()
    assert md[0] == "| mechanism | share | mean |" and md[1] == "| :--- | ---: | ---: |"
    assert md[2] == "| mmr | 0.1 | 1,234.57 |"
    tex = render_table(df, "latex", decimals={"mean": 2}, headers={"mean": "mean (%)"}).splitlines()
    assert tex[0] == r"\begin{tabular}{lrr}" and tex[1] == r"\toprule" and tex[-2:] == [r"\bottomrule", r"\end{tabular}"]
    assert tex[2] == r"mechanism & share & mean (\%) \\" and tex[3] == r"\midrule"
    assert tex[5] == r"bill\_sharing & 0.2 & $-$2.50 \\"
    assert latex_escape("a_b & 5% ± #1 {x} ~^\\") == r"a\_b \& 5\% $\pm$ \#1 \{x\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
