"""Per-slot prices shared by the P2P mechanisms: dynamic ``cp2p``, MMR prices, P2P fractions.

All functions take and return ``[H]`` arrays (one value per slot); powers in kW, prices in
currency/kWh. The reference tariffs ``buy_ref`` / ``sell_ref`` are floats (flat tariffs) or
``[H]`` arrays (time-varying tariffs, one reference per slot); every formula is evaluated slot by
slot either way. Each reproduces the reference notebook's scalar branches with array masks, using
the same floating-point expressions so the results are bit-identical to the notebook's.
"""

from __future__ import annotations

import numpy as np

#: Below this community ``L + PV`` (kW) the P2P price falls back to the mid price (notebook).
CP2P_EPS = 1e-9
#: ``|PV - L|`` (kW) at or below which MMR treats the community as balanced (notebook).
MMR_BALANCE_EPS = 1e-6


Ref = float | np.ndarray  # a reference tariff: a float, or [H] currency/kWh


def dynamic_p2p_price(load_total_kw: np.ndarray, pv_total_kw: np.ndarray,
                      buy_ref: Ref, sell_ref: Ref, eps: float = CP2P_EPS) -> np.ndarray:
    """[H] currency/kWh: ``cp2p = mid + spread * (L - PV) / (L + PV)``.

    ``mid = (buy + sell) / 2`` and ``spread = (buy - sell) / 2`` of the reference tariffs, so the
    price moves from the export tariff (all surplus) to the import tariff (all shortage). Where
    ``L + PV < eps`` (nothing to trade) the price is ``mid``.
    """
    mid = 0.5 * (buy_ref + sell_ref)
    spread = 0.5 * (buy_ref - sell_ref)
    denom = load_total_kw + pv_total_kw
    live = ~(denom < eps)
    net = np.divide(load_total_kw - pv_total_kw, denom, out=np.zeros_like(denom), where=live)
    cp2p = mid + spread * net
    np.copyto(cp2p, mid, where=~live)
    return cp2p


def mmr_prices(load_total_kw: np.ndarray, pv_total_kw: np.ndarray, cp2p: np.ndarray,
               buy_ref: Ref, sell_ref: Ref, p2p_allowed: np.ndarray,
               eps: float = MMR_BALANCE_EPS) -> tuple[np.ndarray, np.ndarray]:
    """([H], [H]) currency/kWh: the notebook's MMR import and export prices.

    - P2P off: the reference grid tariffs.
    - ``|PV - L| <= eps``: both sides at ``cp2p``.
    - surplus (``PV > L``): imports at ``cp2p``; exports at the PV-weighted mix of ``cp2p`` (for
      the ``L`` that peers absorb) and the export tariff (for ``PV - L``).
    - shortage: exports at ``cp2p``; imports at the load-weighted mix of ``cp2p`` (for ``PV``)
      and the import tariff (for ``L - PV``).
    A zero denominator (impossible with non-negative data) falls back to the grid tariff.
    """
    load, pv = load_total_kw, pv_total_kw
    balanced = np.abs(pv - load) <= eps
    surplus = ~balanced & (pv > load)
    shortage = ~balanced & ~surplus

    c_im = cp2p.copy()
    c_ex = cp2p.copy()
    # Divide only where the branch applies: elsewhere the ratio may overflow and is unused.
    np.divide(load * cp2p + (pv - load) * sell_ref, pv, out=c_ex, where=surplus & (pv > 0))
    np.copyto(c_ex, sell_ref, where=surplus & ~(pv > 0))
    np.divide(pv * cp2p + (load - pv) * buy_ref, load, out=c_im, where=shortage & (load > 0))
    np.copyto(c_im, buy_ref, where=shortage & ~(load > 0))

    off = ~np.asarray(p2p_allowed, dtype=bool)
    np.copyto(c_im, buy_ref, where=off)
    np.copyto(c_ex, sell_ref, where=off)
    return c_im, c_ex


def p2p_fractions(import_total_kw: np.ndarray, export_total_kw: np.ndarray,
                  p2p_allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([H], [H]) in [0, 1]: share of import needs and of export offers matched between peers.

    The traded power is ``min(imports, exports)``; each side's share is it divided by that side's
    total (0 where the side is empty or P2P is off), as in the notebook's bill sharing.
    """
    traded = np.minimum(import_total_kw, export_total_kw)
    off = ~np.asarray(p2p_allowed, dtype=bool)
    share_im = np.divide(traded, import_total_kw, out=np.zeros_like(traded), where=import_total_kw > 0)
    share_ex = np.divide(traded, export_total_kw, out=np.zeros_like(traded), where=export_total_kw > 0)
    share_im[off] = 0.0
    share_ex[off] = 0.0
    return share_im, share_ex


def grid_shares(import_total_kw: np.ndarray, export_total_kw: np.ndarray,
                p2p_allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([H], [H]) in [0, 1]: ``1 - share`` of :func:`p2p_fractions`, computed without cancellation.

    ``1 - min(I, E) / I == max(I - E, 0) / I``; the right side keeps full relative precision
    when almost everything is traded between peers. 1 where P2P is off or the side is empty.
    """
    allowed = np.asarray(p2p_allowed, dtype=bool)
    gap = import_total_kw - export_total_kw
    grid_im = np.ones_like(gap)
    grid_ex = np.ones_like(gap)
    np.divide(np.maximum(gap, 0.0), import_total_kw, out=grid_im, where=allowed & (import_total_kw > 0))
    np.divide(np.maximum(-gap, 0.0), export_total_kw, out=grid_ex, where=allowed & (export_total_kw > 0))
    return grid_im, grid_ex
