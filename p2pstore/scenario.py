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

This module touches neither numpy's RNG nor the database.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from p2pstore import registry
from p2pstore.batteries import keys as battery_keys
from p2pstore.errors import ScenarioError
from p2pstore.scenario_standard import fill_location_defaults, validate_standard_keys

#: Longest comma-separated list of mechanism names a run stores (``runs.mechanisms``).
MAX_MECHANISMS_TEXT = 200

#: Mechanisms a scenario settles when it names none (the reference notebook's three); every
#: known name is in :mod:`p2pstore.registry`.
DEFAULT_MECHANISMS: tuple[str, ...] = registry.DEFAULT

#: Profile generators the profiles layer knows (the first is the default).
GENERATORS: tuple[str, ...] = ("notebook", "standard")

#: Typical-meteorological-year (TMY3) files shipped with pvlib that the ``standard`` generator
#: can use (key ``weather``): Greensboro, North Carolina (36.1 N) and Sand Point, Alaska (55.3 N).
WEATHER_FILES: tuple[str, ...] = ("723170TYA.CSV", "703165TY.csv")

SERIES_MODES: tuple[str, ...] = ("full", "community", "none")

#: Defaults of the fields a generated community needs and an imported one takes from its set.
GENERATED_DEFAULTS: dict[str, Any] = {
    "consumers": 3, "prosumers": 7, "days": 30, "start": "2025-01-01", "slot_minutes": 15,
}

#: Defaults of the ``standard`` generator's own keys (unset, and left out of the spec, for the
#: notebook generator, so notebook specs keep their hashes).
STANDARD_DEFAULTS: dict[str, Any] = {
    "annual_load_kwh": (2000.0, 5000.0), "pv_kwp": (2.0, 6.0), "pv_tilt": 30.0, "pv_azimuth": 180.0,
    "weather": WEATHER_FILES[0],
}

#: Type of each text field whose default is None (unset); numeric ones are typed by :data:`NUMBERS`.
OPTIONAL_TEXT: tuple[str, ...] = ("start", "profiles", "tariffs", "profiles_hash", "tariffs_hash", "weather",
                                  "load_model",
                                  *battery_keys.TEXT_KEYS)

#: Fields derived from ``households`` and ``prosumer_share`` when a generated community is sized
#: by its share of prosumers.
SHARE_DERIVED: tuple[str, ...] = ("consumers", "prosumers")

#: Longest profile-set name and longest household name; names hold no control characters.
MAX_NAME_LENGTH = 100
MAX_HOUSEHOLD_NAME = 64

