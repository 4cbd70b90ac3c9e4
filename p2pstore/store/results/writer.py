"""Writer of one run's results: a settlement's rows as blocks (``{column: scalar | [n] array}``,
built column-wise from numpy), loaded by :func:`p2pstore.store.bulk.write_blocks`.

Per-household series (``household_slots``, ``household_series_explicit``) are produced in
primary-key order, so B-tree pages fill left to right on both backends.

Nothing here commits: :meth:`p2pstore.store.Store.write_results` owns the transaction.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import bindparam, text

from p2pstore import provenance, registry
from p2pstore.scenario import SERIES_MODES
from p2pstore.settlement.result import MechanismResult
from p2pstore.store.bulk import Block, block_rows, write_blocks
from p2pstore.store.results.battery_rows import battery_blocks, battery_rows
from p2pstore.store.results.series import derive
from p2pstore.store.results.slot_series import slot_series_blocks, slot_series_rows

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


# --------------------------------------------------------------------------------------------
# rows of a settlement, as blocks
# --------------------------------------------------------------------------------------------
def result_blocks(run_id: int, settlement, series: str = "full",
                  dialect: str = "sqlite") -> Iterator[tuple[str, Iterable[Block]]]:
    """Yield ``(table, blocks)`` for every table ``series`` stores on ``dialect``, in write order.

    ``series``: ``full`` (everything), ``community`` (no per-household series) or ``none``
    (no per-slot series; prices, bills, daily bills and metrics are always written). The
    per-slot series are stored per backend (:func:`~p2pstore.store.results.slot_series.slot_series_blocks`).
    Blocks are produced lazily so that the ``[N, H]`` volume arrays of one mechanism at a time
    are alive.
    """
    if series not in SERIES_MODES:
        raise ValueError(f"series must be one of {SERIES_MODES}, got {series!r}")
    yield "run_mechanisms", [_mechanisms(run_id, settlement)]
    yield "households", [_households(run_id, settlement)]
    yield "bills", [_bills(run_id, m, r, settlement.profiles) for m, r in settlement.results.items()]
    yield "daily_bills", list(_daily_bills(run_id, settlement))
    yield from slot_series_blocks(run_id, settlement, series, dialect)
    if series == "full":
        yield from _household_series(run_id, settlement)
    yield from battery_blocks(run_id, getattr(settlement, "batteries", None), series)
    yield "run_metrics", [_metrics(run_id, settlement)]
    yield "run_provenance", [_provenance(run_id, settlement)]


def _provenance(run_id: int, s) -> Block:
    """The software settling ``s`` (:func:`p2pstore.provenance.collect`), one row per component."""
    found = provenance.collect(s.results)
    return {"run_id": run_id, "component": np.asarray(list(found), dtype=object),
            "version": np.asarray(list(found.values()), dtype=object)}


def _mechanisms(run_id: int, s) -> Block:
    """The run's mechanisms as the registry describes them now (display name, the plugin's
    distribution and function), so that the run reads the same once a plugin is gone."""
    found = [registry.find(m) for m in s.results]
    return {
        "run_id": run_id,
        "position": np.arange(len(found), dtype=np.int64),
        "mechanism": np.asarray(list(s.results), dtype=object),
        "label": np.asarray([m.label if m is not None else name for m, name in zip(found, s.results)], dtype=object),
        "plugin": np.asarray([None if m is None or m.builtin else f"{m.origin} ({m.target})" for m in found],
                             dtype=object),
    }


def _labels(profiles) -> np.ndarray:
    return np.asarray([str(x) for x in profiles.labels], dtype=object)


def _households(run_id: int, s) -> Block:
    p = s.profiles
    buy, sell = p.mean_tariffs()  # time-varying tariffs: the mean over the run's slots
    load_kwh, pv_kwh = p.household_energy_kwh()
    return {
        "run_id": run_id,
        "position": np.arange(p.n_households, dtype=np.int32),
        "household": _labels(p),
        "kind": np.asarray([str(k) for k in p.kinds], dtype=object),
        "lambda_buy": buy,
        "lambda_sell": sell,
        "load_kwh": load_kwh,
        "pv_kwh": pv_kwh,
    }


def _bills(run_id: int, mechanism: str, r, profiles) -> Block:
    return {"run_id": run_id, "mechanism": mechanism, "household": _labels(profiles),
            "bill": np.asarray(r.bills, dtype=np.float64), **r.household_totals()}


def _daily_bills(run_id: int, s) -> Iterator[Block]:
    """The notebook's daily table (:attr:`Settlement.daily`), one block per mechanism."""
    d = s.daily
    avg_pv = np.asarray(d["avg_pv_kwh_per_prosumer"], dtype=np.float64)
    for mechanism, bill in d["bill"].items():
        yield {
            "run_id": run_id, "mechanism": mechanism,
            "day": np.asarray(d["day"], dtype=np.int32),
            "date": np.asarray(d["date"]).astype("datetime64[us]"),
            "bill": np.asarray(bill, dtype=np.float64),
            "avg_load_kwh_per_house": np.asarray(d["avg_load_kwh_per_house"], dtype=np.float64),
            # NaN (no prosumers) is stored as NULL
            "avg_pv_kwh_per_prosumer": avg_pv if np.isfinite(avg_pv).all() else None,
        }


