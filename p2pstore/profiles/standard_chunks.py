"""The ``standard`` generator a chunk of households at a time, the same households whatever the
chunk size.

Its slot noise is drawn from two streams (loads, PV) in blocks of
:data:`~p2pstore.profiles.standard._BLOCK_ROWS` households; :meth:`StandardChunks.prepare`
draws both streams once and records their states at every block, and a chunk is regenerated from
the block that holds its first household (the few rows before it are dropped). Tariffs, sizes,
day factors and events are drawn whole (``[N]`` and ``[N, days]`` values) as the whole
generator draws them. Individual loads (``load_model = "individual"``) are regenerated the same
way from the states of :class:`~p2pstore.profiles.occupancy.IndividualLoads` at each of its blocks.
"""

from __future__ import annotations

import numpy as np

from p2pstore.profiles.base import Profiles, generated_profiles
from p2pstore.profiles.chunks import ChunkSource, CommunityFrame
from p2pstore.profiles.occupancy import IndividualLoads
from p2pstore.profiles.standard import (_BLOCK_ROWS, horizon_load_per_annual_kwh, horizon_pv_per_kwp,
                                        scaled_with_slot_noise)


def _block_states(rng: np.random.Generator, rows: int, days: int, periods: int) -> list[dict]:
    """The state of ``rng`` at each block of ``rows`` rows' slot noise, drawn as
    :func:`scaled_with_slot_noise` draws it (one ``integers`` call per block)."""
    states = []
    for first in range(0, rows, _BLOCK_ROWS):
        states.append(rng.bit_generator.state)
        rng.integers(0, 65536, size=(min(rows, first + _BLOCK_ROWS) - first, days, periods), dtype=np.uint16)
    return states


class StandardChunks(ChunkSource):
    """Chunks of ``scenario``'s ``standard`` community (see the module docstring)."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.frame: CommunityFrame | None = None
        self.n_households = scenario.consumers + scenario.prosumers

    def prepare(self, boundaries: list[int]) -> None:
        s = self.scenario
        nc, npro, days = s.consumers, s.prosumers, s.days
        n, periods, h = nc + npro, s.periods_per_day, s.slots
        tariff_rng, size_rng, load_rng, pv_rng, event_rng = (
            np.random.default_rng(child) for child in np.random.SeedSequence(s.seed).spawn(5))
        buy = np.zeros(n)
        sell = np.zeros(n)
        buy[:nc] = tariff_rng.uniform(*s.consumer_buy_tariff, size=nc)
        buy[nc:] = tariff_rng.uniform(*s.prosumer_buy_tariff, size=npro)
        sell[nc:] = tariff_rng.uniform(*s.prosumer_sell_tariff, size=npro)
        self._annual_kwh = size_rng.uniform(*s.annual_load_kwh, size=n)
        self._kwp = size_rng.uniform(*s.pv_kwp, size=npro)
        self._individual = None
        if s.load_model == "individual":  # each household its own load, regenerated block by block
            self._individual = IndividualLoads(s.start_date, days, s.slot_minutes, n, load_rng, s.latitude)
            self._load_states = self._individual.block_states()
        else:
            day_factor = np.maximum(load_rng.normal(1.0, s.load_day_noise, size=(n, days)), 0.0)
            self._load_scale = self._annual_kwh[:, None] * day_factor
            self._load_states = _block_states(load_rng, n, days, periods)
        self._pv_states = _block_states(pv_rng, npro, days, periods)
        self._load_base = None if self._individual is not None else horizon_load_per_annual_kwh(s)
        self._pv_base = horizon_pv_per_kwp(s)
        out_households = nc + event_rng.integers(0, npro, size=s.inverter_outages)
        out_days = event_rng.integers(0, days, size=s.inverter_outages)
        maintenance = event_rng.integers(0, h - s.maintenance_slots, size=s.maintenance_windows) \
            if s.maintenance_windows else ()
        empty = np.empty((n, 0))
        whole = generated_profiles(s, empty, empty, buy, sell, zip(out_households, out_days), maintenance)
        self.frame = CommunityFrame(labels=whole.labels, kinds=whole.kinds, lambda_buy=buy, lambda_sell=sell,
                                    p2p_allowed=whole.p2p_allowed, start=whole.start, slot_hours=whole.slot_hours,
                                    periods_per_day=whole.periods_per_day, n_slots=h,
                                    outages=whole.outages, maintenance=whole.maintenance)

    def _rows(self, states: list[dict], base: np.ndarray, scale: np.ndarray, slot_sd: float,
              start: int, stop: int, out: np.ndarray) -> None:
        """Rows ``[start, stop)`` of one stream's series into ``out`` ``[stop - start, H]``."""
        block = start // _BLOCK_ROWS
        first = block * _BLOCK_ROWS
        rng = np.random.default_rng()
        rng.bit_generator.state = states[block]
        if first == start:
            scaled_with_slot_noise(base, scale[start:stop], slot_sd, rng, out)
            return
        rows = np.empty((stop - first, out.shape[1]))
        scaled_with_slot_noise(base, scale[first:stop], slot_sd, rng, rows)
        out[:] = rows[start - first:]

    def chunk(self, start: int, stop: int) -> Profiles:
        s = self.scenario
        nc, h = s.consumers, s.slots
        load = np.empty((stop - start, h))
        if self._individual is not None:
            self._individual.rows(self._load_states, start, stop, load)
        else:
            self._rows(self._load_states, self._load_base, self._load_scale, s.load_slot_noise, start, stop, load)
        pv = np.zeros((stop - start, h))
        first_pv = max(start, nc)
        if first_pv < stop:
            self._rows(self._pv_states, self._pv_base, self._kwp[:, None], s.pv_slot_noise,
                       first_pv - nc, stop - nc, pv[first_pv - start:])
        days, periods = s.days, s.periods_per_day
        for i, d in self.frame.outages:
            if start <= i < stop:
                pv.reshape(-1, days, periods)[i - start, d] = 0.0
        return self.frame.chunk_profiles(start, stop, load, pv)
