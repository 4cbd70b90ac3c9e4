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

#: Profile generators the profiles layer knows.
GENERATORS: tuple[str, ...] = ("notebook",)

SERIES_MODES: tuple[str, ...] = ("full", "community", "none")


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One community-microgrid scenario.

    Ranges are ``(low, high)`` for ``np.random.uniform``. Tariffs are currency per kWh, daily
    energies kWh/day, PV yield kWh per kWp per day, noise values are standard deviations of
    multiplicative factors.
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


@dataclasses.dataclass(frozen=True)
class Number:
    """Type and bounds of a numeric field: ``int`` or ``float`` (a ``pair`` is a ``[low, high]``
    range of floats), within ``[lo, hi]`` (``lo_open``: ``lo`` itself excluded)."""

    kind: type
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    pair: bool = False

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
            if self.hi is not None and v > self.hi:
                return f"must be <= {self.hi:g}, got {_shown(value)}"
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
    "inverter_outages": Number(int, 0),                    # and at most prosumer-days
    "maintenance_windows": Number(int, 0),                 # and at most one per slot
    "maintenance_slots": Number(int, 1),                   # and shorter than the horizon
}

#: Longest currency label (it names columns such as ``community_bill_Rs``).
MAX_CURRENCY_LENGTH = 16


def _number(key: str) -> Number | None:
    """The rule of a numeric field (a field missing from :data:`NUMBERS` gets its type from its
    default, with no bounds but finiteness)."""
    if key in NUMBERS:
        return NUMBERS[key]
    default = FIELDS[key].default
    if isinstance(default, bool) or key == "mechanisms":
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
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return from_mapping(values, source=str(path) if path else "scenario")


def from_json(text: str) -> Scenario:
    return from_mapping(json.loads(text))


def parse_value(key: str, text: str) -> Any:
    """Parse a flag or sweep value given as text (``"5"``, ``"3.0:3.8"``, ``"mmr+bill_sharing"``)
    into the field's type; :func:`from_mapping` validates it."""
    if key not in FIELDS:
        raise ScenarioError(key, f"unknown key (known: {', '.join(FIELDS)})")
    if key == "mechanisms":
        return tuple(t.strip() for t in text.split("+") if t.strip())
    rule = _number(key)
    if rule is None:
        return tuple(text.replace(":", " ").split()) if isinstance(FIELDS[key].default, tuple) else text
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
    default = FIELDS[key].default
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
    if key == "mechanisms":
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ScenarioError(key, f"expected a list of mechanism names, got {_shown(value)}")
    if isinstance(default, str):
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, str):
            return value
        raise ScenarioError(key, f"expected text, got {_shown(value)} ({type(value).__name__})")
    return value


def _validate(s: Scenario) -> None:
    from p2pstore.limits import printable_problem

    for name in FIELDS:
        rule = _number(name)
        problem = rule and rule.problem(getattr(s, name))
        if problem:
            raise ScenarioError(name, problem)
    if 1440 % s.slot_minutes:
        raise ScenarioError("slot_minutes", f"must divide a day (1440 minutes), got {s.slot_minutes}")
    # the notebook's count stays valid for the smallest communities (an outage may repeat a day)
    most = max(s.prosumers * s.days, FIELDS["inverter_outages"].default)
    if s.inverter_outages > most:
        raise ScenarioError("inverter_outages", f"must be at most {most} (one per prosumer-day), got {s.inverter_outages}")
    if s.maintenance_windows > s.slots:
        raise ScenarioError("maintenance_windows", f"must be at most the number of slots ({s.slots}), "
                                                   f"got {s.maintenance_windows}")
    if s.maintenance_windows and s.maintenance_slots >= s.slots:
        raise ScenarioError("maintenance_slots", f"must be shorter than the horizon ({s.slots} slots)")
    try:
        start = dt.date.fromisoformat(s.start)
    except ValueError:
        raise ScenarioError("start", f"expected an ISO date like 2025-01-01, got {_shown(s.start)}") from None
    first, end = CALENDAR
    if not first <= start or (end - start).days < s.days:
        raise ScenarioError("start", f"the horizon ({s.days} days from {start}) must lie between {first} and "
                                     f"{end - dt.timedelta(days=1)}")
    problem = printable_problem(s.currency, MAX_CURRENCY_LENGTH)
    if problem:
        raise ScenarioError("currency", problem)
    if s.generator not in GENERATORS:
        raise ScenarioError("generator", f"unknown generator {s.generator!r} (known: {', '.join(GENERATORS)})")
    if not s.mechanisms:
        raise ScenarioError("mechanisms", "at least one mechanism is needed")
    for m in s.mechanisms:
        if m not in MECHANISMS:
            raise ScenarioError("mechanisms", f"unknown mechanism {m!r} (known: {', '.join(MECHANISMS)})")
    if len(set(s.mechanisms)) != len(s.mechanisms):
        raise ScenarioError("mechanisms", "a mechanism is listed twice")