#: Largest difference between a mechanism's cost and its :class:`AffineCost` form, relative to
#: the size of the form's terms, under which the store keeps the form instead of the values.
COST_FORM_RTOL = 1e-12


def _household_series(run_id: int, s) -> Iterator[tuple[str, Iterable[Block]]]:
    """The per-household series (``--series full``): ``household_slots`` and ``mechanism_slots``
    for the mechanisms whose cost the view can derive (:func:`derivable_mechanisms`), rows of
    ``household_series_explicit`` for the others. A settlement in household chunks writes its
    per-slot factors once, then each chunk's rows as the chunk is made again (its
    ``household_chunks``): one chunk's ``[k, H]`` arrays at a time, one COPY per chunk and table."""
    derived = derivable_mechanisms(s)
    explicit = [m for m in sorted(s.results) if m not in derived]
    again = getattr(s, "household_chunks", None)
    if derived:
        if again is None:
            yield "household_slots", _household_slots(run_id, s.profiles)
        yield "mechanism_slots", [_mechanism_slots(run_id, m, s.results[m], s.profiles) for m in sorted(derived)]
    if again is None:
        if explicit:
            yield "household_series_explicit", _explicit_series(run_id, s.profiles, s.results.__getitem__, explicit)
        return
    for start, _, chunk in again:
        if derived:
            yield "household_slots", _household_slots(run_id, chunk, start)
        if explicit:
            yield "household_series_explicit", _explicit_series(
                run_id, chunk, lambda m, chunk=chunk: again.settle(chunk, m), explicit)


def derivable_mechanisms(s) -> frozenset[str]:
    """Mechanisms of settlement ``s`` whose household series the ``household_series`` view derives
    from per-slot factors: flows from the profiles and the P2P shares (always, for a plain
    :class:`MechanismResult` of these profiles), cost from its declared :class:`AffineCost`
    if that reproduces ``cost`` to :data:`COST_FORM_RTOL` of its terms, in every household-slot
    (:func:`cost_form_holds`). A settlement in household chunks keeps no ``cost``: its results
    say whether the form held in every chunk (``form_holds``, checked in its cost pass; a form
    never checked is not relied on)."""
    try:
        return _derivable[s]
    except (KeyError, TypeError):  # TypeError: an object without weak references (not cached)
        pass
    if getattr(s, "household_chunks", None) is not None:
        out = frozenset(name for name, r in s.results.items() if getattr(r, "form_holds", None) is True)
    else:
        out = frozenset(name for name, r in s.results.items() if cost_form_holds(s.profiles, r))
    try:
        _derivable[s] = out
    except TypeError:
        pass
    return out


def cost_form_holds(p, r) -> bool:
    """Is ``r`` (a :class:`MechanismResult` of profiles ``p``, a whole community or a chunk)
    stored by the view's formula: flows of these very profiles, and a declared cost form that
    gives ``r.cost`` (:func:`_form_matches`)? The check a chunked settlement applies per chunk."""
    return (type(r) is MechanismResult and r.cost_form is not None and r.flows.load_kw is p.load_kw
            and r.flows.pv_kw is p.pv_kw and r.flows.slot_hours == p.slot_hours and _form_matches(r, p))


