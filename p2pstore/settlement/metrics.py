"""KPIs per mechanism of one settled community; formulas, units and sources in docs/metrics.md.

Every function here works on totals over the horizon (kWh, currency); none loops over slots or
households. Values that are undefined (a ratio over zero) are ``None`` so the store writes NULL.
"""

from __future__ import annotations

import numpy as np

from p2pstore.settlement.conventional import settle_conventional
from p2pstore.settlement.result import MechanismResult

#: Bills within this tolerance (relative to the conventional bill, at least 1e-9 absolute) count
#: as "not higher" for participation willingness, so float noise never flips a household.
PARTICIPATION_RTOL = 1e-9

METRIC_NAMES: tuple[str, ...] = (
    "community_bill",
    "savings_vs_conventional",
    "savings_vs_conventional_pct",
    "participation_willingness",
    "equality",
    "self_sufficiency",
    "self_consumption",
    "energy_balance",
    "net_grid_import_kwh",
    "grid_import_kwh",
    "grid_export_kwh",
    "p2p_traded_kwh",
    "budget_balance",
)


def gini(values: np.ndarray) -> float:
    """Gini coefficient in [0, 1] of ``values`` (any sign), population form.

    ``G = sum_i sum_j |x_i - x_j| / (2 n sum_i |x_i|)``: the usual Gini when all values are
    non-negative, the Gini of ``|x|`` when all are non-positive, and the Raffinetti, Siletti &
    Vernizzi (2015) normalisation (bounded by 1) when signs are mixed. 0 when all values are 0.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    scale = np.abs(x).sum()
    if n == 0 or scale == 0.0:
        return 0.0
    # sum_ij |x_i - x_j| = 2 * sum_k (2k - n + 1) x_(k) for ascending x, k from 0
    rank_weights = 2.0 * np.arange(n) - n + 1.0
    return float(rank_weights @ x / (n * scale))


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den != 0 else None


def mechanism_metrics(result: MechanismResult, conventional: MechanismResult,
                      buy_ref: float | np.ndarray, sell_ref: float | np.ndarray) -> dict[str, float | None]:
    """KPIs of one mechanism's result; ``conventional`` is the no-P2P baseline of the same flows.

    ``buy_ref`` / ``sell_ref``: the reference tariffs, floats or ``[H]`` per slot (currency/kWh).
    """
    f = result.flows
    dt_h = f.slot_hours
    load_kwh = float(f.load_total_kw.sum() * dt_h)
    pv_kwh = float(f.pv_total_kw.sum() * dt_h)
    import_kwh = float(f.import_total_kw.sum() * dt_h)
    export_kwh = float(f.export_total_kw.sum() * dt_h)
    self_kwh = load_kwh - import_kwh  # sum of min(L, PV)
    p2p_kwh = float(f.import_total_kw @ result.p2p_import_share * dt_h)
    p2p_sold_kwh = float(f.export_total_kw @ result.p2p_export_share * dt_h)

    bill = float(result.bills.sum())
    conv_bills = conventional.bills
    conv_bill = float(conv_bills.sum())
    savings = conv_bill - bill
    tol = PARTICIPATION_RTOL * np.maximum(np.abs(conv_bills), 1.0)

    # What the community would pay the grid for its net position per slot at the reference
    # tariffs of that slot.
    net_kw = f.load_total_kw - f.pv_total_kw
    grid_cost = float((np.maximum(net_kw, 0.0) * buy_ref - np.maximum(-net_kw, 0.0) * sell_ref).sum() * dt_h)

    return {
        "community_bill": bill,
        "savings_vs_conventional": savings,
        "savings_vs_conventional_pct": None if conv_bill == 0 else 100.0 * savings / conv_bill,
        "participation_willingness": float(np.mean(result.bills <= conv_bills + tol)),
        "equality": 1.0 - gini(-result.bills),
        "self_sufficiency": _ratio(self_kwh + p2p_kwh, load_kwh),
        "self_consumption": _ratio(self_kwh + p2p_sold_kwh, pv_kwh),
        "energy_balance": _ratio(pv_kwh, load_kwh),
        "net_grid_import_kwh": (import_kwh - p2p_kwh) - (export_kwh - p2p_sold_kwh),
        "grid_import_kwh": import_kwh - p2p_kwh,
        "grid_export_kwh": export_kwh - p2p_sold_kwh,
        "p2p_traded_kwh": p2p_kwh,
        "budget_balance": bill - grid_cost,
    }


def compute_metrics(settlement) -> dict[str, dict[str, float | None]]:
    """``{mechanism: {metric: value}}`` for every mechanism in ``settlement`` (see METRIC_NAMES).

    The conventional baseline is settled here when the run did not ask for it, because savings
    and participation willingness are defined against it.
    """
    conventional = settlement.results.get("conventional")
    if conventional is None:
        conventional = settle_conventional(settlement.profiles, settlement.flows)
        settlement.flows.release_scratch()
    p = settlement.profiles
    buy_ref, sell_ref = p.lambda_buy_ref, p.lambda_sell_ref
    return {m: mechanism_metrics(r, conventional, buy_ref, sell_ref) for m, r in settlement.results.items()}
