"""Display names: how mechanisms and scenario parameters are named in figures, tables and reports.

The one table of readable names beside the registry (:mod:`p2pstore.registry` holds each
mechanism's label; plugins without a label show their name). Identifiers stay the data's keys
(``bill_sharing``, ``prosumer_share``); every output for people goes through this module, so a
mechanism or a parameter reads the same in a legend, a LaTeX table and an HTML page.
This module imports only the standard library.

Example::

    from p2pstore import display
    display.mechanism("bill_sharing")        # 'Bill-sharing'
    display.parameter("prosumer_share")      # 'Prosumer share'
    display.parameter_value("tariffs_hash", "9f2c...")  # '9f2c0a1b2c3d'
"""

from __future__ import annotations

from typing import Any

from p2pstore import registry

#: Scenario parameters by name: their words and unit (``None``: dimensionless). Parameters not
#: listed show their name with ``_`` as spaces. Ranges (``[low, high]``) take the same unit.
PARAMETERS: dict[str, tuple[str, str | None]] = {
    "seed": ("Seed", None),
    "consumers": ("Consumers", None),
    "prosumers": ("Prosumers", None),
    "households": ("Households", None),
    "prosumer_share": ("Prosumer share", None),
    "days": ("Horizon", "days"),
    "start": ("First day", None),
    "slot_minutes": ("Slot length", "min"),
    "generator": ("Profile generator", None),
    "profiles": ("Profile set", None),
    "profiles_hash": ("Profile set (hash)", None),
    "tariffs": ("Tariff file", None),
    "tariffs_hash": ("Tariff file (hash)", None),
    "mechanisms": ("Mechanisms", None),
    "currency": ("Currency", None),
    "consumer_buy_tariff": ("Consumer buy tariff", "{cur}/kWh"),
    "prosumer_buy_tariff": ("Prosumer buy tariff", "{cur}/kWh"),
    "prosumer_sell_tariff": ("Prosumer sell tariff", "{cur}/kWh"),
    "consumer_daily_kwh": ("Consumer daily load", "kWh/day"),
    "prosumer_daily_kwh": ("Prosumer daily load", "kWh/day"),
    "pv_sizing_factor": ("PV sizing factor", None),
    "pv_yield_kwh_per_kwp": ("PV yield", "kWh/kWp/day"),
    "annual_load_kwh": ("Annual load", "kWh/year"),
    "pv_kwp": ("PV size", "kWp"),
    "pv_tilt": ("PV tilt", "°"),
    "pv_azimuth": ("PV azimuth", "°"),
    "weather": ("Weather year", None),
    "load_model": ("Load model", None),
    "latitude": ("Latitude", "°"),
    "longitude": ("Longitude", "°"),
    "altitude": ("Altitude", "m"),
    "utc_offset": ("UTC offset", "h"),
    "inverter_outages": ("Inverter outages", None),
    "maintenance_windows": ("Maintenance windows", None),
    "maintenance_slots": ("Maintenance length", "slots"),
    "load_day_noise": ("Daily load noise", None),
    "load_slot_noise": ("Slot load noise", None),
    "pv_cloud_noise": ("PV cloud noise", None),
    "pv_slot_noise": ("PV slot noise", None),
    "battery_file": ("Battery file", None),
    "batteries": ("Batteries", None),
    "battery_dispatch": ("Battery dispatch", None),
    "battery_share": ("Battery share of prosumers", None),
    "battery_kwh_per_kwp": ("Battery size", "kWh/kWp"),
    "battery_kw_per_kwh": ("Battery power", "kW/kWh"),
    "battery_efficiency": ("Battery efficiency", None),
    "battery_soc_min": ("Battery minimum charge", None),
    "battery_soc_max": ("Battery maximum charge", None),
    "battery_soc_initial": ("Battery initial charge", None),
    "shared_battery_kwh": ("Shared battery capacity", "kWh"),
    "shared_battery_kw": ("Shared battery power", "kW"),
    "shared_battery_efficiency": ("Shared battery efficiency", None),
    "shared_battery_soc_min": ("Shared battery minimum charge", None),
    "shared_battery_soc_max": ("Shared battery maximum charge", None),
    "shared_battery_soc_initial": ("Shared battery initial charge", None),
    "batch": ("Batch", None),
}

#: Parameters whose values are content hashes: shown by their first :data:`HASH_CHARS` characters.
HASH_PARAMETERS = ("profiles_hash", "tariffs_hash")
HASH_CHARS = 12
#: How a parameter that a run leaves unset is shown (e.g. ``tariffs`` of a run without a tariff file).
UNSET = "(none)"


def mechanism(name: str) -> str:
    """The mechanism's display name (the registry's label; its name when unknown)."""
    found = registry.find(name)
    return found.label if found is not None else name


def mechanisms(names) -> list[str]:
    """:func:`mechanism` of each of ``names``."""
    return [mechanism(n) for n in names]


def parameter(name: str, currency: str = "Rs", *, unit: bool = True) -> str:
    """``"Prosumer share"``, ``"PV size (kWp)"``: a parameter's words and (``unit``) its unit."""
    words, unit_text = PARAMETERS.get(name, (name.replace("_", " ").capitalize(), None))
    if name.endswith(("_low", "_high")) and name not in PARAMETERS:
        base, _, end = name.rpartition("_")
        words, unit_text = PARAMETERS.get(base, (base.replace("_", " ").capitalize(), None))
        words = f"{words} ({end})"
    if unit and unit_text:
        return f"{words} ({unit_text.format(cur=currency)})"
    return words


def parameter_unit(name: str, currency: str = "Rs") -> str:
    """The unit of parameter ``name`` ("" when dimensionless or unknown)."""
    unit_text = PARAMETERS.get(name, ("", None))[1]
    return unit_text.format(cur=currency) if unit_text else ""


def parameter_value(name: str, value: Any) -> Any:
    """A grouping value as people read it: hashes shortened, an unset value :data:`UNSET`, a
    file path by its file name; other values as they are (numbers stay numbers)."""
    if value is None or (isinstance(value, float) and value != value):
        return UNSET
    if name in HASH_PARAMETERS:
        return str(value)[:HASH_CHARS]
    if name in ("tariffs", "weather", "battery_file") and isinstance(value, str):
        return value.replace("\\", "/").rsplit("/", 1)[-1]
    return value
