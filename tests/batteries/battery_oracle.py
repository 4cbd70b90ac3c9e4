"""A deliberately plain, loop-based transcription of the battery specification
(docs/batteries.md): every battery, slot by slot, with Python floats, straight from the formulas.
Slow; the tests compare the vectorised stage against it. Shares no code with p2pstore.
"""

from __future__ import annotations

COMMUNITY_BATTERY = "community_battery"


def _tariff(t, i, h):
    row = t[i]
    return float(row[h]) if hasattr(row, "__len__") else float(row)


def reference_tariffs(buy, sell, n, h):
    """Mean buy tariff and mean of the positive sell tariffs (0 if none) of slot ``h``."""
    b = [_tariff(buy, i, h) for i in range(n)]
    s = [_tariff(sell, i, h) for i in range(n) if _tariff(sell, i, h) > 0]
    return sum(b) / n, (sum(s) / len(s) if s else 0.0)


def dispatch(load, pv, dt, allowed, homes, rule, shared=None):
    """Dispatch the batteries.

    ``load``, ``pv``: nested ``[N][H]`` kW; ``homes``: ``{household index: (C, P, eta, soc_min,
    soc_max, soc_initial)}``; ``shared``: the shared battery's tuple or None; ``rule``:
    ``"self_consumption"`` or ``"community"``. Returns ``(series, post_load, post_pv)``:
    ``series[key] = (charge [H], discharge [H], soc [H])`` keyed by household index (and
    ``COMMUNITY_BATTERY``), and the post-battery ``[N][H]`` load and PV (without the member).
    """
    n, hh = len(load), len(load[0])
    batteries = dict(homes)
    if shared is not None:
        batteries[COMMUNITY_BATTERY] = shared
    energy = {k: b[0] * b[5] for k, b in batteries.items()}
    series = {k: ([0.0] * hh, [0.0] * hh, [0.0] * hh) for k in batteries}
    post_load = [list(map(float, row)) for row in load]
    post_pv = [list(map(float, row)) for row in pv]

    def rooms(k):
        cap, power, eta, lo, hi, _ = batteries[k]
        e = energy[k]
        hc = min(power, max(hi * cap - e, 0.0) / (eta * dt))
        hd = min(power, max(e - lo * cap, 0.0) * eta / dt)
        return hc, hd

    for h in range(hh):
        net = [pv[i][h] - load[i][h] for i in range(n)]
        c = {k: 0.0 for k in batteries}
        d = {k: 0.0 for k in batteries}
        room = {k: rooms(k) for k in batteries}
        if rule == "self_consumption" or not allowed[h]:
            for i in homes:
                if net[i] > 0:
                    c[i] = min(net[i], room[i][0])
                elif net[i] < 0:
                    d[i] = min(-net[i], room[i][1])
        else:
            s = sum(max(x, 0.0) for x in net) - sum(max(-x, 0.0) for x in net)
            if s > 0:
                total = sum(room[i][0] for i in homes)
                t = min(s, total)
                for i in homes:
                    c[i] = t * room[i][0] / total if total > 0 else 0.0
            elif s < 0:
                total = sum(room[i][1] for i in homes)
                t = min(-s, total)
                for i in homes:
                    d[i] = t * room[i][1] / total if total > 0 else 0.0
        if shared is not None and allowed[h]:
            s2 = sum(net) + sum(d[i] for i in homes) - sum(c[i] for i in homes)
            k = COMMUNITY_BATTERY
            if s2 > 0:
                c[k] = min(s2, room[k][0])
            elif s2 < 0:
                d[k] = min(-s2, room[k][1])
        for k, b in batteries.items():
            eta = b[2]
            energy[k] = energy[k] + eta * c[k] * dt - d[k] * dt / eta
            series[k][0][h], series[k][1][h], series[k][2][h] = c[k], d[k], energy[k]
            if k != COMMUNITY_BATTERY:
                post_load[k][h] += c[k]
                post_pv[k][h] += d[k]
    return series, post_load, post_pv


def with_member(load, pv, buy, sell, series):
    """The community with the shared battery as one more member: ``L = c``, ``PV = d``, own
    tariffs the reference tariffs of the community without it. ``buy``, ``sell``: ``[N]`` or
    ``[N][H]``. Returns ``(load, pv, buy, sell)`` as nested lists."""
    n, hh = len(load), len(load[0])
    c, d, _ = series[COMMUNITY_BATTERY]
    refs = [reference_tariffs(buy, sell, n, h) for h in range(hh)]
    flat = not hasattr(buy[0], "__len__")
    if flat:
        buy2, sell2 = list(map(float, buy)) + [refs[0][0]], list(map(float, sell)) + [refs[0][1]]
    else:
        buy2 = [list(map(float, r)) for r in buy] + [[r[0] for r in refs]]
        sell2 = [list(map(float, r)) for r in sell] + [[r[1] for r in refs]]
    return load + [list(c)], pv + [list(d)], buy2, sell2


def conventional(load, pv, dt, buy, sell):
    """``[N][H]`` costs: each household trades its own imbalance with the grid at its tariffs."""
    out = []
    for i in range(len(load)):
        row = []
        for h in range(len(load[0])):
            imp = max(load[i][h] - min(load[i][h], pv[i][h]), 0.0)
            exp = max(pv[i][h] - min(load[i][h], pv[i][h]), 0.0)
            row.append(imp * dt * _tariff(buy, i, h) - exp * dt * _tariff(sell, i, h))
        out.append(row)
    return out
