"""Rendering tables for the terminal and for scripts (table, csv, json, markdown, latex)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import io
import json
import math
import warnings

import click

from p2pstore.csv_cells import safe_row
from p2pstore.errors import DataWarning
from p2pstore.reports.tables import render_table

FORMATS = ("table", "csv", "json")


def format_option(*choices: str, default: str = "table", help: str = "Output format."):
    """The ``--format`` option (parameter ``fmt``) offering ``choices`` (default :data:`FORMATS`)."""
    return click.option("--format", "fmt", type=click.Choice(choices or FORMATS), default=default,
                        show_default=True, help=help)


def render(df, fmt: str = "table", *, float_digits: int | None = None) -> str:
    """Render a DataFrame (see :func:`p2pstore.reports.tables.render_table`): aligned text,
    Markdown or LaTeX with floats at ``float_digits`` decimals (None: exact), or CSV / JSON at
    full precision."""
    return render_table(df, fmt, decimals={} if float_digits is None else float_digits)


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, indent=1, default=str))


@contextlib.contextmanager
def echo_warnings():
    """Print the :class:`~p2pstore.errors.DataWarning` s raised inside the block as
    ``Warning: <message>`` lines on stderr (other warnings are not the user's business)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        yield
    for w in caught:
        if issubclass(w.category, DataWarning):
            click.echo(f"Warning: {w.message}", err=True)


#: Rows ``query`` shows in the table format unless ``--limit`` says otherwise (csv and json stream
#: every row).
TABLE_ROW_LIMIT = 1000


def echo_rows(columns: list[str], batches, fmt: str) -> int:
    """Print a query's rows as they arrive (csv: a line per row; json: one array, a record per
    line; table: collected, then aligned). Returns the number of rows printed."""
    n = 0
    if fmt == "table":
        # lazy: pandas takes a third of a second to import; csv and json stream without it
        import pandas as pd

        rows = [r for batch in batches for r in batch]
        click.echo(render(pd.DataFrame.from_records(rows, columns=columns), "table"))
        return len(rows)
    if fmt == "csv":  # text cells a spreadsheet would evaluate are neutralised (p2pstore.csv_cells)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(safe_row(columns))
        click.echo(buf.getvalue(), nl=False)
        for batch in batches:
            buf.seek(0)
            buf.truncate()
            writer.writerows(map(safe_row, batch))
            click.echo(buf.getvalue(), nl=False)
            n += len(batch)
        return n
    click.echo("[", nl=False)
    for batch in batches:
        lines = [json.dumps(dict(zip(columns, map(_json_value, row))), ensure_ascii=False) for row in batch]
        click.echo(("," if n else "") + "\n" + ",\n".join(lines), nl=False)
        n += len(batch)
    click.echo("\n]")
    return n


def _json_value(v):
    """A database value as JSON: numbers stay numbers (non-finite ones null), times ISO 8601,
    bytes hex, anything else its text."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, decimal.Decimal):
        return float(v) if v.is_finite() else None
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    return str(v)
