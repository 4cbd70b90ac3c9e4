"""The built-in dispatch rules, slot by slot (docs/batteries.md has the formulas and sources).

Each is ``rule(slot) -> (charge_kw [B], discharge_kw [B])`` for the home batteries; the
headrooms ``hc`` (charge) and ``hd`` (discharge) come with the slot.
"""

from __future__ import annotations

import numpy as np


def self_consumption(slot):
    """Greedy self-consumption: ``n > 0``: ``c = min(n, hc)``; ``n < 0``: ``d = min(-n, hd)``."""
    n = slot.net_kw
    return (np.minimum(np.maximum(n, 0.0), slot.charge_room_kw),
            np.minimum(np.maximum(-n, 0.0), slot.discharge_room_kw))


def community(slot):
    """Community-following: the community's surplus ``s`` before batteries is stored (``s > 0``)
    or its deficit covered (``s < 0``) by the home batteries together, ``T = min(|s|, sum of
    headrooms)``, each taking ``T`` pro rata to its headroom (Long, Wu, Zhou & Jenkins 2018,
    real-time stage, without the optimisation)."""
    s = slot.surplus_kw
    hc, hd = slot.charge_room_kw, slot.discharge_room_kw
    zero = slot.zeros
    if s > 0:
        room = float(hc.sum())
        if room > 0:
            return hc * (min(s, room) / room), zero
    elif s < 0:
        room = float(hd.sum())
        if room > 0:
            return zero, hd * (min(-s, room) / room)
    return zero, zero
