"""The whole schema in one file, as SQLAlchemy Core tables declared by typed classes. Alembic
migrations mirror it.

Units: energies kWh, powers kW, prices currency per kWh, money in the scenario's currency.
Mechanisms and households are readable strings (``"bill_sharing"``, ``"P3"``) in every table.
Imported profile sets are stored once, in long tables keyed by (set, household position, slot),
and referenced by the scenarios that use them. See docs/schema.md for every column.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

if TYPE_CHECKING:  # the annotations are strings (read by Base, below); the ORM is never imported
    from sqlalchemy.orm import Mapped

from p2pstore.scenario import MAX_HOUSEHOLD_NAME, MAX_MECHANISMS_TEXT, MAX_NAME_LENGTH, SERIES_MODES
from p2pstore.status import DEFAULT_MAX_ATTEMPTS, RUN_STATUSES, RunStatus

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class _Declared:
    """A column declared in a model's body: the arguments of its :class:`~sqlalchemy.Column`."""

    __slots__ = ("args", "kwargs")

    def __init__(self, args: tuple, kwargs: dict):
        self.args, self.kwargs = args, kwargs


def mapped_column(*args: Any, **kwargs: Any) -> Any:
    """A column of a :class:`Base` model (the arguments of :class:`~sqlalchemy.Column`, without
    its name: the attribute's). NOT NULL unless annotated ``Mapped[... | None]`` or given
    ``nullable``, as in SQLAlchemy's declarative ORM."""
    return _Declared(args, kwargs)


class _ModelType(type):
    def __clause_element__(cls):
        """A model class stands for its table in Core statements (``select``, ``insert``, ``join``)."""
        return cls.__table__


class Base(metaclass=_ModelType):
    """A model: a class whose ``mapped_column`` attributes become the columns of a Core
    :class:`~sqlalchemy.Table` in :attr:`metadata`, named ``__tablename__``, with
    ``__table_args__`` (constraints, then optionally a dict of table keywords). The class keeps
    the table as ``__table__`` and each column as the attribute of its name (``Run.id == 3``).

    Core rather than the ORM's ``DeclarativeBase``: p2pstore maps no objects (every read and
    write is a Core statement or a bulk load), and the ORM's import and mapper configuration
    cost about a tenth of a second at every start-up of every command.
    """

    metadata = MetaData(naming_convention=NAMING)
    __table__: Table

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        annotations = cls.__dict__.get("__annotations__", {})
        columns = []
        for name, value in list(cls.__dict__.items()):
            if isinstance(value, _Declared):
                options = dict(value.kwargs)
                options.setdefault("nullable", "None" in str(annotations.get(name, "")))
                columns.append(Column(name, *value.args, **options))
        table_args = cls.__dict__.get("__table_args__", ())
        table_kwargs: dict = {}
        if isinstance(table_args, dict):
            table_args, table_kwargs = (), table_args
        elif table_args and isinstance(table_args[-1], dict):
            table_args, table_kwargs = table_args[:-1], table_args[-1]
        cls.__table__ = Table(cls.__tablename__, cls.metadata, *columns, *table_args, **table_kwargs)
        for column in cls.__table__.columns:
            setattr(cls, column.name, column)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


Timestamp = DateTime(timezone=True)
#: Household labels: "C1" for generated households, the files' names for imported ones.
HouseholdLabel = String(MAX_HOUSEHOLD_NAME)
HOUSEHOLD_KINDS = ("consumer", "prosumer")
#: Kinds of a run's households: the shared battery is the member ``community_battery`` of kind
#: ``battery`` (docs/batteries.md).
RUN_HOUSEHOLD_KINDS = (*HOUSEHOLD_KINDS, "battery")
PROFILE_SET_KINDS = ("profiles", "tariffs")
TARIFF_MODES = ("none", "flat", "time")

def run_fk() -> Mapped[int]:
    return mapped_column(Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)


class ScenarioRow(Base):
    """A scenario spec, stored once per distinct canonical JSON."""

    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec_hash: Mapped[str] = mapped_column(String(64), unique=True)
    spec_json: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(Integer)
    consumers: Mapped[int] = mapped_column(Integer)
    prosumers: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())


