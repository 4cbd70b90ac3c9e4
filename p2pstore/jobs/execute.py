"""Executing one run: the single code path shared by ``p2pstore run``, :func:`run_scenario` and
the workers' settling processes.

A run is computed from its stored scenario (so a worker on another host computes exactly what
was enqueued, its profile set and tariff file included), and its results are written in one
transaction that commits only while the caller's claim still holds the run. Transient database
errors (an outage, a SQLite file locked by another writer) never throw a computed result away:
reads and the write are retried with a backoff, and a write whose commit reply was lost is
recognised as committed.
"""

from __future__ import annotations

import os
import socket
import traceback
from collections.abc import Callable
from typing import Any, NamedTuple

from p2pstore import registry
from p2pstore.errors import DatabaseUnavailable, MechanismNotInstalledError, P2PStoreError, StoreError
from p2pstore.jobs.holds import hold
from p2pstore.jobs.interrupts import interrupt_exit_code, interrupt_name
from p2pstore.status import ClaimOutcome

#: Lease of a ``p2pstore run`` (seconds; renewed every quarter of it while computing and writing).
RUN_LEASE_S = 60.0
#: How long ``p2pstore run`` keeps retrying a database that stopped answering (seconds).
RUN_PATIENCE_S = 300.0

OnRetry = Callable[[BaseException, float], None]


class RunInterrupted(P2PStoreError):
    """``p2pstore run`` was interrupted (Ctrl-C, or SIGTERM / SIGHUP under
    :func:`~p2pstore.jobs.interrupts.signals_interrupt`); its run was cancelled (or could not
    be). ``exit_code``: the shell's code for the signal (130 for Ctrl-C)."""

    def __init__(self, message: str, exit_code: int = 130):
        super().__init__(message)
        self.exit_code = exit_code


class StoredRun(NamedTuple):
    """A run settled and stored: its id and its :class:`~p2pstore.settlement.Settlement`."""

    run_id: int
    settlement: Any


def worker_name(prefix: str = "worker") -> str:
    """A name unique across hosts and processes: ``prefix@host:pid``."""
    return f"{prefix}@{socket.gethostname()}:{os.getpid()}"


def community_profiles(store, scenario):
    """The :class:`~p2pstore.profiles.base.Profiles` a stored (resolved) scenario computes from:
    the drawn households and window of its profile set, read from the store, or the generated
    community; with the stored tariff file's tariffs when it names one."""
    if scenario.imported:
        return store.community(scenario)
    from p2pstore.profiles import generate  # numpy generators: loaded when a community is generated

    profiles = generate(scenario)
    if scenario.tariffs_hash is not None:
        from p2pstore.profiles.sets import with_tariffs  # numpy: only for a stored tariff file

        profiles = with_tariffs(profiles, store.tariff_file(scenario.tariffs_hash))
    return profiles


def community_source(store, scenario):
    """A :class:`~p2pstore.profiles.chunks.ChunkSource` of a stored (resolved) scenario's
    generated community, with the stored tariff file's tariffs when it names one."""
    from p2pstore.profiles import generated_chunks  # lazy: keeps start-up light

    table = store.tariff_file(scenario.tariffs_hash) if scenario.tariffs_hash is not None else None
    return generated_chunks(scenario, table)


def check_run_disk(store, scenario, series: str, **size) -> None:
    """Refuse ``series='full'`` of a run whose rows would not fit the SQLite store's disk
    (:func:`p2pstore.disk_plan.check_disk`); ``size``: households and slots once known."""
    from p2pstore.disk_plan import check_disk  # lazy: only when a run is stored

    if store.dialect == "sqlite":
        check_disk(store.engine.url.database, scenario, series, **size)


