"""Small communities with batteries for the battery tests, and their settlement by the oracles."""

from __future__ import annotations

import numpy as np

import battery_oracle as bo
import literature_oracle as lo
from handmade import make_profiles
from p2pstore.scenario import Scenario

MECHANISMS = ("conventional", "sdr", "mmr_lit", "bs_lit")

#: Home batteries: (household index, C kWh, P kW, eta, soc_min, soc_max, soc_initial).
HOMES = ((0, 5.0, 2.0, 0.9, 0.1, 0.95, 0.5), (1, 3.0, 1.5, 0.95, 0.0, 1.0, 1.0), (3, 2.0, 0.8, 0.8, 0.2, 0.9, 0.2))
SHARED = (8.0, 3.0, 0.92, 0.05, 1.0, 0.3)


def small_community(seed: int = 1, n: int = 5, slots: int = 24, *, off=(5, 6, 7, 20), time_varying=False,
                    slot_hours: float = 0.5):
    """``n`` households (PV on the even ones) over ``slots`` slots, P2P off in slots ``off``."""
    rng = np.random.default_rng(seed)
    load = rng.uniform(0.0, 3.0, (n, slots))
    pv = np.zeros((n, slots))
    pv[::2] = rng.uniform(0.0, 5.0, (len(range(0, n, 2)), slots))
    load[1, 3] = pv[1, 3] = 0.0        # an empty slot
    load[0, 4] = pv[0, 4] = 1.5        # a balanced one
    allowed = np.ones(slots, bool)
    allowed[list(off)] = False
    buy = rng.uniform(4.0, 8.0, n)
    sell = np.where(np.arange(n) % 2 == 0, rng.uniform(2.0, 3.5, n), 0.0)
    if time_varying:
        buy = buy[:, None] * rng.uniform(0.7, 1.3, (1, slots))
        sell = sell[:, None] * rng.uniform(0.7, 1.3, (1, slots))
    kinds = ["prosumer" if i % 2 == 0 else "consumer" for i in range(n)]
    return make_profiles(load, pv, buy, sell, allowed, slot_hours=slot_hours, kinds=kinds)


def scenario_for(profiles, rule: str, shared=SHARED, homes=HOMES, mechanisms=MECHANISMS) -> Scenario:
    """A scenario giving ``profiles``' households ``homes`` (rows by index) and ``shared``."""
    labels = [str(x) for x in profiles.labels]
    keys = {}
    if shared is not None:
        keys = dict(zip(("shared_battery_kwh", "shared_battery_kw", "shared_battery_efficiency",
                         "shared_battery_soc_min", "shared_battery_soc_max", "shared_battery_soc_initial"), shared))
    rows = tuple((labels[i], *values) for i, *values in homes) or None
    return Scenario(mechanisms=mechanisms, batteries=rows, battery_dispatch=rule, **keys)


def oracle(profiles, rule: str, shared=SHARED, homes=HOMES):
    """``(series by label, bills {mechanism: [N (+1)]})`` of the oracles."""
    p = profiles
    load, pv = p.load_kw.tolist(), p.pv_kw.tolist()
    buy, sell = p.lambda_buy.tolist(), p.lambda_sell.tolist()
    dt, allowed = p.slot_hours, p.p2p_allowed.tolist()
    series, post_load, post_pv = bo.dispatch(load, pv, dt, allowed, {i: tuple(v) for i, *v in homes}, rule, shared)
    if shared is not None:
        post_load, post_pv, buy, sell = bo.with_member(post_load, post_pv, buy, sell, series)
    bills = {}
    for m in MECHANISMS:
        cost = bo.conventional(post_load, post_pv, dt, buy, sell) if m == "conventional" else \
            lo.settle(m, post_load, post_pv, dt, buy, sell, allowed)[0]
        bills[m] = np.array([sum(row) for row in cost])
    labels = [str(x) for x in p.labels]
    by_label = {(labels[k] if k != bo.COMMUNITY_BATTERY else k): np.array(v) for k, v in series.items()}
    return by_label, bills
