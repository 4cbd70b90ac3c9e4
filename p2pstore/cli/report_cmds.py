"""``p2pstore compare``, ``p2pstore report`` and ``p2pstore export``: read stored runs back out."""

from __future__ import annotations

import click

from p2pstore.cli import open_store
from p2pstore.cli.formatting import echo_warnings, format_option
from p2pstore.errors import P2PStoreError
from p2pstore.progress import progress_bar
from p2pstore.reports.compare import (
    COMPARE_FORMATS,
    PIVOT_ALIASES,
    PIVOT_STATS,
    compare as compare_runs,
    known_parameters,
    parse_run_ids,
    pivot_compare,
    render_compare,
    render_pivot,
)


def _selection(run_ids: str | None, batch: str | None, run_id: int | None = None, *, single: bool = False) -> dict:
    """Exactly one of --run (if ``single`` is allowed), --runs, --batch, as library arguments."""
    given = [name for name, v in (("--run", run_id), ("--runs", run_ids), ("--batch", batch)) if v is not None]
    if len(given) != 1:
        options = "--run ID, --runs IDS or --batch NAME" if single else "--runs IDS or --batch NAME"
        raise P2PStoreError(f"give exactly one of {options}" + (f" (got {' and '.join(given)})" if given else ""))
    sel = {"run_ids": parse_run_ids(run_ids) if run_ids is not None else None, "batch": batch}
    return {**sel, "run_id": run_id} if single else sel


@click.command()
@click.option("--runs", "run_ids", metavar="IDS", help="Run ids, e.g. 1,2,5-8.")
@click.option("--batch", metavar="NAME", help="Every finished run of this batch.")
@click.option("--by", metavar="PARAM", help="Group by a scenario parameter: " + ", ".join(known_parameters()) + ".")
@click.option("--metric", "metrics", multiple=True, metavar="NAME", help="Only this KPI (repeatable; default all).")
@click.option("--mechanism", "mechanisms", multiple=True, metavar="NAME",
              help="Only this mechanism (repeatable; e.g. leave out the conventional baseline).")
@click.option("--pivot", "pivot", type=click.Choice([*PIVOT_STATS, *PIVOT_ALIASES]), metavar="STAT",
              help="Mechanisms as columns (a paper's layout), each cell this statistic: "
                   + "|".join(PIVOT_STATS) + " (± the sd or the 95% CI half-width; also written "
                   + " or ".join(PIVOT_ALIASES) + ").")
@format_option(*COMPARE_FORMATS)
@click.option("--caption", metavar="TEXT", help="LaTeX: the table's caption (plain text; escaped).")
@click.option("--label", metavar="KEY", help="LaTeX: the table's label, e.g. tab:savings.")
@click.option("--layout", type=click.Choice(["auto", "wide", "long"]), default="auto", show_default=True,
              help="LaTeX: a column per mechanism (wide), a row per mechanism (long), or wide while it fits "
                   "8 columns (auto).")
@click.pass_context
def compare(ctx, run_ids, batch, by, metrics, mechanisms, pivot, fmt, caption, label, layout):
    """Compare mechanisms across runs: per group, n, mean, median, sd, min, max and the
    Student-t 95% confidence interval of the mean of each KPI.

    KPIs, their units and formulas: docs/metrics.md (the project's KPIs, and the indices of Zhou,
    Wu & Long 2018: value_tapping_index, participation_index, equality_index,
    energy_balance_index, epari, self_sufficiency_index). csv and json carry every statistic at
    full precision; table and markdown print each KPI at its precision. latex gives a paper's
    table: a table environment (--caption, --label) around a booktabs tabular, a column per
    mechanism with one cell each (--pivot STAT, default mean±ci95) and n once, or a row per
    mechanism when they are many (--layout).

    \b
    Examples:
      p2pstore compare --batch share --by prosumer_share --metric savings_vs_conventional_pct
      p2pstore compare --runs 1-20 --format markdown > table.md
      p2pstore compare --runs 1 --pivot mean --metric budget_balance --metric participation_index
      p2pstore compare --batch share --by prosumer_share --metric savings_vs_conventional_pct \\
          --mechanism mmr --mechanism bill_sharing --format latex --caption "Savings (%)" --label tab:savings
      p2pstore compare --batch tou --by tariffs --metric community_bill
    """
    if fmt != "latex" and (caption is not None or label is not None):
        raise P2PStoreError("--caption and --label go with --format latex")
    table = compare_runs(open_store(ctx), **_selection(run_ids, batch), by=by, metrics=list(metrics) or None,
                         mechanisms=list(mechanisms) or None)
    if fmt == "latex":
        # lazy: the LaTeX table imports pandas, which `p2pstore --help` must not load
        from p2pstore.reports.latex_table import latex_compare

        click.echo(latex_compare(table, pivot, caption=caption, label=label, layout=layout))
        return
    if pivot:
        click.echo(render_pivot(pivot_compare(table, pivot), fmt))
        return
    click.echo(render_compare(table, fmt))


