"""Cross-run comparison tables, matplotlib figures, HTML reports and exports (read-only).

    from p2pstore import Store
    from p2pstore.reports import compare_runs, make_report, export_run, export_batch

    store = Store("sqlite:///p2pstore.db")
    compare_runs(store, batch="pv", by="prosumers", metrics=["savings_vs_conventional_pct"])
    make_report(store, "sweep.html", batch="pv")
    export_run(store, 1, "run1/", "csv")
    export_batch(store, "pv", "pv/", "parquet")

Names are resolved lazily: importing this package does not import pandas or matplotlib.
(``compare_runs`` is :func:`p2pstore.reports.compare.compare`; the package attribute ``compare``
is the submodule.)
"""

from __future__ import annotations

#: public name -> (module, attribute)
_EXPORTS = {
    "compare_runs": ("p2pstore.reports.compare", "compare"),
    "render_compare": ("p2pstore.reports.compare", "render_compare"),
    "select_runs": ("p2pstore.reports.compare", "select_runs"),
    "make_report": ("p2pstore.reports.html", "make_report"),
    "single_run_report": ("p2pstore.reports.html", "single_run_report"),
    "many_runs_report": ("p2pstore.reports.html", "many_runs_report"),
    "export_run": ("p2pstore.reports.export", "export_run"),
    "export_batch": ("p2pstore.reports.export", "export_batch"),
    "pivot_compare": ("p2pstore.reports.compare", "pivot_compare"),
    "latex_compare": ("p2pstore.reports.latex_table", "latex_compare"),
    "bills_by_kind": ("p2pstore.reports.groups", "bills_by_kind"),
    "compare_by_kind": ("p2pstore.reports.groups", "compare_by_kind"),
    "verify_run": ("p2pstore.reports.verify", "verify_run"),
    "FigureOptions": ("p2pstore.reports.figure_style", "FigureOptions"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'p2pstore.reports' has no attribute {name!r}")
    # names resolve lazily: importing the package imports neither pandas nor matplotlib
    import importlib

    return getattr(importlib.import_module(target[0]), target[1])