_HASH = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name: Any, what: str = "profile set name", max_length: int = MAX_NAME_LENGTH) -> str | None:
    """The problem with ``name`` as a label (None if it is fine): non-empty text of at most
    ``max_length`` characters, without control characters or surrounding spaces."""
    if not isinstance(name, str) or not name.strip():
        return f"{what} must be non-empty text, got {name!r}"
    if len(name) > max_length:
        return f"{what} {name[:20]!r}... is longer than {max_length} characters"
    if _CONTROL.search(name):
        return f"{what} {name!r} contains a control character"
    if name != name.strip():
        return f"{what} {name!r} has leading or trailing spaces"
    return None


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One community-microgrid scenario.

    Ranges are ``(low, high)`` for ``np.random.uniform``. Tariffs are currency per kWh, daily
    energies kWh/day, PV yield kWh per kWp per day, noise values are standard deviations of
    multiplicative factors. The ``standard`` generator uses the tariff, noise and event keys
    and its own keys below; it ignores the notebook's daily-energy and PV-sizing keys.
    """

    seed: int = 42
    consumers: int | None = None   # generated: 3; imported: unset (kinds come from the set)
    prosumers: int | None = None   # generated: 7
    days: int | None = None        # generated: 30; imported: unset = to the end of the set
    start: str | None = None       # ISO date; generated: 2025-01-01; imported: unset = the set's start
    slot_minutes: int | None = None  # generated: 15; imported: unset (the set's slots)
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
    pv_tilt: float | None = None       # degrees from horizontal (30)
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
            _size_by_share(self)
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
        _validate(self)

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


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Scenario)}


@dataclasses.dataclass(frozen=True)
class Number:
    """Type and bounds of a numeric field: ``int`` or ``float`` (a ``pair`` is a ``[low, high]``
    range of floats), within ``[lo, hi]`` (``lo_open``: ``lo`` itself excluded; ``hi_open``: ``hi``
    excluded)."""

    kind: type
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    pair: bool = False
    hi_open: bool = False

    def problem(self, value) -> str | None:
        """Why ``value`` (already of the right type) is out of bounds; None if it is fine."""
        import math

        for v in (value if self.pair else (value,)):
            if not math.isfinite(v):
                return f"must be finite, got {_shown(value)}"
            if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
                positive = (self.lo_open and self.lo == 0) or (self.kind is int and self.lo == 1)
                bound = "positive" if positive else f"{'>' if self.lo_open else '>='} {self.lo:g}"
                return f"must be {bound}, got {_shown(value)}"
            if self.hi is not None and (v >= self.hi if self.hi_open else v > self.hi):
                return f"must be {'<' if self.hi_open else '<='} {self.hi:g}, got {_shown(value)}"
        if self.pair and value[0] > value[1]:
            return f"inverted range {_shown(value)}: low must not exceed high"
        return None


#: Households of one kind in one scenario (a run's memory is checked separately).
MAX_HOUSEHOLDS = 100_000
#: Longest horizon, days (the calendar check below bounds it too).
MAX_DAYS = 36_525
#: The calendar a horizon must lie in: every slot between these dates (end exclusive), a span
#: that numpy, pandas, SQLite and PostgreSQL timestamps all represent.
CALENDAR = (dt.date(1900, 1, 1), dt.date(2200, 1, 1))

#: Every numeric field's type and bounds: declare a new numeric field here too (a test checks).
NUMBERS: dict[str, Number] = {
    "seed": Number(int, 0, 2**32 - 1),
    "consumers": Number(int, 1, MAX_HOUSEHOLDS),
    "prosumers": Number(int, 1, MAX_HOUSEHOLDS),
    "households": Number(int, 1, 2 * MAX_HOUSEHOLDS),
    "prosumer_share": Number(float, 0, 1),                 # and leaves one household of each kind
    "days": Number(int, 1, MAX_DAYS),
    "slot_minutes": Number(int, 1, 60),                    # and divides 1440 (intraday slots)
    "consumer_buy_tariff": Number(float, 0, 10_000, pair=True),   # currency/kWh
    "prosumer_buy_tariff": Number(float, 0, 10_000, pair=True),
    "prosumer_sell_tariff": Number(float, 0, 10_000, pair=True),
    "consumer_daily_kwh": Number(float, 0, 100_000, pair=True),   # kWh/day
    "prosumer_daily_kwh": Number(float, 0, 100_000, pair=True),
    "load_day_noise": Number(float, 0, 1),                 # standard deviations of factors
    "load_slot_noise": Number(float, 0, 1),
    "pv_sizing_factor": Number(float, 0, 10, pair=True),   # PV energy / own load
    "pv_yield_kwh_per_kwp": Number(float, 0, 24, lo_open=True, pair=True),  # kWh/kWp/day
    "pv_cloud_noise": Number(float, 0, 1),
    "pv_slot_noise": Number(float, 0, 1),
    "annual_load_kwh": Number(float, 0, 10_000_000, pair=True),   # kWh/year
    "pv_kwp": Number(float, 0, 100_000, pair=True),               # kWp
    "pv_tilt": Number(float, 0, 90),                       # degrees from horizontal
    "pv_azimuth": Number(float, 0, 360, hi_open=True),     # degrees clockwise from north
    "latitude": Number(float, -90, 90),                    # degrees
    "longitude": Number(float, -180, 180),
    "altitude": Number(float, -500, 9000),                 # metres
    "utc_offset": Number(float, -12, 14),                  # hours
    "inverter_outages": Number(int, 0),                    # and at most prosumer-days
    "maintenance_windows": Number(int, 0),                 # and at most one per slot
    "maintenance_slots": Number(int, 1),                   # and shorter than the horizon
    **battery_keys.numbers(Number),                        # batteries: kWh, kW, fractions
}

#: Longest currency label (it names columns such as ``community_bill_Rs``).
MAX_CURRENCY_LENGTH = 16


def _number(key: str) -> Number | None:
    """The rule of a numeric field (a field missing from :data:`NUMBERS` gets its type from its
    default, with no bounds but finiteness)."""
    if key in NUMBERS:
        return NUMBERS[key]
    default = FIELDS[key].default
    if isinstance(default, bool) or key in ("mechanisms", battery_keys.ROWS_KEY):
        return None
    if isinstance(default, tuple) and len(default) == 2 and all(isinstance(v, float) for v in default):
        return Number(float, pair=True)
    if isinstance(default, (int, float)):
        return Number(type(default))
    return None


def _shown(value) -> str:
    text = repr(list(value) if isinstance(value, tuple) else value)
    return text if len(text) <= 60 else text[:57] + "..."


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


def load(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load a scenario from a flat TOML file (optional), then apply ``overrides`` (None = unset)."""
    return from_mapping(load_values(path, overrides), source=str(path) if path else "scenario")