class Run(Base):
    """One execution of a scenario; the table is also the job queue."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        CheckConstraint(_in("series", SERIES_MODES), name="series"),
        Index("ix_runs_queue", "status", "priority", "id"),
        # SQLite: an id is never given again once its run is deleted (PostgreSQL: a sequence)
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(Integer, ForeignKey("scenarios.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.queued.value)
    mechanisms: Mapped[str] = mapped_column(String(MAX_MECHANISMS_TEXT))  # comma-separated, in settlement order
    series: Mapped[str] = mapped_column(String(16), default="full")
    batch: Mapped[str | None] = mapped_column(String(200), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_ATTEMPTS)
    not_before: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    enqueued_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)  # last lease renewal
    worker: Mapped[str | None] = mapped_column(String(200))
    # the current claim (see p2pstore.store.runs): a fresh random token per claim, NULL while
    # queued; results, failures and renewals are accepted only with it. The lease runs until
    # lease_expires_at, renewed by the owner; the reaper takes only runs whose lease has expired.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    error: Mapped[str | None] = mapped_column(Text)
    # set on runs enqueued by a cron schedule; unique together (see uq_runs_schedule_id_fire_time).
    # schedule_id refers to schedules.id without a FOREIGN KEY, so SQLite adds and drops the column
    # in place (no table rebuild); `schedule remove` clears it on the schedule's runs.
    schedule_id: Mapped[int | None] = mapped_column(Integer)
    fire_time: Mapped[dt.datetime | None] = mapped_column(Timestamp)  # the firing's nominal time, UTC


class Household(Base):
    """A household of a run, with its tariffs and energy totals over the horizon."""

    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint(_in("kind", RUN_HOUSEHOLD_KINDS), name="kind"),
        UniqueConstraint("run_id", "household"),
    )

    run_id: Mapped[int] = run_fk()
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0-based row of the [N, H] arrays
    household: Mapped[str] = mapped_column(HouseholdLabel)  # "C1", "P3", or an imported name
    kind: Mapped[str] = mapped_column(String(16))
    lambda_buy: Mapped[float] = mapped_column(Float)   # currency/kWh (time-varying: mean over the slots)
    lambda_sell: Mapped[float] = mapped_column(Float)  # currency/kWh
    load_kwh: Mapped[float] = mapped_column(Float)
    pv_kwh: Mapped[float] = mapped_column(Float)


class RunMechanism(Base):
    """A mechanism a run was settled with, as it was then: what reading the run needs once the
    plugin that settled it is gone (its name, display name and where it came from)."""

    __tablename__ = "run_mechanisms"

    run_id: Mapped[int] = run_fk()
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0-based, in settlement order
    mechanism: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200))  # display name
    plugin: Mapped[str | None] = mapped_column(Text)  # "dist version (module:function)"; NULL for a built-in


class Bill(Base):
    """A household's bill under one mechanism, with its energy totals (kWh)."""

    __tablename__ = "bills"

    run_id: Mapped[int] = run_fk()
    mechanism: Mapped[str] = mapped_column(String(32), primary_key=True)
    household: Mapped[str] = mapped_column(HouseholdLabel, primary_key=True)
    bill: Mapped[float] = mapped_column(Float)  # currency; negative = net income
    self_consumed_kwh: Mapped[float] = mapped_column(Float)
    grid_import_kwh: Mapped[float] = mapped_column(Float)
    grid_export_kwh: Mapped[float] = mapped_column(Float)
    p2p_import_kwh: Mapped[float] = mapped_column(Float)
    p2p_export_kwh: Mapped[float] = mapped_column(Float)


class DailyBill(Base):
    """The notebook's daily table: community bill per day and mechanism, with daily energies."""

    __tablename__ = "daily_bills"

    run_id: Mapped[int] = run_fk()
    mechanism: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based
    date: Mapped[dt.date] = mapped_column(DateTime(timezone=False))
    bill: Mapped[float] = mapped_column(Float)  # community total, currency/day
    avg_load_kwh_per_house: Mapped[float] = mapped_column(Float)
    avg_pv_kwh_per_prosumer: Mapped[float | None] = mapped_column(Float)  # NULL without prosumers


class ClearingPrice(Base):
    """Per-slot prices of one mechanism. NULL where the mechanism uses per-household tariffs, in
    P2P-off slots of the literature mechanisms, and where a price is undefined (an empty side)."""

    __tablename__ = "clearing_prices"

    run_id: Mapped[int] = run_fk()
    mechanism: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0-based
    ts: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))  # slot start, local time
    p2p_allowed: Mapped[bool] = mapped_column(Boolean)
    import_price: Mapped[float | None] = mapped_column(Float)  # currency/kWh
    export_price: Mapped[float | None] = mapped_column(Float)
    p2p_price: Mapped[float | None] = mapped_column(Float)
    # SDR pricing's E / I (Liu et al. 2017); +Infinity where I = 0 (the writer stores infinity
    # only in columns marked so); NULL for other mechanisms and in P2P-off slots.
    supply_demand_ratio: Mapped[float | None] = mapped_column(Float, info={"infinity": True})


