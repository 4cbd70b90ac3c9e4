"""Self-contained HTML reports: tables plus figures embedded as base64 PNG (opens offline), and
the figures as png, svg or pdf files for a paper.

A single-run report (:mod:`p2pstore.reports.run_report`) has the notebook's daily table and its
two figures, community load and PV over a June and a December week, bills per household and by
kind of household, clearing prices over time and by hour of day, and the KPI table. A many-run
report (:mod:`p2pstore.reports.sweep_report`, ``--runs`` / ``--batch``) has the distributions of
savings per mechanism, every KPI against a grouping scenario parameter, savings by kind of
household, the comparison table and the table of runs. Nothing here writes to the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from p2pstore import registry
from p2pstore.errors import P2PStoreError
from p2pstore.progress import ProgressFactory, no_progress
from p2pstore.reports.figure_style import DEFAULT_OPTIONS, FIGURE_FORMATS, PRINT_DPI, FigureOptions
from p2pstore.reports.output import check_output_dir, check_output_file
from p2pstore.reports.report_page import HTML_DPI, Report  # noqa: F401 - part of this module's API
from p2pstore.reports.run_report import (community_bill_table, community_series_with_time, kpi_table,  # noqa: F401
                                         notebook_daily_table, single_run_report)
from p2pstore.reports.sweep_report import choose_grouping, many_runs_report, parameter_label  # noqa: F401


def make_report(store, out: str | Path, *, run_id: int | None = None, run_ids: Iterable[int] | None = None,
                batch: str | None = None, by: str | None = None, figures_dir: str | Path | None = None,
                figure_format: str = "png", dpi: int | None = None, png_dir: str | Path | None = None,
                progress: ProgressFactory = no_progress, options: FigureOptions = DEFAULT_OPTIONS) -> list[Path]:
    """Build the single-run (``run_id``) or many-run (``run_ids`` / ``batch``) report and write it
    to ``out``; with ``figures_dir`` also every figure as ``NN-name.<figure_format>`` (png, svg or
    pdf; ``dpi`` for png, default 300). ``png_dir`` is ``figures_dir`` with PNGs. ``options``:
    titles, size, mechanisms and axis labels of every figure. Returns the written paths, the HTML
    first. Both destinations are checked before the report is built."""
    if png_dir is not None:
        if figures_dir is not None:
            raise P2PStoreError("give --figures-dir or its alias --png-dir, not both")
        figures_dir, figure_format = png_dir, "png"
    if figure_format not in FIGURE_FORMATS:
        raise P2PStoreError(f"unknown figure format {figure_format!r} (known: {', '.join(FIGURE_FORMATS)})")
    if dpi is not None and not 10 <= dpi <= 2400:
        raise P2PStoreError(f"--dpi must be between 10 and 2400, got {dpi}")
    for name in options.mechanisms or ():
        if registry.find(name) is None:
            raise P2PStoreError(registry.unknown_message(name))
    check_output_file(out, "report file")
    if figures_dir is not None:
        check_output_dir(figures_dir, "--png-dir" if png_dir is not None else "--figures-dir")
    common = {"figure_format": figure_format if figures_dir is not None else None,
              "dpi": dpi or PRINT_DPI, "progress": progress, "options": options}
    if run_id is not None:
        report = single_run_report(store, int(run_id), **common)
    else:
        report = many_runs_report(store, run_ids=run_ids, batch=batch, by=by, **common)
    return report.write(out, figures_dir)
