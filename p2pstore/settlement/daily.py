"""The notebook's daily table: per day, average load per house, average PV per prosumer and the
community bill under each mechanism; computed (:func:`daily_table`) and shaped as the notebook
prints it (:func:`notebook_daily_frame`, for the CLI and the HTML report)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Short names of the notebook's bill columns (``bill_conv_Rs``, ``bill_mmr_Rs``, ``bill_bs_Rs``).
DAILY_SHORT = {"conventional": "conv", "mmr": "mmr", "bill_sharing": "bs"}


def daily_table(settlement) -> dict:
    """Columns of the notebook's ``daily_df`` (one row per day, ``D`` days).

    Returns ``{"day": [D] int (1-based), "date": [D] datetime64[D],
    "avg_load_kwh_per_house": [D] kWh/day, "avg_pv_kwh_per_prosumer": [D] kWh/day (NaN without
    prosumers), "bill": {mechanism: [D] currency/day}}``.

    Sums use ``np.bincount`` over the per-slot community totals, as the notebook does, so the
    values are the notebook's to the last bit for the load/PV columns.
    """
    p = settlement.profiles
    f = settlement.flows
    periods = p.periods_per_day
    days = p.days
    day_index = np.arange(p.n_slots) // periods
    dt_h = p.slot_hours

    def per_day(series: np.ndarray) -> np.ndarray:
        return np.bincount(day_index, weights=series, minlength=days)

    n_prosumers = int(np.count_nonzero(p.kinds == "prosumer"))
    pv_daily = per_day(f.pv_total_kw * dt_h)
    first_day = np.datetime64(p.start, "D")
    return {
        "day": np.arange(1, days + 1),
        "date": first_day + np.arange(days),
        "avg_load_kwh_per_house": per_day(f.load_total_kw * dt_h) / p.n_households,
        "avg_pv_kwh_per_prosumer": pv_daily / n_prosumers if n_prosumers else np.full(days, np.nan),
        "bill": {m: per_day(r.community_cost) for m, r in settlement.results.items()},
    }


def notebook_daily_frame(day: np.ndarray, avg_load_kwh: np.ndarray, avg_pv_kwh: np.ndarray,
                         bills: Mapping[str, np.ndarray], currency: str = "Rs"):
    """``daily_df`` as the notebook prints it: day, avg_load_kWh_per_house,
    avg_pv_kWh_per_prosumer (kWh/day) and one ``bill_<short>_<currency>`` column per mechanism
    (community bill per day), in the order of ``bills``. Arrays are ``[D]``."""
    # lazy: pandas takes a third of a second to import and settling a run never needs it
    import pandas as pd

    frame = pd.DataFrame({
        "day": day,
        "avg_load_kWh_per_house": avg_load_kwh,
        "avg_pv_kWh_per_prosumer": avg_pv_kwh,
    })
    for mechanism, values in bills.items():
        frame[f"bill_{DAILY_SHORT.get(mechanism, mechanism)}_{currency}"] = values
    return frame
