"""Read measured profiles and tariffs from CSV or Parquet files, or pandas DataFrames, validated.

Formats (docs/profiles.md has them with examples):

* wide: ``--load FILE [--pv FILE]``: a ``timestamp`` column and one column per household (the
  column name is the household's name), mean power over the slot in kW (``unit="kWh"``: energy
  per slot);
* long: ``--long FILE``: ``timestamp, household, load_kw[, pv_kw]`` (or ``load_kwh``, ``pv_kwh``);
* tariffs: ``household, buy, sell`` (flat, currency/kWh) or ``timestamp, household, buy, sell``
  (time-varying); without a ``household`` column one tariff applies to every household;
* P2P calendar: ``timestamp, p2p_allowed`` (true/false or 1/0).

Timestamps are ISO 8601 and mark the start of a slot. Naive ones are local wall-clock times in
``timezone`` (default UTC); aware ones are converted to it. The slot length is inferred (every
step equal: 5, 10, 15, 30 or 60 minutes); ``slot_minutes`` resamples (mean power, so energy is
conserved).

Validation happens before anything is returned: a malformed input raises :class:`InputError`
with one line naming the file, the line (CSV, counting the header as line 1) or row (Parquet,
DataFrame) or column, and the problem. Odd but legal data (a sell tariff above the buy tariff, a
household without load) is reported with :func:`warnings.warn` (:class:`~p2pstore.errors.DataWarning`)
and kept in :attr:`ProfileSet.warnings`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from p2pstore.errors import DataWarning as ProfileWarning
from p2pstore.errors import InputError
from p2pstore.profiles.sets import SLOT_MINUTES, ProfileSet, TariffTable, format_time, resample
from p2pstore.scenario import MAX_HOUSEHOLD_NAME, check_name

UNITS = ("kW", "kWh")
TRUE_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


# --------------------------------------------------------------------------------------------
# tables: a DataFrame and how to name its rows in messages
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Table:
    """A DataFrame read from ``name``; ``csv`` tables count lines (header = line 1), others rows."""

    name: str
    df: Any
    csv: bool = False

    def at(self, row: int, column: str | None = None) -> str:
        """``"load.csv: line 7, column 'H3'"`` for 0-based data row ``row``."""
        where = f"line {row + 2}" if self.csv else f"row {row + 1}"
        return f"{self.name}: {where}" + (f", column {column!r}" if column is not None else "")

    def fail(self, problem: str, row: int | None = None, column: str | None = None):
        if row is None:
            where = self.name + (f", column {column!r}" if column is not None else "")
        else:
            where = self.at(row, column)
        raise InputError(f"{where}: {problem}")

    def require(self, *columns: str) -> None:
        missing = [c for c in columns if c not in self.df.columns]
        if missing:
            shown = ", ".join(map(str, self.df.columns[:8])) + (", ..." if len(self.df.columns) > 8 else "")
            self.fail(f"no {missing[0]!r} column (columns: {shown})")


def read_table(source, role: str, *, text_columns: tuple[str, ...] = ()) -> Table:
    """Read ``source`` (a ``.csv`` / ``.parquet`` path, or a DataFrame) for ``role`` (used in
    messages for DataFrames). ``text_columns`` are read as text (household names keep leading
    zeros). Unreadable and empty inputs raise :class:`InputError`."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        df = source.copy(deep=False)  # column renames below must not touch the caller's frame
        if "timestamp" not in df.columns and isinstance(df.index, pd.DatetimeIndex):
            df = df.rename_axis("timestamp").reset_index()
        table = Table(f"{role} DataFrame", df)
    else:
        path = Path(source)
        name = str(source)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise InputError(f"{name}: unsupported file type {path.suffix or '(none)'!r} (use .csv or .parquet)")
        if not path.is_file():
            raise InputError(f"{name}: cannot read: {'is a directory' if path.is_dir() else 'no such file'}")
        try:
            if suffix == ".csv":
                _check_header(path)
                dtype = dict.fromkeys(text_columns, str)
                df = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=dtype or None)
            else:
                df = pd.read_parquet(path)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
        except pd.errors.EmptyDataError:
            raise InputError(f"{name}: empty file") from None
        except UnicodeDecodeError:
            raise InputError(f"{name}: cannot read: not a UTF-8 text file") from None
        except ImportError as exc:
            raise InputError(f"{name}: reading Parquet needs pyarrow (pip install 'p2pstore[parquet]'): {exc}") from None
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            kind = "CSV" if suffix == ".csv" else "Parquet"
            raise InputError(f"{name}: cannot read as {kind}: {first}") from None
        table = Table(name, df, csv=suffix == ".csv")
    if len(table.df) == 0:
        table.fail("empty file (no data rows)" if not table.name.endswith("DataFrame") else "no rows")
    table.df.columns = [str(c) for c in table.df.columns]
    return table


