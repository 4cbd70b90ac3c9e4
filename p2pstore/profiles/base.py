"""The profiles every generator or importer returns: plain numpy arrays, no mechanisms.

Tariffs come in two shapes, and every mechanism and KPI accepts both:

* **flat**: ``lambda_buy`` / ``lambda_sell`` are ``[N]`` (one tariff per household, as in the
  notebook); the reference tariffs ``lambda_buy_ref`` / ``lambda_sell_ref`` are Python floats,
  computed exactly as the notebook computes them;
* **time-varying**: ``[N, H]`` (time of use, dynamic prices; a sell tariff may be negative); the
  reference tariffs are ``[H]`` arrays, one value per slot, by the same rules slot by slot.

Code that needs one reference value per slot whatever the shape uses :func:`per_slot` (or
:meth:`Profiles.reference_tariffs`), which broadcasts a float to ``[H]``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cached_property

import numpy as np

from p2pstore.limits import HOUSEHOLD_BLOCK

#: Kinds of household: a household with any PV output is a prosumer, the others consumers.
KINDS: tuple[str, ...] = ("consumer", "prosumer")


def per_slot(value, n_slots: int) -> np.ndarray:
    """``value`` (a float, or an ``[H]`` array) as a read-only ``[H]`` float64 array.

    For the reference tariffs: flat tariffs give a float, time-varying ones an ``[H]`` array;
    this helper lets per-slot formulas consume either without branching.
    """
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] != n_slots:
        raise ValueError(f"expected {n_slots} per-slot values, got {arr.shape[0]}")
    return np.broadcast_to(arr, (n_slots,))


def block_sums(values: np.ndarray) -> np.ndarray:
    """``[B, H]``: the column sums of each block of :data:`~p2pstore.limits.HOUSEHOLD_BLOCK` rows
    of ``values`` ``[k, H]`` (``B = ceil(k / block)``)."""
    k = values.shape[0]
    out = np.empty((-(-k // HOUSEHOLD_BLOCK),) + values.shape[1:])
    for j, first in enumerate(range(0, k, HOUSEHOLD_BLOCK)):
        np.sum(values[first:first + HOUSEHOLD_BLOCK], axis=0, out=out[j])
    return out


def column_sums(values: np.ndarray) -> np.ndarray:
    """``[H]``: the sum over households (rows) of ``values`` ``[N, H]``, as the sum of its
    :func:`block_sums` in household order. The one definition of a community total: a
    settlement chunk by chunk (chunks of whole blocks) adds the same blocks in the same order,
    so it gets the same bits whatever the chunk size."""
    blocks = block_sums(values)
    if blocks.shape[0] == 0:
        return np.zeros(values.shape[1:])
    total = blocks[0].copy()
    for row in blocks[1:]:
        total += row
    return total


def mean_positive(values: np.ndarray, axis: int | None = None):
    """Mean of the positive entries of ``values`` (along ``axis``), 0 where there are none.

    The notebook's reference export tariff: consumers (sell tariff 0) do not count, and with no
    positive tariff at all the reference is 0 rather than the NaN of an empty mean.
    """
    if axis is None:
        positive = values[values > 0]
        return float(np.mean(positive)) if positive.size else 0.0
    mask = values > 0
    if axis == 0:  # per slot over households: community totals, as every other one
        count, total = column_sums(mask.astype(np.float64)), column_sums(np.where(mask, values, 0.0))
    else:
        count, total = mask.sum(axis=axis), np.where(mask, values, 0.0).sum(axis=axis)
    return np.divide(total, count, out=np.zeros(total.shape), where=count > 0)


@dataclasses.dataclass(frozen=True, eq=False)
class Profiles:
    """Loads, PV, tariffs and events of one community over one horizon.

    ``N`` households, ``H`` slots. Generated communities list consumers first, then prosumers
    (as in the notebook); imported ones keep the order of their files.
    """

    labels: np.ndarray          # [N] str: "C1".."Cn", "P1".."Pm", or the names of imported households
    kinds: np.ndarray           # [N] str: "consumer" | "prosumer"
    load_kw: np.ndarray         # [N, H] float64, mean power per slot, kW
    pv_kw: np.ndarray           # [N, H] float64, kW (zero for consumers)
    lambda_buy: np.ndarray      # [N] or [N, H] currency/kWh, each household's grid import tariff
    lambda_sell: np.ndarray     # [N] or [N, H] currency/kWh, its grid export tariff (0 for consumers)
    p2p_allowed: np.ndarray     # [H] bool, False in P2P maintenance windows
    start: dt.datetime          # timestamp of slot 0 (local wall clock, naive)
    slot_hours: float           # hours per slot (0.25)
    periods_per_day: int        # slots per day (96)
    outages: tuple[tuple[int, int], ...] = ()      # (household index, day) with PV forced to 0
    maintenance: tuple[int, ...] = ()              # first slot of each P2P-off window

    def __post_init__(self) -> None:
        n, h = self.load_kw.shape
        buy, sell = np.shape(self.lambda_buy), np.shape(self.lambda_sell)
        if buy != sell or buy not in ((n,), (n, h)):
            raise ValueError(f"tariffs must both be [N] = ({n},) or [N, H] = ({n}, {h}); "
                             f"got buy {buy}, sell {sell}")

    @property
    def n_households(self) -> int:
        return int(self.load_kw.shape[0])

    @property
    def n_slots(self) -> int:
        return int(self.load_kw.shape[1])

    @property
    def days(self) -> int:
        """Days of the horizon, a last partial day counting as one (``ceil(H / periods_per_day)``)."""
        return -(-self.n_slots // self.periods_per_day)

    @property
    def time_varying_tariffs(self) -> bool:
        """True when the tariffs are ``[N, H]`` (per slot), False when flat ``[N]``."""
        return np.ndim(self.lambda_buy) == 2

    @cached_property
    def lambda_buy_ref(self) -> float | np.ndarray:
        """Reference import tariff, currency/kWh: the mean of all households' import tariffs
        (notebook). A float for flat tariffs; ``[H]`` (the mean per slot) for time-varying ones."""
        if self.time_varying_tariffs:
            return column_sums(self.lambda_buy) / self.n_households
        return float(np.mean(self.lambda_buy))

    @cached_property
    def lambda_sell_ref(self) -> float | np.ndarray:
        """Reference export tariff, currency/kWh: the mean of the positive export tariffs
        (prosumers only; notebook), 0 where no household has a positive one (the notebook's mean
        of nothing would be NaN and poison every P2P price, although nobody can export then).
        A float for flat tariffs; ``[H]`` (the same rule per slot) for time-varying ones."""
        return mean_positive(self.lambda_sell, axis=0 if self.time_varying_tariffs else None)

    def reference_tariffs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(buy_ref, sell_ref)`` as ``[H]`` arrays (read-only), whatever the tariff shape."""
        return per_slot(self.lambda_buy_ref, self.n_slots), per_slot(self.lambda_sell_ref, self.n_slots)

    def mean_tariffs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(buy, sell)`` per household, ``[N]`` currency/kWh: the tariffs themselves when flat,
        their mean over the slots when time-varying (what the ``households`` table stores)."""
        if self.time_varying_tariffs:
            return self.lambda_buy.mean(axis=1), self.lambda_sell.mean(axis=1)
        return np.asarray(self.lambda_buy, dtype=np.float64), np.asarray(self.lambda_sell, dtype=np.float64)

    def household_energy_kwh(self) -> tuple[np.ndarray, np.ndarray]:
        """``(load, pv)`` ``[N]`` kWh per household over the horizon."""
        return self.load_kw.sum(axis=1) * self.slot_hours, self.pv_kw.sum(axis=1) * self.slot_hours

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
