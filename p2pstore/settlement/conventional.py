"""Conventional settlement: no P2P; every household trades with the grid at its own tariffs."""

from __future__ import annotations

import numpy as np

from p2pstore.profiles.base import Profiles
from p2pstore.settlement.result import Flows, MechanismResult


def household_tariff_cost(flows: Flows, lambda_buy: np.ndarray, lambda_sell: np.ndarray) -> np.ndarray:
    """[N, H] currency: ``import * dt * buy - export * dt * sell`` (each household's own tariffs).

    Tariffs are ``[N]`` (flat) or ``[N, H]`` (time-varying), currency/kWh. ``dt`` is folded into
    the tariffs; for 15-minute slots (dt = 0.25, a power of two) that reorders no rounding, so
    the result is bit-identical to the notebook's.
    """
    dt_h = flows.slot_hours
    if np.ndim(lambda_buy) == 2:
        cost = np.multiply(lambda_buy, dt_h)
        cost *= flows.import_kw
        scratch = np.multiply(lambda_sell, dt_h, out=flows.scratch())
        scratch *= flows.export_kw
        cost -= scratch
        return cost
    # One pass over both sides: cost = import * (buy dt) + export * (-sell dt). Either term is
    # zero in every household-slot, so the sum is exact.
    weights = np.stack([lambda_buy * dt_h, -(lambda_sell * dt_h)])
    return np.einsum("kih,ki->ih", flows.import_export_kw, weights)


def settle_conventional(profiles: Profiles, flows: Flows) -> MechanismResult:
    """Settle without P2P: self-consumption is free, the rest goes to/from the grid.

    ``cost[i, h] = (L - min(L, PV))[i, h] * dt * lambda_buy[i(, h)]
                 - (PV - min(L, PV))[i, h] * dt * lambda_sell[i(, h)]``  (currency per slot),
    with flat ``[N]`` or time-varying ``[N, H]`` tariffs.
    """
    cost = household_tariff_cost(flows, profiles.lambda_buy, profiles.lambda_sell)
    return MechanismResult.from_cost("conventional", flows, cost)