def execute_run(store, claim, *, patience: float | None = None, on_retry: OnRetry | None = None,
                progress=None, memory_limit: int | None = None):
    """Compute the run ``claim`` holds and write its results in one transaction.

    Returns ``(committed, settlement)``: ``committed`` is False when the claim lost the run
    meanwhile (reaped, cancelled; nothing was written). Transient database errors are retried
    for up to ``patience`` seconds (None: as long as it takes), calling ``on_retry(exc, delay)``
    before each wait; other errors propagate (the caller records them). ``progress``: a
    :data:`p2pstore.progress.ProgressFactory` for the writing of the results. ``memory_limit``:
    bytes the run may use (None: :func:`p2pstore.limits.memory_limit_bytes`); a generated
    community that does not fit is generated and settled in household chunks.
    """
    from p2pstore.simulate import check_memory, simulate  # numpy settlement: loaded when a run is settled
    from p2pstore.store.results.writer import cost_form_holds  # the store (SQLAlchemy): loaded when a run is settled
    from p2pstore.store.retry import call_with_retry  # the store (SQLAlchemy): loaded when a run is settled

    def read():
        scenario = store.scenario_of(claim.run_id)
        require_installed(store, claim.run_id, scenario.mechanisms)
        series = store.get_run(claim.run_id)["series"]
        if not scenario.imported and check_memory(scenario, series, memory_limit).chunked:
            check_run_disk(store, scenario, series)
            return series, scenario, None, community_source(store, scenario)
        profiles = community_profiles(store, scenario)
        check_run_disk(store, scenario, series, households=profiles.n_households, slots=profiles.n_slots)
        return series, scenario, profiles, None

    series, scenario, profiles, source = call_with_retry(read, patience=patience, on_retry=on_retry)
    # a run in household chunks checks the cost forms chunk by chunk, before its rows are written
    settlement = simulate(scenario, profiles, source=source, series=series, memory_limit=memory_limit,
                          check_form=cost_form_holds)
    hold("computed", claim.run_id)
    committed = store_results(store, claim, settlement, series, patience=patience, on_retry=on_retry,
                              progress=progress)
    return committed, settlement


def require_installed(store, run_id: int, mechanisms) -> None:
    """:class:`MechanismNotInstalledError`, naming the plugin, unless every one of a stored run's
    ``mechanisms`` is a built-in or an installed plugin: settling it could never pass."""
    from p2pstore.store.results.run_mechanisms import plugin_of  # the store (SQLAlchemy): loaded when a run is settled

    missing = [m for m in mechanisms if registry.find(m) is None]
    if missing:
        described = ", ".join(f"{m!r}" + (f" ({p})" if (p := plugin_of(store.engine, m)) else "") for m in missing)
        raise MechanismNotInstalledError(
            f"run {run_id} needs mechanism plugin {described}, which is not installed here: install it on the "
            f"workers, then 'p2pstore runs retry {run_id}' (retrying without it cannot pass)")


def store_results(store, claim, settlement, series: str, *, patience: float | None = None,
                  on_retry: OnRetry | None = None, progress=None) -> bool:
    """Write ``settlement`` under ``claim``, retrying transient errors; True once committed."""
    from p2pstore.store.queue import runs  # the store (SQLAlchemy): loaded when results are written
    from p2pstore.store.retry import call_with_retry  # the store (SQLAlchemy): loaded when results are written

    tried = False

    def write() -> bool:
        nonlocal tried
        # a retry after an error at commit: the commit may have gone through
        if tried and runs.outcome(store.engine, claim) == ClaimOutcome.committed:
            return True
        tried = True
        return store.write_results(claim.run_id, settlement, series, claim=claim,
                                   before_commit=lambda: hold("writing", claim.run_id), progress=progress)

    return call_with_retry(write, patience=patience, on_retry=on_retry)


def run_scenario(scenario, store=None, *, series: str = "full", batch: str | None = None,
                 memory_limit: int | None = None) -> StoredRun:
    """Settle ``scenario`` now and store it as a run, exactly as ``p2pstore run`` does.

    ``store``: a :class:`~p2pstore.store.Store` or a database URL (None: the default,
    ``P2PSTORE_DATABASE_URL`` or ``./p2pstore.db``). ``series``: ``full`` | ``community`` |
    ``none``. ``batch``: a batch name to group the run with others (``compare_runs(store,
    batch=...)``). ``memory_limit``: bytes the run may use (None: what the machine has); a larger
    community is settled in household chunks. Returns ``StoredRun(run_id, settlement)``; read the
    run back with the store's readers (``store.bills(run_id)``, ...).

    Example (a notebook)::

        import p2pstore
        store = p2pstore.Store("sqlite:///p2pstore.db")
        run_id, settlement = p2pstore.run_scenario(
            p2pstore.Scenario(profiles="ausgrid", households=20, seed=3), store)
        settlement.totals()
    """
    from p2pstore.store import Store  # the store (SQLAlchemy): loaded when a run is stored

    if store is None or isinstance(store, str):
        with Store(store) as own:
            return run_now(own, scenario, series, batch=batch, memory_limit=memory_limit)
    return run_now(store, scenario, series, batch=batch, memory_limit=memory_limit)


