"""The profiles every generator or importer returns: plain numpy arrays, no mechanisms."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np


@dataclasses.dataclass(frozen=True, eq=False)
class Profiles:
    """Loads, PV, tariffs and events of one community over one horizon.

    ``N`` households (consumers first, then prosumers, as in the notebook), ``H`` slots.
    """

    labels: np.ndarray          # [N] str: "C1".."Cn", "P1".."Pm"
    kinds: np.ndarray           # [N] str: "consumer" | "prosumer"
    load_kw: np.ndarray         # [N, H] float64, mean power per slot, kW
    pv_kw: np.ndarray           # [N, H] float64, kW (zero for consumers)
    lambda_buy: np.ndarray      # [N] currency/kWh, each household's grid import tariff
    lambda_sell: np.ndarray     # [N] currency/kWh, each household's grid export tariff (0 for consumers)
    p2p_allowed: np.ndarray     # [H] bool, False in P2P maintenance windows
    start: dt.datetime          # timestamp of slot 0
    slot_hours: float           # hours per slot (0.25)
    periods_per_day: int        # slots per day (96)
    outages: tuple[tuple[int, int], ...] = ()      # (household index, day) with PV forced to 0
    maintenance: tuple[int, ...] = ()              # first slot of each P2P-off window

    @property
    def n_households(self) -> int:
        return int(self.load_kw.shape[0])

    @property
    def n_slots(self) -> int:
        return int(self.load_kw.shape[1])

    @property
    def days(self) -> int:
        return self.n_slots // self.periods_per_day

    @property
    def lambda_buy_ref(self) -> float:
        """Reference import tariff: mean of all households' import tariffs (notebook)."""
        return float(np.mean(self.lambda_buy))

    @property
    def lambda_sell_ref(self) -> float:
        """Reference export tariff: mean of the positive export tariffs (prosumers only; notebook).

        0.0 when no household has a positive export tariff (the notebook's mean of nothing would
        be NaN and poison every P2P price, although nobody can export then).
        """
        positive = self.lambda_sell[self.lambda_sell > 0]
        return float(np.mean(positive)) if positive.size else 0.0

    def timestamps(self) -> np.ndarray:
        """[H] datetime64[m] of each slot's start."""
        step = np.timedelta64(round(self.slot_hours * 60), "m")
        return np.datetime64(self.start, "m") + step * np.arange(self.n_slots)



def generated_profiles(scenario, load_kw: np.ndarray, pv_kw: np.ndarray, lambda_buy: np.ndarray,
                       lambda_sell: np.ndarray, outages, maintenance) -> Profiles:
    """The :class:`Profiles` of a generated community: households labelled ``C1..Cn`` then
    ``P1..Pm`` (consumers first), slot 0 at ``scenario.start`` 00:00, and P2P closed for
    ``scenario.maintenance_slots`` slots from each first slot in ``maintenance``.

    ``outages``: ``(household index, day)`` pairs; arrays as in :class:`Profiles`.
    """
    s = scenario
    allowed = np.ones(s.slots, dtype=bool)
    firsts = np.asarray(maintenance, dtype=np.int64)
    if firsts.size:
        allowed[(firsts[:, None] + np.arange(s.maintenance_slots)).ravel()] = False
    return Profiles(
        labels=np.array([f"C{k + 1}" for k in range(s.consumers)] + [f"P{k + 1}" for k in range(s.prosumers)]),
        kinds=np.array(["consumer"] * s.consumers + ["prosumer"] * s.prosumers),
        load_kw=load_kw,
        pv_kw=pv_kw,
        lambda_buy=lambda_buy,
        lambda_sell=lambda_sell,
        p2p_allowed=allowed,
        start=dt.datetime.combine(s.start_date, dt.time()),
        slot_hours=s.slot_hours,
        periods_per_day=s.periods_per_day,
        outages=tuple((int(i), int(d)) for i, d in outages),
        maintenance=tuple(int(m) for m in firsts),
    )
