"""Rows of a run's batteries, as writer blocks: ``batteries`` (one per battery, always) and
``battery_series`` (one per battery and slot, ``--series full``). See docs/batteries.md."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np


def battery_blocks(run_id: int, batteries, series: str) -> Iterator[tuple[str, Iterable[dict]]]:
    """``(table, blocks)`` of ``batteries`` (a :class:`~p2pstore.batteries.stage.BatteryDispatch`,
    or None: nothing) for :func:`p2pstore.store.results.writer.result_blocks`; ``battery_series`` rows
    in primary-key order (household name, slot)."""
    if batteries is None:
        return
    b = batteries
    f = b.fleet
    labels = np.asarray([str(x) for x in b.labels], dtype=object)
    yield "batteries", [{
        "run_id": run_id, "household": labels, "dispatch": b.rule,
        "capacity_kwh": f.capacity_kwh, "power_kw": f.power_kw, "efficiency": f.efficiency,
        "soc_min": f.soc_min, "soc_max": f.soc_max, "soc_initial": f.soc_initial,
    }]
    if series == "full":
        yield "battery_series", _series(run_id, b, labels)


def _series(run_id: int, b, labels: np.ndarray) -> Iterator[dict]:
    slots = np.arange(b.charge_kw.shape[1], dtype=np.int32)
    for i in sorted(range(len(labels)), key=labels.__getitem__):
        yield {"run_id": run_id, "household": labels[i], "slot": slots, "charge_kw": b.charge_kw[i],
               "discharge_kw": b.discharge_kw[i], "soc_kwh": b.soc_kwh[i]}


def battery_rows(batteries, series: str) -> int:
    """Rows :func:`battery_blocks` writes (for a progress bar's total)."""
    if batteries is None:
        return 0
    count = len(batteries.labels)
    return count + (count * batteries.charge_kw.shape[1] if series == "full" else 0)
