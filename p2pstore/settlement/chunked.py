"""Chunked settlement: a community of any size, a chunk of households at a time.

Every mechanism's cost of household ``i`` depends on household ``i``'s own series and tariffs and
on the community only through per-slot totals (load, PV, import needs ``I``, export offers ``E``,
the reference tariffs, the P2P windows). So a run takes two passes over a
:class:`~p2pstore.profiles.chunks.ChunkSource`:

1. **totals**: each chunk's per-slot sums are accumulated into the community's ``[H]`` totals
   (and, for time-varying tariffs, the reference tariffs' sums);
2. **costs**: each chunk is settled by the same mechanism functions as a whole community, with
   its :class:`~p2pstore.settlement.result.Flows` carrying the community's totals; per-slot
   prices (the horizon-wide ones of ``bs_lit`` too) come from the totals alone, and per
   household only ``[N]`` bills and energies are kept, per slot the ``[H]`` community cost.

Sums over households are taken per block of households and the blocks' sums added in household
order (:func:`~p2pstore.profiles.base.column_sums`, also the unchunked path's definition), and
chunks hold whole blocks, so every chunk size, and the whole community at once, give the same bits.

A *stage* between profiles and settlement (batteries: ``(L, PV) -> (L', PV')``) plugs in as
``stage(chunk, totals) -> chunk'``: ``totals`` are the community totals of the chunks before the
stage (a pass of their own, only when a stage is given); the totals pass and the cost pass then
both see the staged chunks. A stage must be deterministic (it runs once per pass). A stage
leaves the reference tariffs as they were. Optionally (:class:`StageHooks`, the battery stage) it
surveys the chunks in the pass before it, adds members after the households, shows each
chunk's own series (``own_kw``) and returns per-chunk results through the cost pass.

A settlement in chunks keeps its households' series out of memory; ``--series full`` writes them
afterwards from :class:`HouseholdChunks` (the settlement's ``household_chunks``): each chunk is
made again and, for mechanisms whose cost is stored value by value, settled again, one chunk at a
time. ``check_form(chunk, result) -> bool`` (the store's test of a declared cost form, given by
the caller) is then applied in the cost pass to every chunk, so which mechanisms the store can
derive is known before a row is written (a form holds only if it holds in every chunk).

Plugins are settled chunk by chunk when their function declares ``settles_in_chunks = True``
(their :class:`~p2pstore.settlement.plugin.Community` then holds a chunk's households and the
whole community's totals); others refuse a chunked run (:func:`check_chunkable`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import numpy as np

from p2pstore import registry
from p2pstore.errors import InputError, P2PStoreError
from p2pstore.limits import HOUSEHOLD_BLOCK
from p2pstore.profiles.base import Profiles, block_sums
from p2pstore.profiles.chunks import ChunkSource, CommunityFrame
from p2pstore.settlement.result import Flows, MechanismResult


#: Per-slot outputs of a mechanism kept from its first chunk (they depend on the totals only).
SLOT_OUTPUTS = ("import_price", "export_price", "p2p_price", "p2p_import_share", "p2p_export_share",
                "supply_demand_ratio", "cost_form")

Stage = Callable[[Profiles, "CommunityTotals"], Profiles]
#: ``check_form(chunk, result) -> bool``: does ``result``'s declared cost form hold for ``chunk``?
FormCheck = Callable[[Profiles, MechanismResult], bool]


class StageHooks:
    """What a stage may add to ``stage(chunk, totals)`` (each optional; the names are the protocol).

    * ``prepare(frame, before_pass) -> (totals, frame')``, once before any pass:
      ``before_pass(survey, take)`` runs the pass before the stage and returns its totals,
      calling ``survey(chunk, start, stop)`` on each chunk (where chunks are made) and
      ``take(result)`` in household order (here). ``frame'`` lists members the stage adds after
      the households; the stage appends them to the chunk of the last household (so they share
      its last block, as in the whole staged community).
    * A staged chunk may carry ``own_kw`` (``(load, pv)`` ``[k, H]``: the households' own
      series, whose energies are stored) and ``stage_output``, returned through the cost pass in
      order to ``collect(outputs) -> dict``, whose items join the ``Settlement``.
    """


@dataclasses.dataclass(frozen=True)
class CommunityTotals:
    """Per-slot totals of a community, ``[H]`` kW; for time-varying tariffs also the reference
    tariffs ``[H]`` currency/kWh (None for flat ones)."""

    load_kw: np.ndarray
    pv_kw: np.ndarray
    import_kw: np.ndarray
    export_kw: np.ndarray
    buy_ref: np.ndarray | None = None
    sell_ref: np.ndarray | None = None

    def flows(self, load_kw=None, pv_kw=None, slot_hours: float = 0.25) -> Flows:
        """:class:`Flows` of a chunk (``[k, H]`` series; None for none) with these totals."""
        flows = Flows(load_kw, pv_kw, slot_hours)
        flows.__dict__.update(load_total_kw=self.load_kw, pv_total_kw=self.pv_kw,
                              import_total_kw=self.import_kw, export_total_kw=self.export_kw)
        return flows


def chunk_bounds(n: int, chunk_households: int) -> list[tuple[int, int]]:
    """``[(start, stop)]`` covering ``n`` households in chunks of whole
    :data:`~p2pstore.limits.HOUSEHOLD_BLOCK` blocks."""
    size = max(HOUSEHOLD_BLOCK, chunk_households // HOUSEHOLD_BLOCK * HOUSEHOLD_BLOCK)
    return [(a, min(n, a + size)) for a in range(0, n, size)] or [(0, 0)]


class OrderedSum:
    """Block sums added in household order (chunks may finish in any order)."""

    def __init__(self):
        self.total: np.ndarray | None = None

    def add(self, blocks: np.ndarray) -> None:
        for row in blocks:
            if self.total is None:
                self.total = row.copy()
            else:
                self.total += row


def _chunk_sums(chunk: Profiles, time_varying: bool) -> dict[str, np.ndarray]:
    """Block sums of one chunk's load, PV, import needs and export offers (and tariff sums)."""
    load, pv = chunk.load_kw, chunk.pv_kw
    side = np.subtract(load, pv)  # as Flows.import_export_kw computes them
    np.maximum(side, 0.0, out=side)
    sums = {"load": block_sums(load), "pv": block_sums(pv), "import": block_sums(side)}
    np.subtract(pv, load, out=side)
    np.maximum(side, 0.0, out=side)
    sums["export"] = block_sums(side)
    if time_varying:
        buy, sell = np.asarray(chunk.lambda_buy), np.asarray(chunk.lambda_sell)
        positive = sell > 0
        sums["buy"] = block_sums(buy)
        sums["sell"] = block_sums(np.where(positive, sell, 0.0))
        sums["sell_count"] = block_sums(positive.astype(np.float64))
    return sums


#: The chunk function of the pass under way, for the forked processes (they inherit it).
_TASK: Callable | None = None


def _call_task(bounds: tuple[int, int]):
    return _TASK(*bounds)


def _chunk_process_signals() -> None:
    """A chunk process ends on SIGTERM (the pool stops it so; a worker's settling process, which
    it is forked from, ignores SIGTERM, and ``p2pstore run`` turns it into an interrupt) and leaves
    SIGINT and SIGHUP to the process that settles the run."""
    import signal  # lazy: only chunk processes use it

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)


