"""The published mechanisms: SDR (Liu et al. 2017), MMR and bill sharing (Long et al. 2017).

Formulas, sources and the choices where the papers disagree are in docs/mechanisms.md. All four
share the same frame:

* in P2P-on slots every household trades at community prices derived from the community's
  reference tariffs ``lb = buy_ref``, ``ls = sell_ref`` (the single contract of the papers'
  energy-sharing provider / community meter), so the mechanism is budget-balanced against the
  community's net grid bill ``G[h] = dt * (lb * max(I - E, 0) - ls * max(E - I, 0))``;
* in P2P-off slots every household settles conventionally at its own tariffs and every price is
  undefined (NaN, stored as NULL);
* the per-slot mechanisms are one formula with different trade prices ``pi[h]`` for the volume
  peers match (the unified form)::

      c_im = f_im * pi + (1 - f_im) * lb      c_ex = f_ex * pi + (1 - f_ex) * ls
      cost[i, h] = dt * (Pim[i, h] * c_im[h] - Pex[i, h] * c_ex[h])

  with ``f_im = min(I, E) / I`` and ``f_ex = min(I, E) / E``
  (:func:`~p2pstore.settlement.prices.p2p_fractions`). Since ``f_im * I = f_ex * E = min(I, E)``,
  ``sum_i cost[i, h] = G[h]`` for any ``pi``.

Prices that a formula leaves undefined (an empty side, 0/0) are NaN and only ever meet a zero
volume. Arrays: ``[N, H]`` per household and slot, ``[H]`` per slot; kW, currency/kWh, hours.
"""

from __future__ import annotations

import numpy as np

from p2pstore.errors import InputError
from p2pstore.profiles.base import Profiles
from p2pstore.settlement.costs import community_price_cost, own_tariff_cost_in
from p2pstore.settlement.prices import grid_shares, p2p_fractions
from p2pstore.settlement.result import AffineCost, Flows, MechanismResult


def _frame(profiles: Profiles, flows: Flows):
    """``(I, E, lb, ls, on)``: community net import needs and export offers ``[H]`` kW, the
    reference tariffs ``[H]`` and the P2P-on mask ``[H]``."""
    lb, ls = profiles.reference_tariffs()
    return flows.import_total_kw, flows.export_total_kw, lb, ls, np.asarray(profiles.p2p_allowed, dtype=bool)


def unified_prices(import_total_kw: np.ndarray, export_total_kw: np.ndarray, on: np.ndarray,
                   trade_price: np.ndarray | float, buy_ref: np.ndarray, sell_ref: np.ndarray):
    """``(c_im, c_ex)`` ``[H]`` currency/kWh of the unified per-slot form (module docstring).

    The matched shares trade at ``trade_price``, the rest at the reference tariffs. Finite in
    every slot: where a side is empty its price is the reference tariff (unused, zero volume);
    in P2P-off slots both are the reference tariffs (replaced by own tariffs in the cost).
    """
    f_im, f_ex = p2p_fractions(import_total_kw, export_total_kw, on)
    g_im, g_ex = grid_shares(import_total_kw, export_total_kw, on)
    return f_im * trade_price + g_im * buy_ref, f_ex * trade_price + g_ex * sell_ref


def _result(name: str, profiles: Profiles, flows: Flows, c_im: np.ndarray, c_ex: np.ndarray, *,
            import_price: np.ndarray, export_price: np.ndarray, **extra) -> MechanismResult:
    """Cost at the community prices ``c_im`` / ``c_ex`` (``[H]``, finite where P2P is on) in
    P2P-on slots, at own tariffs in P2P-off slots; stored prices and ``extra`` per-slot arrays
    are NaN where P2P is off."""
    on = np.asarray(profiles.p2p_allowed, dtype=bool)
    price_im, price_ex = np.where(on, c_im, 0.0), np.where(on, c_ex, 0.0)
    cost = community_price_cost(flows, price_im, price_ex)
    own_tariff_cost_in(cost, flows, profiles.lambda_buy, profiles.lambda_sell, np.flatnonzero(~on))
    share_im, share_ex = p2p_fractions(flows.import_total_kw, flows.export_total_kw, on)

    def off_nan(a):
        return None if a is None else np.where(on, a, np.nan)

    dt_h = flows.slot_hours
    own_h = np.where(on, 0.0, dt_h)  # P2P-off slots: own tariffs
    return MechanismResult.from_cost(
        name, flows, cost, import_price=off_nan(import_price), export_price=off_nan(export_price),
        p2p_import_share=share_im, p2p_export_share=share_ex, **{k: off_nan(v) for k, v in extra.items()},
        cost_form=AffineCost(own_h, price_im * dt_h, own_h, price_ex * dt_h))


