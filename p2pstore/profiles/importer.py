"""Read measured profiles from CSV or Parquet files, or pandas DataFrames, validated.

Formats (docs/profiles.md has them with examples):

* wide: ``--load FILE [--pv FILE]``: a ``timestamp`` column and one column per household (the
  column name is the household's name), mean power over the slot in kW (``unit="kWh"``: energy
  per slot);
* long: ``--long FILE``: ``timestamp, household, load_kw[, pv_kw]`` (or ``load_kwh``, ``pv_kwh``);
* tariffs and the P2P calendar: :mod:`p2pstore.profiles.tariff_import`.

Spreadsheet exports: ``sep`` (field separator), ``decimal`` (decimal mark) and ``date_format``
(strftime) read, for instance, a German export (``;``, ``,``, ``%d.%m.%Y %H:%M``). Timestamps
mark the start of a slot; naive ones are wall-clock times in ``timezone`` (default UTC), aware
ones are converted to it, across daylight-saving changes (:mod:`p2pstore.profiles.timestamps`).
The slot length is inferred (every step equal: 5, 10, 15, 30 or 60 minutes); ``slot_minutes``
resamples (mean power, so energy is conserved).

Validation happens before anything is returned: a malformed input raises :class:`InputError`
with one line naming the file, the line (CSV, counting the header as line 1) or row (Parquet,
DataFrame) or column, and the problem (cells: :mod:`p2pstore.profiles.values`; memory:
:mod:`p2pstore.profiles.tables`). Odd but legal data (a sell tariff above the buy tariff, a
household without load, values that look like a unit mistake: :mod:`p2pstore.profiles.plausibility`)
is reported with :func:`warnings.warn` (:class:`~p2pstore.errors.DataWarning`) and kept in
:attr:`ProfileSet.warnings`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings

import numpy as np

from p2pstore.errors import DataWarning as ProfileWarning
from p2pstore.errors import InputError
from p2pstore.profiles.plausibility import unit_warnings
from p2pstore.profiles.sets import SLOT_MINUTES, ProfileSet, format_time, resample
from p2pstore.profiles.tables import ReadOptions, Table, read_table
from p2pstore.profiles.tariff_import import read_p2p_allowed, read_tariffs
from p2pstore.profiles.timestamps import Grid, check_timezone, infer_grid, parse_timestamps
from p2pstore.profiles.values import MAX_POWER_KW, household_names, numeric_block

__all__ = ["read_profile_set", "read_tariffs", "ReadOptions"]

UNITS = ("kW", "kWh")


# --------------------------------------------------------------------------------------------
# profiles: wide and long
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Series:
    """Per-household values on a grid: ``values`` [N, T] kW (``unit``: as the file had them)."""

    names: tuple[str, ...]
    values: np.ndarray
    grid: Grid
    table: Table
    unit: str = "kW"


def read_wide(source, what: str, unit: str, options: ReadOptions,
              slot_minutes: int | None = None) -> tuple[Series, str]:
    """A wide file: ``timestamp`` plus one column per household; values kW (or kWh per slot).
    ``slot_minutes``: the slot length of a file with a single timestamp (see :func:`infer_grid`)."""
    table = read_table(source, what, options)
    times, label = parse_timestamps(table, options)
    names = [c for c in table.df.columns if c != "timestamp"]
    if not names:
        table.fail("no household columns besides 'timestamp'")
    names = household_names(table, names)
    grid, order = infer_grid(table, times, slot_minutes)
    hours = grid.minutes / 60.0 if unit == "kWh" else 1.0
    values = numeric_block(table, list(names), what, non_negative=True, bound=MAX_POWER_KW, divide_by=hours)
    table.df = None  # release the DataFrame before the transposed copy
    values = np.ascontiguousarray(values[order].T)
    return Series(names, values, grid, table, unit), label


def read_long(source, unit: str | None, options: ReadOptions,
              slot_minutes: int | None = None) -> tuple[Series, Series | None, str]:
    """A long file: ``timestamp, household, load_kw[, pv_kw]`` (or ``load_kwh``, ``pv_kwh``)."""
    import pandas as pd  # pandas only when a file is read

    table = read_table(source, "long", options, text_columns=("household",))
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
    hh = table.df["household"]
    empty = hh.isna().to_numpy()
    if empty.any():
        table.fail("empty household name", int(np.flatnonzero(empty)[0]), "household")
    codes, names = pd.factorize(hh.astype(str), sort=False)
    names = household_names(table, names)
    times, label = parse_timestamps(table, options, groups=codes)
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
        hours = grid.minutes / 60.0 if units[quantity] == "kWh" else 1.0
        values = numeric_block(table, [column], quantity, non_negative=True, bound=MAX_POWER_KW, divide_by=hours)
        out = np.empty(n * h)
        out[flat] = values[:, 0]
        out = out.reshape(n, h)
        series.append(Series(names, out, grid, table, units[quantity]))
    table.df = None
    return series[0], series[1], label


# --------------------------------------------------------------------------------------------
# the whole set
# --------------------------------------------------------------------------------------------
def read_profile_set(*, load=None, pv=None, long=None, tariffs=None, p2p_allowed=None,
                     unit: str | None = None, timezone: str | None = None,
                     slot_minutes: int | None = None, sep: str | None = None, decimal: str | None = None,
                     date_format: str | None = None) -> ProfileSet:
    """Read and validate a profile set from files (paths ending ``.csv`` / ``.parquet``) or
    pandas DataFrames (a ``timestamp`` column or a DatetimeIndex).

    Give ``load`` (wide, one column per household) and optionally ``pv`` (same households and
    timestamps; without it every household is a consumer), or ``long``. ``unit``: ``"kW"``
    (default, mean power per slot) or ``"kWh"`` (energy per slot). ``tariffs``: see
    :func:`read_tariffs` (every household needs one); ``p2p_allowed``: a per-slot calendar
    covering every slot (default: always allowed). ``slot_minutes`` resamples to another slot
    length (finer slots repeat, coarser ones average: energy is conserved). ``sep``,
    ``decimal`` and ``date_format``: how CSV files are written (:class:`ReadOptions`).

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
    options = ReadOptions(sep=sep or ",", decimal=decimal or ".", date_format=date_format, timezone=timezone)
    options.check()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ProfileWarning)
        data = _read_set(load, pv, long, tariffs, p2p_allowed, unit, options, slot_minutes)
    found = [str(w.message) for w in caught if issubclass(w.category, ProfileWarning)]
    found += _data_warnings(data)
    for message in found:
        warnings.warn(message, ProfileWarning, stacklevel=2)
    return dataclasses.replace(data, warnings=tuple(found))