#: :func:`derivable_mechanisms` of the settlements alive (the progress total and the write ask).
_derivable: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


#: Household-slots checked at a time by :func:`_form_matches`: the formula keeps each of its
#: sub-expressions (about 15 arrays), so about 4 MB whatever the size of the community or chunk
#: (a chunked run checks in its cost pass, within a chunk's memory).
_CHECK_CELLS = 1 << 15


def _form_matches(r, p) -> bool:
    """Does ``r``'s :class:`AffineCost`, as the ``household_series`` view computes it
    (:func:`p2pstore.store.results.series.derive`), give ``r.cost`` to :data:`COST_FORM_RTOL` of the size
    of its terms in every household-slot? Checked a block of households at a time."""
    factors = r.cost_form.per_slot(p.n_slots)
    flat = not p.time_varying_tariffs
    buy = np.asarray(p.lambda_buy, dtype=np.float64)[:, None] if flat else p.lambda_buy
    sell = np.asarray(p.lambda_sell, dtype=np.float64)[:, None] if flat else p.lambda_sell
    step = max(1, _CHECK_CELLS // max(1, p.n_slots))
    for i in range(0, p.n_households, step):
        rows = slice(i, i + step)
        got = derive(p.load_kw[rows], p.pv_kw[rows], buy[rows], sell[rows], factors, flows=False)
        with np.errstate(invalid="ignore"):
            if not np.all(np.abs(got["cost"] - r.cost[rows]) <= COST_FORM_RTOL * got["scale"]):
                return False
    return True


def _household_slots(run_id: int, p, first: int = 0) -> Iterator[Block]:
    """Load and PV of every household of ``p`` (households ``first``, ``first + 1``, ... of the
    run), in primary-key order (position, slot); the tariffs where they vary over time (NULL for
    flat ones: ``households`` has them)."""
    slots = np.arange(p.n_slots, dtype=np.int32)
    varying = p.time_varying_tariffs
    for i in range(p.n_households):
        yield {"run_id": run_id, "position": first + i, "slot": slots, "load_kw": p.load_kw[i], "pv_kw": p.pv_kw[i],
               "lambda_buy": p.lambda_buy[i] if varying else None,
               "lambda_sell": p.lambda_sell[i] if varying else None}


def _mechanism_slots(run_id: int, mechanism: str, r, p) -> Block:
    """Per-slot factors of one mechanism: each flow factor exactly as
    :class:`MechanismResult` multiplies it, and the cost's :class:`AffineCost` coefficients."""
    dt_h = r.flows.slot_hours
    return {"run_id": run_id, "mechanism": mechanism, "slot": np.arange(p.n_slots, dtype=np.int32),
            "grid_import_h": np.broadcast_to((1.0 - r.p2p_import_share) * dt_h, (p.n_slots,)),
            "grid_export_h": np.broadcast_to((1.0 - r.p2p_export_share) * dt_h, (p.n_slots,)),
            "p2p_import_h": np.broadcast_to(r.p2p_import_share * dt_h, (p.n_slots,)),
            "p2p_export_h": np.broadcast_to(r.p2p_export_share * dt_h, (p.n_slots,)),
            **r.cost_form.per_slot(p.n_slots)}


def _explicit_series(run_id: int, p, result_of, mechanisms: list[str]) -> Iterator[Block]:
    """Rows of ``household_series_explicit`` of ``mechanisms`` for the households of profiles
    ``p`` (``result_of(mechanism)``: their :class:`MechanismResult`, asked for one mechanism at
    a time), in primary-key order (mechanism, household label, slot) within ``p``."""
    slots = np.arange(p.n_slots, dtype=np.int32)
    labels = _labels(p)
    by_label = sorted(range(len(labels)), key=labels.__getitem__)
    for mechanism in mechanisms:
        r = result_of(mechanism)
        columns = {
            "load_kw": p.load_kw, "pv_kw": p.pv_kw,
            "grid_import_kwh": r.grid_import_kwh(), "grid_export_kwh": r.grid_export_kwh(),
            "p2p_import_kwh": r.p2p_import_kwh(), "p2p_export_kwh": r.p2p_export_kwh(),
            "cost": r.cost,
        }
        del r  # its [k, H] cost and flows go with the columns
        for i in by_label:
            yield {"run_id": run_id, "mechanism": mechanism, "household": labels[i], "slot": slots,
                   **{name: a[i] for name, a in columns.items()}}


def _metrics(run_id: int, s) -> Block:
    rows = [(m, k, v) for m, values in s.metrics.items() for k, v in values.items()]
    return {
        "run_id": run_id,
        "mechanism": np.asarray([m for m, _, _ in rows], dtype=object),
        "metric": np.asarray([k for _, k, _ in rows], dtype=object),
        # NaN/inf (e.g. a percentage of a zero bill) are stored as NULL on both backends
        "value": np.asarray([float(v) if v is not None and np.isfinite(v) else None for _, _, v in rows],
                            dtype=object),
    }


def write_settlement(conn: Connection, run_id: int, settlement, series: str = "full", *,
                     bar=None) -> dict[str, int]:
    """Write every result row of ``settlement`` for ``run_id``; return rows written per table.

    ``bar``: a :class:`p2pstore.progress.Progress` advanced by each block's rows once loaded
    (see :func:`expected_rows` for the total)."""
    counts: dict[str, int] = {}
    for table, blocks in result_blocks(run_id, settlement, series, conn.dialect.name):  # a table may come once per chunk
        rows = write_blocks(conn, table, blocks if bar is None else _counted(table, blocks, bar))
        counts[table] = counts.get(table, 0) + rows
    if conn.dialect.name == "postgresql":
        _refresh_statistics(conn, counts)
    return counts


#: A write of at least this fraction of a table's estimated rows refreshes its statistics.
ANALYZE_FRACTION = 0.1


def _refresh_statistics(conn: Connection, counts: dict[str, int]) -> None:
    """PostgreSQL: ``ANALYZE`` the result tables this write made large against what their
    statistics describe (never analyzed, or ``counts`` rows at least :data:`ANALYZE_FRACTION`
    of the estimated rows). Statistics that predate a run estimate its ``run_id`` at a row or
    two: the planner then joins its rows by ``run_id`` alone, each household-slot against every
    slot of the run (an aggregate over a year no longer finishes). Autovacuum would refresh them
    too, a minute later; the next query is now. A sweep of equal runs analyzes at its first ten
    or so runs; then the statistics of many runs estimate a new one well, and autovacuum keeps
    them. Tables in name order: two writers analyzing at once take their locks in one order."""
    written = {table: rows for table, rows in counts.items() if rows}
    if not written:
        return
    estimated = dict(conn.execute(text("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r' "
                                       "AND relname IN :names AND relnamespace = current_schema()::regnamespace")
                                  .bindparams(bindparam("names", expanding=True)), {"names": sorted(written)}).all())
    stale = sorted(t for t, rows in written.items() if t in estimated
                   and (estimated[t] < 0 or rows >= ANALYZE_FRACTION * estimated[t]))
    if stale:
        conn.execute(text(f"ANALYZE {', '.join(stale)}"))


def _counted(table: str, blocks: Iterable[Block], bar) -> Iterator[Block]:
    for block in blocks:
        yield block
        bar.update(block_rows(table, block))


def expected_rows(settlement, series: str = "full", dialect: str = "sqlite") -> int:
    """Rows :func:`write_settlement` writes for ``settlement`` on ``dialect`` (for a progress
    bar's total)."""
    p = settlement.profiles
    n, h, m = p.n_households, p.n_slots, len(settlement.results)
    rows = m + n + m * (n + p.days)  # run mechanisms, households, bills, daily bills
    rows += slot_series_rows(settlement, series, dialect)
    if series == "full":
        derived = len(derivable_mechanisms(settlement))
        rows += (n * h + derived * h if derived else 0) + (m - derived) * n * h
    rows += battery_rows(getattr(settlement, "batteries", None), series)
    rows += len(provenance.collect(settlement.results))  # run_provenance
    return rows + sum(len(values) for values in settlement.metrics.values())  # run_metrics
