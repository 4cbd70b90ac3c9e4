"""Small hand-made communities whose settlement is worked out by hand in the tests, and random
small communities for property tests (hypothesis)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from p2pstore.profiles.base import Profiles

#: Powers (kW) with exact zeros and ties (balanced slots, empty slots) as well as generic values.
POWER = st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 5.0, allow_subnormal=False))


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


@st.composite
def communities(draw, max_households=5, max_slots=12, *, min_households=2, buy=(4.0, 8.0), sell=(2.0, 4.0),
                all_consumers=False, ties=False, time_varying=False):
    """Random small communities: zeros and ties in the powers, consumers first, P2P-off slots.

    ``all_consumers``: allow a community without prosumers; ``ties``: sometimes make households
    balance their own load exactly (L == PV); ``time_varying``: sometimes draw ``[N, H]`` tariffs.
    ``buy`` / ``sell``: tariff ranges, currency/kWh.
    """
    n = draw(st.integers(min_households, max_households))
    h = draw(st.integers(1, max_slots))
    load = draw(arrays(float, (n, h), elements=POWER))
    pv = draw(arrays(float, (n, h), elements=POWER))
    if ties and draw(st.booleans()):
        tie = draw(arrays(bool, (n, h)))
        pv[tie] = load[tie]
    n_cons = draw(st.integers(0, n if all_consumers else n - 1))
    pv[:n_cons] = 0.0
    shape = (n, h) if time_varying and draw(st.booleans()) else (n,)
    buy_t = draw(arrays(float, shape, elements=st.floats(*buy)))
    sell_t = draw(arrays(float, shape, elements=st.floats(*sell)))
    sell_t[:n_cons] = 0.0
    allowed = draw(arrays(bool, h))
    slot_hours = draw(st.sampled_from([0.25, 0.5, 1.0, 1 / 6]))
    kinds = ["consumer"] * n_cons + ["prosumer"] * (n - n_cons)
    return make_profiles(load, pv, buy_t, sell_t, allowed, slot_hours=slot_hours, periods_per_day=h, kinds=kinds)
