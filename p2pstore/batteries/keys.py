"""The scenario's battery keys: their bounds, defaults, checks, and the pinning of a battery file.

* ``battery_file`` (a CSV, see :mod:`p2pstore.batteries.params`), pinned when the run is
  queued into ``batteries`` (its rows, so that the stored spec holds exactly what the run uses);
* ``battery_share``: a seeded share of the prosumers gets a home battery of
  ``battery_kwh_per_kwp`` kWh per kW of the household's peak PV output over the run, with
  power ``battery_kw_per_kwh`` per kWh and the ``battery_efficiency`` / ``battery_soc_*`` keys;
* ``shared_battery_kwh`` (and ``shared_battery_kw``, ``_efficiency``, ``_soc_*``): the shared
  community battery; ``shared_battery_kw`` unset = half the capacity per hour;
* ``battery_dispatch``: the rule of the home batteries (:mod:`p2pstore.batteries.rules`).

Unset keys are left out of the spec, so scenarios without batteries keep their hashes; once a
battery is asked for, the defaults below are filled in and stored with it. A capacity of 0
(``battery_kwh_per_kwp = 0``, ``shared_battery_kwh = 0``) is a battery that can do nothing:
the bills are those of the run without it, bit for bit (a sweep's baseline).

Standard library only.
"""

from __future__ import annotations

from typing import Any

from p2pstore.batteries import params, rules
from p2pstore.errors import ScenarioError

#: Defaults of the generated home batteries' keys (filled when ``battery_share`` is set):
#: 1 kWh per kWp, 0.5 kW per kWh, one-way efficiency 0.95 (lemlab's), 10 % to 100 % usable,
#: starting half full.
HOME_DEFAULTS: dict[str, float] = {
    "battery_kwh_per_kwp": 1.0, "battery_kw_per_kwh": 0.5, "battery_efficiency": 0.95,
    "battery_soc_min": 0.1, "battery_soc_max": 1.0, "battery_soc_initial": 0.5,
}
#: Defaults of the shared battery's keys (filled when ``shared_battery_kwh`` is set).
SHARED_DEFAULTS: dict[str, float] = {
    "shared_battery_efficiency": 0.95, "shared_battery_soc_min": 0.1, "shared_battery_soc_max": 1.0,
    "shared_battery_soc_initial": 0.5,
}
#: Power of a shared battery whose ``shared_battery_kw`` is unset: kW per kWh of capacity.
SHARED_KW_PER_KWH = 0.5

#: Every battery key with the scenario's field type: text, a list of rows, or a float.
TEXT_KEYS: tuple[str, ...] = ("battery_file", "battery_dispatch")
ROWS_KEY = "batteries"
FLOAT_KEYS: tuple[str, ...] = ("battery_share", *HOME_DEFAULTS, "shared_battery_kwh", "shared_battery_kw",
                               *SHARED_DEFAULTS)


def numbers(number) -> dict[str, Any]:
    """The bounds of the float keys as the scenario's ``Number`` rules (``number`` is its class)."""
    fraction = number(float, 0, 1)
    return {
        "battery_share": fraction,
        "battery_kwh_per_kwp": number(float, 0, 1000),             # kWh per kWp of peak PV
        "battery_kw_per_kwh": number(float, 0, 100, lo_open=True),  # kW per kWh
        "battery_efficiency": number(float, 0, 1, lo_open=True),
        "battery_soc_min": fraction, "battery_soc_max": fraction, "battery_soc_initial": fraction,
        "shared_battery_kwh": number(float, 0, params.MAX_KWH),
        "shared_battery_kw": number(float, 0, params.MAX_KW),
        "shared_battery_efficiency": number(float, 0, 1, lo_open=True),
        "shared_battery_soc_min": fraction, "shared_battery_soc_max": fraction, "shared_battery_soc_initial": fraction,
    }


def has_batteries(s) -> bool:
    """Does scenario ``s`` ask for any battery?"""
    return any(getattr(s, k) is not None for k in ("battery_file", ROWS_KEY, "battery_share", "shared_battery_kwh"))


def fill_defaults(s) -> None:
    """Fill the unset battery keys of a scenario that asks for batteries (in ``__post_init__``)."""
    groups = [(s.battery_share is not None, HOME_DEFAULTS), (s.shared_battery_kwh is not None, SHARED_DEFAULTS)]
    for wanted, defaults in groups:
        for key, value in defaults.items():
            if wanted and getattr(s, key) is None:
                object.__setattr__(s, key, value)
    if has_batteries(s) and s.battery_dispatch is None:
        object.__setattr__(s, "battery_dispatch", rules.DEFAULT)


