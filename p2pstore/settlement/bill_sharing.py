"""Bill sharing: P2P volume at the dynamic ``cp2p``, the residual at each household's own tariff."""

from __future__ import annotations

import numpy as np

from p2pstore.profiles.base import Profiles
from p2pstore.settlement.prices import dynamic_p2p_price, grid_shares, p2p_fractions
from p2pstore.settlement.result import AffineCost, Flows, MechanismResult


def _side_cost(energy_kw: np.ndarray, tariff: np.ndarray, dt_h: float, grid_share: np.ndarray,
               p2p_dt: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """[N, H] currency: ``energy * (tariff[i(, h)] * dt * grid_share[h] + p2p_share[h] * cp2p[h] * dt)``.

    ``tariff`` is ``[N]`` (flat) or ``[N, H]`` (time-varying), currency/kWh; ``dt_h`` hours.
    """
    if np.ndim(tariff) == 2:
        # no [N, H] temporary for tariff * dt: scale the product in place
        out = np.multiply(tariff, grid_share, out=out)
        out *= dt_h
    else:
        out = np.multiply.outer(tariff * dt_h, grid_share, out=out)
    out += p2p_dt
    out *= energy_kw
    return out


def settle_bill_sharing(profiles: Profiles, flows: Flows) -> MechanismResult:
    """Settle the peer-matched share of each household's import/export at ``cp2p`` and the rest
    at its own grid tariffs.

    Per slot ``h`` with P2P on, ``f_im = min(I, E) / I`` and ``f_ex = min(I, E) / E`` (``I``, ``E``
    community import needs and export offers, kW)::

        cost[i, h] = import[i, h] * dt * (f_im * cp2p + (1 - f_im) * buy_i)
                   - export[i, h] * dt * (f_ex * cp2p + (1 - f_ex) * sell_i)

    ``buy_i`` / ``sell_i`` are flat or per slot (``[N, H]``); ``cp2p`` uses the reference tariffs
    of the slot. P2P-off slots use ``f = 0`` (everything at individual tariffs); slots with
    neither imports nor exports cost 0. Same value as the notebook's per-household loop to
    ~1e-15 relative; not bit-identical because the factorised form rounds differently.
    """
    buy_ref, sell_ref = profiles.lambda_buy_ref, profiles.lambda_sell_ref
    cp2p = dynamic_p2p_price(flows.load_total_kw, flows.pv_total_kw, buy_ref, sell_ref)
    imp_tot, exp_tot = flows.import_total_kw, flows.export_total_kw
    allowed = profiles.p2p_allowed
    share_im, share_ex = p2p_fractions(imp_tot, exp_tot, allowed)
    grid_im, grid_ex = grid_shares(imp_tot, exp_tot, allowed)

    dt_h = flows.slot_hours
    cp2p_dt = cp2p * dt_h
    p2p_im_dt, p2p_ex_dt = share_im * cp2p_dt, share_ex * cp2p_dt
    cost = _side_cost(flows.import_kw, profiles.lambda_buy, dt_h, grid_im, p2p_im_dt)
    cost -= _side_cost(flows.export_kw, profiles.lambda_sell, dt_h, grid_ex, p2p_ex_dt, out=flows.scratch())
    return MechanismResult.from_cost("bill_sharing", flows, cost, p2p_price=cp2p,
                                     p2p_import_share=share_im, p2p_export_share=share_ex,
                                     cost_form=AffineCost(grid_im * dt_h, p2p_im_dt, grid_ex * dt_h, p2p_ex_dt))