def load_values(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The values :func:`load` builds a scenario from, not yet validated: a sweep applies its
    values first (``--sweep profiles=a,b`` with ``--households 3`` is valid only once
    ``profiles`` is set)."""
    values: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            values = tomllib.loads(p.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            raise ScenarioError("file", f"{p} does not exist") from None
        except OSError as exc:
            raise ScenarioError("file", f"cannot read {p}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise ScenarioError("file", f"{p} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                                        f"offset {exc.start}); TOML files are UTF-8") from None
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError("file", f"{p} is not valid TOML: {exc}") from None
        for key, value in values.items():
            if isinstance(value, dict):
                raise ScenarioError(key, f"tables are not used in {p}; write keys at top level")
        for key in ("tariffs", "battery_file"):  # a tariff or battery file is relative to the TOML file
            if isinstance(values.get(key), str):
                values[key] = str(p.parent / Path(values[key]).expanduser())
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return values


def from_json(text: str, *, stored: bool = False) -> Scenario:
    """The scenario of canonical JSON. ``stored``: the spec of a stored run, whose mechanisms
    are taken as stored (checked for their form only): the plugin that settled the run may
    have been uninstalled since, and the run must stay readable."""
    token = _STORED.set(stored)
    try:
        return from_mapping(json.loads(text))
    finally:
        _STORED.reset(token)


#: Set while a stored run's spec is read (:func:`from_json` with ``stored``).
_STORED: contextvars.ContextVar[bool] = contextvars.ContextVar("p2pstore_stored_scenario", default=False)


def parse_value(key: str, text: str) -> Any:
    """Parse a flag or sweep value given as text (``"5"``, ``"3.0:3.8"``, ``"mmr+bill_sharing"``)
    into the field's type; :func:`from_mapping` validates it."""
    if key not in FIELDS:
        raise ScenarioError(key, f"unknown key (known: {', '.join(FIELDS)})")
    if key == "mechanisms":
        return tuple(t.strip() for t in text.split("+") if t.strip())
    rule = _number(key)
    if rule is None:
        return text
    parts = text.replace(":", " ").split() if rule.pair else [text.strip()]
    try:
        values = tuple(rule.kind(v) for v in parts)
    except ValueError:
        kind = "a LOW:HIGH range of numbers" if rule.pair else ("an integer" if rule.kind is int else "a number")
        raise ScenarioError(key, f"expected {kind}, got {text!r}") from None
    return values if rule.pair else values[0]


def _coerce(key: str, value: Any) -> Any:
    """``value`` as field ``key``'s type, strictly: no booleans or text where numbers belong, no
    fractions where integers do (text from flags is parsed by :func:`parse_value` first)."""
    rule = _number(key)

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
        raise ScenarioError(key, f"expected {kind}, got {_shown(value)} ({type(value).__name__})")
    if key == battery_keys.ROWS_KEY:
        return battery_keys.coerce_rows(value)
    if key == "mechanisms":
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ScenarioError(key, f"expected a list of mechanism names, got {_shown(value)}")
    if isinstance(FIELDS[key].default, str) or key in OPTIONAL_TEXT:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, str):
            return value
        raise ScenarioError(key, f"expected text, got {_shown(value)} ({type(value).__name__})")
    return value


def _validate(s: Scenario) -> None:
    from p2pstore.limits import printable_problem

    for name in FIELDS:
        value = getattr(s, name)
        rule = _number(name)
        problem = rule and value is not None and rule.problem(value)
        if problem:
            raise ScenarioError(name, problem)
    if s.slot_minutes is not None and 1440 % s.slot_minutes:
        raise ScenarioError("slot_minutes", f"must divide a day (1440 minutes), got {s.slot_minutes}")
    if not s.imported:
        # the notebook's count stays valid for the smallest communities (an outage may repeat a day)
        most = max(s.prosumers * s.days, FIELDS["inverter_outages"].default)
        if s.inverter_outages > most:
            raise ScenarioError("inverter_outages",
                                f"must be at most {most} (one per prosumer-day), got {s.inverter_outages}")
        if s.maintenance_windows > s.slots:
            raise ScenarioError("maintenance_windows", f"must be at most the number of slots ({s.slots}), "
                                                       f"got {s.maintenance_windows}")
        if s.maintenance_windows and s.maintenance_slots >= s.slots:
            raise ScenarioError("maintenance_slots", f"must be shorter than the horizon ({s.slots} slots)")
    if s.start is not None:
        try:
            start = dt.date.fromisoformat(s.start)
        except ValueError:
            raise ScenarioError("start", f"expected an ISO date like 2025-01-01, got {_shown(s.start)}") from None
        first, end = CALENDAR
        if not first <= start or (end - start).days < (s.days or 1):
            raise ScenarioError("start", f"the horizon ({s.days or 1} days from {start}) must lie between {first} "
                                         f"and {end - dt.timedelta(days=1)}")
    problem = printable_problem(s.currency, MAX_CURRENCY_LENGTH)
    if problem:
        raise ScenarioError("currency", problem)
    _validate_sources(s)
    battery_keys.validate(s)
    if s.generator not in GENERATORS:
        raise ScenarioError("generator", f"unknown generator {s.generator!r} (known: {', '.join(GENERATORS)})")
    validate_standard_keys(s)
    if s.weather is not None and s.weather not in WEATHER_FILES:
        raise ScenarioError("weather", f"unknown weather file {_shown(s.weather)} (known: {', '.join(WEATHER_FILES)})")
    if not s.mechanisms:
        raise ScenarioError("mechanisms", "at least one mechanism is needed")
    for m in s.mechanisms:
        if registry.find(m) is None and not (_STORED.get() and registry.NAME_PATTERN.fullmatch(m)):
            raise ScenarioError("mechanisms", registry.unknown_message(m))
    if len(set(s.mechanisms)) != len(s.mechanisms):
        raise ScenarioError("mechanisms", "a mechanism is listed twice")
    if len(",".join(s.mechanisms)) > MAX_MECHANISMS_TEXT:
        raise ScenarioError("mechanisms", f"too many: their names joined with ',' exceed {MAX_MECHANISMS_TEXT} "
                                          "characters (split them over several runs)")