@click.command()
@click.option("--run", "run_id", type=int, metavar="ID", help="One run: daily table, figures, bills, prices, KPIs.")
@click.option("--runs", "run_ids", metavar="IDS", help="Several runs, e.g. 1,2,5-8.")
@click.option("--batch", metavar="NAME", help="Every finished run of this batch.")
@click.option("--by", metavar="PARAM", help="Grouping scenario parameter for many runs (default: the first that varies).")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False), help="HTML file to write.")
@click.option("--figures-dir", type=click.Path(file_okay=False), help="Also write every figure here, as NN-name.FORMAT.")
@click.option("--figure-format", type=click.Choice(["png", "svg", "pdf"]), default="png", show_default=True,
              help="Format of the files in --figures-dir (svg and pdf are vector graphics, text kept as text).")
@click.option("--dpi", type=click.IntRange(10, 2400), help="Resolution of PNG files in --figures-dir (default 300).")
@click.option("--png-dir", type=click.Path(file_okay=False), help="Alias of --figures-dir DIR --figure-format png.")
@click.option("--no-titles", is_flag=True, help="Draw no titles above the figures (a paper's captions say it).")
@click.option("--figure-width", type=float, metavar="IN", help="Width of every figure in inches (1.5-7.2; "
              "default: 3.5 for a KPI against a parameter, 7.2 for the others).")
@click.option("--figure-height", type=float, metavar="IN", help="Height of every figure in inches (default: each its own).")
@click.option("--mechanism", "mechanisms", multiple=True, metavar="NAME",
              help="Draw only this mechanism (repeatable; default all).")
@click.option("--axis-label", "axis_labels", multiple=True, metavar="NAME=TEXT",
              help="Axis label of a KPI or parameter, e.g. 'prosumer_share=Share of prosumers' (repeatable).")
@click.pass_context
def report(ctx, run_id, run_ids, batch, by, out, figures_dir, figure_format, dpi, png_dir, no_titles, figure_width,
           figure_height, mechanisms, axis_labels):
    """Write a self-contained HTML report (figures embedded; opens offline), and the figures as
    files for a paper: at most 7.2 in wide, TrueType fonts in PDF, text as text in SVG.

    \b
    Examples:
      p2pstore report --run 1 -o run1.html
      p2pstore report --batch share --by prosumer_share -o share.html --figures-dir figs/ --figure-format pdf
      p2pstore report --batch share -o share.html --figures-dir figs/ --figure-format pdf --no-titles \\
          --mechanism mmr --mechanism bill_sharing --axis-label "prosumer_share=Share of prosumers"
      p2pstore report --batch pv --png-dir figs/ --dpi 150 -o pv.html
    """
    # lazy: figure_style imports matplotlib and the HTML report pandas and numpy, which
    # `p2pstore --help` (it imports every command module) must not load
    from p2pstore.reports.figure_style import FigureOptions, parse_labels
    from p2pstore.reports.html import make_report  # lazy, as above

    sel = _selection(run_ids, batch, run_id, single=True)
    options = FigureOptions(title=not no_titles, width=figure_width, height=figure_height,
                            mechanisms=tuple(mechanisms) or None, labels=parse_labels(axis_labels))
    paths = make_report(open_store(ctx), out, by=by, figures_dir=figures_dir, figure_format=figure_format, dpi=dpi,
                        png_dir=png_dir, progress=progress_bar, options=options, **sel)
    where = figures_dir or png_dir
    fmt = "png" if png_dir else figure_format
    click.echo(f"wrote {paths[0]}" + (f" and {len(paths) - 1} {fmt.upper()} files to {where}" if where else ""))


@click.command()
@click.argument("run_id", type=int, required=False)
@click.option("--batch", metavar="NAME", help="Every run of this batch instead: each table once, with run_id.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True,
              help="File format (parquet needs the 'parquet' extra: pyarrow).")
@click.option("-o", "--output", "out", required=True, type=click.Path(file_okay=False), help="Directory to write.")
@click.option("--partial", is_flag=True,
              help="Export a batch whose runs are not all finished (queued or running ones are left out, "
                   "with a warning); without it such a batch is refused.")
@click.pass_context
def export(ctx, run_id, batch, fmt, out, partial):
    """Export a run's tables, or a batch's, one file per table (streamed: memory stays bounded).

    A run also gets scenario.json (its spec); every export gets manifest.json (which runs the
    files hold, their statuses). A batch with runs still queued or running is refused unless
    --partial. A progress bar is drawn on a terminal.

    \b
    Examples:
      p2pstore export 1 --format parquet -o run1/
      p2pstore export --batch share --format csv -o share/
      p2pstore runs wait --batch share && p2pstore export --batch share -o share/
      p2pstore export --batch share --partial -o share-so-far/
    """
    # lazy: ~10 ms at start-up that only this command needs (it loads pyarrow itself when writing)
    from p2pstore.reports.export import export_batch, export_run

    if (run_id is None) == (batch is None):
        raise P2PStoreError("give a RUN_ID or --batch NAME" + (", not both" if batch is not None else ""))
    store = open_store(ctx)
    if batch is not None:
        with echo_warnings():  # --partial: how many runs are left out
            paths = export_batch(store, batch, out, fmt, partial=partial, progress=progress_bar)
    else:
        paths = export_run(store, run_id, out, fmt, progress=progress_bar)
    click.echo(f"wrote {len(paths)} files to {out}")
