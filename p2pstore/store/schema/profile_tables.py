"""Imported profile sets: stored once, in long tables keyed by (set, household position,
slot), and referenced by the scenarios that use them (``scenario_profile_sets``)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)

if TYPE_CHECKING:  # the annotations are strings (read by Base); the ORM is never imported
    from sqlalchemy.orm import Mapped

from p2pstore.scenario import MAX_NAME_LENGTH
from p2pstore.store.schema.base import HOUSEHOLD_KINDS, PROFILE_SET_KINDS, TARIFF_MODES, Base, HouseholdLabel, Timestamp, in_check, mapped_column

def profile_set_fk() -> Mapped[int]:
    return mapped_column(Integer, ForeignKey("profile_sets.id", ondelete="CASCADE"), primary_key=True)


class ProfileSetRow(Base):
    """A stored data set, identified by the SHA-256 of its canonical content: a named profile set
    (``kind='profiles'``: households' load and PV, P2P calendar, optional tariffs) or a tariff
    file stored for the runs that use it (``kind='tariffs'``, no name)."""

    __tablename__ = "profile_sets"
    __table_args__ = (
        CheckConstraint(in_check("kind", PROFILE_SET_KINDS), name="kind"),
        CheckConstraint(in_check("tariffs", TARIFF_MODES), name="tariffs"),
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
        CheckConstraint(in_check("kind", HOUSEHOLD_KINDS), name="kind"),
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
    __table_args__ = (CheckConstraint(in_check("role", PROFILE_SET_KINDS), name="role"),)

    scenario_id: Mapped[int] = mapped_column(Integer, ForeignKey("scenarios.id", ondelete="CASCADE"),
                                             primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    profile_set_id: Mapped[int] = mapped_column(Integer, ForeignKey("profile_sets.id"), index=True)


#: Tables holding a profile set's data, in write order (all keyed by profile_set_id).
PROFILE_TABLES = ("profile_set_households", "profile_values", "profile_tariffs", "profile_p2p")
#: Those of them without a foreign key (deleted explicitly with their set).
PROFILE_VALUE_TABLES = ("profile_values", "profile_tariffs")
