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


def community_labels(consumers: int, prosumers: int) -> tuple[np.ndarray, np.ndarray]:
    """([N] labels "C1".."Cn", "P1".."Pm"; [N] kinds "consumer" | "prosumer"), consumers first."""
    labels = np.array([f"C{k + 1}" for k in range(consumers)] + [f"P{k + 1}" for k in range(prosumers)])
    kinds = np.array(["consumer"] * consumers + ["prosumer"] * prosumers)
    return labels, kinds


def p2p_allowed_mask(slots: int, window_starts, window_slots: int) -> np.ndarray:
    """[slots] bool: False inside each P2P maintenance window ``[start, start + window_slots)``."""
    allowed = np.ones(slots, dtype=bool)
    starts = np.asarray(window_starts, dtype=np.int64)
    if starts.size:
        allowed[(starts[:, None] + np.arange(window_slots)).ravel()] = False
    return allowed
