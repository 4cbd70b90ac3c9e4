"""The base of every table: :class:`Base` (typed classes declaring SQLAlchemy Core tables),
the naming convention and the column types and vocabularies the tables share.

The tables are declared by job: :mod:`.queue_tables` (scenarios, runs, schedules),
:mod:`.result_tables` (a run's results and the ``household_series`` view) and
:mod:`.profile_tables` (imported profile sets); :mod:`p2pstore.store.schema` gathers them.
Alembic migrations mirror them. Units: energies kWh, powers kW, prices currency per kWh, money in
the scenario's currency. See docs/schema.md for every column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table

from p2pstore.scenario import MAX_HOUSEHOLD_NAME

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


def in_check(column: str, values: tuple[str, ...]) -> str:
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
