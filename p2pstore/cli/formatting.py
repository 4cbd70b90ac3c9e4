"""Rendering tables for the terminal and for scripts (table, csv, json, markdown)."""

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
    """Render a DataFrame: aligned text, CSV (full precision), JSON records, or Markdown."""
    if fmt == "csv":
        return df.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        return json.dumps(json.loads(df.to_json(orient="records", date_format="iso", double_precision=15)),
                          indent=1)
    if fmt == "markdown":
        cols = [str(c) for c in df.columns]
        rows = [[_text(v, float_digits) for v in r] for r in df.itertuples(index=False)]
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    if df.empty:
        return "(no rows)"
    return _aligned(df, float_digits)


def _aligned(df, digits: int | None = None) -> str:
    """Plain text table: numbers right-aligned, text left-aligned, headers like their column."""
    import pandas as pd

    columns = []
    for name in df.columns:
        values = df[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        cells = [_text(v, digits) for v in values]
        width = max([len(str(name))] + [len(c) for c in cells])
        pad = str.rjust if numeric else str.ljust
        columns.append([pad(str(name), width)] + [pad(c, width) for c in cells])
    return "\n".join("  ".join(row).rstrip() for row in zip(*columns))


def _text(v, digits: int | None = None) -> str:
    """One cell as text: blank for None/NaN, floats with ``digits`` decimals (and thousands
    separators) when given."""
    import pandas as pd

    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if digits is not None and isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


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
