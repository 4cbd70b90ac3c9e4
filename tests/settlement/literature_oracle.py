"""A deliberately plain, loop-based transcription of the literature mechanisms (SDR, MMR and bill
sharing as published), slot by slot and household by household, straight from the formulas of
docs/mechanisms.md (Liu et al. 2017; Long et al. 2017). Slow; the tests compare the vectorised
core against it. Shares no code with p2pstore.
"""

from __future__ import annotations

import math

MECHANISMS = ("sdr", "mmr_lit", "bs_lit", "bs_lit_slot")
NAN = float("nan")


def _tariff(t, i, h):
    row = t[i]
    return float(row[h]) if hasattr(row, "__len__") else float(row)


def _reference(buy, sell, n, h):
    """Mean buy tariff and mean of the positive sell tariffs (0 if none) of slot h."""
    b = [_tariff(buy, i, h) for i in range(n)]
    s = [_tariff(sell, i, h) for i in range(n) if _tariff(sell, i, h) > 0]
    return sum(b) / n, (sum(s) / len(s) if s else 0.0)


def settle(mechanism, load, pv, dt, buy, sell, allowed):
    """``(cost, import_price, export_price, sdr)``: cost as nested lists ``[N][H]``, per-slot
    lists ``[H]`` (NaN where undefined or P2P is off; ``sdr`` only for the SDR mechanism).

    ``load``, ``pv``: nested ``[N][H]`` kW; ``buy``, ``sell``: ``[N]`` or ``[N][H]``;
    ``allowed``: ``[H]`` booleans; ``dt``: hours per slot.
    """
    n, hh = len(load), len(load[0])
    pim = [[max(load[i][h] - min(load[i][h], pv[i][h]), 0.0) for h in range(hh)] for i in range(n)]
    pex = [[max(pv[i][h] - min(load[i][h], pv[i][h]), 0.0) for h in range(hh)] for i in range(n)]
    cost = [[0.0] * hh for _ in range(n)]
    c_im, c_ex, ratio = [NAN] * hh, [NAN] * hh, [NAN] * hh

    # bill sharing over the horizon: the community meter's bill over the P2P-on slots
    if mechanism == "bs_lit":
        vol_im = vol_ex = bill_im = bill_ex = 0.0
        for h in range(hh):
            if not allowed[h]:
                continue
            lb, ls = _reference(buy, sell, n, h)
            imp = sum(pim[i][h] for i in range(n))
            exp = sum(pex[i][h] for i in range(n))
            vol_im += imp * dt
            vol_ex += exp * dt
            bill_im += lb * max(imp - exp, 0.0) * dt
            bill_ex += ls * max(exp - imp, 0.0) * dt
        horizon_im = bill_im / vol_im if vol_im > 0 else NAN
        horizon_ex = bill_ex / vol_ex if vol_ex > 0 else NAN

    for h in range(hh):
        if not allowed[h]:
            for i in range(n):
                cost[i][h] = pim[i][h] * dt * _tariff(buy, i, h) - pex[i][h] * dt * _tariff(sell, i, h)
            continue
        lb, ls = _reference(buy, sell, n, h)
        imp = sum(pim[i][h] for i in range(n))
        exp = sum(pex[i][h] for i in range(n))
        if mechanism == "sdr":
            r = exp / imp if imp > 0 else math.inf
            ratio[h] = r
            if r > 1:
                p_sell = p_buy = ls
            elif r == 0:
                p_sell = p_buy = lb
            else:
                p_sell = (ls * lb) / ((lb - ls) * r + ls)
                p_buy = p_sell * r + lb * (1 - r)
            c_im[h], c_ex[h] = p_buy, p_sell
        elif mechanism == "mmr_lit":
            mid = (lb + ls) / 2
            if exp >= imp:
                c_im[h] = mid
                c_ex[h] = (imp * mid + (exp - imp) * ls) / exp if exp > 0 else mid
            else:
                c_ex[h] = mid
                c_im[h] = (exp * mid + (imp - exp) * lb) / imp
        elif mechanism == "bs_lit_slot":
            c_im[h] = lb * max(imp - exp, 0.0) / imp if imp > 0 else NAN
            c_ex[h] = ls * max(exp - imp, 0.0) / exp if exp > 0 else NAN
        elif mechanism == "bs_lit":
            c_im[h], c_ex[h] = horizon_im, horizon_ex
        else:
            raise ValueError(mechanism)
        for i in range(n):
            bought = pim[i][h] * dt * c_im[h] if pim[i][h] > 0 else 0.0
            sold = pex[i][h] * dt * c_ex[h] if pex[i][h] > 0 else 0.0
            cost[i][h] = bought - sold
    return cost, c_im, c_ex, ratio


def grid_bill(load, pv, dt, buy, sell):
    """``[H]``: the community meter's bill for its net exchange at the reference tariffs."""
    n, hh = len(load), len(load[0])
    out = []
    for h in range(hh):
        lb, ls = _reference(buy, sell, n, h)
        net = sum(load[i][h] for i in range(n)) - sum(pv[i][h] for i in range(n))
        out.append(dt * (lb * max(net, 0.0) - ls * max(-net, 0.0)))
    return out