# -- SDR ---------------------------------------------------------------------------------------
def sdr_prices(import_total_kw: np.ndarray, export_total_kw: np.ndarray, buy_ref: np.ndarray,
               sell_ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sdr, pr_buy, pr_sell)`` ``[H]``: Liu et al. (2017) eqs (7), (9), (10).

    ``sdr = TSP / TBP = E / I`` (``+inf`` where ``I = 0``). For ``0 < sdr <= 1``:
    ``pr_sell = ls * lb / ((lb - ls) * sdr + ls)`` and ``pr_buy = pr_sell * sdr + lb * (1 - sdr)``;
    ``sdr = 0`` gives ``lb`` for both (its own branch, so ``ls = 0`` is no 0/0); ``sdr > 1``
    (surplus, and no demand at all) gives ``ls`` for both. Both branches meet at ``ls`` for
    ``sdr = 1``. Raises :class:`InputError` where the curve's denominator vanishes (only possible
    with a reference buy tariff <= 0).
    """
    ratio = np.divide(export_total_kw, import_total_kw, out=np.full(import_total_kw.shape, np.inf),
                      where=import_total_kw > 0)
    lb = np.broadcast_to(buy_ref, ratio.shape)
    ls = np.broadcast_to(sell_ref, ratio.shape)
    curve = (ratio > 0) & (ratio < 1)
    r = np.where(curve, ratio, 0.0)
    denom = (lb - ls) * r + ls
    if (curve & (denom == 0)).any():
        k = int(np.flatnonzero(curve & (denom == 0))[0])
        raise InputError(f"sdr: Liu's price curve is undefined in slot {k} (reference buy tariff {lb[k]:g}, "
                         f"sell tariff {ls[k]:g}): it needs a positive buy tariff")
    pr_sell = ls.copy()
    np.divide(ls * lb, denom, out=pr_sell, where=curve)
    np.copyto(pr_sell, lb, where=ratio == 0)
    short = ratio <= 1
    r = np.where(short, ratio, 0.0)  # no inf * 0 outside the branch
    pr_buy = np.where(short, pr_sell * r + lb * (1.0 - r), ls)
    return ratio, pr_buy, pr_sell


def settle_sdr(profiles: Profiles, flows: Flows) -> MechanismResult:
    """Supply-demand ratio pricing, Liu et al. (2017): every buyer pays ``pr_buy`` for all its net
    demand, every seller gets ``pr_sell`` for all its net supply (:func:`sdr_prices`)::

        cost[i, h] = dt * (Pim[i, h] * pr_buy[h] - Pex[i, h] * pr_sell[h])     (eqs 14, 16)

    computed as the unified form with ``pi = pr_sell``. Stores ``import_price = pr_buy``,
    ``export_price = pr_sell`` and ``supply_demand_ratio`` (``+inf`` where nobody needs power).
    No service fee (Liu's beta = 0, as in Zhou et al. 2018).
    """
    I, E, lb, ls, on = _frame(profiles, flows)
    ratio, pr_buy, pr_sell = sdr_prices(I, E, lb, ls)
    c_im, c_ex = unified_prices(I, E, on, pr_sell, lb, ls)
    return _result("sdr", profiles, flows, c_im, c_ex, import_price=pr_buy, export_price=pr_sell,
                   supply_demand_ratio=ratio)


# -- MMR ---------------------------------------------------------------------------------------
def settle_mmr_lit(profiles: Profiles, flows: Flows) -> MechanismResult:
    """Mid-market rate as published, Long et al. (2017) eqs (15)-(18), with net weights.

    ``P_mid = (lb + ls) / 2``. Surplus or balance (``E >= I``): buyers pay ``P_mid``, sellers get
    ``(I * P_mid + (E - I) * ls) / E``; shortage: sellers get ``P_mid``, buyers pay
    ``(E * P_mid + (I - E) * lb) / I``. That is the unified form with ``pi = P_mid``; where a side
    is empty its stored price is ``P_mid`` (Long's balanced and one-sided cases). Stores
    ``import_price``, ``export_price`` and ``p2p_price = P_mid``.
    """
    I, E, lb, ls, on = _frame(profiles, flows)
    mid = 0.5 * (lb + ls)
    c_im, c_ex = unified_prices(I, E, on, mid, lb, ls)
    return _result("mmr_lit", profiles, flows, c_im, c_ex, import_price=np.where(I > 0, c_im, mid),
                   export_price=np.where(E > 0, c_ex, mid), p2p_price=mid)


# -- bill sharing --------------------------------------------------------------------------------
def _undefined_where_empty(price: np.ndarray, side_kw: np.ndarray) -> np.ndarray:
    return np.where(side_kw > 0, price, np.nan)


def settle_bs_lit_slot(profiles: Profiles, flows: Flows) -> MechanismResult:
    """Bill sharing of Long et al. (2017) with a billing horizon of one slot: the unified form
    with ``pi = 0``, i.e. ``c_im[h] = lb * max(I - E, 0) / I`` and ``c_ex[h] = ls * max(E - I, 0) / E``
    (undefined, NULL, where the side is empty). Peer-matched energy is free; budget-balanced in
    every slot. Stores ``import_price`` and ``export_price``.
    """
    I, E, lb, ls, on = _frame(profiles, flows)
    c_im, c_ex = unified_prices(I, E, on, 0.0, lb, ls)
    return _result("bs_lit_slot", profiles, flows, c_im, c_ex, import_price=_undefined_where_empty(c_im, I),
                   export_price=_undefined_where_empty(c_ex, E))


def bs_lit_prices(import_total_kw: np.ndarray, export_total_kw: np.ndarray, buy_ref: np.ndarray,
                  sell_ref: np.ndarray, on: np.ndarray) -> tuple[float, float]:
    """``(c_im, c_ex)`` currency/kWh over the billing horizon (the P2P-on slots), Long et al. (2017)
    eqs (4)-(13): the community meter's import bill over the energy its members import, and its
    export income over the energy they export::

        c_im = sum_on lb[h] * max(I - E, 0) / sum_on I      c_ex = sum_on ls[h] * max(E - I, 0) / sum_on E

    (``dt`` cancels.) NaN for a side with no energy over the horizon.
    """
    gap = import_total_kw - export_total_kw
    volume_im = float(import_total_kw[on].sum())
    volume_ex = float(export_total_kw[on].sum())
    bill_im = float((np.broadcast_to(buy_ref, gap.shape)[on] * np.maximum(gap[on], 0.0)).sum())
    bill_ex = float((np.broadcast_to(sell_ref, gap.shape)[on] * np.maximum(-gap[on], 0.0)).sum())
    return (bill_im / volume_im if volume_im > 0 else np.nan,
            bill_ex / volume_ex if volume_ex > 0 else np.nan)


def settle_bs_lit(profiles: Profiles, flows: Flows) -> MechanismResult:
    """Bill sharing as published, Long et al. (2017) and Zhou et al. (2018) (A28): the community's
    grid bill over the run's P2P-on slots is shared at one import price and one export price
    (:func:`bs_lit_prices`), the same for every household and every P2P-on slot::

        cost[i, h] = dt * (Pim[i, h] * c_im - Pex[i, h] * c_ex)          (eq. 14)

    Budget-balanced over the horizon, not per slot. The whole run is one billing period, so its
    daily bills are slices of that bill: only their sum equals the community's grid bill.
    """
    I, E, lb, ls, on = _frame(profiles, flows)
    c_im, c_ex = bs_lit_prices(I, E, lb, ls, on)
    price_im, price_ex = np.full(I.shape, c_im), np.full(I.shape, c_ex)
    return _result("bs_lit", profiles, flows, np.nan_to_num(price_im), np.nan_to_num(price_ex),
                   import_price=price_im, export_price=price_ex)