def run_ref() -> Mapped[int]:
    """``runs.id`` without a FOREIGN KEY, for ``household_slots``: on PostgreSQL the row-by-row
    check of a foreign key would take three quarters of a 3.5-million-row write. The store writes
    and deletes those rows together with the run's other results, in one transaction; rows of a
    run deleted otherwise are left out of the ``household_series`` view (it joins ``households``)."""
    return mapped_column(Integer, primary_key=True)


class HouseholdSlot(Base):
    """A household's load and PV in one slot (``--series full``), stored once per run whatever
    the number of mechanisms, with its tariffs where they vary over time. The ``household_series``
    view derives every mechanism's flows and cost from these rows (docs/schema.md)."""

    __tablename__ = "household_slots"
    __table_args__ = {"sqlite_with_rowid": False}

    run_id: Mapped[int] = run_ref()
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # households.position
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    load_kw: Mapped[float] = mapped_column(Float)
    pv_kw: Mapped[float] = mapped_column(Float)
    # time-varying tariffs, currency/kWh; NULL for a flat tariff (households.lambda_buy/_sell)
    lambda_buy: Mapped[float | None] = mapped_column(Float)
    lambda_sell: Mapped[float | None] = mapped_column(Float)


class MechanismSlot(Base):
    """Per-slot factors of one mechanism (``--series full``) from which the ``household_series``
    view computes each household's flows and cost: hours that turn import/export kW into grid
    and P2P kWh, and the cost's coefficients (see :class:`~p2pstore.settlement.result.AffineCost`)."""

    __tablename__ = "mechanism_slots"
    __table_args__ = {"sqlite_with_rowid": False}

    run_id: Mapped[int] = run_fk()
    mechanism: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_import_h: Mapped[float] = mapped_column(Float)  # (1 - p2p import share) * dt
    grid_export_h: Mapped[float] = mapped_column(Float)  # (1 - p2p export share) * dt
    p2p_import_h: Mapped[float] = mapped_column(Float)   # p2p import share * dt
    p2p_export_h: Mapped[float] = mapped_column(Float)   # p2p export share * dt
    import_tariff_h: Mapped[float] = mapped_column(Float)  # weight of the own buy tariff, h
    import_price_h: Mapped[float] = mapped_column(Float)   # community import price * hours, currency/kW
    export_tariff_h: Mapped[float] = mapped_column(Float)
    export_price_h: Mapped[float] = mapped_column(Float)


class HouseholdSeriesExplicit(Base):
    """Per-household per-slot flows and cost stored value by value (``--series full``): for a
    mechanism whose cost is not derivable from per-slot factors (a plugin may be one) and for
    runs stored before the per-slot layout. Read through the ``household_series`` view."""

    __tablename__ = "household_series_explicit"

    run_id: Mapped[int] = run_fk()
    mechanism: Mapped[str] = mapped_column(String(32), primary_key=True)
    household: Mapped[str] = mapped_column(HouseholdLabel, primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    load_kw: Mapped[float] = mapped_column(Float)
    pv_kw: Mapped[float] = mapped_column(Float)
    grid_import_kwh: Mapped[float] = mapped_column(Float)
    grid_export_kwh: Mapped[float] = mapped_column(Float)
    p2p_import_kwh: Mapped[float] = mapped_column(Float)
    p2p_export_kwh: Mapped[float] = mapped_column(Float)
    cost: Mapped[float] = mapped_column(Float)  # currency in this slot


#: Views (created by the migrations, never by ``create_all``): described in their own metadata
#: so that they can be selected from but are no table of ``Base.metadata``.
VIEWS = MetaData()

#: The ``household_series`` view: derived rows of ``household_slots`` x ``mechanism_slots`` and
#: the rows of ``household_series_explicit``, with the columns of ``household_series_explicit``.
HOUSEHOLD_SERIES = Table(
    "household_series", VIEWS,
    *(Column(c.name, c.type) for c in HouseholdSeriesExplicit.__table__.columns),
    info={"is_view": True},
)


class CommunitySeries(Base):
    """Per-slot community aggregates (``--series full`` or ``community``)."""

    __tablename__ = "community_series"

    run_id: Mapped[int] = run_fk()
    mechanism: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    load_kw: Mapped[float] = mapped_column(Float)
    pv_kw: Mapped[float] = mapped_column(Float)
    grid_import_kwh: Mapped[float] = mapped_column(Float)
    grid_export_kwh: Mapped[float] = mapped_column(Float)
    p2p_kwh: Mapped[float] = mapped_column(Float)
    cost: Mapped[float] = mapped_column(Float)


class RunMetric(Base):
    """One KPI of one mechanism in one run (long format; see docs/metrics.md)."""

    __tablename__ = "run_metrics"

    run_id: Mapped[int] = run_fk()
    mechanism: Mapped[str] = mapped_column(String(32), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)


class RunProvenance(Base):
    """The software that settled a run (:mod:`p2pstore.provenance`): one row per component
    (``p2pstore``, ``python``, ``numpy``, ..., ``plugin:<name>``, ``git_commit``)."""

    __tablename__ = "run_provenance"

    run_id: Mapped[int] = run_fk()
    component: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(200))


