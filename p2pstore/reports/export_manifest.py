"""What an export holds: the statuses of its runs, and ``manifest.json`` beside its files.

An export is read later, away from the store; ``manifest.json`` says which runs its files hold,
so a reader never takes a partial batch for a whole one::

    {"batch": "share", "format": "csv", "complete": false,
     "runs": {"1": "succeeded", "2": "failed", "3": "queued"},
     "results_of": [1], "not_finished": [3], "files": ["runs.csv", ...]}

``results_of``: the runs whose results (bills, series, prices, metrics) the files hold, the runs
that had succeeded when the export started; ``not_finished``: runs queued or running then
(exported only with ``--partial``; their rows are in ``runs`` and ``scenarios`` only).
"""

from __future__ import annotations

import json
from pathlib import Path

from p2pstore.errors import P2PStoreError
from p2pstore.status import PENDING_STATUSES, RUN_STATUSES, RunStatus

MANIFEST = "manifest.json"


class UnfinishedBatchError(P2PStoreError):
    """A batch export asked for while runs of the batch are still queued or running."""


def run_statuses(store, *, batch: str | None = None, run_ids: list[int] | None = None) -> dict[int, str]:
    """``{run id: status}`` of a batch's runs (or of ``run_ids``), ascending by id, read once;
    :class:`~p2pstore.errors.NotFoundError` for an unknown batch."""
    if batch is not None:
        store.batch_run_ids(batch)  # NotFoundError: "no batch named ..."
    runs = store.runs(batch=batch, run_ids=run_ids)
    return {int(r): str(s) for r, s in zip(runs["run_id"], runs["status"])}


def unfinished(statuses: dict[int, str]) -> dict[int, str]:
    """The runs of ``statuses`` still queued or running."""
    return {run_id: s for run_id, s in statuses.items() if s in PENDING_STATUSES}


def count_text(statuses: dict[int, str]) -> str:
    """``"3 run(s) (queued 2, running 1)"``."""
    by = ", ".join(f"{s} {n}" for s in RUN_STATUSES if (n := sum(v == s for v in statuses.values())))
    return f"{len(statuses)} run(s) ({by})"


def write_manifest(out: Path, statuses: dict[int, str], files: list[Path], fmt: str, *,
                   batch: str | None = None) -> Path:
    """Write ``manifest.json`` into ``out`` (see the module's docstring); returns its path."""
    waiting = unfinished(statuses)
    manifest = {
        "batch": batch,
        "format": fmt,
        "complete": not waiting,
        "runs": {str(r): s for r, s in statuses.items()},
        "results_of": [r for r, s in statuses.items() if s == RunStatus.succeeded],
        "not_finished": list(waiting),
        "files": [p.name for p in files],
    }
    path = out / MANIFEST
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return path