def coerce_rows(value: Any) -> tuple:
    """The ``batteries`` key as a tuple of rows ``(household, capacity_kwh, power_kw, efficiency,
    soc_min, soc_max, soc_initial)``; :class:`ScenarioError` if it is not a list of such rows."""
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(r, (list, tuple)) and len(r) == len(params.COLUMNS) and isinstance(r[0], str)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in r[1:]) for r in value)
    if not ok:
        raise ScenarioError(ROWS_KEY, f"expected a list of rows [{', '.join(params.COLUMNS)}]")
    return tuple((r[0], *(float(v) for v in r[1:])) for r in value)


def validate(s) -> None:
    """:class:`ScenarioError` for battery keys that do not go together or are out of range (the
    float keys' own bounds are checked with the scenario's other numbers)."""
    if s.battery_file is not None and (s.batteries is not None or s.battery_share is not None):
        raise ScenarioError("battery_file", "give a battery file or battery_share, not both")
    if s.batteries is not None and s.battery_share is not None:
        raise ScenarioError("battery_share", "give batteries (a battery file) or battery_share, not both")
    if s.battery_file is not None and not s.battery_file.strip():
        raise ScenarioError("battery_file", "expected the path of a battery file, got an empty string")
    for key in (*HOME_DEFAULTS, "battery_dispatch"):
        if getattr(s, key) is not None and not has_batteries(s):
            raise ScenarioError(key, "no battery to apply it to: give battery_file, battery_share or shared_battery_kwh")
    for key in ("shared_battery_kw", *SHARED_DEFAULTS):
        if getattr(s, key) is not None and s.shared_battery_kwh is None:
            raise ScenarioError(key, "only with a shared battery (shared_battery_kwh)")
    if s.battery_dispatch is not None and rules.find(s.battery_dispatch) is None:
        raise ScenarioError("battery_dispatch", rules.unknown_message(s.battery_dispatch))
    seen = set()
    for k, row in enumerate(s.batteries or ()):
        problem = params.row_problem(dict(zip(params.COLUMNS, row)))
        if problem:
            raise ScenarioError(ROWS_KEY, f"row {k + 1}, column {problem[0]!r}: {problem[1]}")
        if row[0] in seen:
            raise ScenarioError(ROWS_KEY, f"row {k + 1}: household {row[0]!r} has a battery already")
        seen.add(row[0])
    for prefix in ("battery_", "shared_battery_"):
        _check_bounds(s, prefix)
    if s.shared_battery_kwh and s.shared_battery_kw == 0:
        raise ScenarioError("shared_battery_kw", "must be positive for a battery of positive capacity")


def _check_bounds(s, prefix: str) -> None:
    lo, hi, start = (getattr(s, f"{prefix}soc_{k}") for k in ("min", "max", "initial"))
    if lo is None:
        return
    if not lo < hi:
        raise ScenarioError(f"{prefix}soc_max", f"must be above {prefix}soc_min ({lo:g}), got {hi:g}")
    if not lo <= start <= hi:
        raise ScenarioError(f"{prefix}soc_initial", f"must lie between {prefix}soc_min ({lo:g}) and "
                                                    f"{prefix}soc_max ({hi:g}), got {start:g}")


def pin(scenario, households):
    """``scenario`` with its battery file read, checked against ``households`` (the community's
    names: a callable returning them, called only if needed) and pinned as ``batteries``;
    pinned rows are checked against the names too. Unchanged without batteries."""
    if scenario.battery_file is None and scenario.batteries is None and scenario.shared_battery_kwh is None:
        return scenario
    names = list(households())
    if scenario.shared_battery_kwh is not None and params.COMMUNITY_BATTERY in names:
        raise ScenarioError("shared_battery_kwh", f"the community has a household named "
                                                  f"{params.COMMUNITY_BATTERY!r}, the shared battery's name")
    if scenario.battery_file is not None:
        rows = params.read_battery_file(scenario.battery_file, names)
        return scenario.replace(battery_file=None, batteries=rows)
    params.check_households(scenario.batteries, names, source="scenario field 'batteries'")
    return scenario