#: Result tables in write order (all keyed by run_id, deleted with their run).
RESULT_TABLES = (
    "run_mechanisms", "households", "bills", "daily_bills", "clearing_prices", "community_series",
    "household_slots", "mechanism_slots", "household_series_explicit", "run_metrics", "run_provenance",
)


class RunBattery(Base):
    """A battery of a run (docs/batteries.md): a home battery under its household's name, the
    shared one as ``community_battery``; its parameters and the dispatch rule."""

    __tablename__ = "batteries"

    run_id: Mapped[int] = run_fk()
    household: Mapped[str] = mapped_column(HouseholdLabel, primary_key=True)
    dispatch: Mapped[str] = mapped_column(String(32))      # the rule of the home batteries
    capacity_kwh: Mapped[float] = mapped_column(Float)     # usable capacity
    power_kw: Mapped[float] = mapped_column(Float)         # charge and discharge limit, AC side
    efficiency: Mapped[float] = mapped_column(Float)       # one way
    soc_min: Mapped[float] = mapped_column(Float)          # fractions of the capacity
    soc_max: Mapped[float] = mapped_column(Float)
    soc_initial: Mapped[float] = mapped_column(Float)


class BatterySeries(Base):
    """A battery's charge, discharge (kW, AC side) and energy at the end of each slot (kWh)
    (``--series full``)."""

    __tablename__ = "battery_series"
    __table_args__ = {"sqlite_with_rowid": False}

    run_id: Mapped[int] = run_fk()
    household: Mapped[str] = mapped_column(HouseholdLabel, primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    charge_kw: Mapped[float] = mapped_column(Float)
    discharge_kw: Mapped[float] = mapped_column(Float)
    soc_kwh: Mapped[float] = mapped_column(Float)


#: Tables of a run's batteries (rows only for runs with batteries; deleted with their run).
BATTERY_TABLES = ("batteries", "battery_series")


class Schedule(Base):
    """A cron schedule (owned by p2pstore.jobs.schedules): every firing enqueues one run of its
    scenario, unique on ``(schedule_id, fire_time)`` so workers firing together enqueue once."""

    __tablename__ = "schedules"
    __table_args__ = (CheckConstraint(_in("series", SERIES_MODES), name="series"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    cron: Mapped[str] = mapped_column(String(200))  # crontab text, parsed by APScheduler's CronTrigger
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name the cron fields are read in
    scenario_id: Mapped[int] = mapped_column(Integer, ForeignKey("scenarios.id"))
    mechanisms: Mapped[str] = mapped_column(String(MAX_MECHANISMS_TEXT))  # comma-separated, as runs.mechanisms
    series: Mapped[str] = mapped_column(String(16), default="full")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_ATTEMPTS)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())


# A unique index rather than a constraint: SQLite can add one without rebuilding ``runs``.
Index("uq_runs_schedule_id_fire_time", Run.schedule_id, Run.fire_time, unique=True)


# -- imported profile sets ---------------------------------------------------------------------
def profile_set_fk() -> Mapped[int]:
    return mapped_column(Integer, ForeignKey("profile_sets.id", ondelete="CASCADE"), primary_key=True)


class ProfileSetRow(Base):
    """A stored data set, identified by the SHA-256 of its canonical content: a named profile set
    (``kind='profiles'``: households' load and PV, P2P calendar, optional tariffs) or a tariff
    file stored for the runs that use it (``kind='tariffs'``, no name)."""

    __tablename__ = "profile_sets"
    __table_args__ = (
        CheckConstraint(_in("kind", PROFILE_SET_KINDS), name="kind"),
        CheckConstraint(_in("tariffs", TARIFF_MODES), name="tariffs"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH), unique=True)  # NULL for tariff files
    kind: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    start: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))  # slot 0, local wall clock
    slot_minutes: Mapped[int | None] = mapped_column(Integer)  # NULL for flat tariff files
    timezone: Mapped[str] = mapped_column(String(64))  # zone of the wall-clock times
    households: Mapped[int] = mapped_column(Integer)
    slots: Mapped[int] = mapped_column(Integer)  # 0 for flat tariff files
    consumers: Mapped[int] = mapped_column(Integer)
    prosumers: Mapped[int] = mapped_column(Integer)
    tariffs: Mapped[str] = mapped_column(String(8))  # none | flat | time
    source: Mapped[str] = mapped_column(Text)  # the files (or DataFrames) it was read from
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())


