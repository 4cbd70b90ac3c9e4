"""Mid-market rate (MMR) with the notebook's dynamic P2P price and reference grid tariffs."""

from __future__ import annotations

from p2pstore.profiles.base import Profiles
from p2pstore.settlement.costs import community_price_cost
from p2pstore.settlement.prices import dynamic_p2p_price, mmr_prices, p2p_fractions
from p2pstore.settlement.result import AffineCost, Flows, MechanismResult


def settle_mmr(profiles: Profiles, flows: Flows) -> MechanismResult:
    """Settle every household at one community import price and one export price per slot.

    ``cost[i, h] = import[i, h] * dt * c_im[h] - export[i, h] * dt * c_ex[h]`` (currency), with
    ``c_im, c_ex`` from :func:`~p2pstore.settlement.prices.mmr_prices` (reference tariffs in
    P2P-off slots). The reference tariffs are floats (flat tariffs) or per slot (time-varying);
    the households' own tariffs play no part. The P2P shares report ``min(I, E) / I`` and ``min(I, E) / E`` per slot, the
    physical volume exchanged between peers, so volumes are comparable across mechanisms.
    """
    buy_ref, sell_ref = profiles.lambda_buy_ref, profiles.lambda_sell_ref
    load_tot, pv_tot = flows.load_total_kw, flows.pv_total_kw
    cp2p = dynamic_p2p_price(load_tot, pv_tot, buy_ref, sell_ref)
    c_im, c_ex = mmr_prices(load_tot, pv_tot, cp2p, buy_ref, sell_ref, profiles.p2p_allowed)

    cost = community_price_cost(flows, c_im, c_ex)
    share_im, share_ex = p2p_fractions(flows.import_total_kw, flows.export_total_kw, profiles.p2p_allowed)
    return MechanismResult.from_cost("mmr", flows, cost, import_price=c_im, export_price=c_ex, p2p_price=cp2p,
                                     p2p_import_share=share_im, p2p_export_share=share_ex,
                                     cost_form=AffineCost(0.0, c_im * flows.slot_hours, 0.0, c_ex * flows.slot_hours))
