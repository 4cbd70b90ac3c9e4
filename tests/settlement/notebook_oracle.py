"""The reference notebook's settlement, transcribed scalar by scalar: the oracle for the
property tests (slow, loops on purpose; never used by the package)."""

from __future__ import annotations

import numpy as np


def cp2p_dynamic(L_total, PV_total, buy_ref, sell_ref, eps=1e-9):
    H = len(L_total)
    cp2p = np.zeros(H)
    mid = 0.5 * (buy_ref + sell_ref)
    spread = 0.5 * (buy_ref - sell_ref)
    for h in range(H):
        denom = L_total[h] + PV_total[h]
        if denom < eps:
            cp2p[h] = mid
            continue
        cp2p[h] = mid + spread * ((L_total[h] - PV_total[h]) / denom)
    return cp2p


def _pim_pex(L, PV):
    M = np.minimum(L, PV)
    return L - M, PV - M


def conventional(L, PV, dt, buy, sell):
    Pim, Pex = _pim_pex(L, PV)
    cost = np.zeros(L.shape)
    for i in range(L.shape[0]):
        cost[i, :] = Pim[i] * dt * buy[i] - Pex[i] * dt * sell[i]
    return cost.sum(axis=1), cost


def mmr(L, PV, dt, buy_ref, sell_ref, allowed, epsilon=1e-6):
    N, H = L.shape
    L_total, PV_total = L.sum(axis=0), PV.sum(axis=0)
    cp2p = cp2p_dynamic(L_total, PV_total, buy_ref, sell_ref)
    Pim, Pex = _pim_pex(L, PV)
    c_im, c_ex = np.zeros(H), np.zeros(H)
    for h in range(H):
        if not allowed[h]:
            c_im[h], c_ex[h] = buy_ref, sell_ref
        elif abs(PV_total[h] - L_total[h]) <= epsilon:
            c_im[h] = c_ex[h] = cp2p[h]
        elif PV_total[h] > L_total[h]:
            c_im[h] = cp2p[h]
            c_ex[h] = ((L_total[h] * cp2p[h] + (PV_total[h] - L_total[h]) * sell_ref) / PV_total[h]
                       if PV_total[h] > 0 else sell_ref)
        else:
            c_ex[h] = cp2p[h]
            c_im[h] = ((PV_total[h] * cp2p[h] + (L_total[h] - PV_total[h]) * buy_ref) / L_total[h]
                       if L_total[h] > 0 else buy_ref)
    cost = np.zeros((N, H))
    for i in range(N):
        for h in range(H):
            cost[i, h] += Pim[i, h] * dt * c_im[h]
            cost[i, h] -= Pex[i, h] * dt * c_ex[h]
    return cost.sum(axis=1), cost, c_im, c_ex, cp2p


def bill_sharing(L, PV, dt, buy, sell, buy_ref, sell_ref, allowed):
    N, H = L.shape
    cp2p = cp2p_dynamic(L.sum(axis=0), PV.sum(axis=0), buy_ref, sell_ref)
    Pim, Pex = _pim_pex(L, PV)
    cost = np.zeros((N, H))
    for h in range(H):
        imp, exp = np.sum(Pim[:, h]), np.sum(Pex[:, h])
        if imp <= 0 and exp <= 0:
            continue
        if not allowed[h]:
            for i in range(N):
                cost[i, h] += Pim[i, h] * dt * buy[i]
                cost[i, h] -= Pex[i, h] * dt * sell[i]
            continue
        p2p = min(imp, exp)
        f_im = p2p / imp if imp > 0 else 0.0
        f_ex = p2p / exp if exp > 0 else 0.0
        for i in range(N):
            e_im, e_ex = Pim[i, h] * dt, Pex[i, h] * dt
            e_im_p2p = Pim[i, h] * f_im * dt if imp > 0 else 0.0
            e_ex_p2p = Pex[i, h] * f_ex * dt if exp > 0 else 0.0
            cost[i, h] += e_im_p2p * cp2p[h]
            cost[i, h] -= e_ex_p2p * cp2p[h]
            cost[i, h] += (e_im - e_im_p2p) * buy[i]
            cost[i, h] -= (e_ex - e_ex_p2p) * sell[i]
    return cost.sum(axis=1), cost, cp2p
