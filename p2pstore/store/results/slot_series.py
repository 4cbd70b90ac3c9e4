"""A run's per-slot series as the store keeps them (:mod:`p2pstore.store.schema.slot_tables`):
what every mechanism shares once per run, each mechanism's values once, nothing all NULL.

Values are checked against the rules of the documented views first (a NaN price is undefined
and reads back as NULL; infinity only in ``supply_demand_ratio``; load, PV, energies and costs
finite), so what the views show is what the former tables would have held. Blocks are
``{column: scalar | [n] array}`` as :func:`p2pstore.store.bulk.write_blocks` loads them; for the
PostgreSQL array tables a block is one row whose arrays run over the run's slots.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from p2pstore.errors import InputError
from p2pstore.store.bulk import Block
from p2pstore.store.schema import ARRAY_TABLES, MECHANISM_COLUMNS, SLOT_TABLES
from p2pstore.store.schema.slot_tables import FLOW_COLUMNS, PRICE_COLUMNS


def _refuse(view: str, column: str, mechanism: str, values: np.ndarray, bad: np.ndarray):
    where = int(np.flatnonzero(bad)[0])
    raise InputError(f"non-finite value {values[where]} in {view}.{column} (mechanism {mechanism}, row {where}); "
                     "not stored")


def _checked_prices(mechanism: str, r, checked: bool) -> dict[str, np.ndarray | None]:
    """``r``'s per-slot prices as float64 (None: the mechanism has none); NaN is undefined
    (stored as NULL), infinity refused except in ``supply_demand_ratio``."""
    out = {}
    for column in PRICE_COLUMNS:
        a = getattr(r, column)
        a = None if a is None else np.asarray(a, dtype=np.float64)
        if checked and a is not None and column != "supply_demand_ratio" and np.isinf(a).any():
            _refuse("clearing_prices", column, mechanism, a, np.isinf(a))
        out[column] = a
    return out


def _checked_flows(mechanism: str, r, checked: bool) -> dict[str, np.ndarray]:
    """``r``'s community series (:meth:`MechanismResult.community_series`), every value finite."""
    out = {}
    for column, a in r.community_series().items():
        a = np.asarray(a, dtype=np.float64)
        if checked and not np.isfinite(a).all():
            _refuse("community_series", column, mechanism, a, ~np.isfinite(a))
        out[column] = a
    return out


def _series(settlement, series: str, checked: bool = True) -> tuple[dict[str, np.ndarray | None],
                                                                   list[dict[str, np.ndarray | None]]]:
    """``(shared, per_mechanism)``: the run's slot times, P2P flags, community load and PV (None
    without series), and each mechanism's :data:`MECHANISM_COLUMNS` (None: not stored), in
    settlement order (``run_mechanisms.position``). ``checked``: values refused as the documented
    views' rules say (the writer checks; a count of rows need not)."""
    p = settlement.profiles
    shared: dict[str, np.ndarray | None] = {
        "ts": p.timestamps().astype("datetime64[us]"), "p2p_allowed": np.asarray(p.p2p_allowed, dtype=bool),
        "load_kw": None, "pv_kw": None}
    mechanisms = []
    for name, r in settlement.results.items():
        values = _checked_prices(name, r, checked)
        if series in ("full", "community"):
            flows = _checked_flows(name, r, checked)
            for column in ("load_kw", "pv_kw"):
                if shared[column] is None:
                    shared[column] = flows[column]
                elif checked and not np.array_equal(shared[column], flows[column]):
                    raise InputError(f"community_series.{column} of mechanism {name} differs from the run's first "
                                     "mechanism's: a run's community load and PV are one series; not stored")
            values.update({c: flows[c] for c in FLOW_COLUMNS})
        mechanisms.append(values)
    return shared, mechanisms


def _stored_slots(values: dict[str, np.ndarray | None], n_slots: int) -> np.ndarray:
    """[n_slots] bool: slots where some value of a mechanism is not NULL."""
    present = np.zeros(n_slots, dtype=bool)
    for a in values.values():
        if a is not None:
            present |= ~np.isnan(a)
    return present


def slot_series_blocks(run_id: int, settlement, series: str, dialect: str, *,
                       checked: bool = True) -> Iterator[tuple[str, Iterable[Block]]]:
    """``(table, blocks)`` of the per-slot series on ``dialect``: SQLite rows in primary-key
    order, PostgreSQL a row per run and per mechanism with arrays (an all-NULL array as NULL)."""
    shared, mechanisms = _series(settlement, series, checked)
    n = settlement.profiles.n_slots
    per_run, per_mechanism = SLOT_TABLES[dialect]
    if per_run in ARRAY_TABLES:
        yield per_run, [{"run_id": run_id, **shared}]
        rows = []
        for k, values in enumerate(mechanisms):
            kept = {c: (a if a is not None and not np.isnan(a).all() else None) for c, a in values.items()}
            if any(a is not None for a in kept.values()):
                rows.append({"run_id": run_id, "mechanism": k, **{c: kept.get(c) for c in MECHANISM_COLUMNS}})
        yield per_mechanism, rows
        return
    yield per_run, [{"run_id": run_id, "slot": np.arange(n, dtype=np.int32), **shared}]
    blocks = []
    for k, values in enumerate(mechanisms):
        present = _stored_slots(values, n)
        if not present.any():
            continue
        rows = slice(None) if present.all() else present
        blocks.append({"run_id": run_id, "mechanism": k, "slot": np.arange(n, dtype=np.int32)[rows],
                       **{c: (None if values.get(c) is None else values[c][rows]) for c in MECHANISM_COLUMNS}})
    yield per_mechanism, blocks


def slot_series_rows(settlement, series: str, dialect: str) -> int:
    """Rows :func:`slot_series_blocks` writes."""
    return sum(len(blocks) if table in ARRAY_TABLES else sum(len(b["slot"]) for b in blocks)
               for table, blocks in slot_series_blocks(0, settlement, series, dialect, checked=False))


# -- the documented rows (``runs verify`` compares the views with them) ----------------------------
def documented_blocks(run_id: int, settlement, series: str) -> Iterator[tuple[str, Iterable[Block]]]:
    """``clearing_prices`` and (series ``full``/``community``) ``community_series`` rows as the
    views show them: a row per mechanism and slot, NaN for NULL."""
    shared, mechanisms = _series(settlement, series)
    n = settlement.profiles.n_slots
    slots = np.arange(n, dtype=np.int32)
    names = list(settlement.results)
    yield "clearing_prices", [
        {"run_id": run_id, "mechanism": name, "slot": slots, "ts": shared["ts"], "p2p_allowed": shared["p2p_allowed"],
         **{c: values[c] for c in PRICE_COLUMNS}} for name, values in zip(names, mechanisms)]
    if series in ("full", "community"):
        yield "community_series", [
            {"run_id": run_id, "mechanism": name, "slot": slots, "load_kw": shared["load_kw"],
             "pv_kw": shared["pv_kw"], **{c: values[c] for c in FLOW_COLUMNS}}
            for name, values in zip(names, mechanisms)]