def _in_order(function, bounds, workers: int) -> Iterator:
    """``function(start, stop)`` for each chunk, yielded in order; ``workers`` > 1: in that many
    forked processes (the generators hold the GIL while they draw, so threads would not help),
    which return the chunk's small results. A chunk process that dies fails the run
    (``BrokenProcessPool``) instead of leaving it waiting; an error here, or the caller stopping
    early, stops them. Falls back to this process where it cannot fork."""
    import multiprocessing  # lazy: only chunked runs with workers use it
    from concurrent.futures import ProcessPoolExecutor  # lazy: likewise
    from concurrent.futures.process import BrokenProcessPool  # lazy: likewise

    global _TASK
    if workers <= 1 or len(bounds) < 2 or multiprocessing.current_process().daemon \
            or "fork" not in multiprocessing.get_all_start_methods():
        for a, b in bounds:
            yield function(a, b)
        return
    _TASK = function
    pool = ProcessPoolExecutor(min(workers, len(bounds)), mp_context=multiprocessing.get_context("fork"),
                               initializer=_chunk_process_signals)
    try:
        yield from pool.map(_call_task, bounds)
    except BaseException as exc:
        for process in list((pool._processes or {}).values()):  # no public way to stop them at once
            process.terminate()
        if isinstance(exc, BrokenProcessPool):
            raise P2PStoreError("a process settling household chunks died (out of memory? try a lower "
                                "--memory-limit); the run's results are not stored") from None
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _TASK = None


