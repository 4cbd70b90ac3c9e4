"""Cost kernels shared by the mechanisms: ``[N, H]`` currency per household and slot.

Two ways to price the flows of :class:`~p2pstore.settlement.result.Flows`: at each household's
own tariffs (conventional settlement, P2P-off slots of the literature mechanisms) or at one
community import price and one export price per slot (MMR, SDR, bill sharing as published).
"""

from __future__ import annotations

import numpy as np

from p2pstore.settlement.result import Flows


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


def community_price_cost(flows: Flows, import_price: np.ndarray, export_price: np.ndarray) -> np.ndarray:
    """[N, H] currency: ``import * dt * import_price[h] - export * dt * export_price[h]``.

    Prices are ``[H]`` currency/kWh, the same for every household; they must be finite (an
    undefined price goes with a zero volume: pass any finite value there). ``dt`` is folded into
    the prices (exact for dt = 0.25, a power of two). One of the two terms is 0 in every
    household-slot, so the difference is exact; the export side goes through the flows' scratch
    buffer (a fresh temporary would cost page faults of its own).
    """
    dt_h = flows.slot_hours
    cost = np.multiply(flows.import_kw, import_price * dt_h)
    side = np.multiply(flows.export_kw, export_price * dt_h, out=flows.scratch())
    cost -= side
    return cost


def own_tariff_cost_in(cost: np.ndarray, flows: Flows, lambda_buy: np.ndarray, lambda_sell: np.ndarray,
                       slots: np.ndarray) -> np.ndarray:
    """``cost`` with its columns ``slots`` (``[k]`` indices) replaced by each household's own-tariff
    cost, the same values :func:`household_tariff_cost` gives there; returns ``cost``."""
    if slots.size == 0:
        return cost
    dt_h = flows.slot_hours
    if np.ndim(lambda_buy) == 2:
        buy_dt, sell_dt = lambda_buy[:, slots] * dt_h, lambda_sell[:, slots] * dt_h
    else:
        buy_dt, sell_dt = (lambda_buy * dt_h)[:, None], (lambda_sell * dt_h)[:, None]
    cost[:, slots] = flows.import_kw[:, slots] * buy_dt - flows.export_kw[:, slots] * sell_dt
    return cost
