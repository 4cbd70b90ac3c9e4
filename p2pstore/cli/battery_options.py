"""The battery flags of the commands that settle a scenario (run, enqueue, schedule add): one
per battery key of the scenario (docs/batteries.md)."""

from __future__ import annotations

import click

from p2pstore.batteries import rules
from p2pstore.batteries.keys import HOME_DEFAULTS as HOME
from p2pstore.batteries.keys import SHARED_DEFAULTS as SHARED

#: ``(key, flag, type, metavar, help)`` of each battery flag, in ``--help`` order.
_FLAGS = (
    ("battery_file", "--battery-file", click.Path(dir_okay=False), "FILE",
     "Home batteries: CSV household,capacity_kwh,power_kw,efficiency,soc_min,soc_max,soc_initial "
     "(stored with the run)."),
    ("battery_dispatch", "--battery-dispatch", None, "RULE",
     f"Dispatch rule of the home batteries: {', '.join(r.name for r in rules.BUILTINS)} (default "
     f"{rules.DEFAULT}) or an installed one (docs/batteries.md)."),
    ("battery_share", "--battery-share", float, "F",
     "Give a seeded share F of the prosumers a home battery sized by --battery-kwh-per-kwp."),
    ("battery_kwh_per_kwp", "--battery-kwh-per-kwp", float, "X", f"kWh per kW of peak PV (default {HOME['battery_kwh_per_kwp']:g})."),
    ("battery_kw_per_kwh", "--battery-kw-per-kwh", float, "X", f"kW per kWh of a generated battery (default {HOME['battery_kw_per_kwh']:g})."),
    ("battery_efficiency", "--battery-efficiency", float, "ETA", f"One-way efficiency (default {HOME['battery_efficiency']:g})."),
    ("battery_soc_min", "--battery-soc-min", float, "F", f"Lowest state of charge (default {HOME['battery_soc_min']:g})."),
    ("battery_soc_max", "--battery-soc-max", float, "F", f"Highest state of charge (default {HOME['battery_soc_max']:g})."),
    ("battery_soc_initial", "--battery-soc-initial", float, "F", f"Starting state of charge (default {HOME['battery_soc_initial']:g})."),
    ("shared_battery_kwh", "--shared-battery-kwh", float, "KWH",
     "A shared community battery of this capacity, settled as the member community_battery."),
    ("shared_battery_kw", "--shared-battery-kw", float, "KW", "Its power (default: half its capacity per hour)."),
    ("shared_battery_efficiency", "--shared-battery-efficiency", float, "ETA", f"Its one-way efficiency ({SHARED['shared_battery_efficiency']:g})."),
    ("shared_battery_soc_min", "--shared-battery-soc-min", float, "F", f"Its lowest state of charge ({SHARED['shared_battery_soc_min']:g})."),
    ("shared_battery_soc_max", "--shared-battery-soc-max", float, "F", f"Its highest state of charge ({SHARED['shared_battery_soc_max']:g})."),
    ("shared_battery_soc_initial", "--shared-battery-soc-initial", float, "F", f"Its starting state of charge ({SHARED['shared_battery_soc_initial']:g})."),
)

#: Scenario keys the battery flags set.
BATTERY_FLAGS: tuple[str, ...] = tuple(f[0] for f in _FLAGS)


def battery_options() -> list[tuple[str, object]]:
    """``(key, decorator)`` of every battery flag, for :func:`p2pstore.cli.options.scenario_options`."""
    return [(key, click.option(flag, key, type=kind, metavar=metavar, help=text))
            for key, flag, kind, metavar, text in _FLAGS]