def community_totals(chunks: Callable[[int, int], Profiles], frame: CommunityFrame, bounds,
                     workers: int = 1, survey=None, take=None) -> CommunityTotals:
    """The totals pass over ``chunks(start, stop)`` (see the module docstring); with
    ``survey(chunk, start, stop)`` and ``take(result)`` (:class:`StageHooks`)."""
    tv = frame.time_varying_tariffs
    acc = {k: OrderedSum() for k in ("load", "pv", "import", "export", *(("buy", "sell", "sell_count") if tv else ()))}

    def pass_chunk(a, b):
        chunk = chunks(a, b)
        return _chunk_sums(chunk, tv), (survey(chunk, a, b) if survey is not None else None)

    for sums, surveyed in _in_order(pass_chunk, bounds, workers):
        for k, v in sums.items():
            acc[k].add(v)
        if take is not None:
            take(surveyed)
    h = frame.n_slots
    t = {k: (a.total if a.total is not None else np.zeros(h)) for k, a in acc.items()}
    buy_ref = sell_ref = None
    if tv:  # np.mean(axis=0) and mean_positive(axis=0) of the whole [N, H] tariffs
        buy_ref = t["buy"] / frame.n_households  # as Profiles.lambda_buy_ref and mean_positive
        sell_ref = np.divide(t["sell"], t["sell_count"], out=np.zeros(h), where=t["sell_count"] > 0)
    return CommunityTotals(t["load"], t["pv"], t["import"], t["export"], buy_ref, sell_ref)


def check_chunkable(mechanisms) -> None:
    """:class:`InputError` naming the first plugin that does not settle in chunks."""
    for name in mechanisms:
        mechanism = registry.get(name)
        if not mechanism.builtin and not getattr(registry.load(mechanism), "settles_in_chunks", False):
            raise InputError(f"mechanism {name!r} settles the whole community at once (its function does not "
                             "declare settles_in_chunks) and the community does not fit the memory limit: "
                             "raise --memory-limit, or settle a smaller community")


@dataclasses.dataclass(frozen=True, eq=False)
class SettledSummary(MechanismResult):
    """A mechanism's result kept as ``[N]`` and ``[H]`` arrays only (``cost`` is None): bills,
    per-household energy totals (:meth:`household_totals`), prices and the community cost."""

    household_kwh: dict | None = None
    #: ``cost_form`` checked in every chunk (``check_form``): True if it held in all, None unchecked.
    form_holds: bool | None = None

    def household_totals(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.household_kwh.items()}


class _MechanismAccumulator:
    """One mechanism's ``[N]`` results and ``[H]`` community cost, filled chunk by chunk."""

    def __init__(self, n: int):
        self.bills = np.empty(n)
        self.household = {}
        self.cost = OrderedSum()
        self.slot_outputs = None
        self.name = None
        self.forms: list[bool | None] = []

    def add(self, start: int, stop: int, part: dict) -> None:
        self.bills[start:stop] = part["bills"]
        for k, v in part["household"].items():
            self.household.setdefault(k, np.empty(len(self.bills)))[start:stop] = v
        self.cost.add(part["cost"])
        self.forms.append(part["form"])
        if self.slot_outputs is None:
            self.slot_outputs, self.name = part["slot"], part["name"]

    def result(self, flows: Flows, h: int) -> SettledSummary:
        holds = None if not self.forms or None in self.forms else all(self.forms)
        r = SettledSummary(mechanism=self.name, flows=flows, cost=None, bills=self.bills,
                           household_kwh=self.household, form_holds=holds, **self.slot_outputs)
        r.__dict__["community_cost"] = self.cost.total if self.cost.total is not None else np.zeros(h)
        return r


