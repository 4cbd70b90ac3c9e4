"""The scenario spec: what to simulate and which mechanisms settle it.

A :class:`Scenario` is a frozen, validated value. Its defaults are the reference notebook's
(seed 42, 3 consumers, 7 prosumers, 30 days from 2025-01-01 in 15-minute slots, ...). It is
loaded from a flat TOML file and/or overrides (CLI flags win over the file), and stored by its
canonical JSON and that JSON's SHA-256 hash.

This module touches neither numpy's RNG nor the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from p2pstore.errors import ScenarioError

#: Mechanisms the settlement core knows, in the order results are reported.
MECHANISMS: tuple[str, ...] = ("conventional", "mmr", "bill_sharing")

#: Profile generators the profiles layer knows (the first is the default).
GENERATORS: tuple[str, ...] = ("notebook", "standard")

#: Typical-meteorological-year (TMY3) files shipped with pvlib that the ``standard`` generator
#: can use (key ``weather``): Greensboro, North Carolina (36.1 N) and Sand Point, Alaska (55.3 N).
WEATHER_FILES: tuple[str, ...] = ("723170TYA.CSV", "703165TY.csv")

SERIES_MODES: tuple[str, ...] = ("full", "community", "none")


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One community-microgrid scenario.

    Ranges are ``(low, high)`` for ``np.random.uniform``. Tariffs are currency per kWh, daily
    energies kWh/day, PV yield kWh per kWp per day, noise values are standard deviations of
    multiplicative factors. The ``standard`` generator uses the tariff, noise and event keys
    and its own keys below; it ignores the notebook's daily-energy and PV-sizing keys.
    """

    seed: int = 42
    consumers: int = 3
    prosumers: int = 7
    days: int = 30
    start: str = "2025-01-01"
    slot_minutes: int = 15
    generator: str = "notebook"
    mechanisms: tuple[str, ...] = MECHANISMS
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
    annual_load_kwh: tuple[float, float] = (2000.0, 5000.0)
    pv_kwp: tuple[float, float] = (2.0, 6.0)
    pv_tilt: float = 30.0          # degrees from horizontal
    pv_azimuth: float = 180.0      # degrees clockwise from north (180 = south)
    weather: str = WEATHER_FILES[0]
    # events
    inverter_outages: int = 2
    maintenance_windows: int = 3
    maintenance_slots: int = 8

    def __post_init__(self) -> None:
        _validate(self)

    # -- derived ---------------------------------------------------------------------------
    @property
    def households(self) -> int:
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
        """Sorted keys, no whitespace, floats as Python repr: equal specs give equal strings."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def spec_hash(self) -> str:
        """SHA-256 hex digest of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def replace(self, **changes: Any) -> Scenario:
        return from_mapping({**self.to_dict(), **changes})


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Scenario)}


def from_mapping(values: Mapping[str, Any], *, source: str = "scenario") -> Scenario:
    """Build a scenario from plain values (TOML table, JSON, flags), coercing types.

    Unknown keys and values of the wrong type raise :class:`ScenarioError` naming the field.
    """
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in FIELDS:
            raise ScenarioError(key, f"unknown key in {source} (known: {', '.join(FIELDS)})")
        kwargs[key] = _coerce(key, value)
    return Scenario(**kwargs)


