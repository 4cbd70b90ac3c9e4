"""Small hand-made communities whose settlement is worked out by hand in the tests."""

from __future__ import annotations

import datetime as dt

import numpy as np

from p2pstore.profiles.base import Profiles


def make_profiles(load, pv, buy, sell, allowed=None, *, slot_hours=1.0, periods_per_day=None,
                  kinds=None) -> Profiles:
    load = np.asarray(load, dtype=float)
    pv = np.asarray(pv, dtype=float)
    n, h = load.shape
    if kinds is None:
        kinds = ["prosumer" if np.any(pv[i] > 0) or sell[i] > 0 else "consumer" for i in range(n)]
    kinds = np.asarray(kinds)
    labels = np.array([("P" if k == "prosumer" else "C") + str(i + 1) for i, k in enumerate(kinds)])
    return Profiles(
        labels=labels,
        kinds=kinds,
        load_kw=load,
        pv_kw=pv,
        lambda_buy=np.asarray(buy, dtype=float),
        lambda_sell=np.asarray(sell, dtype=float),
        p2p_allowed=np.ones(h, bool) if allowed is None else np.asarray(allowed, bool),
        start=dt.datetime(2025, 1, 1),
        slot_hours=slot_hours,
        periods_per_day=periods_per_day or h,
    )


def two_house_community(allowed=None) -> Profiles:
    """C1 (buys at 7) and P1 (buys at 5, sells at 3) over two 1-hour slots.

    slot 0: C1 loads 2 kW, P1 loads 1 kW and makes 3 kW -> community balanced (3 = 3);
    slot 1: no sun, C1 2 kW, P1 1 kW -> community short by 3 kW.
    Reference tariffs: buy (7 + 5) / 2 = 6, sell 3 (prosumers only).
    """
    return make_profiles(load=[[2, 2], [1, 1]], pv=[[0, 0], [3, 0]], buy=[7, 5], sell=[0, 3],
                         allowed=allowed, kinds=["consumer", "prosumer"])
