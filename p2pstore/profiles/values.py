"""Cells and names of an import, strictly: numbers that are numbers, within physical bounds.

Refused, with one line naming the file, line (or row) and column:

* cells that are not numbers: text that does not parse, booleans (``True`` is not 1 kW, in a
  CSV, Parquet or DataFrame column alike), dates, durations and complex numbers;
* empty and infinite cells, and negative loads or PV;
* values above a physical bound: :data:`MAX_POWER_KW` for load and PV (mean power per slot,
  after a ``kWh`` file is converted to kW), :data:`MAX_TARIFF` for tariffs. Both are the bounds
  a generated scenario has (``pv_kwp``, tariff ranges), far above any household or community
  member, so they catch unit and data errors (``1e300``, integers of ``1e18``) only.

Household names differing only in case (``House1``, ``house1``) are distinct households, with a
warning: a spreadsheet or a case-insensitive database would merge them.
"""

from __future__ import annotations

import decimal
import warnings

import numpy as np

from p2pstore.errors import DataWarning as ProfileWarning
from p2pstore.profiles.tables import Table
from p2pstore.scenario import MAX_HOUSEHOLD_NAME, check_name

#: Largest mean power per slot of one household's load or PV, kW (100 MW).
MAX_POWER_KW = 100_000.0
#: Largest absolute tariff, currency/kWh.
MAX_TARIFF = 10_000.0


def numeric_block(table: Table, columns: list[str], what: str, *, non_negative: bool,
                  bound: float | None = None, divide_by: float = 1.0) -> np.ndarray:
    """``[rows, len(columns)]`` float64 of ``columns`` divided by ``divide_by`` (the hours of a
    slot turn kWh per slot into kW): cells that are not
    numbers, empty, infinite, (with ``non_negative``) negative or (with ``bound``) above
    ``bound`` in absolute value raise :class:`InputError` naming line and column."""
    import pandas as pd  # pandas only when a file is read

    df = table.df[columns]
    for c in columns:
        _check_dtype(table, df[c], c)
    text = [c for c in columns if not pd.api.types.is_numeric_dtype(df[c])]
    for c in text:
        converted = pd.to_numeric(df[c], errors="coerce")
        bad = (converted.isna() & df[c].notna()).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            table.fail(f"not a number: {df[c].iloc[row]!r}", row, c)
    values = df.to_numpy(dtype=np.float64) if not text else \
        np.column_stack([pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64) for c in columns])
    if divide_by != 1.0:
        values = values / divide_by
    finite = np.isfinite(values)
    if not finite.all():
        row, col = (int(i) for i in np.argwhere(~finite)[0])
        v = values[row, col]
        table.fail("empty cell" if np.isnan(v) else f"infinite value {v}", row, columns[col])
    if non_negative:
        negative = values < 0
        if negative.any():
            row, col = (int(i) for i in np.argwhere(negative)[0])
            table.fail(f"negative {what} {values[row, col]:g}", row, columns[col])
    if bound is not None:
        above = np.abs(values) > bound
        if above.any():
            row, col = (int(i) for i in np.argwhere(above)[0])
            unit = "kW" if what in ("load", "pv") else "per kWh"
            table.fail(f"{what} {values[row, col]:g} {unit} is above the physical bound of {bound:g} {unit} "
                       "(a unit or data error)", row, columns[col])
    return values


def _check_dtype(table: Table, column, name: str) -> None:
    """Booleans, dates, durations and complex numbers are not values of kW or currency."""
    import pandas as pd  # see numeric_block

    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        table.fail("a boolean column (true/false), not numbers", 0, name)
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype) \
            or pd.api.types.is_complex_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        table.fail(f"a column of {dtype} values, not numbers", 0, name)
    if dtype == object:
        kinds = column.map(type)
        bad = kinds.isin([bool, np.bool_]).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            table.fail(f"a boolean ({column.iloc[row]!r}), not a number", row, name)
        # Parquet decimals arrive as Decimal objects: they are numbers
        odd = ~kinds.isin([str, int, float, np.float64, np.int64, decimal.Decimal, type(None)]).to_numpy()
        if odd.any():
            row = int(np.flatnonzero(odd)[0])
            table.fail(f"a {type(column.iloc[row]).__name__} ({column.iloc[row]!r}), not a number", row, name)


def household_names(table: Table, names, column: str | None = None) -> tuple[str, ...]:
    """Validated household names (non-empty, at most 64 characters, no control characters);
    names equal but for case are warned about (module docstring)."""
    out = tuple(str(n) for n in names)
    for k, name in enumerate(out):
        problem = check_name(name, "household name", MAX_HOUSEHOLD_NAME)
        if problem:
            if column is None:
                table.fail(problem, None, name)
            table.fail(problem, k, column)
    folded: dict[str, list[str]] = {}
    for name in out:
        folded.setdefault(name.casefold(), []).append(name)
    clashes = [group for group in folded.values() if len(group) > 1]
    if clashes:
        shown = ", ".join(repr(n) for n in clashes[0][:4])
        more = f" ({len(clashes)} such groups)" if len(clashes) > 1 else ""
        warnings.warn(f"{table.name}: household names {shown} differ only in case{more}; they are kept as distinct "
                      "households, but a spreadsheet or a case-insensitive database would merge them",
                      ProfileWarning, stacklevel=3)
    return out
