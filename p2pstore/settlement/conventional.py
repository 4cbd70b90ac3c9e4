"""Conventional settlement: no P2P; every household trades with the grid at its own tariffs."""

from __future__ import annotations

from p2pstore.profiles.base import Profiles
from p2pstore.settlement.costs import household_tariff_cost
from p2pstore.settlement.result import AffineCost, Flows, MechanismResult


def settle_conventional(profiles: Profiles, flows: Flows) -> MechanismResult:
    """Settle without P2P: self-consumption is free, the rest goes to/from the grid.

    ``cost[i, h] = (L - min(L, PV))[i, h] * dt * lambda_buy[i(, h)]
                 - (PV - min(L, PV))[i, h] * dt * lambda_sell[i(, h)]``  (currency per slot),
    with flat ``[N]`` or time-varying ``[N, H]`` tariffs.
    """
    cost = household_tariff_cost(flows, profiles.lambda_buy, profiles.lambda_sell)
    dt_h = flows.slot_hours
    return MechanismResult.from_cost("conventional", flows, cost, cost_form=AffineCost(dt_h, 0.0, dt_h, 0.0))
