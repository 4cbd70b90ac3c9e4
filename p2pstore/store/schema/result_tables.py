"""A run's result tables (all keyed by ``run_id``, deleted with their run) and the
``household_series`` view (created by the migrations, described in :data:`VIEWS`); the per-slot
series behind the ``clearing_prices`` and ``community_series`` views are in :mod:`.slot_tables`."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

if TYPE_CHECKING:  # the annotations are strings (read by Base); the ORM is never imported
    from sqlalchemy.orm import Mapped

from p2pstore.store.schema.base import RUN_HOUSEHOLD_KINDS, Base, HouseholdLabel, in_check, mapped_column
from p2pstore.store.schema.queue_tables import run_fk

class Household(Base):
    """A household of a run, with its tariffs and energy totals over the horizon."""

    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint(in_check("kind", RUN_HOUSEHOLD_KINDS), name="kind"),
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
    # found by name within a run: the per-slot views' rows of one mechanism, by key
    __table_args__ = (Index(None, "run_id", "mechanism", unique=True),)

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
    # keyed by slot before mechanism: the view joins on (run_id, slot), a prefix of the key
    __table_args__ = (PrimaryKeyConstraint("run_id", "slot", "mechanism"), {"sqlite_with_rowid": False})

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


#: Result tables in write order (all keyed by run_id, deleted with their run). The per-slot
#: series differ by backend (:mod:`.slot_tables`): a backend has the tables of
#: :func:`~p2pstore.store.schema.slot_tables.tables_on`.
RESULT_TABLES = (
    "run_mechanisms", "households", "bills", "daily_bills", "run_slots", "mechanism_series", "run_slot_arrays",
    "mechanism_series_arrays", "household_slots", "mechanism_slots", "household_series_explicit", "run_metrics",
    "run_provenance",
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
