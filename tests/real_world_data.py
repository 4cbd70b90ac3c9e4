"""Measured-like data for Berlin across both 2025 daylight-saving changes, written the ways
researchers have it: UTC offsets, naive local wall clock, a German spreadsheet export."""

from __future__ import annotations

import numpy as np
import pandas as pd

BERLIN = "Europe/Berlin"
#: ``read_profile_set`` options (CLI: --sep ';' --decimal ',' --date-format ...) of the German export.
GERMAN = {"sep": ";", "decimal": ",", "date_format": "%d.%m.%Y %H:%M"}


def berlin_data(hours: int = 24 * 215) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Hourly instants from Berlin's local midnight of 29 March 2025 (both 2025 changes inside),
    and ``[T, 2]`` load and PV in kW (H1 has no PV)."""
    instants = pd.date_range("2025-03-28 23:00", periods=hours, freq="h", tz="UTC")
    rng = np.random.default_rng(3)
    load = np.round(rng.uniform(0.1, 1.5, size=(hours, 2)), 3)
    hour = instants.tz_convert(BERLIN).hour.to_numpy()
    pv = np.zeros((hours, 2))
    pv[:, 1] = np.round(np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None) * 3.2, 3)
    return instants, load, pv


def write_files(tmp_path, style: str) -> dict[str, str]:
    """``load`` and ``pv`` files of :func:`berlin_data` in ``style``: ``utc_offsets`` (ISO with
    +01:00/+02:00), ``naive_local`` (ISO wall clock, the autumn hour twice) or ``german`` (';',
    decimal comma, ``dd.mm.yyyy HH:MM`` wall clock)."""
    instants, load, pv = berlin_data()
    local = instants.tz_convert(BERLIN)
    out = {}
    for what, values in (("load", load), ("pv", pv)):
        if style == "utc_offsets":
            stamps = [t.isoformat() for t in local]
        elif style == "naive_local":
            stamps = list(local.strftime("%Y-%m-%d %H:%M"))
        else:
            stamps = list(local.strftime("%d.%m.%Y %H:%M"))
        sep = ";" if style == "german" else ","
        rows = [sep.join(["timestamp", "H1", "H2"])]
        for t, (a, b) in zip(stamps, values):
            cells = [repr(float(a)), repr(float(b))]
            if style == "german":
                cells = [c.replace(".", ",") for c in cells]
            rows.append(sep.join([t, *cells]))
        path = tmp_path / f"{what}_{style}.csv"
        path.write_text("\n".join(rows) + "\n")
        out[what] = str(path)
    return out
