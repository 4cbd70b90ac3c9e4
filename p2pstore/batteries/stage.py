"""The battery stage between profiles and settlement: ``(L, PV)`` in, post-battery ``(L', PV')``
out, with every battery's series (docs/batteries.md).

``L' = L + charge`` and ``PV' = PV + discharge`` for the households with a home battery; the
shared battery joins as the member ``community_battery`` (kind ``battery``) with ``L = charge``,
``PV = discharge`` and the community's reference tariffs as its own. The mechanisms settle the
post-battery community as any other: none of them knows about batteries.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from p2pstore.batteries import keys as battery_keys
from p2pstore.batteries import rules
from p2pstore.batteries.dispatch import CHUNK_SLOTS, Fleet, dispatch_homes, dispatch_shared, finish
from p2pstore.batteries.keys import SHARED_KW_PER_KWH
from p2pstore.batteries.params import COMMUNITY_BATTERY
from p2pstore.batteries.sums import battery_total, pre_battery_surplus, slot_sums
from p2pstore.profiles.base import Profiles
from p2pstore.scenario import share_count

#: Kind of the shared battery's member in ``households`` and :attr:`Profiles.kinds`.
BATTERY_KIND = "battery"
#: Second word of the seed that draws which prosumers get a generated battery (the scenario's
#: seed is the first): an own stream, so the profiles' draws are untouched.
_DRAW_STREAM = 0xBA77


@dataclasses.dataclass(frozen=True, eq=False)
class BatteryDispatch:
    """Every battery of a run: ``labels`` ``[B]`` (households with a home battery, in community
    order, then ``community_battery``), their parameters (``fleet``), the rule, and
    ``charge_kw``, ``discharge_kw`` (kW, AC side), ``soc_kwh`` (kWh at the end of each slot), each
    ``[B, H]``."""

    labels: np.ndarray
    fleet: Fleet
    rule: str
    charge_kw: np.ndarray
    discharge_kw: np.ndarray
    soc_kwh: np.ndarray
    slot_hours: float

    def per_battery(self) -> dict[str, np.ndarray]:
        """``[B]`` totals over the run (:func:`per_battery`)."""
        charge, discharge = self.charge_kw.T, self.discharge_kw.T  # [H, B]
        end = self.soc_kwh[:, -1] if self.soc_kwh.shape[1] else self.fleet.e_initial
        return per_battery(self.fleet, slot_sums(charge) * self.slot_hours, slot_sums(discharge) * self.slot_hours,
                           end)

    def kpis(self) -> dict[str, float]:
        """The run's battery KPIs (:data:`p2pstore.kpis.BATTERY_METRICS`): totals over every battery."""
        return battery_kpis(self.per_battery())


def per_battery(fleet: Fleet, charged: np.ndarray, discharged: np.ndarray, end: np.ndarray) -> dict[str, np.ndarray]:
    """``[B]`` totals over the run from ``charged`` and ``discharged`` (kWh, AC side) and the
    energy at the end (kWh): ``capacity_kwh``, ``charged_kwh``, ``discharged_kwh``,
    ``stored_change_kwh`` (end minus start), ``losses_kwh`` (charged - discharged - change) and
    ``equivalent_cycles`` (discharged / capacity; 0 for a zero capacity)."""
    change = end - fleet.e_initial
    cap = fleet.capacity_kwh
    cycles = np.divide(discharged, cap, out=np.zeros_like(cap), where=cap > 0)
    return {"capacity_kwh": cap, "charged_kwh": charged, "discharged_kwh": discharged,
            "stored_change_kwh": change, "losses_kwh": charged - discharged - change, "equivalent_cycles": cycles}


def battery_kpis(totals: dict[str, np.ndarray]) -> dict[str, float]:
    """The run's battery KPIs from :func:`per_battery`'s totals: sums over every battery."""
    t = {k: float(v.sum()) for k, v in totals.items()}
    return {"battery_capacity_kwh": t["capacity_kwh"], "battery_throughput_kwh": t["discharged_kwh"],
            "battery_losses_kwh": t["losses_kwh"],
            "battery_equivalent_cycles": t["discharged_kwh"] / t["capacity_kwh"] if t["capacity_kwh"] else 0.0}


@dataclasses.dataclass(frozen=True, eq=False)
class Staged:
    """The stage's output: ``post`` (the community the mechanisms settle), ``own`` (the same
    households with their own, pre-battery load and PV: what ``household_series`` shows) and
    ``batteries``."""

    post: Profiles
    own: Profiles
    batteries: BatteryDispatch