class ProfileSetHousehold(Base):
    """A household of a profile set (or a row of a tariff file), with its flat tariffs or the
    series of its time-varying ones."""

    __tablename__ = "profile_set_households"
    __table_args__ = (
        CheckConstraint(_in("kind", HOUSEHOLD_KINDS), name="kind"),
        UniqueConstraint("profile_set_id", "household"),
    )

    profile_set_id: Mapped[int] = profile_set_fk()
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0-based, file order
    household: Mapped[str | None] = mapped_column(HouseholdLabel)  # NULL: a tariff for every household
    kind: Mapped[str | None] = mapped_column(String(16))  # NULL in tariff files
    buy: Mapped[float | None] = mapped_column(Float)   # flat tariffs, currency/kWh
    sell: Mapped[float | None] = mapped_column(Float)
    tariff_series: Mapped[int | None] = mapped_column(Integer)  # time-varying: profile_tariffs.series
    load_kwh: Mapped[float | None] = mapped_column(Float)  # totals over the set (NULL in tariff files)
    pv_kwh: Mapped[float | None] = mapped_column(Float)


def profile_set_ref() -> Mapped[int]:
    """``profile_sets.id`` without a FOREIGN KEY, for the two tables of per-slot values: on
    PostgreSQL a row-by-row foreign-key check would take most of a 10-million-row import. The
    store writes and deletes those rows together with their set, in one transaction."""
    return mapped_column(Integer, primary_key=True)


class ProfileValue(Base):
    """Load and PV of one household of a profile set in one slot (the long table of values)."""

    __tablename__ = "profile_values"

    profile_set_id: Mapped[int] = profile_set_ref()
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    load_kw: Mapped[float] = mapped_column(Float)
    pv_kw: Mapped[float] = mapped_column(Float)


class ProfileTariff(Base):
    """One slot of a time-varying tariff series; households sharing a tariff share its series."""

    __tablename__ = "profile_tariffs"

    profile_set_id: Mapped[int] = profile_set_ref()
    series: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    buy: Mapped[float] = mapped_column(Float)   # currency/kWh
    sell: Mapped[float] = mapped_column(Float)  # currency/kWh, may be negative


class ProfileP2P(Base):
    """The P2P calendar of a profile set: is trading between peers allowed in the slot."""

    __tablename__ = "profile_p2p"

    profile_set_id: Mapped[int] = profile_set_fk()
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    p2p_allowed: Mapped[bool] = mapped_column(Boolean)


class ScenarioProfileSet(Base):
    """Which stored data a scenario computes from (``role``: its profile set or its tariff file),
    so that data in use cannot be deleted."""

    __tablename__ = "scenario_profile_sets"
    __table_args__ = (CheckConstraint(_in("role", PROFILE_SET_KINDS), name="role"),)

    scenario_id: Mapped[int] = mapped_column(Integer, ForeignKey("scenarios.id", ondelete="CASCADE"),
                                             primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    profile_set_id: Mapped[int] = mapped_column(Integer, ForeignKey("profile_sets.id"), index=True)


#: Tables holding a profile set's data, in write order (all keyed by profile_set_id).
PROFILE_TABLES = ("profile_set_households", "profile_values", "profile_tariffs", "profile_p2p")
#: Those of them without a foreign key (deleted explicitly with their set).
PROFILE_VALUE_TABLES = ("profile_values", "profile_tariffs")