def run_now(store, scenario, series: str = "full", *, batch: str | None = None, progress=None,
            lease_s: float = RUN_LEASE_S, patience: float = RUN_PATIENCE_S,
            on_retry: OnRetry | None = None, memory_limit: int | None = None) -> StoredRun:
    """Store ``scenario`` as a run claimed by this process, settle it and write it.

    Returns ``StoredRun(run_id, settlement)``. Used by ``p2pstore run`` and :func:`run_scenario`:
    the run is inserted already claimed (no worker can take it), with one attempt allowed, and
    its lease (``lease_s``) is renewed from a thread while it computes and writes. A failure
    marks it failed at once; Ctrl-C cancels it (:class:`RunInterrupted`); a database that stays
    away longer than ``patience`` seconds raises :class:`DatabaseUnavailable` (the run's lease
    then expires and the reaper marks it failed: a worker never settles a run ``p2pstore run``
    started). ``batch``: the run's batch name; ``progress``, ``memory_limit``: see :func:`execute_run`.
    """
    from p2pstore.jobs.enqueue import check_batch  # jobs.enqueue imports the scenario layer: loaded when a run starts
    from p2pstore.jobs.lease import LeaseKeeper  # threads: loaded when a run starts
    from p2pstore.simulate import check_memory  # numpy settlement: loaded when a run starts
    from p2pstore.store import RunRequest  # the store (SQLAlchemy): loaded when a run is stored
    from p2pstore.store.queue import runs  # the store (SQLAlchemy): loaded when a run is stored
    from p2pstore.store.retry import call_with_retry  # the store (SQLAlchemy): loaded when a run is stored

    check_batch(batch)
    check_memory(scenario, series, memory_limit)  # refused before a run is stored
    check_run_disk(store, scenario, series)
    me = worker_name("cli")
    claim = call_with_retry(
        lambda: store.create_claimed_run(RunRequest(scenario, series, batch=batch, max_attempts=1), me, lease_s),
        patience=patience, on_retry=on_retry)
    keeper = LeaseKeeper(store.engine, claim, lease_s)
    try:
        with keeper:
            committed, settlement = execute_run(store, claim, patience=patience, on_retry=on_retry,
                                                progress=progress, memory_limit=memory_limit)
    except KeyboardInterrupt as exc:
        raise RunInterrupted(_cancel_interrupted(store, claim, interrupt_name(exc)),
                             interrupt_exit_code(exc)) from None
    except DatabaseUnavailable as exc:
        raise DatabaseUnavailable(f"{exc}; run {claim.run_id} stays 'running' until its lease "
                                  "expires, then it is marked failed") from None
    except Exception as exc:
        error = error_text(exc)
        try:
            call_with_retry(lambda: runs.fail(store.engine, claim, error, retry=False),
                            patience=min(patience, 30.0), on_retry=on_retry)
        except Exception:  # noqa: BLE001 - the original error is the one to report
            pass
        raise
    if not committed:
        raise StoreError(f"run {claim.run_id} was taken away (cancelled, or its lease expired while "
                         "the database was unreachable); its results were not written")
    return StoredRun(claim.run_id, settlement)


def _cancel_interrupted(store, claim, why: str = "Ctrl-C") -> str:
    """Cancel the run of an interrupted ``p2pstore run`` (``why``: ``Ctrl-C``, ``SIGTERM``,
    ``SIGHUP``); the one line that says what happened."""
    from p2pstore.store.queue import runs  # the store (SQLAlchemy): loaded when a run is cancelled
    from p2pstore.store.retry import call_with_retry, describe  # the store (SQLAlchemy): loaded when a run is cancelled

    try:
        done = call_with_retry(lambda: runs.cancel_claim(store.engine, claim, f"cancelled: interrupted ({why})"),
                               patience=5.0)
    except Exception as exc:  # noqa: BLE001 - the database is away: say so
        return (f"run {claim.run_id} interrupted; could not cancel it ({describe(exc)}): it is marked "
                "failed when its lease expires, never settled by a worker")
    if done:
        return f"run {claim.run_id} cancelled: interrupted before its results were stored"
    if runs.outcome(store.engine, claim) == ClaimOutcome.committed:
        return f"run {claim.run_id} interrupted after its results were stored"
    return f"run {claim.run_id} interrupted; it was no longer held by this command"


def error_text(exc: BaseException, limit: int = 4000) -> str:
    """The error kept on a failed run: the exception line first, then the traceback, cut at
    ``limit`` characters."""
    head = f"{type(exc).__name__}: {exc}"
    tb = "".join(traceback.format_exception(exc))
    return (head + "\n" + tb)[:limit]
