"""KPIs per mechanism of one settled community; formulas, units and sources in docs/metrics.md.

Every function here works on totals over the horizon (kWh, currency); none loops over slots or
households. Values that are undefined (a ratio over zero) are ``None`` so the store writes NULL.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from p2pstore.kpis import METRIC_NAMES, METRICS  # noqa: F401 - the one list, re-exported
from p2pstore.settlement.conventional import settle_conventional
from p2pstore.settlement.result import MechanismResult

#: Bills within this tolerance (relative to the conventional bill, at least 1e-9 absolute) count
#: as "not higher" for participation willingness, so float noise never flips a household.
PARTICIPATION_RTOL = 1e-9

#: Zhou et al. (2018)'s "very small positive number" epsilon of the equality index, eq. (21).
ZHOU_EPSILON = 1e-9


def _pair_difference_sum(values: np.ndarray) -> float:
    """``sum_i sum_j |x_i - x_j|`` in O(n log n): ``2 * sum_k (2k - n + 1) x_(k)``, x ascending."""
    x = np.sort(np.asarray(values, dtype=float))
    return float(2.0 * ((2.0 * np.arange(x.size) - x.size + 1.0) @ x))


def gini(values: np.ndarray) -> float:
    """Gini coefficient in [0, 1] of ``values`` (any sign), population form.

    ``G = sum_i sum_j |x_i - x_j| / (2 n sum_i |x_i|)``: the usual Gini when all values are
    non-negative, the Gini of ``|x|`` when all are non-positive, and the Raffinetti, Siletti &
    Vernizzi (2015) normalisation (bounded by 1) when signs are mixed. 0 when all values are 0.
    """
    x = np.asarray(values, dtype=float)
    scale = np.abs(x).sum()
    if x.size == 0 or scale == 0.0:
        return 0.0
    return _pair_difference_sum(x) / (2.0 * x.size * scale)


def zhou_equality_index(bills: np.ndarray, eps: float = ZHOU_EPSILON) -> float | None:
    """Zhou et al. (2018) eqs (19)-(21): ``EI = 1 - IEI``, the Gini ``IEI`` of the levelled-up
    incomes ``x' = x + |U|`` if ``U = min(x) + eps < 0`` (else ``x' = x``), ``x = -bills``.

    1 when every income is equal; None in the degenerate case of unequal incomes summing to <= 0.
    """
    x = -np.asarray(bills, dtype=float)
    if x.size == 0:
        return None
    u = float(x.min()) + eps
    if u < 0:
        x = x + abs(u)
    spread = _pair_difference_sum(x)
    if spread == 0:
        return 1.0
    total = float(x.sum())
    return 1.0 - spread / (2.0 * x.size * total) if total > 0 else None


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den != 0 else None


@dataclasses.dataclass(frozen=True)
class Baseline:
    """What every mechanism's KPIs are measured against (mechanism-independent).

    ``conventional``: the no-P2P settlement; ``p2p_on`` ``[H]`` bool; ``grid_bill`` ``[H]``
    currency: ``G[h] = dt * (buy_ref * max(I - E, 0) - sell_ref * max(E - I, 0))``, the bill of a
    community meter for the community's net exchange at the reference tariffs; ``physical``: the
    KPIs that depend on the flows only (Zhou's EBI, EPARI, SSI).
    """

    conventional: MechanismResult
    p2p_on: np.ndarray
    grid_bill: np.ndarray
    physical: dict[str, float | None]

    @classmethod
    def of(cls, profiles, flows, conventional: MechanismResult) -> Baseline:
        buy_ref, sell_ref = profiles.reference_tariffs()
        gap = flows.import_total_kw - flows.export_total_kw  # I - E = L_tot - PV_tot, kW
        grid_bill = (np.maximum(gap, 0.0) * buy_ref - np.maximum(-gap, 0.0) * sell_ref) * flows.slot_hours
        abs_gap = np.abs(gap)
        load, gross = float(flows.load_total_kw.sum()), float(flows.load_total_kw.sum() + flows.pv_total_kw.sum())
        mean_gap = float(abs_gap.mean()) if abs_gap.size else 0.0
        physical = {  # dt cancels in every ratio
            "energy_balance_index": None if gross == 0 else 1.0 - float(abs_gap.sum()) / gross,
            "epari": None if mean_gap == 0 else float(abs_gap.max()) / mean_gap,
            "self_sufficiency_index": None if load == 0 else 1.0 - float(np.maximum(gap, 0.0).sum()) / load,
        }
        return cls(conventional, np.asarray(profiles.p2p_allowed, dtype=bool), grid_bill, physical)

    def on_slot_gap(self, result: MechanismResult) -> float:
        """``sum_{h on} (sum_i cost[i, h] - G[h])``, currency: the budget balance of ``result``."""
        on = self.p2p_on
        return float(result.community_cost[on].sum() - self.grid_bill[on].sum())


def mechanism_metrics(result: MechanismResult, base: Baseline) -> dict[str, float | None]:
    """KPIs of one mechanism's result (:data:`METRIC_NAMES`, in order) against ``base``."""
    f = result.flows
    dt_h = f.slot_hours
    load_kwh = float(f.load_total_kw.sum() * dt_h)
    pv_kwh = float(f.pv_total_kw.sum() * dt_h)
    import_kwh = float(f.import_total_kw.sum() * dt_h)
    export_kwh = float(f.export_total_kw.sum() * dt_h)
    # sum of min(L, PV) two ways, each exact to rounding relative to its own denominator: from
    # the load side for self-sufficiency, from the PV side for self-consumption (load - import
    # loses every digit of a tiny PV beside a large load)
    self_kwh = load_kwh - import_kwh
    self_pv_kwh = pv_kwh - export_kwh
    p2p_kwh = float(f.import_total_kw @ result.p2p_import_share * dt_h)
    p2p_sold_kwh = float(f.export_total_kw @ result.p2p_export_share * dt_h)

    bill = float(result.bills.sum())
    conv_bills = base.conventional.bills
    conv_bill = float(conv_bills.sum())
    savings = conv_bill - bill
    tol = PARTICIPATION_RTOL * np.maximum(np.abs(conv_bills), 1.0)
    # Zhou's value tapping: (value - value_conv) / (value_max - value_conv), value = -sum(bills),
    # value_max = -(community meter's bill in P2P-on slots + conventional cost of P2P-off slots).
    tapping_room = base.on_slot_gap(base.conventional)

    return {
        "community_bill": bill,
        "savings_vs_conventional": savings,
        "savings_vs_conventional_pct": None if conv_bill == 0 else 100.0 * savings / conv_bill,
        "participation_willingness": float(np.mean(result.bills <= conv_bills + tol)),
        "equality": 1.0 - gini(-result.bills),
        "self_sufficiency": _ratio(self_kwh + p2p_kwh, load_kwh),
        "self_consumption": _ratio(self_pv_kwh + p2p_sold_kwh, pv_kwh),
        "energy_balance": _ratio(pv_kwh, load_kwh),
        "net_grid_import_kwh": (import_kwh - p2p_kwh) - (export_kwh - p2p_sold_kwh),
        "grid_import_kwh": import_kwh - p2p_kwh,
        "grid_export_kwh": export_kwh - p2p_sold_kwh,
        "p2p_traded_kwh": p2p_kwh,
        "budget_balance": base.on_slot_gap(result),
        "value_tapping_index": _ratio(savings, tapping_room),
        "participation_index": float(np.mean(result.bills < conv_bills - tol)),
        "equality_index": zhou_equality_index(result.bills),
        **base.physical,
    }


def compute_metrics(settlement) -> dict[str, dict[str, float | None]]:
    """``{mechanism: {metric: value}}`` for every mechanism in ``settlement`` (see METRIC_NAMES).

    The conventional baseline is settled here when the run did not ask for it, because savings,
    participation and value tapping are defined against it.
    """
    conventional = settlement.results.get("conventional") or settlement.conventional
    if conventional is None:
        conventional = settle_conventional(settlement.profiles, settlement.flows)
        settlement.flows.release_scratch()
    base = Baseline.of(settlement.profiles, settlement.flows, conventional)
    batteries = getattr(settlement, "batteries", None)
    extra = batteries.kpis() if batteries is not None else {}  # BATTERY_METRICS
    return {m: {**mechanism_metrics(r, base), **extra} for m, r in settlement.results.items()}
