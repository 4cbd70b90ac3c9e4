"""Executing one run: the single code path shared by ``p2pstore run`` and the workers.

A run is computed from its stored scenario (so a worker on another host computes exactly what
was enqueued) and its results are written in one guarded transaction: a worker that no longer
owns the run (reaped, cancelled) cannot commit.
"""

from __future__ import annotations

import os
import socket
import traceback
from typing import Any, NamedTuple


def worker_name(prefix: str = "worker") -> str:
    """A name unique across hosts and processes: ``prefix@host:pid``."""
    return f"{prefix}@{socket.gethostname()}:{os.getpid()}"


class StoredRun(NamedTuple):
    """A run settled and stored: its id and its :class:`~p2pstore.settlement.Settlement`."""

    run_id: int
    settlement: Any


def community_profiles(store, scenario):
    """The :class:`~p2pstore.profiles.base.Profiles` a stored (resolved) scenario computes from:
    the drawn households and window of its profile set, read from the store, or the generated
    community; with the stored tariff file's tariffs when it names one."""
    if scenario.imported:
        return store.community(scenario)
    from p2pstore.profiles import generate

    profiles = generate(scenario)
    if scenario.tariffs_hash is not None:
        from p2pstore.profiles.sets import with_tariffs

        profiles = with_tariffs(profiles, store.tariff_file(scenario.tariffs_hash))
    return profiles


def execute_run(store, run_id: int, worker: str, *, progress=None):
    """Compute run ``run_id`` (claimed by ``worker``) and write its results in one transaction.

    Returns ``(committed, settlement)``: ``committed`` is False when the run was taken away
    from ``worker`` meanwhile (reaped or cancelled; nothing was written). Errors in computing or
    writing propagate: the caller records them (``run_now`` marks the run failed; a worker
    retries it with backoff while attempts remain). ``progress``: a
    :data:`p2pstore.progress.ProgressFactory` for the writing of the results.
    """
    from p2pstore.simulate import simulate

    run = store.get_run(run_id)
    scenario = store.scenario_of(run_id)
    settlement = simulate(scenario, community_profiles(store, scenario))
    committed = store.write_results(run_id, settlement, run["series"], worker=worker, progress=progress)
    return committed, settlement


def run_scenario(scenario, store=None, *, series: str = "full", batch: str | None = None) -> StoredRun:
    """Settle ``scenario`` now and store it as a run, exactly as ``p2pstore run`` does.

    ``store``: a :class:`~p2pstore.store.Store` or a database URL (None: the default,
    ``P2PSTORE_DATABASE_URL`` or ``./p2pstore.db``). ``series``: ``full`` | ``community`` |
    ``none``. ``batch``: a batch name to group the run with others (``compare_runs(store,
    batch=...)``). Returns ``StoredRun(run_id, settlement)``; read the run back with the store's
    readers (``store.bills(run_id)``, ...).

    Example (a notebook)::

        import p2pstore
        store = p2pstore.Store("sqlite:///p2pstore.db")
        run_id, settlement = p2pstore.run_scenario(
            p2pstore.Scenario(profiles="ausgrid", households=20, seed=3), store)
        settlement.totals()
    """
    from p2pstore.store import Store

    if store is None or isinstance(store, str):
        with Store(store) as own:
            return run_now(own, scenario, series, batch=batch)
    return run_now(store, scenario, series, batch=batch)


def run_now(store, scenario, series: str = "full", *, batch: str | None = None, progress=None) -> StoredRun:
    """Store ``scenario`` as a run claimed by this process, settle it and write it.

    Returns ``StoredRun(run_id, settlement)``. Used by ``p2pstore run`` and
    :func:`run_scenario`; a failure marks the run failed at once (not requeued for the workers).
    ``batch``: the run's batch name; ``progress``: see :func:`execute_run`.
    """
    from p2pstore.errors import StoreError
    from p2pstore.jobs.enqueue import check_batch
    from p2pstore.jobs.queue import mark_failed
    from p2pstore.store import RunRequest

    check_batch(batch)
    me = worker_name("cli")
    [run_id] = store.create_runs([RunRequest(scenario=scenario, series=series, batch=batch, worker=me)])
    try:
        committed, settlement = execute_run(store, run_id, me, progress=progress)
    except Exception as exc:
        mark_failed(store.engine, run_id, error_text(exc), worker=me, retry=False)
        raise
    if not committed:
        raise StoreError(f"run {run_id} was taken over by another process; its results were not written")
    return StoredRun(run_id, settlement)


def error_text(exc: BaseException, limit: int = 4000) -> str:
    """The error kept on a failed run: the exception line first, then the traceback, cut at
    ``limit`` characters."""
    head = f"{type(exc).__name__}: {exc}"
    tb = "".join(traceback.format_exception(exc))
    return (head + "\n" + tb)[:limit]
