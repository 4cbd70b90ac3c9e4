"""The :class:`Store`: scenarios, runs and results in SQLite or PostgreSQL.

Backend specifics (COPY vs executemany, ON CONFLICT flavours, SQLite locking) stay private to
this package; callers see one API.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from p2pstore.errors import InputError, NotFoundError
from p2pstore.progress import no_progress
from p2pstore.scenario import SERIES_MODES, from_json
from p2pstore.status import DEFAULT_MAX_ATTEMPTS
from p2pstore.store import schema
from p2pstore.store.engine import begin_write, create_engine, db_timestamp, engine_url
from p2pstore.store.profilesets.methods import ProfileSetMethods
from p2pstore.store.profilesets.resolve import link, read_tariff_files, resolve
from p2pstore.store.querygate.query import DEFAULT_TIMEOUT_S, run_readonly_query
from p2pstore.store.queue import runs
from p2pstore.store.results.readers import StoreReaders
from p2pstore.store.results.streams import StoreStreams
from p2pstore.store.results.writer import expected_rows, write_settlement
from p2pstore.store.schema import Run, ScenarioRow
from p2pstore.store.schema.migrate import ensure_schema

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from p2pstore.scenario import Scenario

@dataclasses.dataclass(frozen=True)
class RunRequest:
    """One run to enqueue.

    ``series``: ``full`` | ``community`` | ``none`` (see :func:`p2pstore.store.results.writer.result_blocks`).
    ``priority``: lower runs first. ``not_before``: earliest start (None = now, on the DB clock;
    naive datetimes are taken as UTC).
    """

    scenario: Scenario
    series: str = "full"
    batch: str | None = None
    priority: int = 0
    not_before: dt.datetime | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


class _LostRun(Exception):
    """The claim no longer holds the run: roll the whole write back."""


class Store(StoreReaders, StoreStreams, ProfileSetMethods):
    """Results store at ``url`` (see :func:`p2pstore.store.engine.resolve_url`).

    On construction the schema revision is checked (:func:`p2pstore.store.schema.migrate.ensure_schema`).
    With ``migrate`` (the default, for code that stores) an *empty* database is migrated to head
    and a read-only or in-memory SQLite database is refused; with ``migrate=False`` (readers) the
    database must already hold p2pstore's schema, and a missing SQLite file is not created.
    Another application's database, a template database, or one not at head raises
    :class:`StoreError`. ``sqlite_busy_timeout_s``: see :func:`p2pstore.store.engine.create_engine`.
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True,
                 sqlite_busy_timeout_s: float | None = None):
        self.engine: Engine = create_engine(url, sqlite_busy_timeout_s=sqlite_busy_timeout_s)
        try:
            ensure_schema(self.engine, migrate=migrate)
        except BaseException:
            self.engine.dispose()
            raise

    # -- identity --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The database URL, password masked."""
        return engine_url(self.engine)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Release every pooled connection (PostgreSQL databases can then be dropped)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # -- scenarios and runs ----------------------------------------------------------------
    def save_scenario(self, scenario: Scenario) -> int:
        """Id of ``scenario``'s row, inserted if its spec hash is new (safe under races).

        The scenario is resolved first (see :func:`p2pstore.store.profilesets.resolve.resolve`): a
        profile set's name is pinned to its content hash, a tariff file is stored and pinned.
        """
        cache: dict = {}
        read_tariff_files([scenario], cache)
        with begin_write(self.engine) as conn:
            return self._scenario_id(conn, scenario, cache)

    def resolve(self, scenario: Scenario) -> Scenario:
        """``scenario`` pinned to stored data (its set's content hash, its stored tariff file's),
        validated against them; a tariff file is stored on the way."""
        cache: dict = {}
        read_tariff_files([scenario], cache)
        with begin_write(self.engine) as conn:
            return resolve(conn, scenario, cache).scenario

    def _scenario_id(self, conn: Connection, scenario: Scenario, cache: dict | None = None) -> int:
        resolved = resolve(conn, scenario, cache)
        spec = resolved.scenario
        spec_hash = spec.spec_hash()
        values = {
            "spec_hash": spec_hash, "spec_json": spec.canonical_json(), "seed": spec.seed,
            # the community's size: a profile set's draw is known once resolved
            "consumers": resolved.consumers, "prosumers": resolved.prosumers, "days": resolved.days,
        }
        # insert first, then select: a write first keeps SQLite from a read-to-write lock upgrade,
        # and on PostgreSQL a concurrent insert of the same hash waits and then does nothing
        conn.execute(self._insert(ScenarioRow).values(**values)
                     .on_conflict_do_nothing(index_elements=["spec_hash"]))
        scenario_id = conn.execute(select(ScenarioRow.id).where(ScenarioRow.spec_hash == spec_hash)).scalar_one()
        link(conn, scenario_id, resolved.links, self._insert)
        return scenario_id

    def _insert(self, model):
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(model)

    def create_runs(self, items: Iterable[RunRequest]) -> list[int]:
        """Insert queued runs, all in one transaction; return their ids in ``items`` order.

        Each scenario is resolved (see :meth:`save_scenario`); a scenario that does not fit its
        profile set or tariff file raises :class:`~p2pstore.errors.InputError` and nothing is
        written."""
        items = list(items)
        for item in items:
            _check_series(item.series)
        if not items:
            return []
        cache: dict = {}  # files and sets the scenarios share are read once
        read_tariff_files([item.scenario for item in items], cache)
        with begin_write(self.engine) as conn:
            scenario_ids: dict[str, int] = {}
            rows: list[dict[str, Any]] = []
            for item in items:
                key = item.scenario.spec_hash()
                if key not in scenario_ids:
                    scenario_ids[key] = self._scenario_id(conn, item.scenario, cache)
                rows.append(self._run_row(scenario_ids[key], item))
            return runs.insert_runs(conn, rows)

    def _run_row(self, scenario_id: int, item: RunRequest) -> dict[str, Any]:
        row = {
            "scenario_id": scenario_id, "mechanisms": ",".join(item.scenario.mechanisms),
            "series": item.series, "batch": item.batch, "priority": item.priority,
            "max_attempts": item.max_attempts,
        }
        if item.not_before is not None:
            row["not_before"] = db_timestamp(self.engine, item.not_before)
        return row

    def create_claimed_run(self, item: RunRequest, owner: str, lease_s: float):
        """Insert one run already claimed by ``owner`` with a lease of ``lease_s`` seconds (the
        synchronous ``p2pstore run``: no worker can take it); return its
        :class:`~p2pstore.store.queue.runs.Claim`. The scenario is resolved as in :meth:`create_runs`."""
        _check_series(item.series)
        cache: dict = {}
        read_tariff_files([item.scenario], cache)
        with begin_write(self.engine) as conn:
            row = self._run_row(self._scenario_id(conn, item.scenario, cache), item)
            return runs.insert_claimed(conn, row, owner, lease_s)

    def create_run(self, scenario: Scenario, series: str = "full", **kwargs: Any) -> int:
        """Insert one queued run (see :class:`RunRequest` for the keywords); return its id."""
        return self.create_runs([RunRequest(scenario, series, **kwargs)])[0]

    def get_run(self, run_id: int) -> dict[str, Any]:
        """The run's row as a dict (plus ``spec_hash``); :class:`NotFoundError` if absent."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(Run.__table__, ScenarioRow.spec_hash)
                .join(ScenarioRow, ScenarioRow.id == Run.scenario_id).where(Run.id == run_id)
            ).first()
        if row is None:
            raise NotFoundError(f"run {run_id} does not exist")
        return dict(row._mapping)

    def scenario_of(self, run_id: int) -> Scenario:
        """The :class:`~p2pstore.scenario.Scenario` a run settles."""
        with self.engine.connect() as conn:
            spec = conn.execute(
                select(ScenarioRow.spec_json).join(Run, Run.scenario_id == ScenarioRow.id)
                .where(Run.id == run_id)
            ).scalar_one_or_none()
        if spec is None:
            raise NotFoundError(f"run {run_id} does not exist")
        return from_json(spec, stored=True)  # readable without the plugins that settled it

    def _require_run(self, conn: Connection, run_id: int) -> None:
        if conn.execute(select(Run.id).where(Run.id == run_id)).first() is None:
            raise NotFoundError(f"run {run_id} does not exist")

    # -- ad-hoc SQL -------------------------------------------------------------------------
    def query(self, sql: str, *, timeout: float | None = None, limit: int | None = None):
        """Run one read-only SQL statement; return a pandas DataFrame (``p2pstore query``).

        ``timeout``: seconds (default :data:`p2pstore.store.querygate.query.DEFAULT_TIMEOUT_S`; 0 = none);
        ``limit``: at most this many rows. A write, or anything that would reach beyond the store
        (files, programs, other sessions), is refused with :class:`StoreError` ``"read-only: ..."``
        and changes nothing; see :func:`p2pstore.store.querygate.query.open_readonly_query`.
        """
        return run_readonly_query(self.engine, sql, dataframe=True, limit=limit,
                                  timeout=DEFAULT_TIMEOUT_S if timeout is None else timeout)

    # -- results ---------------------------------------------------------------------------
    def write_results(self, run_id: int, settlement, series: str = "full", *,
                      claim=None, before_commit: Callable[[], None] | None = None, progress=None) -> bool:
        """Store ``settlement`` as the results of ``run_id`` and mark it succeeded, atomically.

        One transaction writes households, bills, daily bills, clearing prices, community series
        (``full``/``community``), household series (``full``) and metrics, then sets
        ``status='succeeded'`` and ``finished_at`` (the commit time) as its last statement. With
        ``claim`` (a :class:`~p2pstore.store.queue.runs.Claim`), only while that claim holds the run:
        if another process took it (reaper, cancel), nothing is written and False is returned.
        The run's row is locked only by that last statement, so lease renewals and reapers never
        wait for the bulk write. ``before_commit`` is called after the rows are written (a test
        hook). ``progress``: a :data:`p2pstore.progress.ProgressFactory` advanced by the rows
        written. Readers never see half a run.
        """
        _check_series(series)
        try:
            with begin_write(self.engine, f"store results of run {run_id}") as conn:
                if claim is None:
                    self._require_run(conn, run_id)
                elif not runs.holds(conn, claim):
                    raise _LostRun  # taken away meanwhile: spare the write
                tables = schema.tables_on(conn.dialect.name, (*schema.RESULT_TABLES, *schema.BATTERY_TABLES))
                for name in reversed(tables):  # a re-write replaces, never mixes
                    table = schema.Base.metadata.tables[name]
                    conn.execute(delete(table).where(table.c.run_id == run_id))
                with (progress or no_progress)(expected_rows(settlement, series, conn.dialect.name),
                                                 f"storing run {run_id}") as bar:
                    write_settlement(conn, run_id, settlement, series, bar=bar)
                if before_commit is not None:
                    before_commit()
                if not runs.finish(conn, run_id, series, claim):
                    raise _LostRun
        except _LostRun:
            return False
        return True


def _check_series(series: str) -> None:
    if series not in SERIES_MODES:
        raise InputError(f"series must be one of {', '.join(SERIES_MODES)}, got {series!r}")
