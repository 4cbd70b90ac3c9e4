"""A community a chunk of households at a time: what settles a town without its ``[N, H]`` arrays.

A *chunk source* knows the community's :class:`CommunityFrame` (labels, kinds, flat tariffs,
P2P windows and events: everything but the per-household series) before any chunk exists, and
makes :class:`~p2pstore.profiles.base.Profiles` of households ``[start, stop)`` on demand:

* :class:`ProfilesChunks`: views into a community already in memory (profile sets, imported data);
* :class:`p2pstore.profiles.notebook_chunks.NotebookChunks` and
  :class:`p2pstore.profiles.standard_chunks.StandardChunks`: the generators, regenerating a
  chunk from the random streams' states recorded in one drawing pass.

Every source is deterministic: rows ``[start, stop)`` of a chunk are rows ``[start, stop)`` of
the whole community, bit for bit, whatever the chunk boundaries. ``chunk`` may be called from
several threads. A chunk's reference tariffs are the whole community's (set by the settlement
core once known, :meth:`CommunityFrame.chunk_with_references`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import numpy as np

from p2pstore.profiles.base import Profiles, mean_positive, per_slot


@dataclasses.dataclass(frozen=True, eq=False)
class CommunityFrame:
    """The community without its per-household series: ``N`` households, ``H`` slots.

    ``lambda_buy`` / ``lambda_sell`` are the ``[N]`` flat tariffs (currency/kWh), or None when
    tariffs are time-varying (``[N, H]``, read with the chunks). The reference tariffs of
    time-varying tariffs, and the per-household energies, are filled in by the settlement passes
    (:meth:`set_references`, ``household_energy``).
    """

    labels: np.ndarray           # [N] str
    kinds: np.ndarray            # [N] "consumer" | "prosumer"
    lambda_buy: np.ndarray | None   # [N] currency/kWh, None if time-varying
    lambda_sell: np.ndarray | None
    p2p_allowed: np.ndarray      # [H] bool
    start: dt.datetime
    slot_hours: float
    periods_per_day: int
    n_slots: int
    outages: tuple[tuple[int, int], ...] = ()
    maintenance: tuple[int, ...] = ()

    @classmethod
    def of(cls, profiles: Profiles) -> CommunityFrame:
        """The frame of a community in memory."""
        flat = not profiles.time_varying_tariffs
        return cls(labels=profiles.labels, kinds=profiles.kinds,
                   lambda_buy=np.asarray(profiles.lambda_buy) if flat else None,
                   lambda_sell=np.asarray(profiles.lambda_sell) if flat else None,
                   p2p_allowed=np.asarray(profiles.p2p_allowed, dtype=bool), start=profiles.start,
                   slot_hours=profiles.slot_hours, periods_per_day=profiles.periods_per_day,
                   n_slots=profiles.n_slots, outages=profiles.outages, maintenance=profiles.maintenance)

    @property
    def n_households(self) -> int:
        return int(len(self.labels))

    @property
    def days(self) -> int:
        """Days of the horizon, a last partial day counting as one."""
        return -(-self.n_slots // self.periods_per_day)

    @property
    def time_varying_tariffs(self) -> bool:
        return self.lambda_buy is None

    @property
    def lambda_buy_ref(self) -> float | np.ndarray:
        """The community's reference import tariff (see :attr:`Profiles.lambda_buy_ref`)."""
        if "lambda_buy_ref" not in self.__dict__:
            if self.time_varying_tariffs:
                raise RuntimeError("the reference tariffs of time-varying tariffs come from a totals pass")
            self.__dict__["lambda_buy_ref"] = float(np.mean(self.lambda_buy))
            self.__dict__["lambda_sell_ref"] = mean_positive(self.lambda_sell)
        return self.__dict__["lambda_buy_ref"]

    @property
    def lambda_sell_ref(self) -> float | np.ndarray:
        """The community's reference export tariff (see :attr:`Profiles.lambda_sell_ref`)."""
        self.lambda_buy_ref  # noqa: B018 - fills both
        return self.__dict__["lambda_sell_ref"]

    def set_references(self, buy_ref: np.ndarray, sell_ref: np.ndarray) -> None:
        """The ``[H]`` reference tariffs of time-varying tariffs, from the totals pass."""
        self.__dict__["lambda_buy_ref"] = buy_ref
        self.__dict__["lambda_sell_ref"] = sell_ref

    def reference_tariffs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(buy_ref, sell_ref)`` as ``[H]`` arrays (read-only)."""
        return per_slot(self.lambda_buy_ref, self.n_slots), per_slot(self.lambda_sell_ref, self.n_slots)

    def mean_tariffs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(buy, sell)`` per household, ``[N]`` currency/kWh (time-varying: the mean over the
        slots, filled in by the cost pass)."""
        if self.time_varying_tariffs:
            return self.__dict__["_mean_tariffs"]
        return np.asarray(self.lambda_buy, dtype=np.float64), np.asarray(self.lambda_sell, dtype=np.float64)

    def household_energy_kwh(self) -> tuple[np.ndarray, np.ndarray]:
        """``(load, pv)`` ``[N]`` kWh over the horizon (filled in by the cost pass)."""
        return self.__dict__["_household_energy_kwh"]

    def timestamps(self) -> np.ndarray:
        """[H] datetime64[m] of each slot's start."""
        step = np.timedelta64(round(self.slot_hours * 60), "m")
        return np.datetime64(self.start, "m") + step * np.arange(self.n_slots)

    def chunk_with_references(self, chunk: Profiles) -> Profiles:
        """``chunk`` with the community's reference tariffs (its own would be the chunk's)."""
        chunk.__dict__["lambda_buy_ref"] = self.lambda_buy_ref
        chunk.__dict__["lambda_sell_ref"] = self.lambda_sell_ref
        return chunk

    def chunk_profiles(self, start: int, stop: int, load_kw: np.ndarray, pv_kw: np.ndarray,
                       lambda_buy: np.ndarray | None = None, lambda_sell: np.ndarray | None = None) -> Profiles:
        """:class:`Profiles` of households ``[start, stop)`` with these ``[k, H]`` series (and
        ``[k, H]`` tariffs when time-varying; the frame's flat ones otherwise)."""
        if lambda_buy is None:
            lambda_buy, lambda_sell = self.lambda_buy[start:stop], self.lambda_sell[start:stop]
        return Profiles(labels=self.labels[start:stop], kinds=self.kinds[start:stop], load_kw=load_kw,
                        pv_kw=pv_kw, lambda_buy=lambda_buy, lambda_sell=lambda_sell,
                        p2p_allowed=self.p2p_allowed, start=self.start, slot_hours=self.slot_hours,
                        periods_per_day=self.periods_per_day,
                        outages=tuple((i - start, d) for i, d in self.outages if start <= i < stop),
                        maintenance=self.maintenance)


