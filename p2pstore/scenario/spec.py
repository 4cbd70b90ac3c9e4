"""The :class:`Scenario` value: its fields and defaults, derived sizes, canonical JSON and hash,
and building one from plain values (TOML table, JSON, flags)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from p2pstore.batteries import keys as battery_keys
from p2pstore.errors import ScenarioError
from p2pstore.scenario.defaults import (
    DEFAULT_MECHANISMS,
    DEFAULT_SEED,
    GENERATED_DEFAULTS,
    OPTIONAL_TEXT,
    SHARE_DERIVED,
    STANDARD_DEFAULTS,
)
from p2pstore.scenario.rules import STORED, number_rule, shown, size_by_share, validate
from p2pstore.scenario_standard import fill_location_defaults


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One community-microgrid scenario.

    Ranges are ``(low, high)`` for ``np.random.uniform``. Tariffs are currency per kWh, daily
    energies kWh/day, PV yield kWh per kWp per day, noise values are standard deviations of
    multiplicative factors. The ``standard`` generator uses the tariff, noise and event keys
    and its own keys below; it ignores the notebook's daily-energy and PV-sizing keys.
    """

    seed: int = DEFAULT_SEED
    # generated: GENERATED_DEFAULTS fill these; imported: unset (the set's kinds and slots; days
    # to the end of the set, start at the set's start)
    consumers: int | None = None
    prosumers: int | None = None
    days: int | None = None
    start: str | None = None       # ISO date
    slot_minutes: int | None = None
    generator: str = "notebook"
    # imported communities and tariff files (resolved by the store; see the module docstring)
    profiles: str | None = None       # name of a stored profile set; None = generated
    households: int | None = None     # drawn from the set with `seed` (None = all); generated: with prosumer_share
    prosumer_share: float | None = None  # generated: share of the `households` that are prosumers, in [0, 1]
    tariffs: str | None = None        # path of a tariff file (CSV/Parquet) to use instead
    profiles_hash: str | None = None  # content hash of the set, pinned when the run is queued
    tariffs_hash: str | None = None   # content hash of the stored tariff file
    mechanisms: tuple[str, ...] = DEFAULT_MECHANISMS
    currency: str = "Rs"
    # tariffs, currency/kWh
    consumer_buy_tariff: tuple[float, float] = (6.0, 7.0)
    prosumer_buy_tariff: tuple[float, float] = (5.0, 6.0)
    prosumer_sell_tariff: tuple[float, float] = (3.0, 3.8)
    # load, kWh/day per household, and its noise
    consumer_daily_kwh: tuple[float, float] = (4.0, 7.0)
    prosumer_daily_kwh: tuple[float, float] = (5.0, 9.0)
    load_day_noise: float = 0.05
    load_slot_noise: float = 0.05
    # PV: daily energy as a factor of the prosumer's own daily load; yield kWh/kWp/day
    pv_sizing_factor: tuple[float, float] = (0.4, 1.5)
    pv_yield_kwh_per_kwp: tuple[float, float] = (4.5, 5.5)
    pv_cloud_noise: float = 0.15
    pv_slot_noise: float = 0.05
    # standard generator: BDEW H25 load scaled to kWh/year, PVWatts PV on a TMY3 weather year
    # (unset for the notebook generator; STANDARD_DEFAULTS fill them for `standard`)
    annual_load_kwh: tuple[float, float] | None = None  # kWh/year per household
    pv_kwp: tuple[float, float] | None = None           # kWp per prosumer
    pv_tilt: float | None = None       # degrees from horizontal
    pv_azimuth: float | None = None    # degrees clockwise from north (180 = south)
    weather: str | None = None         # a TMY3 file of WEATHER_FILES
    # standard generator: load model and location (p2pstore.scenario_standard; unset = H25, weather)
    load_model: str | None = None      # "h25" (unset) or "individual"
    latitude: float | None = None      # degrees north (south < 0)
    longitude: float | None = None     # degrees east (west < 0)
    altitude: float | None = None      # metres above sea level (unset: pvlib's map)
    utc_offset: float | None = None    # hours of local standard time (unset: round(longitude / 15))
    # events
    inverter_outages: int = 2
    maintenance_windows: int = 3
    maintenance_slots: int = 8
    # batteries (p2pstore.batteries.keys; docs/batteries.md): unset = none
    battery_file: str | None = None        # CSV of home batteries, pinned into `batteries` when queued
    batteries: tuple | None = None         # rows (household, capacity_kwh, power_kw, efficiency, soc_min, soc_max, soc_initial)
    battery_dispatch: str | None = None    # a dispatch rule (p2pstore.batteries.rules); default self_consumption
    battery_share: float | None = None     # generated home batteries: share of the prosumers, seeded
    battery_kwh_per_kwp: float | None = None  # kWh per kW of the household's peak PV
    battery_kw_per_kwh: float | None = None
    battery_efficiency: float | None = None   # one way
    battery_soc_min: float | None = None      # fractions of the capacity
    battery_soc_max: float | None = None
    battery_soc_initial: float | None = None
    shared_battery_kwh: float | None = None   # the shared battery, member `community_battery`
    shared_battery_kw: float | None = None    # unset: half the capacity per hour
    shared_battery_efficiency: float | None = None
    shared_battery_soc_min: float | None = None
    shared_battery_soc_max: float | None = None
    shared_battery_soc_initial: float | None = None

    def __post_init__(self) -> None:
        if self.profiles is None and self.prosumer_share is not None:
            size_by_share(self)
        defaults = dict(GENERATED_DEFAULTS) if self.profiles is None else {}
        if self.generator == "standard":
            defaults.update(STANDARD_DEFAULTS)
            if self.latitude is not None and self.longitude is not None:
                fill_location_defaults(self)
                defaults.pop("weather")
        for name, default in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        battery_keys.fill_defaults(self)
        validate(self)

    # -- derived ---------------------------------------------------------------------------
    @property
    def imported(self) -> bool:
        """True for a community drawn from a stored profile set (``profiles`` is set)."""
        return self.profiles is not None

    @property
    def n_households(self) -> int | None:
        """Households of the community as far as the spec alone tells: ``consumers + prosumers``
        when generated, ``households`` when drawn from a set, None for a whole set."""
        if self.imported:
            return self.households
        return self.consumers + self.prosumers

    @property
    def periods_per_day(self) -> int:
        return 1440 // self.slot_minutes

    @property
    def slots(self) -> int:
        return self.days * self.periods_per_day

    @property
    def slot_hours(self) -> float:
        """Length of one slot in hours (0.25 for 15-minute slots)."""
        return self.slot_minutes / 60.0

    @property
    def start_date(self) -> dt.date:
        return dt.date.fromisoformat(self.start)

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def canonical_json(self) -> str:
        """Sorted keys, no whitespace, floats as Python repr: equal specs give equal strings.

        Unset (None) fields are left out, so a generated scenario's JSON and hash are the same
        as before the optional fields existed.
        """
        values = {k: v for k, v in self.to_dict().items() if v is not None}
        return json.dumps(values, sort_keys=True, separators=(",", ":"))

    def spec_hash(self) -> str:
        """SHA-256 hex digest of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def replace(self, **changes: Any) -> Scenario:
        """A copy with ``changes`` (validated). A share-sized community is sized anew when
        ``households`` or ``prosumer_share`` changes (its derived consumers and prosumers are
        dropped unless given)."""
        values = self.to_dict()
        if self.prosumer_share is not None and {"households", "prosumer_share"} & set(changes):
            for name in SHARE_DERIVED:
                values.pop(name)
        return from_mapping({**values, **changes})


#: The fields of :class:`Scenario` by name.
FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Scenario)}


def from_mapping(values: Mapping[str, Any], *, source: str = "scenario") -> Scenario:
    """Build a scenario from plain values (TOML table, JSON, flags), coercing types.

    Unknown keys and values of the wrong type raise :class:`ScenarioError` naming the field;
    None means unset.
    """
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in FIELDS:
            raise ScenarioError(key, f"unknown key in {source} (known: {', '.join(FIELDS)})")
        optional = FIELDS[key].default is None
        kwargs[key] = None if value is None and optional else _coerce(key, value)
    return Scenario(**kwargs)


def from_json(text: str, *, stored: bool = False) -> Scenario:
    """The scenario of canonical JSON. ``stored``: the spec of a stored run, whose mechanisms
    are taken as stored (checked for their form only): the plugin that settled the run may
    have been uninstalled since, and the run must stay readable."""
    token = STORED.set(stored)
    try:
        return from_mapping(json.loads(text))
    finally:
        STORED.reset(token)


def _coerce(key: str, value: Any) -> Any:
    """``value`` as field ``key``'s type, strictly: no booleans or text where numbers belong, no
    fractions where integers do (text from flags is parsed by :func:`parse_value` first)."""
    rule = number_rule(key, FIELDS[key].default)

    def is_number(v, kind) -> bool:
        return not isinstance(v, bool) and isinstance(v, int if kind is int else (int, float))

    if rule is not None:
        if rule.pair:
            if isinstance(value, (list, tuple)) and len(value) == 2 and all(is_number(v, float) for v in value):
                return (float(value[0]), float(value[1]))
            kind = "a [low, high] pair of numbers"
        elif is_number(value, rule.kind):
            return rule.kind(value)
        else:
            kind = "an integer" if rule.kind is int else "a number"
        raise ScenarioError(key, f"expected {kind}, got {shown(value)} ({type(value).__name__})")
    if key == battery_keys.ROWS_KEY:
        return battery_keys.coerce_rows(value)
    if key == "mechanisms":
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ScenarioError(key, f"expected a list of mechanism names, got {shown(value)}")
    if isinstance(FIELDS[key].default, str) or key in OPTIONAL_TEXT:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, str):
            return value
        raise ScenarioError(key, f"expected text, got {shown(value)} ({type(value).__name__})")
    return value