def _read_set(load, pv, long, tariffs, p2p_allowed, unit, options: ReadOptions, slot_minutes) -> ProfileSet:
    sources = []
    if long is not None:
        load_s, pv_s, label = read_long(long, unit, options, slot_minutes)
        sources.append(load_s.table.name)
    else:
        load_s, label = read_wide(load, "load", unit or "kW", options, slot_minutes)
        sources.append(load_s.table.name)
        pv_s = None
        if pv is not None:
            pv_s, _ = read_wide(pv, "pv", unit or "kW", options, slot_minutes)
            sources.append(pv_s.table.name)
            _same_households(load_s, pv_s)
            _same_grid(load_s, pv_s)
            if pv_s.names != load_s.names:
                pv_s.values = pv_s.values[[pv_s.names.index(n) for n in load_s.names]]
    grid = load_s.grid
    for message in unit_warnings(load_s.names, load_s.values, grid.minutes, load_s.unit):
        warnings.warn(message, ProfileWarning, stacklevel=2)
    target = slot_minutes or grid.minutes
    load_kw = _resample_series(load_s, target)
    pv_kw = _resample_series(pv_s, target) if pv_s is not None else np.zeros_like(load_kw)
    n_slots = load_kw.shape[1]
    if n_slots == 0:
        raise InputError(f"{load_s.table.name}: fewer timestamps than one {target}-minute slot")
    allowed = np.ones(n_slots, dtype=bool)
    if p2p_allowed is not None:
        flags, p_grid, p_table = read_p2p_allowed(p2p_allowed, options, target)
        allowed = _calendar(flags, p_grid, p_table, grid.start, target, n_slots)
        sources.append(p_table.name)
    table = None
    if tariffs is not None:
        raw = read_tariffs(tariffs, slot_minutes=target, options=options)
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