def settle_chunk(chunk: Profiles, totals: CommunityTotals, names, first: bool = True,
                 check_form: FormCheck | None = None) -> dict:
    """Settle one chunk (its reference tariffs already the community's) under ``names``:
    per mechanism its bills ``[k]``, household totals ``[k]``, cost block sums, whether its cost
    form holds (``check_form``; None without it or a form) and (``first``: the first chunk)
    per-slot prices; and the chunk's energies ``[k]`` kWh."""
    from p2pstore.settlement import settle_one  # the package imports this module

    flows = totals.flows(chunk.load_kw, chunk.pv_kw, chunk.slot_hours)
    out = {}
    for name in names:
        r = settle_one(name, chunk, flows)
        form = check_form(chunk, r) if check_form is not None and r.cost_form is not None else None
        out[name] = {"bills": r.bills, "household": r.household_totals(), "cost": block_sums(r.cost), "form": form,
                     "slot": {k: getattr(r, k) for k in SLOT_OUTPUTS} if first else None, "name": r.mechanism}
        del r
        flows.release_scratch()
    dt_h = chunk.slot_hours
    own_load, own_pv = chunk.__dict__.get("own_kw", (chunk.load_kw, chunk.pv_kw))
    out[None] = {"load": own_load.sum(axis=1) * dt_h, "pv": own_pv.sum(axis=1) * dt_h}
    if chunk.time_varying_tariffs:
        out[None]["buy"], out[None]["sell"] = chunk.mean_tariffs()
    out["stage"] = chunk.__dict__.get("stage_output")
    return out


def settle_chunked(source: ChunkSource, mechanisms, chunk_households: int, *, workers: int = 1,
                   stage: Stage | None = None, check_form: FormCheck | None = None):
    """The :class:`~p2pstore.settlement.Settlement` of ``source``'s community under
    ``mechanisms``, a chunk of about ``chunk_households`` households at a time (module docstring).

    Its ``profiles`` is the :class:`CommunityFrame`; its results hold ``[N]`` and ``[H]`` arrays
    only (:class:`SettledSummary`). Bills, prices and totals equal the unchunked settlement's to
    rounding (the same functions; sums in blocks), and are the same bits for any chunk size.
    ``workers``: chunks computed at once (processes, :func:`_in_order`). ``check_form``: applied
    to every chunk's results with a cost form (``form_holds``). ``household_chunks``: the chunks
    again, for the store (:class:`HouseholdChunks`). Raises :class:`InputError` for non-finite values.
    """
    from p2pstore.settlement import Settlement  # the package imports this module

    names = list(dict.fromkeys(mechanisms))
    for name in names:
        registry.get(name)
    check_chunkable(names)
    bounds = chunk_bounds(source.n_households, chunk_households)
    source.prepare([a for a, _ in bounds])
    frame = source.frame

    chunks = raw = source.chunk
    if stage is not None:
        chunks, frame, bounds, before = _staged(stage, raw, frame, bounds, workers)
    totals = community_totals(chunks, frame, bounds, workers)
    if stage is not None:  # a stage leaves the reference tariffs as they were
        totals = dataclasses.replace(totals, buy_ref=before.buy_ref, sell_ref=before.sell_ref)
    if frame.time_varying_tariffs:
        frame.set_references(totals.buy_ref, totals.sell_ref)
    if not all(np.isfinite(a.sum()) for a in (totals.load_kw, totals.pv_kw)):
        raise InputError("the scenario produces non-finite values (load, PV): its ranges overflow floating point")
    settled = names if "conventional" in names else [*names, "conventional"]
    acc = {name: _MechanismAccumulator(frame.n_households) for name in settled}
    energy, outputs = {}, []

    def referenced(a, b):
        return _with_references(chunks(a, b), frame, totals)

    def settle_part(a, b):
        return a, b, settle_chunk(referenced(a, b), totals, settled, first=a == 0, check_form=check_form)

    for a, b, part in _in_order(settle_part, bounds, workers):
        for name in settled:
            acc[name].add(a, b, part[name])
        for k, v in part[None].items():
            energy.setdefault(k, np.empty(frame.n_households))[a:b] = v
        outputs.append(part["stage"])
    frame.__dict__["_household_energy_kwh"] = (energy.get("load", np.zeros(0)), energy.get("pv", np.zeros(0)))
    if frame.time_varying_tariffs:
        frame.__dict__["_mean_tariffs"] = (energy["buy"], energy["sell"])
    flows = totals.flows(slot_hours=frame.slot_hours)
    results = {name: acc[name].result(flows, frame.n_slots) for name in names}
    if bad := [f"{m} bills" for m, r in results.items() if not np.isfinite(r.bills.sum())]:
        raise InputError(f"the scenario produces non-finite values ({', '.join(bad)}): its ranges overflow "
                         "floating point")
    conventional = results.get("conventional") or acc["conventional"].result(flows, frame.n_slots)
    extra = stage.collect(outputs) if hasattr(stage, "collect") else {}
    return Settlement(frame, flows, results, conventional=conventional,
                      household_chunks=HouseholdChunks(bounds, referenced, totals), **extra)


