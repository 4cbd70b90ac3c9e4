"""A run's per-slot series: what every mechanism shares stored once per run, what each
mechanism has stored once per mechanism, nothing that is all NULL; and the ``clearing_prices``
and ``community_series`` views (created by the migrations) that give SQL users one row per
mechanism and slot.

The storage differs by backend, each as small as its rows allow (docs/schema.md):

* SQLite, plain rows: ``run_slots`` (a row per run and slot: start time, P2P flag, community
  load and PV) and ``mechanism_series`` (a row per run, mechanism and slot where a value is not
  NULL: prices, supply-demand ratio, grid and P2P energy, cost).
* PostgreSQL, arrays over the run's slots (a row of PostgreSQL costs some 30 bytes besides its
  values; an array is compressed in TOAST): ``run_slot_arrays`` (a row per run) and
  ``mechanism_series_arrays`` (a row per run and mechanism; an array NULL where all its values
  are, the row absent where all arrays are).

Mechanisms are referred to by ``run_mechanisms.position``. Tables of one backend only say so in
``info["dialect"]``; :func:`tables_on` gives the tables a backend has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import ARRAY, Boolean, Column, DateTime, Float, Integer, String, Table

if TYPE_CHECKING:  # the annotations are strings (read by Base); the ORM is never imported
    from sqlalchemy.orm import Mapped

from p2pstore.store.schema.base import Base, mapped_column
from p2pstore.store.schema.queue_tables import run_fk
from p2pstore.store.schema.result_tables import VIEWS

#: Values of a mechanism in a slot, in storage order: prices (currency/kWh; NULL where the
#: mechanism has none), SDR's supply-demand ratio (may be +-Infinity), then the community series
#: (kWh and currency; NULL only for runs stored without series).
PRICE_COLUMNS = ("import_price", "export_price", "p2p_price", "supply_demand_ratio")
FLOW_COLUMNS = ("grid_import_kwh", "grid_export_kwh", "p2p_kwh", "cost")
MECHANISM_COLUMNS = PRICE_COLUMNS + FLOW_COLUMNS


def _values(kind) -> tuple:
    """The value columns of a mechanism (:data:`MECHANISM_COLUMNS`, in order), nullable, of type
    ``kind()`` (Float, or an array of Float); infinity allowed in ``supply_demand_ratio`` only."""
    return tuple(mapped_column(kind(), nullable=True, info={"infinity": name == "supply_demand_ratio"})
                 for name in MECHANISM_COLUMNS)


class RunSlot(Base):
    """SQLite: a run's slot, the same for every mechanism: start (local time), P2P flag and the
    community's load and PV (kW; NULL for a run stored with series ``none``)."""

    __tablename__ = "run_slots"
    __table_args__ = {"sqlite_with_rowid": False, "info": {"dialect": "sqlite"}}

    run_id: Mapped[int] = run_fk()
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0-based
    ts: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))
    p2p_allowed: Mapped[bool] = mapped_column(Boolean)
    load_kw: Mapped[float | None] = mapped_column(Float)
    pv_kw: Mapped[float | None] = mapped_column(Float)


class MechanismSeries(Base):
    """SQLite: one mechanism's values in one slot (:data:`MECHANISM_COLUMNS`); no row where all
    are NULL (the prices of ``conventional`` in a run without series)."""

    __tablename__ = "mechanism_series"
    __table_args__ = {"sqlite_with_rowid": False, "info": {"dialect": "sqlite"}}

    run_id: Mapped[int] = run_fk()
    mechanism: Mapped[int] = mapped_column(Integer, primary_key=True)  # run_mechanisms.position
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    (import_price, export_price, p2p_price, supply_demand_ratio,
     grid_import_kwh, grid_export_kwh, p2p_kwh, cost) = _values(Float)


class RunSlotArrays(Base):
    """PostgreSQL: a run's slots as arrays (element ``k`` is slot ``k``): starts, P2P flags,
    community load and PV (NULL arrays for a run stored with series ``none``)."""

    __tablename__ = "run_slot_arrays"
    __table_args__ = {"info": {"dialect": "postgresql"}}

    run_id: Mapped[int] = run_fk()
    ts: Mapped[list] = mapped_column(ARRAY(DateTime(timezone=False)))
    p2p_allowed: Mapped[list] = mapped_column(ARRAY(Boolean))
    load_kw: Mapped[list | None] = mapped_column(ARRAY(Float))
    pv_kw: Mapped[list | None] = mapped_column(ARRAY(Float))


class MechanismSeriesArrays(Base):
    """PostgreSQL: one mechanism's values over the run's slots, an array per column (NULL
    elements where undefined; a NULL array where every element would be); no row where every
    array is NULL."""

    __tablename__ = "mechanism_series_arrays"
    __table_args__ = {"info": {"dialect": "postgresql"}}

    run_id: Mapped[int] = run_fk()
    mechanism: Mapped[int] = mapped_column(Integer, primary_key=True)  # run_mechanisms.position
    (import_price, export_price, p2p_price, supply_demand_ratio,
     grid_import_kwh, grid_export_kwh, p2p_kwh, cost) = _values(lambda: ARRAY(Float))


#: Tables of the per-slot series on each backend: (per run and slot, per mechanism and slot).
SLOT_TABLES = {"sqlite": ("run_slots", "mechanism_series"),
               "postgresql": ("run_slot_arrays", "mechanism_series_arrays")}
#: Tables whose rows hold arrays over a run's slots (a block written to them is one row).
ARRAY_TABLES = frozenset(SLOT_TABLES["postgresql"])


def tables_on(dialect: str, names: Iterable[str]) -> tuple[str, ...]:
    """``names`` without the tables of other backends than ``dialect`` (``info["dialect"]``)."""
    tables = Base.metadata.tables
    return tuple(n for n in names if tables[n].info.get("dialect", dialect) == dialect)


#: Key columns of the per-slot views: a row per mechanism of the run (``run_mechanisms``) and slot.
SLOT_VIEW_KEY = ("run_id", "mechanism", "slot")


def _view(name: str, *columns: tuple[str, object]) -> Table:
    head = (("run_id", Integer()), ("mechanism", String(32)), ("slot", Integer()))
    return Table(name, VIEWS, *(Column(n, t) for n, t in (*head, *columns)),
                 info={"is_view": True, "key": SLOT_VIEW_KEY})


#: The ``clearing_prices`` view: per-slot prices of each mechanism of a run, a row per mechanism
#: and slot (NULL prices where none is stored).
CLEARING_PRICES = _view("clearing_prices", ("ts", DateTime(timezone=False)), ("p2p_allowed", Boolean()),
                        *((c, Float()) for c in PRICE_COLUMNS))
#: The ``community_series`` view: per-slot community aggregates of each mechanism, for runs stored
#: with series ``full`` or ``community``.
COMMUNITY_SERIES = _view("community_series", ("load_kw", Float()), ("pv_kw", Float()),
                         *((c, Float()) for c in FLOW_COLUMNS))
