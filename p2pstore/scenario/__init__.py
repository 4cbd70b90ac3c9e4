"""The scenario spec: what to simulate and which mechanisms settle it.

A :class:`Scenario` is a frozen, validated value. Its defaults are the reference notebook's
(seed 42, 3 consumers, 7 prosumers, 30 days from 2025-01-01 in 15-minute slots, ...). It is
loaded from a flat TOML file and/or overrides (CLI flags win over the file), and stored by its
canonical JSON and that JSON's SHA-256 hash.

Two kinds of community:

* **generated** (``profiles`` unset): the notebook generator builds ``consumers`` + ``prosumers``
  households over ``days`` days from ``start`` in ``slot_minutes`` slots (unset values take the
  notebook's defaults). Or sized by a total and a share: ``households = N`` with
  ``prosumer_share = F`` gives ``prosumers = round(F * N)`` (halves up) and ``consumers = N -
  prosumers``; both are then stored, so runs group by the share (a sweep over the share keeps
  ``N``). Explicit ``consumers`` / ``prosumers`` must agree with them;
* **imported** (``profiles = "NAME"``): the households of a stored profile set. ``households``
  draws that many of them (reproducibly, with ``seed``; unset = all), ``start`` / ``days`` choose
  a window inside the set (unset = the whole set); slots are the set's. ``consumers``,
  ``prosumers`` and ``slot_minutes`` must stay unset: the set defines them.

``tariffs`` names a tariff file (flat or time-varying) that replaces the drawn or stored tariffs.
Files and set names are resolved by the store before a run is queued: the stored spec pins the
content hashes (``profiles_hash``, ``tariffs_hash``) of exactly the data the run computes from.

Modules: :mod:`~p2pstore.scenario.defaults` (every default and list), :mod:`~p2pstore.scenario.rules`
(what is valid), :mod:`~p2pstore.scenario.spec` (the value), :mod:`~p2pstore.scenario.loading`
(TOML and text). This package touches neither numpy's RNG nor the database.
"""

from __future__ import annotations

from p2pstore.scenario.defaults import (
    DEFAULT_MECHANISMS,
    DEFAULT_SEED,
    GENERATED_DEFAULTS,
    GENERATORS,
    MAX_CURRENCY_LENGTH,
    MAX_HOUSEHOLD_NAME,
    MAX_MECHANISMS_TEXT,
    MAX_NAME_LENGTH,
    OPTIONAL_TEXT,
    SERIES_MODES,
    SHARE_DERIVED,
    STANDARD_DEFAULTS,
    WEATHER_FILES,
)
from p2pstore.scenario.loading import load, load_values, parse_value
from p2pstore.scenario.rules import CALENDAR, MAX_DAYS, MAX_HOUSEHOLDS, NUMBERS, Number, check_name, share_count
from p2pstore.scenario.spec import FIELDS, Scenario, from_json, from_mapping

__all__ = [
    "CALENDAR", "DEFAULT_MECHANISMS", "DEFAULT_SEED", "FIELDS", "GENERATED_DEFAULTS", "GENERATORS",
    "MAX_CURRENCY_LENGTH", "MAX_DAYS", "MAX_HOUSEHOLDS", "MAX_HOUSEHOLD_NAME", "MAX_MECHANISMS_TEXT",
    "MAX_NAME_LENGTH", "NUMBERS", "Number", "OPTIONAL_TEXT", "SERIES_MODES", "SHARE_DERIVED",
    "STANDARD_DEFAULTS", "Scenario", "WEATHER_FILES", "check_name", "from_json", "from_mapping", "load",
    "load_values", "parse_value", "share_count",
]
