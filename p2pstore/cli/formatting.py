"""Rendering tables for the terminal and for scripts (table, csv, json, markdown)."""

from __future__ import annotations

import json

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


#: Rows ``query`` shows in the table format unless ``--limit`` says otherwise (csv and json stream
#: every row).
TABLE_ROW_LIMIT = 1000


def echo_rows(columns: list[str], batches, fmt: str) -> int:
    """Print a query's rows as they arrive (csv: a line per row; json: one array, a record per
    line; table: collected, then aligned). Returns the number of rows printed."""
    import csv
    import io

    n = 0
    if fmt == "table":
        import pandas as pd

        rows = [r for batch in batches for r in batch]
        click.echo(render(pd.DataFrame.from_records(rows, columns=columns), "table"))
        return len(rows)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        click.echo(buf.getvalue(), nl=False)
        for batch in batches:
            buf.seek(0)
            buf.truncate()
            writer.writerows(batch)
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
    import datetime as dt
    import decimal
    import math

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
