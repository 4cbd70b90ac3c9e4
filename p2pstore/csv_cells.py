"""Text cells of CSV output that a spreadsheet would evaluate, neutralised on output.

A spreadsheet opening a CSV file treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` as
a formula (and tab or carriage return can hide such a start), so a household named
``=HYPERLINK("http://x", "y")`` would run as a formula on the analyst's machine. Following
OWASP's guidance ("CSV Injection": neutralise on output, not on input), every CSV p2pstore
writes passes its text cells through :func:`safe_cell`: a text cell starting with one of
:data:`FORMULA_STARTS` is written with a leading ``'`` (``'=HYPERLINK(...)``), which spreadsheets
show as text and never evaluate. Numbers stay numbers (``-2.5`` is written as it is), so only
values that are text in the store change, and only in CSV: the store, JSON and Parquet keep the
names as they were imported. Header cells (column names a query chose) are text cells too.

:func:`safe_text_array` is the same rule for a column of text at once (a pyarrow string array),
for the writers that format columns in C++; a test ties it to :func:`safe_cell`.
"""

from __future__ import annotations

#: First characters that make a spreadsheet evaluate a text cell (or hide such a start).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: What a neutralised cell starts with (spreadsheets show the rest as text).
QUOTE = "'"

#: :data:`FORMULA_STARTS` as a regular expression matching a neutralised cell's start (RE2 and
#: Python syntax).
FORMULA_PATTERN = "^[=+@\\t\\r-]"


def safe_cell(value):
    """``value`` as a CSV cell: a string that starts with one of :data:`FORMULA_STARTS` with
    :data:`QUOTE` before it; any other value (numbers, None, other strings) unchanged."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return QUOTE + value
    return value


def safe_row(row) -> list:
    """:func:`safe_cell` of every cell of ``row``."""
    return [safe_cell(v) for v in row]


def safe_text_array(array):
    """A pyarrow string array with :func:`safe_cell` applied to each cell (NULLs stay NULL);
    the array itself when no cell needs it."""
    import pyarrow.compute as pc  # pyarrow: only the writers that already use it call this

    starts = pc.match_substring_regex(array, FORMULA_PATTERN)
    if not pc.any(starts).as_py():
        return array
    return pc.if_else(starts, pc.binary_join_element_wise(QUOTE, array, ""), array)


def safe_frame(df):
    """A copy of the DataFrame ``df`` for CSV: its column names and the text cells of its
    object and string columns through :func:`safe_cell` (numbers, times and booleans as they
    are); ``df`` itself when nothing needs it."""
    from pandas.api.types import is_object_dtype, is_string_dtype  # pandas: loaded by the caller's frame

    names = [safe_cell(c) for c in df.columns]
    text = [c for c in df.columns if is_object_dtype(df[c].dtype) or is_string_dtype(df[c].dtype)]
    changed = {c: df[c].map(safe_cell) for c in text
               if df[c].map(lambda v: isinstance(v, str) and v[:1] in FORMULA_STARTS).any()}
    if not changed and names == list(df.columns):
        return df
    out = df.copy()
    for c, values in changed.items():
        out[c] = values
    out.columns = names
    return out
