"""A test hook that holds a run at a named point of its execution until the test releases it.

Production never sets :data:`ENV`, and then :func:`hold` returns at once. Tests set it to a
directory and create *gate* files there:

- ``<point>`` holds every run reaching ``point``; ``<point>-<run_id>`` holds that run only;
- the executing process then creates ``<point>-<run_id>.reached`` and waits until the gate is
  removed.

Points: ``computed`` (settled, before the result transaction) and ``writing`` (inside the result
transaction, after every row is written, before the run is marked succeeded and committed: on
SQLite the write lock is held, on PostgreSQL the rows are written but not committed).

This is how tests hold a run for exactly as long as they need (a signal, an outage, a reaper
beside it) instead of sizing a scenario to take "long enough".

:func:`mark` counts passages instead of holding: each passage of ``who`` through ``point``
appends a line to ``<point>-<who>.passed``, so that a test waits for "the reaper looked three
times" rather than sleeping. Marks: ``reap`` (a worker's reaper tick begins; ``who``: the
worker's name) and ``renew`` (``p2pstore run`` renewed its lease; ``who``: ``run-<run_id>``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV = "P2PSTORE_TEST_HOLD"
POINTS = ("computed", "writing")
MARKS = ("reap", "renew")


def hold(point: str, run_id: int) -> None:
    """Block while a gate for ``point`` (all runs, or ``run_id``) exists in ``$P2PSTORE_TEST_HOLD``."""
    root = os.environ.get(ENV)
    if not root:
        return
    gates = [Path(root, point), Path(root, f"{point}-{run_id}")]
    if not any(g.exists() for g in gates):
        return
    Path(root, f"{point}-{run_id}.reached").touch()
    while any(g.exists() for g in gates):
        time.sleep(0.02)


def mark(point: str, who: str) -> None:
    """Count one passage of ``who`` through ``point`` in ``$P2PSTORE_TEST_HOLD`` (nothing when unset)."""
    root = os.environ.get(ENV)
    if not root:
        return
    with open(Path(root, f"{point}-{who}.passed"), "a") as f:
        f.write("passed\n")
