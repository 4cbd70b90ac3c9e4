"""Timestamps of an import: parsing, local time and daylight saving, and the regular slot grid.

Timestamps mark the start of a slot: ISO 8601 by default, or any strftime format
(``ReadOptions.date_format``, e.g. ``%d.%m.%Y %H:%M``). Naive timestamps are wall-clock times in
``ReadOptions.timezone`` (default UTC); aware ones (with a UTC offset) are instants.

Daylight saving. A set is stored on one regular grid of naive times. When the zone's UTC offset
is the same over the whole file (no daylight-saving change inside it), those are the zone's
wall-clock times, as read. When it changes, the grid is the zone's **standard time** (its UTC
offset without daylight saving, e.g. UTC+01:00 for Europe/Berlin), and the set's time zone says
so (``Europe/Berlin standard time UTC+01:00``): an autumn day then has 25 hours of data and a
spring day 23, and every slot is one real interval. In naive local files the repeated autumn
hour is resolved by order (its first rows are daylight time, the next ones standard time, as
pandas' ``ambiguous="infer"``), and a wall-clock time that does not exist (inside the spring
gap) is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings

import numpy as np

from p2pstore.errors import DataWarning as ProfileWarning
from p2pstore.errors import InputError
from p2pstore.profiles.sets import SLOT_MINUTES, format_time
from p2pstore.profiles.tables import ReadOptions, Table


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
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only when a zone is given

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {timezone!r} (use an IANA name like UTC, Australia/Brisbane "
                         "or Etc/GMT-10)") from None


def parse_timestamps(table: Table, options: ReadOptions, column: str = "timestamp",
                     groups=None) -> tuple[np.ndarray, str]:
    """``([rows] datetime64[ns] naive times on the set's grid, zone label)`` of ``column``.

    ``groups``: ``[rows]`` codes of the series each row belongs to (a long file's households),
    so that the repeated autumn hour is resolved by order within each series; None = one series.
    See the module docstring for naive, aware and daylight-saving times.
    """
    import pandas as pd  # pandas only when a file is read

    table.require(column)
    raw = table.df[column]
    empty = raw.isna().to_numpy()
    if empty.any():
        table.fail("empty timestamp", int(np.flatnonzero(empty)[0]), column)
    parsed, mixed = _parse(table, raw, options.date_format, column)
    timezone = options.timezone
    tz = getattr(parsed.dtype, "tz", None)
    if tz is None:
        if timezone is None:
            return parsed.to_numpy(dtype="datetime64[ns]"), "UTC"
        parsed = _localize(table, parsed, timezone, groups, column)
    elif timezone is None:
        if mixed:
            warnings.warn(f"{table.name}: timestamps have several UTC offsets (daylight saving?); they are read "
                          "in UTC: give their zone (--timezone Europe/Berlin, say) to read them in its local "
                          "standard time", ProfileWarning, stacklevel=3)
            return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]"), "UTC"
        label = "UTC" if str(tz) in ("UTC", "UTC+00:00") else str(tz)  # the file's own offset, e.g. UTC+10:00
        return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]"), label
    return _on_zone_grid(parsed, timezone)


def _parse(table: Table, raw, date_format: str | None, column: str):
    """``(parsed Series, several offsets?)``; an unparseable value fails naming its line."""
    import pandas as pd  # see parse_timestamps

    if isinstance(raw.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(raw.dtype):
        return raw, False
    if pd.api.types.is_bool_dtype(raw.dtype) or pd.api.types.is_numeric_dtype(raw.dtype):
        table.fail(f"timestamps are {raw.dtype} numbers, not dates and times", 0, column)
    text = raw.astype(str)
    fmt = date_format or "ISO8601"
    try:
        return pd.to_datetime(text, format=fmt), False
    except (ValueError, TypeError):
        coerced = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
        bad = coerced.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            if date_format:
                table.fail(f"timestamp {text.iloc[row]!r} does not match --date-format {date_format!r}", row, column)
            table.fail(f"unparseable timestamp {text.iloc[row]!r} (use ISO 8601, e.g. 2025-01-01 00:15 or "
                       "2025-01-01T00:15:00+10:00; or give --date-format, e.g. '%d.%m.%Y %H:%M')", row, column)
        return coerced, True  # several UTC offsets (daylight saving): instants


def _localize(table: Table, parsed, timezone: str, groups, column: str):
    """Naive wall-clock times in ``timezone`` as aware instants: the repeated autumn hour by
    order within each group, a time inside the spring gap refused."""
    import pandas as pd  # see parse_timestamps

    index = pd.DatetimeIndex(parsed)
    as_dst = index.tz_localize(timezone, ambiguous=np.ones(len(index), bool), nonexistent="NaT")
    as_std = index.tz_localize(timezone, ambiguous=np.zeros(len(index), bool), nonexistent="NaT")
    gap = np.asarray(as_dst.isna())
    if gap.any():
        row = int(np.flatnonzero(gap)[0])
        table.fail(f"local time {format_time(index[row])} does not exist in {timezone} (the clocks skip it "
                   "when daylight saving starts)", row, column)
    ambiguous = np.asarray(as_dst != as_std)
    if not ambiguous.any():
        return pd.Series(as_dst)
    keys = pd.DataFrame({"t": index.asi8, "g": 0 if groups is None else np.asarray(groups)})
    occurrence = keys.groupby(["g", "t"], sort=False).cumcount().to_numpy()
    first = ambiguous & (occurrence == 0)  # the first of a repeated hour is daylight time
    return pd.Series(as_dst.where(~ambiguous | first, as_std))


def standard_offset(timezone: str, when: dt.datetime) -> dt.timedelta:
    """UTC offset of ``timezone``'s standard time (without daylight saving) at ``when`` (UTC)."""
    from zoneinfo import ZoneInfo  # see check_timezone

    local = when.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(timezone))
    return local.utcoffset() - (local.dst() or dt.timedelta(0))


def _on_zone_grid(instants, timezone: str) -> tuple[np.ndarray, str]:
    """Aware instants as naive times in ``timezone``: wall clock when its offset does not change
    over them, its standard time otherwise (module docstring)."""
    utc = instants.dt.tz_convert("UTC").dt.tz_localize(None)
    local = instants.dt.tz_convert(timezone).dt.tz_localize(None)
    if len(np.unique((local - utc).to_numpy())) <= 1:
        return local.to_numpy(dtype="datetime64[ns]"), timezone
    offset = standard_offset(timezone, utc.iloc[0].to_pydatetime())
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    label = f"{timezone} standard time UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return (utc + offset).to_numpy(dtype="datetime64[ns]"), label


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
        table.fail(f"duplicate timestamp {format_time(t[dup[0]])} (local time repeated when daylight saving "
                   "ends? give the file's --timezone)", row, "timestamp")
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
