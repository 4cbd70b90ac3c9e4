"""The database's shape, by job:

- :mod:`.base`: :class:`Base` (typed classes declaring Core tables), shared column types;
- :mod:`.queue_tables`: ``scenarios``, ``runs`` (the job queue), ``schedules``;
- :mod:`.result_tables`: a run's results and the ``household_series`` view;
- :mod:`.slot_tables`: a run's per-slot series, per backend, and the ``clearing_prices`` and
  ``community_series`` views;
- :mod:`.profile_tables`: imported profile sets and tariff files;
- :mod:`.migrate`: Alembic glue (revision checks, upgrades); :mod:`.maintenance`: size, VACUUM, info.

Importing this package declares every table in ``Base.metadata``; import the tables from here.
"""

from p2pstore.store.schema.base import (  # noqa: F401 (re-exported)
    Base,
    HOUSEHOLD_KINDS,
    RUN_HOUSEHOLD_KINDS,
    HouseholdLabel,
    NAMING,
    PROFILE_SET_KINDS,
    TARIFF_MODES,
    Timestamp,
    in_check,
    mapped_column,
)
from p2pstore.store.schema.queue_tables import (  # noqa: F401 (re-exported)
    Run,
    ScenarioRow,
    Schedule,
    run_fk,
)
from p2pstore.store.schema.result_tables import (  # noqa: F401 (re-exported)
    BATTERY_TABLES,
    Bill,
    BatterySeries,
    DailyBill,
    HOUSEHOLD_SERIES,
    Household,
    HouseholdSeriesExplicit,
    HouseholdSlot,
    MechanismSlot,
    RESULT_TABLES,
    RunBattery,
    RunMechanism,
    RunMetric,
    RunProvenance,
    VIEWS,
    run_ref,
)
from p2pstore.store.schema.slot_tables import (  # noqa: F401 (re-exported)
    ARRAY_TABLES,
    CLEARING_PRICES,
    COMMUNITY_SERIES,
    MECHANISM_COLUMNS,
    MechanismSeries,
    MechanismSeriesArrays,
    RunSlot,
    RunSlotArrays,
    SLOT_TABLES,
    tables_on,
)
from p2pstore.store.schema.profile_tables import (  # noqa: F401 (re-exported)
    PROFILE_TABLES,
    PROFILE_VALUE_TABLES,
    ProfileP2P,
    ProfileSetHousehold,
    ProfileSetRow,
    ProfileTariff,
    ProfileValue,
    ScenarioProfileSet,
    profile_set_fk,
    profile_set_ref,
)

__all__ = [
    "BATTERY_TABLES",
    "Base",
    "BatterySeries",
    "Bill",
    "ARRAY_TABLES",
    "CLEARING_PRICES",
    "COMMUNITY_SERIES",
    "DailyBill",
    "HOUSEHOLD_KINDS",
    "HOUSEHOLD_SERIES",
    "Household",
    "HouseholdLabel",
    "HouseholdSeriesExplicit",
    "HouseholdSlot",
    "MECHANISM_COLUMNS",
    "MechanismSeries",
    "MechanismSeriesArrays",
    "MechanismSlot",
    "NAMING",
    "PROFILE_SET_KINDS",
    "PROFILE_TABLES",
    "PROFILE_VALUE_TABLES",
    "ProfileP2P",
    "ProfileSetHousehold",
    "ProfileSetRow",
    "ProfileTariff",
    "ProfileValue",
    "RESULT_TABLES",
    "Run",
    "RunBattery",
    "RunMechanism",
    "RunMetric",
    "RunProvenance",
    "RunSlot",
    "RunSlotArrays",
    "SLOT_TABLES",
    "RUN_HOUSEHOLD_KINDS",
    "ScenarioProfileSet",
    "ScenarioRow",
    "Schedule",
    "TARIFF_MODES",
    "Timestamp",
    "VIEWS",
    "in_check",
    "mapped_column",
    "profile_set_fk",
    "profile_set_ref",
    "run_fk",
    "run_ref",
    "tables_on",
]
