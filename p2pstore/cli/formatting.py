"""Rendering tables for the terminal and for scripts (table, csv, json, markdown, latex)."""

from __future__ import annotations

import contextlib
import json
import warnings

import click

FORMATS = ("table", "csv", "json")


def format_option(*choices: str, default: str = "table", help: str = "Output format."):
    """The ``--format`` option (parameter ``fmt``) offering ``choices`` (default :data:`FORMATS`)."""
    return click.option("--format", "fmt", type=click.Choice(choices or FORMATS), default=default,
                        show_default=True, help=help)


def render(df, fmt: str = "table", *, float_digits: int | None = None) -> str:
    """Render a DataFrame (see :func:`p2pstore.reports.tables.render_table`): aligned text,
    Markdown or LaTeX with floats at ``float_digits`` decimals (None: exact), or CSV / JSON at
    full precision."""
    from p2pstore.reports.tables import render_table

    return render_table(df, fmt, decimals={} if float_digits is None else float_digits)


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, indent=1, default=str))


@contextlib.contextmanager
def echo_warnings():
    """Print the :class:`~p2pstore.errors.DataWarning` s raised inside the block as
    ``Warning: <message>`` lines on stderr (other warnings are not the user's business)."""
    from p2pstore.errors import DataWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        yield
    for w in caught:
        if issubclass(w.category, DataWarning):
            click.echo(f"Warning: {w.message}", err=True)