def home_choice(scenario, labels, kinds) -> tuple[np.ndarray, Fleet | None]:
    """``(household indices [B], fleet)`` of the home batteries of ``scenario`` in a community
    of ``labels`` and ``kinds`` ``[N]``: its pinned battery rows (households not in the
    community, e.g. not drawn, have none), or a seeded share of the prosumers, whose fleet (None)
    is sized by their peak PV (:func:`generated_fleet`)."""
    s = scenario
    if s.batteries is not None:
        where = {str(x): i for i, x in enumerate(labels)}
        rows = sorted((where[r[0]], r[1:]) for r in s.batteries if r[0] in where)
        return np.array([i for i, _ in rows], dtype=np.int64), Fleet.of([v for _, v in rows])
    if s.battery_share is None:
        return np.zeros(0, dtype=np.int64), Fleet.of([])
    prosumers = np.flatnonzero(np.asarray(kinds) == "prosumer")
    order = np.random.default_rng([s.seed, _DRAW_STREAM]).permutation(len(prosumers))
    return np.sort(prosumers[order[:share_count(s.battery_share, len(prosumers))]]), None


def generated_fleet(scenario, peak_kw: np.ndarray) -> Fleet:
    """The generated home batteries of households whose peak PV output is ``peak_kw`` ``[B]``."""
    s, n = scenario, len(peak_kw)
    capacity = s.battery_kwh_per_kwp * peak_kw
    return Fleet(capacity, s.battery_kw_per_kwh * capacity, np.full(n, s.battery_efficiency),
                 np.full(n, s.battery_soc_min), np.full(n, s.battery_soc_max), np.full(n, s.battery_soc_initial))


def home_fleet(scenario, profiles: Profiles) -> tuple[np.ndarray, Fleet]:
    """``(household indices [B], fleet)`` of the home batteries of ``scenario`` in ``profiles``."""
    chosen, fleet = home_choice(scenario, profiles.labels, profiles.kinds)
    if fleet is not None:
        return chosen, fleet
    peak = profiles.pv_kw.max(axis=1)[chosen] if profiles.n_slots else np.zeros(len(chosen))  # no gathered copy
    return chosen, generated_fleet(scenario, peak)


def pinned(scenario, labels):
    """``scenario`` with its battery file pinned and checked against the community's ``labels``
    (:func:`p2pstore.batteries.keys.pin`); a drawn profile set's pinned rows were checked on its
    names when it was queued (households not drawn have no battery)."""
    if scenario.imported and scenario.battery_file is None:
        return scenario
    return battery_keys.pin(scenario, lambda: [str(x) for x in labels])


def shared_fleet(scenario) -> Fleet | None:
    s = scenario
    if s.shared_battery_kwh is None:
        return None
    kw = s.shared_battery_kw if s.shared_battery_kw is not None else SHARED_KW_PER_KWH * s.shared_battery_kwh
    return Fleet.of([(s.shared_battery_kwh, kw, s.shared_battery_efficiency, s.shared_battery_soc_min,
                      s.shared_battery_soc_max, s.shared_battery_soc_initial)])


def apply_batteries(scenario, profiles: Profiles) -> Staged | None:
    """Dispatch the batteries of ``scenario`` over ``profiles`` and build the post-battery
    community; None when it has none."""
    done = dispatch(scenario, profiles)
    if done is None:
        return None
    idx, result = done
    return _communities(profiles, idx, result.labels[-1] == COMMUNITY_BATTERY, result)


