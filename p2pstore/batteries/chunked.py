"""The battery stage of a settlement in household chunks: a town's batteries without an ``[N, H]``
or ``[B, H]`` array of the town (docs/batteries.md, docs/scale.md).

The stage follows the chunk protocol of :mod:`p2pstore.settlement.chunked` (``StageHooks``):

1. **Survey** (the pass before the stage, which also gives the pre-battery totals and so the
   community's surplus ``s``): each chunk's home batteries are chosen (pinned rows, or the
   seeded draw over the whole community's prosumers, known from the kinds alone) and sized
   (by their own peak PV). Under ``self_consumption`` each chunk is dispatched and its
   batteries' per-slot charge and discharge summed per household block; under ``community``
   each battery's self-consumption steps in the P2P-off slots are kept (``[H_off, B]``).
2. **The community loop** (``community`` only): the rule's loop over every home battery's
   energy (``[B]``, a block of slots at a time, never ``[B, H]``), keeping each slot's headroom
   factor ``[H]`` and the per-slot sums of charge and discharge.
3. **The shared battery** is dispatched on ``s + sum d - sum c`` (``[H]``) and joins as the
   member ``community_battery`` after the households, with the reference tariffs.
4. **Totals and cost passes**: each chunk is dispatched again (``self_consumption``) or
   replays its batteries' part of the community loop from the factors, the same bits either
   way, and becomes ``L + c``, ``PV + d``; the cost pass returns each battery's totals.

Every sum is the whole-community path's (:mod:`p2pstore.batteries.sums`), so the bills, prices,
KPIs and stored battery rows are the same bits whatever the chunk size. A plugin rule sees
every battery in every slot, so it cannot be settled in chunks (:data:`WHOLE_ONLY`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from p2pstore.batteries import rules
from p2pstore.batteries.dispatch import (CHUNK_SLOTS, Fleet, community_loop, dispatch_homes, dispatch_shared, finish,
                                         self_consumption_steps)
from p2pstore.batteries.params import COMMUNITY_BATTERY
from p2pstore.batteries.stage import (BATTERY_KIND, battery_kpis, generated_fleet, home_choice, per_battery, pinned,
                                      shared_fleet, slot_totals)
from p2pstore.batteries.sums import OrderedTotal, block_rows, slot_sums
from p2pstore.errors import InputError
from p2pstore.profiles.base import Profiles

#: Why a run cannot settle its batteries in chunks (the refusal's reason, one line).
WHOLE_ONLY = "a plugin dispatch rule sees every battery in every slot, so its run settles the whole community at once"


def check_chunkable(scenario, series: str = "none") -> None:
    """:class:`InputError` (one line) when ``scenario``'s batteries cannot be settled in chunks:
    a plugin rule, or ``series='full'`` (a chunked run keeps each battery's totals, not its series)."""
    rule = rules.find(scenario.battery_dispatch or rules.DEFAULT)
    if rule is not None and not rule.builtin:
        raise InputError(f"dispatch rule {rule.name!r}: {WHOLE_ONLY}, and this one does not fit the memory "
                         "limit: make it smaller, or raise --memory-limit")
    if series == "full":
        raise InputError("series=full stores every battery's per-slot series, which a run settled in household "
                         "chunks does not keep: use --series community or none, or raise --memory-limit")


@dataclasses.dataclass(frozen=True, eq=False)
class BatteryTotals:
    """Every battery of a run settled in chunks: ``labels`` ``[B]``, ``fleet``, ``rule`` and
    their totals over the run (``totals``, :func:`~p2pstore.batteries.stage.per_battery`); no
    per-slot series."""

    labels: np.ndarray
    fleet: Fleet
    rule: str
    totals: dict

    def per_battery(self) -> dict[str, np.ndarray]:
        return self.totals

    def kpis(self) -> dict[str, float]:
        return battery_kpis(self.totals)


class _Survey:
    """What the survey pass brings back, in household order."""

    def __init__(self):
        self.fleets, self.off_steps = [], []
        self.charge, self.discharge = OrderedTotal(), OrderedTotal()

    def take(self, part: dict) -> None:
        self.fleets.append(part["fleet"])
        if "off" in part:
            self.off_steps.append(part["off"])
        self.charge.add(part.get("charge", ()))
        self.discharge.add(part.get("discharge", ()))


class ChunkedBatteries:
    """The stage ``(chunk, totals) -> chunk'`` of ``scenario``'s batteries, with the protocol's
    hooks (module docstring). Its state is set in :meth:`prepare`, before the processes that
    make chunks are forked."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.rule = scenario.battery_dispatch or rules.DEFAULT
        self.factors = self.surplus = self.member = None

    def prepare(self, frame, before_pass):
        """Choose the batteries, run the survey pass, the community loop and the shared battery;
        ``(pre-battery totals, staged frame)``."""
        check_chunkable(self.scenario)
        self.scenario = s = pinned(self.scenario, frame.labels)
        self.frame, self.dt = frame, frame.slot_hours
        self.position = {str(x): i for i, x in enumerate(frame.labels)}
        self.idx, self.pinned = home_choice(s, frame.labels, frame.kinds)
        self.shared = shared_fleet(s)
        self.on = np.asarray(frame.p2p_allowed, dtype=bool)
        self.off = np.flatnonzero(~self.on)
        survey = _Survey()
        before = before_pass(self._survey, survey.take)
        self.surplus = before.export_kw - before.import_kw
        homes = Fleet.joined(survey.fleets) if survey.fleets else Fleet.of([])
        sums_c, sums_d = survey.charge.value(), survey.discharge.value()
        if self.rule == "community" and len(homes):
            sums_c, sums_d = self._community(homes, np.concatenate(survey.off_steps, axis=1))
        if self.shared is not None:
            h = frame.n_slots
            soc, c, d = np.empty((h, 1)), np.empty((h, 1)), np.empty((h, 1))
            dispatch_shared(self.surplus + sums_d - sums_c, self.on, self.shared, self.dt, soc[:, 0])
            finish(soc, self.shared, self.dt, c, d)
            tv = frame.time_varying_tariffs
            refs = (before.buy_ref, before.sell_ref) if tv else (frame.lambda_buy_ref, frame.lambda_sell_ref)
            self.member = (soc, c, d, refs)
        return before, self._staged_frame(frame)

    def _chunk_fleet(self, chunk: Profiles, start: int) -> tuple[np.ndarray, Fleet]:
        """``(rows [b], fleet)``: the home batteries of the chunk from household ``start``."""
        lo, hi = np.searchsorted(self.idx, [start, start + chunk.n_households])
        rows = self.idx[lo:hi] - start
        if self.pinned is not None:
            return rows, Fleet(*(getattr(self.pinned, f.name)[lo:hi] for f in dataclasses.fields(Fleet)))
        peak = chunk.pv_kw.max(axis=1)[rows] if chunk.n_slots else np.zeros(len(rows))
        return rows, generated_fleet(self.scenario, peak)

    def _dispatch(self, chunk: Profiles, rows: np.ndarray, fleet: Fleet):
        """``(soc, charge, discharge)`` ``[H, b]`` of the chunk's batteries."""
        soc, c, d = (np.empty((chunk.n_slots, len(rows))) for _ in range(3))
        dispatch_homes(chunk.load_kw, chunk.pv_kw, rows, self.surplus, self.on, fleet, self.rule, self.dt, soc,
                       factors=self.factors, replay=True)
        finish(soc, fleet, self.dt, c, d)
        return soc, c, d

    def _survey(self, chunk: Profiles, start: int, stop: int) -> dict:
        rows, fleet = self._chunk_fleet(chunk, start)
        part = {"fleet": fleet}
        if not len(rows):
            return part
        if self.rule == "community":
            net = np.subtract(chunk.pv_kw[np.ix_(rows, self.off)], chunk.load_kw[np.ix_(rows, self.off)]).T
            part["off"] = self_consumption_steps(net, fleet, self.dt)  # [H_off, b]
        else:
            _, c, d = self._dispatch(chunk, rows, fleet)
            part["charge"], part["discharge"] = block_rows(c, rows + start), block_rows(d, rows + start)
        return part

    def _community(self, homes: Fleet, off_steps: np.ndarray):
        """The community rule's loop over every home battery, a block of slots at a time: keeps
        the factors (``H`` floats); returns the per-slot sums of charge and discharge ``[H]``."""
        h, b = self.frame.n_slots, len(homes)
        self.factors = [1.0] * h
        row_of = np.zeros(h, dtype=np.int64)
        row_of[self.off] = np.arange(len(self.off))
        sums_c, sums_d = np.empty(h), np.empty(h)
        surplus, on = self.surplus.tolist(), self.on.tolist()
        soc, c, d = (np.empty((CHUNK_SLOTS, b)) for _ in range(3))
        energy = homes.e_initial.copy()
        for start in range(0, h, CHUNK_SLOTS):
            stop = min(h, start + CHUNK_SLOTS)
            k = stop - start
            community_loop(lambda slot: off_steps[row_of[slot]], surplus[start:stop], on[start:stop], homes, self.dt,
                           energy, soc[:k], self.factors, first=start)
            totals = slot_totals(self.idx, sums_c[start:stop], sums_d[start:stop])
            finish(soc[:k], homes, self.dt, c[:k], d[:k], before=energy, each=totals)
            energy = soc[k - 1].copy()
        return sums_c, sums_d

    def _staged_frame(self, frame):
        """The frame with ``community_battery`` after the households (the reference tariffs as
        its own, which leaves them unchanged; kept to the bit)."""
        if self.shared is None:
            return frame
        flat = not frame.time_varying_tariffs
        staged = dataclasses.replace(
            frame, labels=np.append(np.asarray(frame.labels, dtype=object), COMMUNITY_BATTERY),
            kinds=np.append(np.asarray(frame.kinds, dtype=object), BATTERY_KIND),
            lambda_buy=np.append(frame.lambda_buy, float(frame.lambda_buy_ref)) if flat else None,
            lambda_sell=np.append(frame.lambda_sell, float(frame.lambda_sell_ref)) if flat else None)
        if flat:
            staged.__dict__["lambda_buy_ref"], staged.__dict__["lambda_sell_ref"] = (frame.lambda_buy_ref,
                                                                                    frame.lambda_sell_ref)
        return staged

    def __call__(self, chunk: Profiles, totals) -> Profiles:
        """The post-battery chunk, carrying its own series and its batteries' totals; the chunk
        holding the last household also gets the shared battery (:meth:`_with_member`)."""
        start = self.position[str(chunk.labels[0])] if chunk.n_households else 0
        rows, fleet = self._chunk_fleet(chunk, start)
        post, end = chunk, fleet.e_initial
        c = d = np.zeros((chunk.n_slots, 0))
        if len(rows):
            soc, c, d = self._dispatch(chunk, rows, fleet)
            load, pv = chunk.load_kw.copy(), chunk.pv_kw.copy()
            load[rows] += c.T
            pv[rows] += d.T
            post, end = dataclasses.replace(chunk, load_kw=load, pv_kw=pv), soc[-1] if chunk.n_slots else end
        outputs = [(fleet, slot_sums(c) * self.dt, slot_sums(d) * self.dt, end)]
        own = (chunk.load_kw, chunk.pv_kw)
        if self.member is not None and start + chunk.n_households == self.frame.n_households:
            post, own = self._with_member(post, own, outputs)
        post.__dict__["own_kw"] = own
        post.__dict__["stage_output"] = outputs
        return post

    def _with_member(self, post: Profiles, own, outputs: list):
        """``post`` and ``own`` with the shared battery as a last row: ``L = c``, ``PV = d`` and
        the reference tariffs; its totals appended to ``outputs``."""
        soc, c, d, refs = self.member
        load, pv = np.vstack([post.load_kw, c.T]), np.vstack([post.pv_kw, d.T])
        tv = post.time_varying_tariffs
        buy, sell = ((np.vstack([t, np.asarray(r, dtype=np.float64)[None, :]]) if tv else np.append(t, float(r)))
                     for t, r in zip((post.lambda_buy, post.lambda_sell), refs))
        staged = dataclasses.replace(post, labels=np.append(np.asarray(post.labels, dtype=object), COMMUNITY_BATTERY),
                                     kinds=np.append(np.asarray(post.kinds, dtype=object), BATTERY_KIND),
                                     load_kw=load, pv_kw=pv, lambda_buy=buy, lambda_sell=sell)
        end = soc[-1] if self.frame.n_slots else self.shared.e_initial
        outputs.append((self.shared, slot_sums(c) * self.dt, slot_sums(d) * self.dt, end))
        return staged, (np.vstack([own[0], c.T]), np.vstack([own[1], d.T]))

    def collect(self, outputs) -> dict:
        """``{"batteries": BatteryTotals}`` from the cost pass's outputs, in household order (``{}``
        without a battery)."""
        fleets, charged, discharged, end = zip(*[o for part in outputs if part is not None for o in part])
        fleet = Fleet.joined(fleets)
        if not len(fleet):  # no battery after all (a share of 0): a run without batteries, as a whole one
            return {}
        labels = [str(self.frame.labels[i]) for i in self.idx] + ([COMMUNITY_BATTERY] if self.shared is not None else [])
        totals = per_battery(fleet, np.concatenate(charged), np.concatenate(discharged), np.concatenate(end))
        return {"batteries": BatteryTotals(np.array(labels, dtype=object), fleet, self.rule, totals)}
