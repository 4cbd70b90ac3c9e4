"""Read tariff files and P2P calendars (CSV or Parquet files, or pandas DataFrames), validated.

* tariffs: ``household, buy, sell`` (flat, currency/kWh) or ``timestamp, household, buy, sell``
  (time-varying); without a ``household`` column one tariff applies to every household;
* P2P calendar: ``timestamp, p2p_allowed`` (true/false, 1/0 or yes/no).

Timestamps as in :mod:`p2pstore.profiles.timestamps`; cells as in :mod:`p2pstore.profiles.values`
(tariffs may be negative, their magnitude is bounded by :data:`~p2pstore.profiles.values.MAX_TARIFF`).
"""

from __future__ import annotations

import warnings

import numpy as np

from p2pstore.errors import DataWarning as ProfileWarning
from p2pstore.profiles.sets import TariffTable, format_time
from p2pstore.profiles.tables import ReadOptions, Table, read_table
from p2pstore.profiles.timestamps import Grid, infer_grid, parse_timestamps
from p2pstore.profiles.values import MAX_TARIFF, household_names, numeric_block

TRUE_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def read_p2p_allowed(source, options: ReadOptions, slot_minutes: int | None = None) -> tuple[np.ndarray, Grid, Table]:
    """``timestamp, p2p_allowed`` (true/false, 1/0, yes/no): ``([T] bool, grid, table)``."""
    import pandas as pd  # pandas only when a file is read

    table = read_table(source, "p2p_allowed", options, text_columns=("p2p_allowed",))
    table.require("timestamp", "p2p_allowed")
    times, _ = parse_timestamps(table, options)
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


def read_tariffs(source, timezone: str | None = None, slot_minutes: int | None = None,
                 options: ReadOptions | None = None) -> TariffTable:
    """A tariff file: ``[timestamp,] [household,] buy, sell`` in currency/kWh.

    Without ``timestamp`` the tariffs are flat (one row per household); with it, time-varying
    (one row per household and slot, on a regular grid). Without ``household``, one tariff
    applies to every household. Values may be negative; empty, non-numeric or infinite cells,
    duplicate rows and missing slots are errors. ``options`` (separator, decimal mark, date
    format) default to ISO CSV with ``timezone``.
    """
    import pandas as pd  # see read_p2p_allowed

    options = options or ReadOptions(timezone=timezone)
    table = read_table(source, "tariffs", options, text_columns=("household",))
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
    values = numeric_block(table, ["buy", "sell"], "tariff", non_negative=False, bound=MAX_TARIFF)
    if "timestamp" not in df.columns:
        result = _flat(table, codes, names, values)
    else:
        result = _time_varying(table, options, codes, names, values, slot_minutes)
    for message in result.warnings():
        warnings.warn(message, ProfileWarning, stacklevel=2)
    return result


def _flat(table: Table, codes, names, values) -> TariffTable:
    if len(np.unique(codes)) != len(codes):
        _, first = np.unique(codes, return_index=True)
        row = int(np.setdiff1d(np.arange(len(codes)), first)[0])
        who = f"household {names[codes[row]]!r}" if names is not None else "the community"
        table.fail(f"a second flat tariff for {who} (add a timestamp column for time-varying tariffs)", row)
    order = np.argsort(codes, kind="stable")
    return TariffTable(names, values[order, 0].copy(), values[order, 1].copy(), source=table.name)


def _time_varying(table: Table, options: ReadOptions, codes, names, values, slot_minutes) -> TariffTable:
    import pandas as pd  # see read_p2p_allowed

    times, _ = parse_timestamps(table, options, groups=codes)
    t_codes, t_unique = pd.factorize(times, sort=True)
    grid, _ = infer_grid(Table(table.name, None, table.csv), np.asarray(t_unique), slot_minutes)
    k, h = (len(names) if names is not None else 1), grid.n
    flat = np.asarray(codes, np.int64) * h + t_codes
    counts = np.bincount(flat, minlength=k * h)
    who = (lambda cell: f"household {names[cell // h]!r}") if names is not None else (lambda cell: "the community")
    if (counts > 1).any():
        cell = int(np.flatnonzero(counts > 1)[0])
        rows = np.flatnonzero(flat == cell)
        table.fail(f"a second tariff for {who(cell)} at {format_time(times[rows[1]])}", int(rows[1]), "timestamp")
    if (counts == 0).any():
        cell = int(np.flatnonzero(counts == 0)[0])
        table.fail(f"no tariff for {who(cell)} at {format_time(grid.times()[cell % h])} (missing slots)")
    buy = np.empty(k * h)
    sell = np.empty(k * h)
    buy[flat] = values[:, 0]
    sell[flat] = values[:, 1]
    return TariffTable.time_varying_from_rows(names, buy.reshape(k, h), sell.reshape(k, h),
                                              grid.start, grid.minutes, source=table.name)
