"""The notebook generator a chunk of households at a time, draw for draw.

The notebook's stream draws every household's load, then every prosumer's PV, then the events
(:mod:`p2pstore.profiles.notebook`). A draw's position in the legacy Gauss stream depends on
every draw before it (the polar method rejects a varying number of uniforms), so a chunk cannot
be reached by counting: :meth:`NotebookChunks.prepare` draws the whole stream once, without the
arithmetic, and records the generator's state where each chunk's loads and PV begin; a chunk is
then regenerated from those states with the same calls as the whole community, so its rows are
the notebook's bit for bit whatever the chunk boundaries.
"""

from __future__ import annotations

import numpy as np

from p2pstore.profiles.base import Profiles, generated_profiles
from p2pstore.profiles.chunks import ChunkSource, CommunityFrame
from p2pstore.profiles.notebook import (apply_outages, draw_events, draw_load_rows, draw_pv_rows,
                                        draw_tariffs)


class NotebookChunks(ChunkSource):
    """Chunks of ``scenario``'s notebook community (see the module docstring)."""

    def __init__(self, scenario):
        self.scenario = s = scenario
        rng = np.random.RandomState(s.seed)
        self._tariffs = draw_tariffs(rng, s)
        self._after_tariffs = rng.get_state()
        self._load_states: dict[int, tuple] = {}
        self._pv_states: dict[int, tuple] = {}
        self.frame: CommunityFrame | None = None
        self.n_households = scenario.consumers + scenario.prosumers

    def prepare(self, boundaries: list[int]) -> None:
        s = self.scenario
        nc, n = s.consumers, s.consumers + s.prosumers
        noise = s.days * (s.periods_per_day + 1)  # a day factor and the slot noises, per day
        firsts = set(boundaries)
        pv_firsts = {max(b, nc) for b in boundaries if max(b, nc) < n}
        rng = np.random.RandomState()
        rng.set_state(self._after_tariffs)
        for i in range(n):
            if i in firsts:
                self._load_states[i] = rng.get_state()
            rng.uniform()
            rng.standard_normal(noise)
        for i in range(nc, n):
            if i in pv_firsts:
                self._pv_states[i] = rng.get_state()
            rng.uniform()
            rng.uniform()
            rng.standard_normal(noise)
        outages, maintenance = draw_events(rng, s)
        buy, sell = self._tariffs
        # the frame of the whole community: generated_profiles on empty series gives the labels,
        # kinds and P2P windows exactly as the whole community has them
        empty = np.empty((n, 0))
        whole = generated_profiles(s, empty, empty, buy, sell, outages, maintenance)
        self.frame = CommunityFrame(labels=whole.labels, kinds=whole.kinds, lambda_buy=buy, lambda_sell=sell,
                                    p2p_allowed=whole.p2p_allowed, start=whole.start, slot_hours=whole.slot_hours,
                                    periods_per_day=whole.periods_per_day, n_slots=s.slots,
                                    outages=whole.outages, maintenance=whole.maintenance)

    def chunk(self, start: int, stop: int) -> Profiles:
        s = self.scenario
        nc = s.consumers
        rng = np.random.RandomState()
        rng.set_state(self._load_states[start])
        load = draw_load_rows(rng, s, start, np.empty((stop - start, s.slots)))
        pv = np.zeros_like(load)
        first_pv = max(start, nc)
        if first_pv < stop:
            rng.set_state(self._pv_states[first_pv])
            draw_pv_rows(rng, s, load[first_pv - start:], pv[first_pv - start:])
        apply_outages(pv, self.frame.outages, s.periods_per_day, first=start)
        return self.frame.chunk_profiles(start, stop, load, pv)
