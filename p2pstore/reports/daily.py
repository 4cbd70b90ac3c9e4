"""The notebook's daily table (``daily_df``): one shape for the CLI and the HTML report."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Short names of the notebook's bill columns (``bill_conv_Rs``, ``bill_mmr_Rs``, ``bill_bs_Rs``).
DAILY_SHORT = {"conventional": "conv", "mmr": "mmr", "bill_sharing": "bs"}


def notebook_daily_frame(day: np.ndarray, avg_load_kwh: np.ndarray, avg_pv_kwh: np.ndarray,
                         bills: Mapping[str, np.ndarray], currency: str = "Rs"):
    """``daily_df`` as the notebook prints it: day, avg_load_kWh_per_house,
    avg_pv_kWh_per_prosumer (kWh/day) and one ``bill_<short>_<currency>`` column per mechanism
    (community bill per day), in the order of ``bills``. Arrays are ``[D]``."""
    # imported when called: the CLI imports this module at start-up without pandas or scipy
    import pandas as pd

    frame = pd.DataFrame({
        "day": day,
        "avg_load_kWh_per_house": avg_load_kwh,
        "avg_pv_kWh_per_prosumer": avg_pv_kwh,
    })
    for mechanism, values in bills.items():
        frame[f"bill_{DAILY_SHORT.get(mechanism, mechanism)}_{currency}"] = values
    return frame