class ChunkSource:
    """Households ``[start, stop)`` of one community on demand (module docstring).

    ``frame``: the :class:`CommunityFrame` (a generator's is known once :meth:`prepare` ran);
    ``n_households``: ``N``; ``resident_bytes``: memory the source holds whatever the chunk size
    (a community in memory).
    """

    frame: CommunityFrame | None = None
    n_households: int = 0
    resident_bytes: int = 0

    def prepare(self, boundaries: list[int]) -> None:
        """Called once with the chunks' first households (ascending, starting at 0) before any
        :meth:`chunk`; a generator draws its streams once here and records where each chunk starts."""

    def chunk(self, start: int, stop: int) -> Profiles:  # pragma: no cover - abstract
        raise NotImplementedError


class ProfilesChunks(ChunkSource):
    """Chunks of a community already in memory: views, no copy."""

    def __init__(self, profiles: Profiles):
        self.profiles = profiles
        self.frame = CommunityFrame.of(profiles)
        self.n_households = profiles.n_households
        self.resident_bytes = int(profiles.load_kw.nbytes + profiles.pv_kw.nbytes
                                  + np.asarray(profiles.lambda_buy).nbytes * 2)

    def chunk(self, start: int, stop: int) -> Profiles:
        p = self.profiles
        tariffs = (p.lambda_buy[start:stop], p.lambda_sell[start:stop]) if p.time_varying_tariffs else (None, None)
        return self.frame.chunk_profiles(start, stop, p.load_kw[start:stop], p.pv_kw[start:stop], *tariffs)


class TariffFileChunks(ChunkSource):
    """Another source's chunks with the tariffs of a tariff file (matched by household label and
    slot time), read per chunk: ``table`` is a :class:`~p2pstore.profiles.sets.TariffTable`."""

    def __init__(self, inner: ChunkSource, table, with_tariffs: Callable):
        self.inner, self.table, self._with = inner, table, with_tariffs
        self._frame = self._frame_of = None
        self.resident_bytes = inner.resident_bytes
        self.n_households = inner.n_households

    @property
    def frame(self) -> CommunityFrame | None:
        f = self.inner.frame
        if f is None:
            return None
        if self._frame is None or self._frame_of is not f:
            buy = sell = None
            if not self.table.time_varying:
                buy, sell = self.table.for_households(f.labels, f.start, round(f.slot_hours * 60), f.n_slots)
            self._frame, self._frame_of = dataclasses.replace(f, lambda_buy=buy, lambda_sell=sell), f
        return self._frame

    def prepare(self, boundaries: list[int]) -> None:
        self.inner.prepare(boundaries)

    def chunk(self, start: int, stop: int) -> Profiles:
        return self._with(self.inner.chunk(start, stop), self.table)
