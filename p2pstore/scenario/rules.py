"""What a valid scenario is: bounds of every numeric field, names, and the fields that go
together (generated or imported community, share sizing, tariff files)."""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import decimal
import math
import re
from typing import Any

from p2pstore import registry
from p2pstore.batteries import keys as battery_keys
from p2pstore.errors import ScenarioError
from p2pstore.limits import printable_problem
from p2pstore.scenario.defaults import (
    GENERATORS,
    MAX_CURRENCY_LENGTH,
    MAX_MECHANISMS_TEXT,
    MAX_NAME_LENGTH,
    WEATHER_FILES,
)
from p2pstore.scenario_standard import validate_standard_keys

_HASH = re.compile(r"[0-9a-f]{64}")

#: Set while a stored run's spec is read (:func:`p2pstore.scenario.from_json` with ``stored``): its
#: mechanisms are checked for their form only, as the plugin that settled it may be gone.
STORED: contextvars.ContextVar[bool] = contextvars.ContextVar("p2pstore_stored_scenario", default=False)
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
        for v in (value if self.pair else (value,)):
            if not math.isfinite(v):
                return f"must be finite, got {shown(value)}"
            if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
                positive = (self.lo_open and self.lo == 0) or (self.kind is int and self.lo == 1)
                bound = "positive" if positive else f"{'>' if self.lo_open else '>='} {self.lo:g}"
                return f"must be {bound}, got {shown(value)}"
            if self.hi is not None and (v >= self.hi if self.hi_open else v > self.hi):
                return f"must be {'<' if self.hi_open else '<='} {self.hi:g}, got {shown(value)}"
        if self.pair and value[0] > value[1]:
            return f"inverted range {shown(value)}: low must not exceed high"
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


def number_rule(key: str, default: Any) -> Number | None:
    """The rule of numeric field ``key`` whose default is ``default`` (a field missing from
    :data:`NUMBERS` gets its type from its default, with no bounds but finiteness)."""
    if key in NUMBERS:
        return NUMBERS[key]
    if isinstance(default, bool) or key in ("mechanisms", battery_keys.ROWS_KEY):
        return None
    if isinstance(default, tuple) and len(default) == 2 and all(isinstance(v, float) for v in default):
        return Number(float, pair=True)
    if isinstance(default, (int, float)):
        return Number(type(default))
    return None


def shown(value) -> str:
    """``value`` as an error message shows it (lists for tuples, at most 60 characters)."""
    text = repr(list(value) if isinstance(value, tuple) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate(s) -> None:
    """Raise :class:`ScenarioError` naming the first field of scenario ``s`` that is invalid."""
    fields = {f.name: f for f in dataclasses.fields(s)}
    for name, field in fields.items():
        value = getattr(s, name)
        rule = number_rule(name, field.default)
        problem = rule and value is not None and rule.problem(value)
        if problem:
            raise ScenarioError(name, problem)
    if s.slot_minutes is not None and 1440 % s.slot_minutes:
        raise ScenarioError("slot_minutes", f"must divide a day (1440 minutes), got {s.slot_minutes}")
    if not s.imported:
        _validate_events(s, fields["inverter_outages"].default)
    if s.start is not None:
        _validate_start(s)
    problem = printable_problem(s.currency, MAX_CURRENCY_LENGTH)
    if problem:
        raise ScenarioError("currency", problem)
    _validate_sources(s)
    battery_keys.validate(s)
    if s.generator not in GENERATORS:
        raise ScenarioError("generator", f"unknown generator {s.generator!r} (known: {', '.join(GENERATORS)})")
    validate_standard_keys(s)
    if s.weather is not None and s.weather not in WEATHER_FILES:
        raise ScenarioError("weather", f"unknown weather file {shown(s.weather)} (known: {', '.join(WEATHER_FILES)})")
    _validate_mechanisms(s.mechanisms)


def _validate_events(s, notebook_outages: int) -> None:
    # the notebook's count stays valid for the smallest communities (an outage may repeat a day)
    most = max(s.prosumers * s.days, notebook_outages)
    if s.inverter_outages > most:
        raise ScenarioError("inverter_outages",
                            f"must be at most {most} (one per prosumer-day), got {s.inverter_outages}")
    if s.maintenance_windows > s.slots:
        raise ScenarioError("maintenance_windows", f"must be at most the number of slots ({s.slots}), "
                                                   f"got {s.maintenance_windows}")
    if s.maintenance_windows and s.maintenance_slots >= s.slots:
        raise ScenarioError("maintenance_slots", f"must be shorter than the horizon ({s.slots} slots)")


def _validate_start(s) -> None:
    try:
        start = dt.date.fromisoformat(s.start)
    except ValueError:
        raise ScenarioError("start", f"expected an ISO date like 2025-01-01, got {shown(s.start)}") from None
    first, end = CALENDAR
    if not first <= start or (end - start).days < (s.days or 1):
        raise ScenarioError("start", f"the horizon ({s.days or 1} days from {start}) must lie between {first} "
                                     f"and {end - dt.timedelta(days=1)}")


def _validate_mechanisms(mechanisms: tuple[str, ...]) -> None:
    if not mechanisms:
        raise ScenarioError("mechanisms", "at least one mechanism is needed")
    for m in mechanisms:
        if registry.find(m) is None and not (STORED.get() and registry.NAME_PATTERN.fullmatch(m)):
            raise ScenarioError("mechanisms", registry.unknown_message(m))
    if len(set(mechanisms)) != len(mechanisms):
        raise ScenarioError("mechanisms", "a mechanism is listed twice")
    if len(",".join(mechanisms)) > MAX_MECHANISMS_TEXT:
        raise ScenarioError("mechanisms", f"too many: their names joined with ',' exceed {MAX_MECHANISMS_TEXT} "
                                          "characters (split them over several runs)")


def share_count(share: float, households: int) -> int:
    """Prosumers of ``households`` at ``share``: ``round(share * households)`` with halves rounded
    up (0.25 of 10 is 3), computed so that float noise (0.35 * 10 = 3.4999...) cannot flip it."""
    exact = decimal.Decimal(repr(float(share))) * households
    return int(exact.to_integral_value(rounding=decimal.ROUND_HALF_UP))


def size_by_share(s) -> None:
    """Set consumers/prosumers of a generated community from ``households`` and ``prosumer_share``;
    explicit values must agree with them."""
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


def _validate_sources(s) -> None:
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