def share_count(share: float, households: int) -> int:
    """Prosumers of ``households`` at ``share``: ``round(share * households)`` with halves rounded
    up (0.25 of 10 is 3), computed so that float noise (0.35 * 10 = 3.4999...) cannot flip it."""
    import decimal

    exact = decimal.Decimal(repr(float(share))) * households
    return int(exact.to_integral_value(rounding=decimal.ROUND_HALF_UP))


def _size_by_share(s: Scenario) -> None:
    """Set consumers/prosumers of a generated community from ``households`` and ``prosumer_share``;
    explicit values must agree with them."""
    import math

    share, n = s.prosumer_share, s.households
    if not (math.isfinite(share) and 0.0 <= share <= 1.0):
        raise ScenarioError("prosumer_share", f"must be a share in [0, 1], got {share}")
    if n is None:
        raise ScenarioError("prosumer_share", "needs 'households' (--households N): the share is of N households")
    if n <= 0:
        raise ScenarioError("households", f"must be positive, got {n}")
    prosumers = share_count(share, n)
    sized = {"consumers": n - prosumers, "prosumers": prosumers}
    for name, value in sized.items():
        given = getattr(s, name)
        if given is not None and given != value:
            raise ScenarioError(name, f"{given} conflicts with households = {n} and prosumer_share = {share:g} "
                                      f"({sized['consumers']} consumers, {sized['prosumers']} prosumers); "
                                      "give the share or the counts, not both")
    for name, value in sized.items():
        if value <= 0:
            raise ScenarioError("prosumer_share", f"{share:g} of {n} households leaves {value} {name}; "
                                                  "a generated community needs at least one of each")
        object.__setattr__(s, name, value)


def _validate_sources(s: Scenario) -> None:
    """Fields of imported communities and tariff files: names, hashes, and what goes together."""
    if s.imported:
        problem = check_name(s.profiles)
        if problem:
            raise ScenarioError("profiles", problem)
        for name in ("consumers", "prosumers", "slot_minutes", "prosumer_share"):
            if getattr(s, name) is not None:
                raise ScenarioError(name, f"not used with a profile set ('profiles = {s.profiles!r}'): "
                                          "the set's households and slots are used; draw fewer with 'households'")
    else:
        if s.households is not None and s.prosumer_share is None:
            raise ScenarioError("households", "a generated community of N households needs 'prosumer_share' "
                                              "(--prosumer-share F), or give 'consumers' and 'prosumers'")
        if s.profiles_hash is not None:
            raise ScenarioError("profiles_hash", "only with a profile set ('profiles'); a generated community "
                                                 "is sized by 'consumers' and 'prosumers'")
    for name in ("profiles_hash", "tariffs_hash"):
        value = getattr(s, name)
        if value is not None and not _HASH.fullmatch(value):
            raise ScenarioError(name, f"expected a SHA-256 hex digest (64 characters 0-9a-f), got {value!r}")
    if s.tariffs is not None:
        if not s.tariffs.strip():
            raise ScenarioError("tariffs", "expected the path of a tariff file, got an empty string")
        if s.tariffs_hash is not None:
            raise ScenarioError("tariffs", "give a tariff file ('tariffs') or stored tariffs ('tariffs_hash'), not both")