@dataclasses.dataclass(frozen=True, eq=False)
class HouseholdChunks:
    """A chunked settlement's households again, one chunk at a time (``--series full``): iterate
    for ``(start, stop, chunk)`` (:class:`Profiles` of households ``[start, stop)``, the same rows
    as in the settlement's passes); :meth:`settle` gives a chunk's :class:`MechanismResult` of
    one mechanism, the same bits as the cost pass computed (the same functions and totals)."""

    bounds: list[tuple[int, int]]
    make: Callable[[int, int], Profiles]
    totals: CommunityTotals

    def __iter__(self) -> Iterator[tuple[int, int, Profiles]]:
        for a, b in self.bounds:
            yield a, b, self.make(a, b)

    def settle(self, chunk: Profiles, name: str) -> MechanismResult:
        """The ``[k, H]`` result of mechanism ``name`` for ``chunk`` (one of this object's)."""
        from p2pstore.settlement import settle_one  # the package imports this module

        return settle_one(name, chunk, self.totals.flows(chunk.load_kw, chunk.pv_kw, chunk.slot_hours))


def _staged(stage, raw, frame: CommunityFrame, bounds, workers: int):
    """``(chunks, frame, bounds, before)`` of a settlement with ``stage`` (:class:`StageHooks`):
    the staged chunks (the last one with the members the stage adds), their frame and bounds,
    and the totals of the chunks before the stage."""
    n = frame.n_households

    def before_pass(survey=None, take=None):
        return community_totals(raw, frame, bounds, workers, survey, take)

    before, staged = stage.prepare(frame, before_pass) if hasattr(stage, "prepare") else (before_pass(), frame)

    def chunks(a, b):
        return stage(_with_references(raw(a, min(b, n)), frame, before), before)

    last = bounds[-1]
    return chunks, staged, [*bounds[:-1], (last[0], max(last[1], staged.n_households))], before


def _with_references(chunk: Profiles, frame: CommunityFrame, totals: CommunityTotals) -> Profiles:
    if frame.time_varying_tariffs and totals.buy_ref is not None:
        chunk.__dict__["lambda_buy_ref"], chunk.__dict__["lambda_sell_ref"] = totals.buy_ref, totals.sell_ref
        return chunk
    return frame.chunk_with_references(chunk)

