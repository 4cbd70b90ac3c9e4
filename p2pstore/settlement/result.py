"""Result types of the settlement core. Pure numpy; no I/O.

Sign convention: cost > 0 means the household pays, cost < 0 means it is paid.
Energies are kWh per slot, powers kW, prices currency per kWh.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property

import numpy as np

from p2pstore.limits import HOUSEHOLD_BLOCK
from p2pstore.profiles.base import column_sums


def _block_products(kw: np.ndarray, share: np.ndarray) -> np.ndarray:
    """[N] ``kw @ share`` (``kw`` [N, H], ``share`` [H]) one block of :data:`HOUSEHOLD_BLOCK`
    rows at a time: the BLAS product's rounding depends on how many rows it is given, and chunks
    hold whole blocks, so a chunked run gets the same bits as the whole community."""
    out = np.empty(kw.shape[0])
    for start in range(0, kw.shape[0], HOUSEHOLD_BLOCK):  # a few hundred blocks for a town
        np.matmul(kw[start:start + HOUSEHOLD_BLOCK], share, out=out[start:start + HOUSEHOLD_BLOCK])
    return out


#: Values per chunk where a reduction goes through a small buffer instead of an ``[N, H]`` array.
_CHUNK_VALUES = 1 << 18


@dataclasses.dataclass(frozen=True, eq=False)
class Flows:
    """Physical, mechanism-independent flows of one community. Arrays are ``[N, H]`` kW."""

    load_kw: np.ndarray
    pv_kw: np.ndarray
    slot_hours: float

    @cached_property
    def self_kw(self) -> np.ndarray:
        """[N, H] kW each household consumes from its own PV: ``min(L, PV)``."""
        return np.minimum(self.load_kw, self.pv_kw)

    @cached_property
    def import_export_kw(self) -> np.ndarray:
        """[2, N, H] kW: :attr:`import_kw` stacked on :attr:`export_kw` (they are views of it).

        One block lets a mechanism price both sides in a single ``np.einsum`` pass.
        """
        # max(L - PV, 0) == L - min(L, PV) and max(PV - L, 0) == PV - min(L, PV) bit for bit
        # (x - x is exactly +0), without a min(L, PV) array. PV - L rather than -(L - PV): the
        # negation would turn L == PV into -0.0, which then shows up as "-0.0" in exports.
        both = np.empty((2,) + self.load_kw.shape)
        np.subtract(self.load_kw, self.pv_kw, out=both[0])
        np.subtract(self.pv_kw, self.load_kw, out=both[1])
        np.maximum(both, 0.0, out=both)
        return both

    @cached_property
    def import_kw(self) -> np.ndarray:
        """[N, H] kW the household needs from outside (grid or peers): ``L - min(L, PV)``."""
        return self.import_export_kw[0]

    @cached_property
    def export_kw(self) -> np.ndarray:
        """[N, H] kW the household offers outside: ``PV - min(L, PV)``."""
        return self.import_export_kw[1]

    def scratch(self) -> np.ndarray:
        """A reusable ``[N, H]`` float64 work buffer; its content is garbage between calls.

        Mechanisms write their temporaries here rather than allocating: at 1,000 households x
        a year a fresh array costs about half an arithmetic pass in page faults.
        Never return it or keep a reference to it.
        """
        buf = self.__dict__.get("_scratch")
        if buf is None:
            buf = self.__dict__["_scratch"] = np.empty_like(self.load_kw)
        return buf

    def release_scratch(self) -> None:
        """Free the work buffer (``settle`` calls this once every mechanism is done)."""
        self.__dict__.pop("_scratch", None)

    @cached_property
    def household_kwh(self) -> dict[str, np.ndarray]:
        """[N] kWh over the horizon per household: ``self`` consumed, ``import`` need, ``export``
        offer. Mechanism-independent, so every mechanism's :meth:`MechanismResult.household_totals`
        shares one reduction; read-only."""
        dt_h = self.slot_hours
        return {"self": self._self_kw_sums() * dt_h, "import": self.import_kw.sum(axis=1) * dt_h,
                "export": self.export_kw.sum(axis=1) * dt_h}

    def shared_kw_sums(self, side: int, share: np.ndarray) -> np.ndarray:
        """[N] ``kw @ share`` of the import (``side`` 0) or export (1) flows: each household's
        sum over the slots of its flow times a per-slot share, read-only. Mechanisms with the same
        shares (the notebook's MMR and bill sharing) share one product; all-zero shares (no P2P)
        give zeros without one, as the product would for finite flows."""
        share = np.asarray(share, dtype=np.float64)
        cache = self.__dict__.setdefault("_shared_kw_sums", {})
        key = (side, share.shape, share.tobytes())
        out = cache.get(key)
        if out is None:
            kw = self.import_export_kw[side]
            if not share.any() and np.isfinite(self.household_kwh["import" if side == 0 else "export"]).all():
                out = np.zeros(kw.shape[0])
            else:
                out = _block_products(kw, share)
            out.flags.writeable = False
            cache[key] = out
        return out

    def _self_kw_sums(self) -> np.ndarray:
        """[N] ``self_kw.sum(axis=1)`` bit for bit, without an ``[N, H]`` array when
        :attr:`self_kw` is not there yet: ``min(L, PV)`` a few households at a time in a small
        buffer (each row is summed alone, with the same pairwise summation, either way)."""
        if "self_kw" in self.__dict__:
            return self.self_kw.sum(axis=1)
        n, h = self.load_kw.shape
        rows = max(1, min(n, _CHUNK_VALUES // max(h, 1)))
        buf = np.empty((rows, h))
        out = np.empty(n)
        for start in range(0, n, rows):  # chunks of households, not a loop over them
            stop = min(n, start + rows)
            part = np.minimum(self.load_kw[start:stop], self.pv_kw[start:stop], out=buf[:stop - start])
            np.sum(part, axis=1, out=out[start:stop])
        return out

    @cached_property
    def load_total_kw(self) -> np.ndarray:
        """[H] community load, kW (the notebook's ``np.sum(L, axis=0)``, summed per block of
        households: :func:`~p2pstore.profiles.base.column_sums`)."""
        return column_sums(self.load_kw)

    @cached_property
    def pv_total_kw(self) -> np.ndarray:
        """[H] community PV, kW."""
        return column_sums(self.pv_kw)

    @cached_property
    def import_total_kw(self) -> np.ndarray:
        """[H] sum of household import needs, kW."""
        return column_sums(self.import_kw)

    @cached_property
    def export_total_kw(self) -> np.ndarray:
        """[H] sum of household export offers, kW."""
        return column_sums(self.export_kw)


@dataclasses.dataclass(frozen=True, eq=False)
class AffineCost:
    """A mechanism's cost as an affine function of each household's tariffs, per slot::

        cost[i, h] = import_kw[i, h] * (buy[i(, h)] * import_tariff_h[h] + import_price_h[h])
                   - export_kw[i, h] * (sell[i(, h)] * export_tariff_h[h] + export_price_h[h])

    ``*_tariff_h`` are hours (the weight of the household's own tariff), ``*_price_h`` currency
    per kW held over the slot (a community price times hours). Arrays ``[H]`` or scalars. A
    mechanism that declares it lets the store keep its household series as per-slot factors
    (docs/schema.md, ``mechanism_slots``); the store checks it against ``cost`` before relying
    on it.
    """

    import_tariff_h: np.ndarray | float
    import_price_h: np.ndarray | float
    export_tariff_h: np.ndarray | float
    export_price_h: np.ndarray | float

    def per_slot(self, n_slots: int) -> dict[str, np.ndarray]:
        """The four coefficients as ``[H]`` float64 arrays, by field name."""
        return {f.name: np.broadcast_to(np.asarray(getattr(self, f.name), dtype=np.float64), (n_slots,))
                for f in dataclasses.fields(self)}


@dataclasses.dataclass(frozen=True, eq=False)
class MechanismResult:
    """One mechanism's settlement of one community.

    ``p2p_import_share[h]`` is the fraction of every household's import need in slot ``h`` that
    is met by peers (the rest comes from the grid); likewise ``p2p_export_share`` for exports.
    Both are 0 where P2P is off and for the conventional mechanism.
    """

    mechanism: str
    flows: Flows
    cost: np.ndarray                  # [N, H] currency per slot
    bills: np.ndarray                 # [N] currency over the horizon (= cost.sum(axis=1))
    import_price: np.ndarray | None   # [H] currency/kWh paid for imports, None if per household
    export_price: np.ndarray | None   # [H] currency/kWh paid for exports, None if per household
    p2p_price: np.ndarray | None      # [H] currency/kWh of P2P trades (cp2p), None if no P2P
    p2p_import_share: np.ndarray      # [H] in [0, 1]
    p2p_export_share: np.ndarray      # [H] in [0, 1]
    supply_demand_ratio: np.ndarray | None = None  # [H] E / I of SDR pricing (+inf: no demand)
    cost_form: AffineCost | None = None  # ``cost`` as per-slot coefficients, if the mechanism knows them

    @classmethod
    def from_cost(cls, mechanism: str, flows: Flows, cost: np.ndarray, *,
                  import_price: np.ndarray | None = None, export_price: np.ndarray | None = None,
                  p2p_price: np.ndarray | None = None, p2p_import_share: np.ndarray | None = None,
                  p2p_export_share: np.ndarray | None = None,
                  supply_demand_ratio: np.ndarray | None = None,
                  cost_form: AffineCost | None = None) -> MechanismResult:
        """The result of a mechanism that priced ``cost`` ([N, H] currency per slot).

        ``bills`` is always ``cost.sum(axis=1)``; omitted P2P shares are 0 in every slot (no P2P).
        Prices are NaN in slots where they are undefined (stored as NULL). ``cost_form``: the
        same cost as per-slot coefficients (:class:`AffineCost`), if the mechanism has them.
        """
        if p2p_import_share is None or p2p_export_share is None:
            zeros = np.zeros(cost.shape[1])
            p2p_import_share = zeros if p2p_import_share is None else p2p_import_share
            p2p_export_share = zeros if p2p_export_share is None else p2p_export_share
        return cls(mechanism=mechanism, flows=flows, cost=cost, bills=cost.sum(axis=1),
                   import_price=import_price, export_price=export_price, p2p_price=p2p_price,
                   p2p_import_share=p2p_import_share, p2p_export_share=p2p_export_share,
                   supply_demand_ratio=supply_demand_ratio, cost_form=cost_form)

    # Volumes are derived on demand: the store needs them, the settlement hot path does not.
    def p2p_import_kwh(self) -> np.ndarray:
        """[N, H] kWh each household buys from peers."""
        return self.flows.import_kw * (self.p2p_import_share * self.flows.slot_hours)

    def p2p_export_kwh(self) -> np.ndarray:
        """[N, H] kWh each household sells to peers."""
        return self.flows.export_kw * (self.p2p_export_share * self.flows.slot_hours)

    def grid_import_kwh(self) -> np.ndarray:
        """[N, H] kWh each household imports from the grid."""
        return self.flows.import_kw * ((1.0 - self.p2p_import_share) * self.flows.slot_hours)

    def grid_export_kwh(self) -> np.ndarray:
        """[N, H] kWh each household exports to the grid."""
        return self.flows.export_kw * ((1.0 - self.p2p_export_share) * self.flows.slot_hours)

    def household_totals(self) -> dict[str, np.ndarray]:
        """[N] kWh totals over the horizon: self-consumed, grid and P2P import/export."""
        f = self.flows
        dt_h = f.slot_hours
        p2p_imp = f.shared_kw_sums(0, self.p2p_import_share) * dt_h
        p2p_exp = f.shared_kw_sums(1, self.p2p_export_share) * dt_h
        own = f.household_kwh
        return {
            "self_consumed_kwh": own["self"].copy(),
            "grid_import_kwh": own["import"] - p2p_imp,
            "grid_export_kwh": own["export"] - p2p_exp,
            "p2p_import_kwh": p2p_imp,
            "p2p_export_kwh": p2p_exp,
        }

    @cached_property
    def community_cost(self) -> np.ndarray:
        """[H] community cost per slot, currency (``cost.sum(axis=0)`` per block of households,
        :func:`~p2pstore.profiles.base.column_sums`); the daily table and the community series share it."""
        return column_sums(self.cost)

    def community_series(self) -> dict[str, np.ndarray]:
        """[H] community aggregates per slot: load/pv kW, grid/P2P kWh, cost currency."""
        f = self.flows
        dt_h = f.slot_hours
        p2p_bought = f.import_total_kw * self.p2p_import_share * dt_h
        p2p_sold = f.export_total_kw * self.p2p_export_share * dt_h
        return {
            "load_kw": f.load_total_kw,
            "pv_kw": f.pv_total_kw,
            "grid_import_kwh": f.import_total_kw * dt_h - p2p_bought,
            "grid_export_kwh": f.export_total_kw * dt_h - p2p_sold,
            "p2p_kwh": p2p_bought,
            "cost": self.community_cost,
        }
