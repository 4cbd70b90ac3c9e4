"""``p2pstore bills`` and ``p2pstore query``: read results back."""

from __future__ import annotations

import click

from p2pstore.cli import open_store
from p2pstore.cli.formatting import TABLE_ROW_LIMIT, echo_rows, format_option, render
from p2pstore.limits import DEFAULT_QUERY_TIMEOUT_S


@click.command()
@click.argument("run_id", type=int)
@format_option("table", "csv", "json")
@click.pass_context
def bills(ctx, run_id, fmt):
    """Bills of one run: a row per household, a column per mechanism (in the run's currency,
    named under the table).

    \b
    Example:
      p2pstore bills 1 --format csv > bills.csv
    """
    store = open_store(ctx)
    store.get_run(run_id)  # NotFoundError for an unknown id
    long = store.bills([run_id])
    wide = long.pivot(index="household", columns="mechanism", values="bill")
    order = list(dict.fromkeys(long["household"]))
    wide = wide.loc[order, list(dict.fromkeys(long["mechanism"]))].reset_index()
    wide.columns.name = None
    click.echo(render(wide, fmt, float_digits=2 if fmt == "table" else None))
    if fmt == "table":
        from p2pstore.reports.compare import currency_of  # pandas is loaded already: only for the caption

        click.echo(f"(bills over the horizon, {currency_of(store.run_params([run_id]))}; < 0 = net income)")


@click.command()
@click.argument("sql")
@format_option("table", "csv", "json")
@click.option("--timeout", type=click.FloatRange(min=0), default=DEFAULT_QUERY_TIMEOUT_S, show_default=True,
              metavar="SECONDS", help="End the query after this many seconds (0: no limit).")
@click.option("--limit", type=click.IntRange(min=0), metavar="N",
              help=f"Print at most N rows (default: {TABLE_ROW_LIMIT} for the table format, all for csv/json; "
                   "0: all).")
@click.pass_context
def query(ctx, sql, fmt, timeout, limit):
    """Run one read-only SQL query against the store; rows stream to the output.

    The query can only read the store: SQLite is opened read-only and refuses ATTACH, VACUUM
    INTO, PRAGMA writes and extensions; PostgreSQL runs it in a READ ONLY transaction as the
    p2pstore_reader role, which cannot touch server files or programs, settings, locks or other
    sessions, even when the store's URL is a superuser's. Anything else is refused in one line
    and changes nothing. Tables: see docs/schema.md.

    \b
    Examples:
      p2pstore query "SELECT mechanism, SUM(bill) AS total FROM bills WHERE run_id = 1 GROUP BY mechanism"
      p2pstore query "SELECT * FROM household_series WHERE run_id = 1" --format csv > series.csv
      p2pstore query "SELECT * FROM runs" --limit 20 --timeout 10
    """
    # lazy: the store imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.querygate.query import open_readonly_query

    if limit is None:
        limit = TABLE_ROW_LIMIT if fmt == "table" else 0
    store = open_store(ctx)
    with open_readonly_query(store.engine, sql, timeout=timeout, limit=limit or None) as result:
        echo_rows(result.columns, result.batches(), fmt)
    if result.truncated:
        click.echo(f"(only the first {limit} rows are shown: --limit N for more, 0 for all, or --format csv)",
                   err=True)
