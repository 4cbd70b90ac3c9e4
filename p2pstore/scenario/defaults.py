"""Every default and list of the scenario spec, in one place: the spec's fields, its validation,
the CLI's options and their help text all read them from here (a test ties the help to them)."""

from __future__ import annotations

from typing import Any

from p2pstore import registry
from p2pstore.batteries import keys as battery_keys

#: The reference notebook's RNG seed (``seed``).
DEFAULT_SEED = 42

#: Mechanisms a scenario settles when it names none (the reference notebook's three); every
#: known name is in :mod:`p2pstore.registry`.
DEFAULT_MECHANISMS: tuple[str, ...] = registry.DEFAULT

#: Profile generators the profiles layer knows (the first is the default).
GENERATORS: tuple[str, ...] = ("notebook", "standard")

#: Typical-meteorological-year (TMY3) files shipped with pvlib that the ``standard`` generator
#: can use (key ``weather``): Greensboro, North Carolina (36.1 N) and Sand Point, Alaska (55.3 N).
WEATHER_FILES: tuple[str, ...] = ("723170TYA.CSV", "703165TY.csv")

#: What a run stores of its per-slot series: per household (``full``), community totals only
#: (``community``), or nothing (``none``).
SERIES_MODES: tuple[str, ...] = ("full", "community", "none")

#: Defaults of the fields a generated community needs and an imported one takes from its set
#: (``days``: horizon in days; ``start``: ISO date of the first day; ``slot_minutes``: minutes).
GENERATED_DEFAULTS: dict[str, Any] = {
    "consumers": 3, "prosumers": 7, "days": 30, "start": "2025-01-01", "slot_minutes": 15,
}

#: Defaults of the ``standard`` generator's own keys (unset, and left out of the spec, for the
#: notebook generator, so notebook specs keep their hashes): kWh/year per household, kWp per
#: prosumer, degrees from horizontal, degrees clockwise from north, a TMY3 file.
STANDARD_DEFAULTS: dict[str, Any] = {
    "annual_load_kwh": (2000.0, 5000.0), "pv_kwp": (2.0, 6.0), "pv_tilt": 30.0, "pv_azimuth": 180.0,
    "weather": WEATHER_FILES[0],
}

#: Type of each text field whose default is None (unset); numeric ones are typed by their rules.
OPTIONAL_TEXT: tuple[str, ...] = ("start", "profiles", "tariffs", "profiles_hash", "tariffs_hash", "weather",
                                  "load_model",
                                  *battery_keys.TEXT_KEYS)

#: Fields derived from ``households`` and ``prosumer_share`` when a generated community is sized
#: by its share of prosumers.
SHARE_DERIVED: tuple[str, ...] = ("consumers", "prosumers")

#: Longest comma-separated list of mechanism names a run stores (``runs.mechanisms``).
MAX_MECHANISMS_TEXT = 200
#: Longest profile-set name and longest household name; names hold no control characters.
MAX_NAME_LENGTH = 100
MAX_HOUSEHOLD_NAME = 64
#: Longest currency label (it names columns such as ``community_bill_Rs``).
MAX_CURRENCY_LENGTH = 16