def dispatch(scenario, profiles: Profiles) -> tuple[np.ndarray, BatteryDispatch] | None:
    """``(home battery households [B], every battery's dispatch)`` of ``scenario`` over
    ``profiles``; None when it has no battery."""
    idx, homes = home_fleet(scenario, profiles)
    shared = shared_fleet(scenario)
    if not len(homes) and shared is None:
        return None
    name = scenario.battery_dispatch or rules.DEFAULT
    rule, function = rules.load(name)
    dt, b, h = profiles.slot_hours, len(homes), profiles.n_slots
    surplus = pre_battery_surplus(profiles.load_kw, profiles.pv_kw)
    on = np.asarray(profiles.p2p_allowed, dtype=bool)
    fleet = Fleet.joined([homes, *([shared] if shared is not None else [])])
    # [H, B] (a row per slot, the loop's layout); the result holds their [B, H] transposes
    soc, charge, discharge = (np.empty((h, len(fleet))) for _ in range(3))
    sums_c = sums_d = 0.0
    if b:
        dispatch_homes(profiles.load_kw, profiles.pv_kw, idx, surplus, on, homes, name, dt, soc[:, :b],
                       None if rule.builtin else function)
        sums_c, sums_d = np.empty(h), np.empty(h)
        finish(soc[:, :b], homes, dt, charge[:, :b], discharge[:, :b], each=slot_totals(idx, sums_c, sums_d))
    if shared is not None:
        dispatch_shared(surplus + sums_d - sums_c, on, shared, dt, soc[:, b])
        finish(soc[:, b:], shared, dt, charge[:, b:], discharge[:, b:])
    labels = [str(profiles.labels[i]) for i in idx] + ([COMMUNITY_BATTERY] if shared is not None else [])
    return idx, BatteryDispatch(np.array(labels, dtype=object), fleet, name, charge.T, discharge.T, soc.T, dt)


def slot_totals(households: np.ndarray, sums_c: np.ndarray, sums_d: np.ndarray):
    """``each`` of :func:`~p2pstore.batteries.dispatch.finish`: the sums over the batteries of
    ``households`` of each slot's charge and discharge, into ``sums_c`` and ``sums_d`` ``[H]``."""
    def each(start: int, stop: int, c: np.ndarray, d: np.ndarray) -> None:
        sums_c[start:stop] = battery_total(c, households)
        sums_d[start:stop] = battery_total(d, households)

    return each


def _communities(profiles: Profiles, idx: np.ndarray, shared: bool, result: BatteryDispatch) -> Staged:
    """The post-battery and own communities (see :class:`Staged`)."""
    p = profiles
    buy_ref, sell_ref = p.lambda_buy_ref, p.lambda_sell_ref
    labels, kinds, buy, sell = p.labels, p.kinds, p.lambda_buy, p.lambda_sell
    own_load, own_pv = p.load_kw, p.pv_kw
    if shared:
        own_load = _with_row(p.load_kw, result.charge_kw[-1])
        own_pv = _with_row(p.pv_kw, result.discharge_kw[-1])
        labels = np.append(np.asarray(labels, dtype=object), COMMUNITY_BATTERY)
        kinds = np.append(np.asarray(kinds, dtype=object), BATTERY_KIND)
        buy = _append_tariff(buy, buy_ref, p.n_slots)
        sell = _append_tariff(sell, sell_ref, p.n_slots)
    post_load, post_pv = own_load.copy(), own_pv.copy()
    charge, discharge = result.charge_kw[:len(idx)].T, result.discharge_kw[:len(idx)].T  # [H, B] (views)
    for start in range(0, p.n_slots, CHUNK_SLOTS):  # a block of slots at a time, in cache
        cols = slice(start, start + CHUNK_SLOTS)
        post_load[idx, cols] += charge[cols].T
        post_pv[idx, cols] += discharge[cols].T
    made = []
    for load, pv in ((post_load, post_pv), (own_load, own_pv)):
        q = dataclasses.replace(p, labels=labels, kinds=kinds, load_kw=load, pv_kw=pv, lambda_buy=buy, lambda_sell=sell)
        # the member's tariffs are the reference tariffs, so these are unchanged; kept to the bit
        q.__dict__["lambda_buy_ref"], q.__dict__["lambda_sell_ref"] = buy_ref, sell_ref
        made.append(q)
    return Staged(made[0], made[1], result)


def _with_row(a: np.ndarray, row: np.ndarray) -> np.ndarray:
    """``a`` ``[N, H]`` with ``row`` ``[H]`` below it (a new array)."""
    out = np.empty((a.shape[0] + 1, a.shape[1]))
    out[:-1] = a
    out[-1] = row
    return out


def _append_tariff(tariff: np.ndarray, ref, n_slots: int) -> np.ndarray:
    """``tariff`` (``[N]`` or ``[N, H]``) with the reference tariff ``ref`` as one more row."""
    tariff = np.asarray(tariff, dtype=np.float64)
    if tariff.ndim == 2:
        return np.vstack([tariff, np.broadcast_to(np.asarray(ref, dtype=np.float64), (n_slots,))[None, :]])
    return np.append(tariff, float(ref))
