"""Rendering a table in one of the output formats: aligned text, CSV, JSON, Markdown, LaTeX.

CSV and JSON carry the numbers at full precision (for scripts); the three formats for people
(``table``, ``markdown``, ``latex``) format every number through
:func:`p2pstore.reports.numbers.format_number` with the decimals the caller gives per column (or
per row: a KPI's precision), so a number reads the same wherever it is printed. Pandas is
imported only when a table is rendered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from p2pstore.csv_cells import safe_frame
from p2pstore.errors import P2PStoreError
from p2pstore.reports.numbers import format_number, format_value

if TYPE_CHECKING:
    import pandas as pd

#: Every output format; the first three are for people.
TABLE_FORMATS = ("table", "csv", "json", "markdown", "latex")

#: Per column: decimals for every row (int), per row (a sequence), or None (by magnitude).
Decimals = Mapping[str, "int | None | Sequence[int | None]"]


def render_table(df: pd.DataFrame, fmt: str = "table", *, decimals: Decimals | int | None = None,
                 cells: Mapping[str, Sequence[str]] | None = None, right: Sequence[str] | None = None,
                 headers: Mapping[str, str] | None = None, break_on: str | None = None) -> str:
    """``df`` as ``fmt`` (one of :data:`TABLE_FORMATS`).

    For the people formats: ``decimals`` gives each float column's precision (an int applies to
    every float column; columns it omits are shown exactly, as grouping values are);
    ``cells`` supplies ready text for some columns (e.g. ``mean ± sd``); ``right`` names the
    right-aligned columns (default: the numeric ones and those of ``cells``); ``headers``
    renames columns for display; ``break_on`` separates runs of equal values of that column
    (a blank line in text, ``\\addlinespace`` in LaTeX).
    """
    if fmt == "csv":  # text cells a spreadsheet would evaluate are neutralised (p2pstore.csv_cells)
        return safe_frame(df).to_csv(index=False).rstrip("\n")
    if fmt == "json":
        return json.dumps(json_records(df), indent=1)
    if fmt not in TABLE_FORMATS:
        raise P2PStoreError(f"unknown format {fmt!r} (known: {', '.join(TABLE_FORMATS)})")
    columns = [str(c) for c in df.columns]
    text = text_columns(df, decimals, cells)
    if right is None:
        right = [c for c in columns if _is_numeric(df[c]) or (cells and c in cells)]
    aligned_right = [c in set(right) for c in columns]
    names = [(headers or {}).get(c, c) for c in columns]
    rows = [list(r) for r in zip(*(text[c] for c in columns))] if columns else []
    breaks = _breaks(df[break_on].tolist()) if break_on is not None and break_on in df.columns else set()
    if fmt == "markdown":
        return _markdown(names, rows, aligned_right)
    if fmt == "latex":
        return _latex(names, rows, aligned_right, breaks)
    return _aligned(names, rows, aligned_right, breaks)


def json_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """``df`` as JSON-ready records: floats exact (shortest repr), missing values null,
    timestamps ISO 8601, numpy scalars as Python numbers."""
    # imported when called: the CLI imports this module at start-up without pandas or scipy
    from p2pstore.reports.numbers import is_missing

    def plain(v):
        if is_missing(v):
            return None
        if hasattr(v, "isoformat"):
            return v.isoformat()
        if hasattr(v, "item"):  # numpy scalar
            return v.item()
        return v

    columns = [str(c) for c in df.columns]
    values = [[plain(v) for v in df[c].tolist()] for c in df.columns]
    return [dict(zip(columns, row)) for row in zip(*values)]


def text_columns(df: pd.DataFrame, decimals: Decimals | int | None = None,
                 cells: Mapping[str, Sequence[str]] | None = None) -> dict[str, list[str]]:
    """Each column of ``df`` as a list of cell texts (see :func:`render_table`)."""
    out: dict[str, list[str]] = {}
    for col in df.columns:
        name = str(col)
        if cells and name in cells:
            out[name] = list(cells[name])
            continue
        values = df[col].tolist()
        if isinstance(decimals, Mapping):
            spec = decimals.get(name, "exact")
        else:
            spec = decimals if _is_float(df[col]) else "exact"
        if spec == "exact":
            out[name] = [format_value(v) for v in values]
        elif isinstance(spec, Sequence):
            out[name] = [format_number(v, d) for v, d in zip(values, spec)]
        else:
            out[name] = [format_number(v, spec) for v in values]
    return out


def _is_numeric(series) -> bool:
    # imported when called: the CLI imports this module at start-up without pandas or scipy
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _is_float(series) -> bool:
    # imported when called: the CLI imports this module at start-up without pandas or scipy
    import pandas as pd

    return pd.api.types.is_float_dtype(series)


def _breaks(values: list[Any]) -> set[int]:
    """Row indices where ``values`` changes (a separator goes before them)."""
    return {i for i in range(1, len(values)) if values[i] != values[i - 1]}


def aligned_text(names: list[str], rows: list[list[str]], right: list[bool]) -> str:
    """Cells already as text, aligned under ``names`` (``right``: which columns align right), as
    :func:`render_table` prints its ``table`` format; needs no pandas."""
    return _aligned(names, rows, right, set())


def _aligned(names: list[str], rows: list[list[str]], right: list[bool], breaks: set[int]) -> str:
    if not rows:
        return "(no rows)"
    widths = [max(len(n), *(len(r[i]) for r in rows)) for i, n in enumerate(names)]
    line: Callable[[list[str]], str] = lambda r: "  ".join(  # noqa: E731
        (v.rjust(w) if rj else v.ljust(w)) for v, w, rj in zip(r, widths, right)).rstrip()
    out = [line(names), "  ".join("-" * w for w in widths)]
    for i, row in enumerate(rows):
        if i in breaks:
            out.append("")
        out.append(line(row))
    return "\n".join(out)


def _markdown(names: list[str], rows: list[list[str]], right: list[bool]) -> str:
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(esc, names)) + " |",
             "| " + " | ".join("---:" if rj else ":---" for rj in right) + " |"]
    lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
    return "\n".join(lines)


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIAL))
_NEGATIVE = re.compile(r"(?<![\w.,])-(?=\d)")


def latex_escape(text: str) -> str:
    """``text`` safe in LaTeX text mode: specials escaped, minus signs and ± in math mode."""
    text = _LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group()], text)
    text = _NEGATIVE.sub(r"$-$", text)
    return text.replace("±", r"$\pm$")


def _latex(names: list[str], rows: list[list[str]], right: list[bool], breaks: set[int]) -> str:
    """A booktabs ``tabular`` (``\\usepackage{booktabs}``)."""
    spec = "".join("r" if rj else "l" for rj in right)
    line = lambda r: " & ".join(latex_escape(v) for v in r) + r" \\"  # noqa: E731
    out = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", line(names), r"\midrule"]
    for i, row in enumerate(rows):
        if i in breaks:
            out.append(r"\addlinespace")
        out.append(line(row))
    out += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(out)
