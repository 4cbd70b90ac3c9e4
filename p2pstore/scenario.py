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
from p2pstore.errors import ScenarioError

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

#: Type of each field whose default is None (unset).
OPTIONAL_TYPES: dict[str, type] = {
    "consumers": int, "prosumers": int, "days": int, "start": str, "slot_minutes": int,
    "profiles": str, "households": int, "tariffs": str, "profiles_hash": str, "tariffs_hash": str,
    "prosumer_share": float,
}

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
        if self.profiles is None and self.prosumer_share is not None:
            _size_by_share(self)
        if self.profiles is None:
            for name, default in GENERATED_DEFAULTS.items():
                if getattr(self, name) is None:
                    object.__setattr__(self, name, default)
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


def from_mapping(values: Mapping[str, Any], *, source: str = "scenario") -> Scenario:
    """Build a scenario from plain values (TOML table, JSON, flags), coercing types.

    Unknown keys and values of the wrong type raise :class:`ScenarioError` naming the field;
    None means unset.
    """
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in FIELDS:
            raise ScenarioError(key, f"unknown key in {source} (known: {', '.join(FIELDS)})")
        kwargs[key] = None if value is None else _coerce(key, value)
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
            values = tomllib.loads(p.read_text())
        except FileNotFoundError:
            raise ScenarioError("file", f"{p} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError("file", f"{p} is not valid TOML: {exc}") from None
        for key, value in values.items():
            if isinstance(value, dict):
                raise ScenarioError(key, f"tables are not used in {p}; write keys at top level")
        if isinstance(values.get("tariffs"), str):  # a tariff file is relative to the TOML file
            values["tariffs"] = str(p.parent / Path(values["tariffs"]).expanduser())
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return values


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
    if default is None:
        default = OPTIONAL_TYPES[key]()  # a value of the field's type: 0 or ""
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
            if isinstance(value, Path):
                return str(value)
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
        value = getattr(s, name)
        if value is not None and value <= 0:
            raise ScenarioError(name, f"must be positive, got {value}")

    for name in ("consumers", "prosumers", "days", "slot_minutes", "maintenance_slots", "households"):
        positive(name)
    for name in ("inverter_outages", "maintenance_windows"):
        if getattr(s, name) < 0:
            raise ScenarioError(name, f"must be >= 0, got {getattr(s, name)}")
    if s.slot_minutes is not None and 1440 % s.slot_minutes:
        raise ScenarioError("slot_minutes", f"must divide a day (1440 minutes), got {s.slot_minutes}")
    if not 0 <= s.seed < 2**32:
        raise ScenarioError("seed", f"must be in [0, 2**32), got {s.seed}")
    if not s.imported and s.maintenance_windows and s.maintenance_slots >= s.slots:
        raise ScenarioError("maintenance_slots", f"must be shorter than the horizon ({s.slots} slots)")
    if s.start is not None:
        try:
            dt.date.fromisoformat(s.start)
        except ValueError:
            raise ScenarioError("start", f"expected an ISO date like 2025-01-01, got {s.start!r}") from None
    _validate_sources(s)
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
    known = registry.mechanisms()
    for m in s.mechanisms:
        if m not in known:
            raise ScenarioError("mechanisms", registry.unknown_message(m))
    if len(set(s.mechanisms)) != len(s.mechanisms):
        raise ScenarioError("mechanisms", "a mechanism is listed twice")
    if len(",".join(s.mechanisms)) > MAX_MECHANISMS_TEXT:
        raise ScenarioError("mechanisms", f"too many: their names joined with ',' exceed {MAX_MECHANISMS_TEXT} "
                                          "characters (split them over several runs)")
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