def load(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load a scenario from a flat TOML file (optional), then apply ``overrides`` (None = unset)."""
    values: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            values = tomllib.loads(p.read_text())
        except FileNotFoundError:
            raise ScenarioError("file", f"{p} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError("file", f"{p} is not valid TOML: {exc}") from None
        for key, value in values.items():
            if isinstance(value, dict):
                raise ScenarioError(key, f"tables are not used in {p}; write keys at top level")
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return from_mapping(values, source=str(path) if path else "scenario")


def from_json(text: str) -> Scenario:
    return from_mapping(json.loads(text))


def parse_value(key: str, text: str) -> Any:
    """Parse a flag or sweep value given as text (``"5"``, ``"3.0:3.8"``, ``"mmr+bill_sharing"``).

    Values stay text; :func:`from_mapping` coerces and validates them.
    """
    if key not in FIELDS:
        raise ScenarioError(key, f"unknown key (known: {', '.join(FIELDS)})")
    if key == "mechanisms":
        return tuple(t.strip() for t in text.split("+") if t.strip())
    if isinstance(FIELDS[key].default, tuple):
        return tuple(text.replace(":", " ").split())
    return text


def _coerce(key: str, value: Any) -> Any:
    default = FIELDS[key].default
    try:
        if isinstance(default, bool):
            raise TypeError
        if key == "mechanisms":
            if isinstance(value, str):
                value = [value]
            return tuple(str(v) for v in value)
        if isinstance(default, tuple):
            if isinstance(value, str) or len(value) != 2:
                raise ValueError
            return (float(value[0]), float(value[1]))
        if isinstance(default, int):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            if isinstance(value, bool):
                raise TypeError
            return int(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if isinstance(default, str):
            if isinstance(value, dt.date):
                return value.isoformat()
            if not isinstance(value, str):
                raise TypeError
            return value
    except (TypeError, ValueError):
        kind = "a [low, high] pair" if isinstance(default, tuple) else type(default).__name__
        raise ScenarioError(key, f"expected {kind}, got {value!r}") from None
    return value


def _validate(s: Scenario) -> None:
    import math

    def positive(name: str) -> None:
        if getattr(s, name) <= 0:
            raise ScenarioError(name, f"must be positive, got {getattr(s, name)}")

    for name in ("consumers", "prosumers", "days", "slot_minutes", "maintenance_slots"):
        positive(name)
    for name in ("inverter_outages", "maintenance_windows"):
        if getattr(s, name) < 0:
            raise ScenarioError(name, f"must be >= 0, got {getattr(s, name)}")
    if 1440 % s.slot_minutes:
        raise ScenarioError("slot_minutes", f"must divide a day (1440 minutes), got {s.slot_minutes}")
    if not 0 <= s.seed < 2**32:
        raise ScenarioError("seed", f"must be in [0, 2**32), got {s.seed}")
    if s.maintenance_windows and s.maintenance_slots >= s.slots:
        raise ScenarioError("maintenance_slots", f"must be shorter than the horizon ({s.slots} slots)")
    try:
        dt.date.fromisoformat(s.start)
    except ValueError:
        raise ScenarioError("start", f"expected an ISO date like 2025-01-01, got {s.start!r}") from None
    if s.generator not in GENERATORS:
        raise ScenarioError("generator", f"unknown generator {s.generator!r} (known: {', '.join(GENERATORS)})")
    if s.weather not in WEATHER_FILES:
        raise ScenarioError("weather", f"unknown weather file {s.weather!r} (known: {', '.join(WEATHER_FILES)})")
    if not 0 <= s.pv_tilt <= 90:
        raise ScenarioError("pv_tilt", f"must be in [0, 90] degrees, got {s.pv_tilt}")
    if not 0 <= s.pv_azimuth < 360:
        raise ScenarioError("pv_azimuth", f"must be in [0, 360) degrees, got {s.pv_azimuth}")
    if not s.mechanisms:
        raise ScenarioError("mechanisms", "at least one mechanism is needed")
    for m in s.mechanisms:
        if m not in MECHANISMS:
            raise ScenarioError("mechanisms", f"unknown mechanism {m!r} (known: {', '.join(MECHANISMS)})")
    if len(set(s.mechanisms)) != len(s.mechanisms):
        raise ScenarioError("mechanisms", "a mechanism is listed twice")
    for name, f in FIELDS.items():
        value = getattr(s, name)
        if isinstance(f.default, tuple) and name != "mechanisms":
            lo, hi = value
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ScenarioError(name, f"must be finite, got {list(value)}")
            if lo > hi:
                raise ScenarioError(name, f"inverted range [{lo}, {hi}]: low must not exceed high")
            if lo < 0:
                raise ScenarioError(name, f"must not be negative, got {list(value)}")
        elif isinstance(f.default, float):
            if not math.isfinite(value) or value < 0:
                raise ScenarioError(name, f"must be a finite number >= 0, got {value}")
