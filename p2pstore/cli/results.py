"""``p2pstore bills`` and ``p2pstore query``: read results back."""

from __future__ import annotations

import click

from p2pstore.cli import open_store
from p2pstore.cli.formatting import format_option, render


@click.command()
@click.argument("run_id", type=int)
@format_option("table", "csv", "json")
@click.pass_context
def bills(ctx, run_id, fmt):
    """Bills of one run: a row per household, a column per mechanism (currency).

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


@click.command()
@click.argument("sql")
@format_option("table", "csv", "json")
@click.pass_context
def query(ctx, sql, fmt):
    """Run a read-only SQL query against the store.

    SQLite is opened read-only and PostgreSQL runs the statement in a READ ONLY
    transaction: a write is refused and changes nothing. Tables: see docs/schema.md.

    \b
    Example:
      p2pstore query "SELECT mechanism, SUM(bill) AS total FROM bills WHERE run_id = 1 GROUP BY mechanism"
    """
    click.echo(render(open_store(ctx).query(sql), fmt))