def _check_header(path: Path) -> None:
    """Duplicate column names in a CSV header (pandas would rename them silently)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh), [])
    seen = set()
    for name in header:
        if name in seen:
            raise InputError(f"line 1: column {name!r} appears twice")
        seen.add(name)


# --------------------------------------------------------------------------------------------
# timestamps and the slot grid
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Grid:
    """A regular slot grid: ``n`` slots of ``minutes`` from ``start`` (naive local)."""

    start: dt.datetime
    minutes: int
    n: int

    def times(self) -> np.ndarray:
        return np.datetime64(self.start, "m") + np.timedelta64(self.minutes, "m") * np.arange(self.n)

    def describe(self) -> str:
        end = self.start + dt.timedelta(minutes=self.minutes * (self.n - 1))
        return f"{format_time(self.start)} to {format_time(end)} in {self.minutes}-minute steps"


def check_timezone(timezone: str | None) -> None:
    if timezone is None:
        return
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {timezone!r} (use an IANA name like UTC, Australia/Brisbane "
                         "or Etc/GMT-10)") from None


def parse_timestamps(table: Table, timezone: str | None, column: str = "timestamp") -> tuple[np.ndarray, str]:
    """``([rows] datetime64[ns] naive local times, zone label)`` of ``column``.

    Naive timestamps are taken as wall-clock times in ``timezone`` (default UTC); aware ones are
    converted to it. Without ``timezone``, aware timestamps keep their single UTC offset, or are
    converted to UTC (with a warning) when the offsets differ.
    """
    import pandas as pd

    table.require(column)
    raw = table.df[column]
    empty = raw.isna().to_numpy()
    if empty.any():
        table.fail("empty timestamp", int(np.flatnonzero(empty)[0]), column)
    mixed = False
    if isinstance(raw.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(raw.dtype):
        parsed = raw
    else:
        text = raw.astype(str)
        try:
            parsed = pd.to_datetime(text, format="ISO8601")
        except (ValueError, TypeError):
            coerced = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
            bad = coerced.isna().to_numpy()
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                table.fail(f"unparseable timestamp {text.iloc[row]!r} (use ISO 8601, e.g. 2025-01-01 00:15 "
                           "or 2025-01-01T00:15:00+10:00)", row, column)
            parsed, mixed = coerced, True  # several UTC offsets (daylight saving): instants
    label = timezone or "UTC"
    tz = getattr(parsed.dtype, "tz", None)
    if tz is not None:
        if timezone is not None:
            parsed = parsed.dt.tz_convert(timezone)
        elif mixed:
            warnings.warn(f"{table.name}: timestamps have several UTC offsets (daylight saving?); they are "
                          "read in UTC: give a time zone to read them in local time", ProfileWarning, stacklevel=3)
        elif str(tz) not in ("UTC", "UTC+00:00"):
            label = str(tz)  # the files' own offset, e.g. UTC+10:00
        parsed = parsed.dt.tz_localize(None)
    return parsed.to_numpy(dtype="datetime64[ns]"), label


#: Slot length of a file with a single timestamp when none is asked for (the default slot).
SINGLE_SLOT_MINUTES = 15


def infer_grid(table: Table, times: np.ndarray, single_minutes: int | None = None) -> tuple[Grid, np.ndarray]:
    """The regular grid of ``times`` (one per data row) and the row order that sorts them.

    A single timestamp is one slot of ``single_minutes`` (the requested slot length; default
    :data:`SINGLE_SLOT_MINUTES`). Raises :class:`InputError` for duplicate timestamps, missing
    slots, irregular steps and slot lengths other than :data:`SLOT_MINUTES`, naming the line.
    """
    order = np.argsort(times, kind="stable")
    t = times[order]
    if len(t) == 1:
        t = np.append(t, t[0] + np.timedelta64(single_minutes or SINGLE_SLOT_MINUTES, "m"))
        grid, _ = infer_grid(table, t)
        return dataclasses.replace(grid, n=1), order
    diffs = np.diff(t)
    dup = np.flatnonzero(diffs == np.timedelta64(0))
    if dup.size:
        row = int(max(order[dup[0]], order[dup[0] + 1]))
        table.fail(f"duplicate timestamp {format_time(t[dup[0]])}", row, "timestamp")
    values, counts = np.unique(diffs, return_counts=True)
    step = values[np.argmax(counts)]
    minutes = step / np.timedelta64(1, "m")
    odd = np.flatnonzero(diffs != step)
    if odd.size:
        k = int(odd[0])
        gap = diffs[k] / step
        row = int(order[k + 1])
        if gap == int(gap):
            table.fail(f"missing slots: {int(gap) - 1} slot(s) of {minutes:g} minutes missing between "
                       f"{format_time(t[k])} and {format_time(t[k + 1])}", row, "timestamp")
        table.fail(f"irregular step: {diffs[k] / np.timedelta64(1, 'm'):g} minutes from {format_time(t[k])} "
                   f"to {format_time(t[k + 1])} where the others are {minutes:g}", row, "timestamp")
    if minutes not in SLOT_MINUTES:
        table.fail(f"steps of {minutes:g} minutes: slots must be {', '.join(map(str, SLOT_MINUTES))} minutes "
                   "(resample the data first)", None, "timestamp")
    if (t[0] - t[0].astype("datetime64[m]")) != np.timedelta64(0):
        table.fail(f"timestamp {t[0]} is not on a whole minute", int(order[0]), "timestamp")
    start = t[0].astype("datetime64[us]").astype(dt.datetime)
    return Grid(start, int(minutes), len(t)), order


# --------------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------------
def numeric_block(table: Table, columns: list[str], what: str, *, non_negative: bool) -> np.ndarray:
    """``[rows, len(columns)]`` float64 of ``columns``: empty, non-numeric, infinite and (with
    ``non_negative``) negative cells raise :class:`InputError` naming line and column."""
    import pandas as pd

    df = table.df[columns]
    text = [c for c in columns if not (pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]))]
    for c in text:
        converted = pd.to_numeric(df[c], errors="coerce")
        bad = (converted.isna() & df[c].notna()).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            table.fail(f"not a number: {df[c].iloc[row]!r}", row, c)
    values = df.to_numpy(dtype=np.float64) if not text else \
        np.column_stack([pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64) for c in columns])
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
    return values


def household_names(table: Table, names, column: str | None = None) -> tuple[str, ...]:
    """Validated household names (non-empty, at most 64 characters, no control characters)."""
    out = tuple(str(n) for n in names)
    for k, name in enumerate(out):
        problem = check_name(name, "household name", MAX_HOUSEHOLD_NAME)
        if problem:
            if column is None:
                table.fail(problem, None, name)
            table.fail(problem, k, column)
    return out


# --------------------------------------------------------------------------------------------
# profiles: wide and long
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Series:
    """Per-household values on a grid: ``values`` [N, T] kW."""

    names: tuple[str, ...]
    values: np.ndarray
    grid: Grid
    table: Table


def read_wide(source, what: str, unit: str, timezone: str | None,
              slot_minutes: int | None = None) -> tuple[Series, str]:
    """A wide file: ``timestamp`` plus one column per household; values kW (or kWh per slot).
    ``slot_minutes``: the slot length of a file with a single timestamp (see :func:`infer_grid`)."""
    table = read_table(source, what)
    times, label = parse_timestamps(table, timezone)
    names = [c for c in table.df.columns if c != "timestamp"]
    if not names:
        table.fail("no household columns besides 'timestamp'")
    names = household_names(table, names)
    grid, order = infer_grid(table, times, slot_minutes)
    values = numeric_block(table, list(names), what, non_negative=True)
    table.df = None  # release the DataFrame before the transposed copy
    values = np.ascontiguousarray(values[order].T)
    if unit == "kWh":
        values /= grid.minutes / 60.0
    return Series(names, values, grid, table), label


def read_long(source, unit: str | None, timezone: str | None,
              slot_minutes: int | None = None) -> tuple[Series, Series | None, str]:
    """A long file: ``timestamp, household, load_kw[, pv_kw]`` (or ``load_kwh``, ``pv_kwh``)."""
    import pandas as pd

    table = read_table(source, "long", text_columns=("household",))
    cols = set(table.df.columns)
    table.require("timestamp", "household")
    units = {}
    for quantity in ("load", "pv"):
        found = [u for u in UNITS if f"{quantity}_{u.lower()}" in cols]
        if len(found) > 1:
            table.fail(f"both {quantity}_kw and {quantity}_kwh columns: keep one")
        if found:
            units[quantity] = found[0]
    if "load" not in units:
        table.require("load_kw")
    if unit is not None and any(u != unit for u in units.values()):
        table.fail(f"--unit {unit} contradicts the column names ({', '.join(f'{q}_{u.lower()}' for q, u in units.items())})")
    times, label = parse_timestamps(table, timezone)
    hh = table.df["household"]
    empty = hh.isna().to_numpy()
    if empty.any():
        table.fail("empty household name", int(np.flatnonzero(empty)[0]), "household")
    codes, names = pd.factorize(hh.astype(str), sort=False)
    names = household_names(table, names)
    t_codes, t_unique = pd.factorize(times, sort=True)
    grid, _ = infer_grid(Table(table.name, None, table.csv), np.asarray(t_unique), slot_minutes)
    n, h = len(names), grid.n
    flat = codes.astype(np.int64) * h + t_codes
    counts = np.bincount(flat, minlength=n * h)
    if (counts > 1).any():
        cell = int(np.flatnonzero(counts > 1)[0])
        row = int(np.flatnonzero(flat == cell)[1])
        table.fail(f"duplicate row for household {names[cell // h]!r} at {format_time(times[row])}", row, "timestamp")
    if (counts == 0).any():
        cell = int(np.flatnonzero(counts == 0)[0])
        table.fail(f"household {names[cell // h]!r} has no row for {format_time(grid.times()[cell % h])} "
                   "(missing slots: every household needs every timestamp)")
    series = []
    for quantity in ("load", "pv"):
        if quantity not in units:
            series.append(None)
            continue
        column = f"{quantity}_{units[quantity].lower()}"
        values = numeric_block(table, [column], quantity, non_negative=True)[:, 0]
        out = np.empty(n * h)
        out[flat] = values
        out = out.reshape(n, h)
        if units[quantity] == "kWh":
            out /= grid.minutes / 60.0
        series.append(Series(names, out, grid, table))
    table.df = None
    return series[0], series[1], label


# --------------------------------------------------------------------------------------------
# calendar and tariffs
# --------------------------------------------------------------------------------------------
def read_p2p_allowed(source, timezone: str | None, slot_minutes: int | None = None) -> tuple[np.ndarray, Grid, Table]:
    """``timestamp, p2p_allowed`` (true/false, 1/0, yes/no): ``([T] bool, grid, table)``."""
    import pandas as pd

    table = read_table(source, "p2p_allowed", text_columns=("p2p_allowed",))
    table.require("timestamp", "p2p_allowed")
    times, _ = parse_timestamps(table, timezone)
    grid, order = infer_grid(table, times, slot_minutes)
    col = table.df["p2p_allowed"]
    if pd.api.types.is_bool_dtype(col):
        flags = col.to_numpy(bool)
    else:
        words = col.astype(str).str.strip().str.lower()
        mapped = words.map(TRUE_WORDS)
        bad = mapped.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            table.fail(f"not a boolean: {col.iloc[row]!r} (use true/false or 1/0)", row, "p2p_allowed")
        flags = mapped.to_numpy(bool)
    return flags[order], grid, table


def read_tariffs(source, timezone: str | None = None, slot_minutes: int | None = None) -> TariffTable:
    """A tariff file: ``[timestamp,] [household,] buy, sell`` in currency/kWh.

    Without ``timestamp`` the tariffs are flat (one row per household); with it, time-varying
    (one row per household and slot, on a regular grid). Without ``household``, one tariff
    applies to every household. Values may be negative; empty, non-numeric or infinite cells,
    duplicate rows and missing slots are errors.
    """
    import pandas as pd

    table = read_table(source, "tariffs", text_columns=("household",))
    table.require("buy", "sell")
    df = table.df
    per_household = "household" in df.columns
    if per_household:
        hh = df["household"]
        empty = hh.isna().to_numpy()
        if empty.any():
            table.fail("empty household name", int(np.flatnonzero(empty)[0]), "household")
        codes, names = pd.factorize(hh.astype(str), sort=False)
        names = household_names(table, names)
    else:
        codes, names = np.zeros(len(df), dtype=np.int64), None
    values = numeric_block(table, ["buy", "sell"], "tariff", non_negative=False)
    if "timestamp" not in df.columns:
        if len(np.unique(codes)) != len(codes):
            _, first = np.unique(codes, return_index=True)
            row = int(np.setdiff1d(np.arange(len(codes)), first)[0])
            who = f"household {names[codes[row]]!r}" if per_household else "the community"
            table.fail(f"a second flat tariff for {who} (add a timestamp column for time-varying tariffs)", row)
        order = np.argsort(codes, kind="stable")
        table_out = TariffTable(names, values[order, 0].copy(), values[order, 1].copy(), source=table.name)
    else:
        times, _ = parse_timestamps(table, timezone)
        t_codes, t_unique = pd.factorize(times, sort=True)
        grid, _ = infer_grid(Table(table.name, None, table.csv), np.asarray(t_unique), slot_minutes)
        k, h = (len(names) if per_household else 1), grid.n
        flat = np.asarray(codes, np.int64) * h + t_codes
        counts = np.bincount(flat, minlength=k * h)
        if (counts > 1).any():
            cell = int(np.flatnonzero(counts > 1)[0])
            rows = np.flatnonzero(flat == cell)
            who = f"household {names[cell // h]!r}" if per_household else "the community"
            table.fail(f"a second tariff for {who} at {format_time(times[rows[1]])}", int(rows[1]), "timestamp")
        if (counts == 0).any():
            cell = int(np.flatnonzero(counts == 0)[0])
            who = f"household {names[cell // h]!r}" if per_household else "the community"
            table.fail(f"no tariff for {who} at {format_time(grid.times()[cell % h])} (missing slots)")
        buy = np.empty(k * h)
        sell = np.empty(k * h)
        buy[flat] = values[:, 0]
        sell[flat] = values[:, 1]
        table_out = TariffTable.time_varying_from_rows(names, buy.reshape(k, h), sell.reshape(k, h),
                                                       grid.start, grid.minutes, source=table.name)
    for message in table_out.warnings():
        warnings.warn(message, ProfileWarning, stacklevel=2)
    return table_out


# --------------------------------------------------------------------------------------------
# the whole set
# --------------------------------------------------------------------------------------------
def read_profile_set(*, load=None, pv=None, long=None, tariffs=None, p2p_allowed=None,
                     unit: str | None = None, timezone: str | None = None,
                     slot_minutes: int | None = None) -> ProfileSet:
    """Read and validate a profile set from files (paths ending ``.csv`` / ``.parquet``) or
    pandas DataFrames (a ``timestamp`` column or a DatetimeIndex).

    Give ``load`` (wide, one column per household) and optionally ``pv`` (same households and
    timestamps; without it every household is a consumer), or ``long``. ``unit``: ``"kW"``
    (default, mean power per slot) or ``"kWh"`` (energy per slot). ``tariffs``: see
    :func:`read_tariffs` (every household needs one); ``p2p_allowed``: a per-slot calendar
    covering every slot (default: always allowed). ``slot_minutes`` resamples to another slot
    length (finer slots repeat, coarser ones average: energy is conserved).

    Returns a :class:`ProfileSet`; raises :class:`InputError` (one line) on malformed input.
    """
    if (long is None) == (load is None):
        raise InputError("give wide files (--load [--pv]) or one long file (--long), not both or neither")
    if long is not None and pv is not None:
        raise InputError("--pv goes with --load; a long file has a pv_kw column instead")
    if unit is not None and unit not in UNITS:
        raise InputError(f"unknown unit {unit!r} (use kW for mean power per slot or kWh for energy per slot)")
    if slot_minutes is not None and slot_minutes not in SLOT_MINUTES:
        raise InputError(f"--slot-minutes must be one of {', '.join(map(str, SLOT_MINUTES))}, got {slot_minutes}")
    check_timezone(timezone)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ProfileWarning)
        data = _read_set(load, pv, long, tariffs, p2p_allowed, unit, timezone, slot_minutes)
    found = [str(w.message) for w in caught if issubclass(w.category, ProfileWarning)]
    found += _data_warnings(data)
    for message in found:
        warnings.warn(message, ProfileWarning, stacklevel=2)
    return dataclasses.replace(data, warnings=tuple(found))


def _read_set(load, pv, long, tariffs, p2p_allowed, unit, timezone, slot_minutes) -> ProfileSet:
    sources = []
    if long is not None:
        load_s, pv_s, label = read_long(long, unit, timezone, slot_minutes)
        sources.append(load_s.table.name)
    else:
        load_s, label = read_wide(load, "load", unit or "kW", timezone, slot_minutes)
        sources.append(load_s.table.name)
        pv_s = None
        if pv is not None:
            pv_s, _ = read_wide(pv, "pv", unit or "kW", timezone, slot_minutes)
            sources.append(pv_s.table.name)
            _same_households(load_s, pv_s)
            _same_grid(load_s, pv_s)
            if pv_s.names != load_s.names:
                pv_s.values = pv_s.values[[pv_s.names.index(n) for n in load_s.names]]
    grid = load_s.grid
    target = slot_minutes or grid.minutes
    load_kw = _resample_series(load_s, target)
    pv_kw = _resample_series(pv_s, target) if pv_s is not None else np.zeros_like(load_kw)
    n_slots = load_kw.shape[1]
    if n_slots == 0:
        raise InputError(f"{load_s.table.name}: fewer timestamps than one {target}-minute slot")
    allowed = np.ones(n_slots, dtype=bool)
    if p2p_allowed is not None:
        flags, p_grid, p_table = read_p2p_allowed(p2p_allowed, timezone, target)
        allowed = _calendar(flags, p_grid, p_table, grid.start, target, n_slots)
        sources.append(p_table.name)
    table = None
    if tariffs is not None:
        raw = read_tariffs(tariffs, timezone, target)
        table = raw.aligned(load_s.names, grid.start, target, n_slots, exact=True)
        sources.append(raw.source)
    return ProfileSet(names=load_s.names, load_kw=load_kw, pv_kw=pv_kw, p2p_allowed=allowed,
                      start=grid.start, slot_minutes=target, timezone=label, tariffs=table,
                      source=", ".join(sources))


def _same_households(a: Series, b: Series) -> None:
    only_a = [n for n in a.names if n not in set(b.names)]
    only_b = [n for n in b.names if n not in set(a.names)]
    if only_a:
        b.table.fail(f"household {only_a[0]!r} of {a.table.name} has no column here")
    if only_b:
        b.table.fail(f"household {only_b[0]!r} is not in {a.table.name}", None, only_b[0])


def _same_grid(a: Series, b: Series) -> None:
    if a.grid != b.grid:
        b.table.fail(f"timestamps {b.grid.describe()} differ from {a.table.name}'s ({a.grid.describe()})")


def _resample_series(s: Series, target: int) -> np.ndarray:
    if s.grid.minutes == target:
        return s.values
    if target % s.grid.minutes and s.grid.minutes % target:
        s.table.fail(f"cannot resample {s.grid.minutes}-minute steps to {target}-minute slots "
                     "(one must divide the other)")
    if target > s.grid.minutes:
        offset = (s.grid.start - dt.datetime.combine(s.grid.start.date(), dt.time())) // dt.timedelta(minutes=1)
        if offset % target:
            s.table.fail(f"cannot resample to {target}-minute slots: the first timestamp "
                         f"{format_time(s.grid.start)} is not on a {target}-minute boundary")
        k = target // s.grid.minutes
        if s.grid.n % k:
            warnings.warn(f"{s.table.name}: the last {s.grid.n % k} step(s) do not fill a {target}-minute slot "
                          "and are dropped", ProfileWarning, stacklevel=3)
    return resample(s.values, s.grid.minutes, target)


def _calendar(flags: np.ndarray, grid: Grid, table: Table, start: dt.datetime, minutes: int, n: int) -> np.ndarray:
    """The P2P flags of the set's ``n`` slots from ``start`` (a slot is on only if on throughout)."""
    if minutes % grid.minutes and grid.minutes % minutes:
        table.fail(f"{grid.minutes}-minute steps do not fit {minutes}-minute slots (one must divide the other)")
    fine = min(grid.minutes, minutes)
    fine_flags = resample(flags, grid.minutes, fine, how="all")
    offset = (start - grid.start) / dt.timedelta(minutes=fine)
    end = offset + n * minutes // fine
    if offset != int(offset) or offset < 0 or end > len(fine_flags):
        table.fail(f"covers {grid.describe()}, not every slot of the profiles from {format_time(start)}")
    return resample(fine_flags[int(offset):int(end)], fine, minutes, how="all").astype(bool)


def _data_warnings(data: ProfileSet) -> list[str]:
    out = []
    zero = ~(data.load_kw > 0).any(axis=1)
    if zero.any():
        first = data.names[int(np.flatnonzero(zero)[0])]
        out.append(f"{int(zero.sum())} household(s) have zero load in every slot (first: {first!r})")
    if not (data.pv_kw > 0).any():
        out.append("no household has PV: every household is a consumer and nothing is traded between peers")
    return out
