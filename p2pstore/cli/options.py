"""Options shared by commands that take a scenario (run, enqueue, schedule add, profiles generate).

Every default their help text names is read from :mod:`p2pstore.scenario.defaults` (and the
mechanism registry), never written here: tests/cli/test_help.py checks the help against them.
"""

from __future__ import annotations

import functools

import click

from p2pstore import registry, scenario
from p2pstore.cli.battery_options import BATTERY_FLAGS, battery_options
from p2pstore.scenario import DEFAULT_SEED, FIELDS, GENERATED_DEFAULTS, GENERATORS, SERIES_MODES
from p2pstore.scenario_standard import LOAD_MODELS

SCENARIO_FLAGS = ("seed", "consumers", "prosumers", "days", "start", "generator", "mechanisms", "profiles",
                  "households", "prosumer_share", "tariffs", *BATTERY_FLAGS)
#: Flags of the standard generator's load model and location, and the currency (scenario keys).
REALISTIC_FLAGS = ("load_model", "latitude", "longitude", "altitude", "currency")


#: ``--series`` default per command: a single ``run`` keeps every series; queued runs (sweeps,
#: schedules) keep community totals only, so that hundreds of runs do not fill the disk.
SERIES_DEFAULT = {"run": "full", "enqueue": "community", "schedule add": "community"}

#: Options only a settlement needs (left out of ``profiles generate``).
SETTLING = frozenset({"profiles", "mechanisms", "series", *BATTERY_FLAGS})


class LazyHelpOption(click.Option):
    """An option whose help text is computed when help is shown (``help_text``: a function):
    ``--mechanism`` lists the installed plugins, which a command that only runs built-ins never
    needs to look up."""

    def __init__(self, *args, help_text, **kwargs):
        super().__init__(*args, **kwargs)
        self._help_text = help_text

    def get_help_record(self, ctx):
        if self.help is None:
            self.help = self._help_text()
        return super().get_help_record(ctx)


def _mechanism_help() -> str:
    return (f"Mechanism to settle (repeatable; default: {', '.join(scenario.DEFAULT_MECHANISMS)}). "
            f"Known: {', '.join(registry.names())} (docs/mechanisms.md).")


def _series_help() -> str:
    by_mode: dict[str, list[str]] = {}
    for command, mode in SERIES_DEFAULT.items():
        by_mode.setdefault(mode, []).append(command)
    defaults = "; ".join(f"{' and '.join(commands)}: {mode}" for mode, commands in by_mode.items())
    return ("Per-slot series to store: per household (full), community totals only, or none "
            f"({defaults}, so sweeps stay small; see docs/jobs.md).")


_G = GENERATED_DEFAULTS
#: (parameter name, decorator) of every scenario option but ``--series``, in help order
#: (:data:`SCENARIO_FLAGS`, then :data:`REALISTIC_FLAGS`, then ``--mechanism``).
SCENARIO_OPTIONS = (
    ("scenario_file", click.argument("scenario_file", metavar="[SCENARIO.toml]", required=False,
                                     type=click.Path(dir_okay=False))),
    ("seed", click.option("--seed", type=int,
                          help=f"RNG seed (default {DEFAULT_SEED}); with --households it draws the households.")),
    ("consumers", click.option("--consumers", type=int,
                               help=f"Generated households without PV (default {_G['consumers']}).")),
    ("prosumers", click.option("--prosumers", type=int,
                               help=f"Generated households with PV (default {_G['prosumers']}).")),
    ("days", click.option("--days", type=int,
                          help=f"Horizon in days (default {_G['days']}; with --profiles: to the end of the set).")),
    ("start", click.option("--start", help=f"First day, ISO date (default {_G['start']}; with --profiles: "
                                           "the set's start).")),
    ("generator", click.option(
        "--generator", metavar=f"[{'|'.join(GENERATORS)}]",  # checked by the scenario: one line
        help=f"Profile generator (default {GENERATORS[0]}): notebook (the reference notebook's draws) or "
             "standard (BDEW H25 load, pvlib PV on a typical weather year; see docs/profiles.md).")),
    ("profiles", click.option("--profiles", metavar="NAME",
                              help="Settle a stored profile set (p2pstore profiles import) "
                                   "instead of a generated community.")),
    ("households", click.option(
        "--households", type=int, metavar="N",
        help="Community size: with --prosumer-share, N generated households; with --profiles, "
             "draw N of the set's households (reproducibly, with --seed).")),
    ("prosumer_share", click.option(
        "--prosumer-share", "prosumer_share", type=float, metavar="F",
        help="With --households N: round(F*N) prosumers (halves up), the rest consumers; "
             "stored, so runs group by it (--sweep prosumer_share=0.1,0.2 keeps N).")),
    ("tariffs", click.option(
        "--tariffs", type=click.Path(dir_okay=False), metavar="FILE",
        help="Tariff file (CSV/Parquet: [timestamp,] [household,] buy, sell) replacing the drawn or "
             "stored tariffs; it is stored with the run.")),
    # the standard generator's load model and location, and the currency (docs/profiles.md)
    ("load_model", click.option(
        "--load-model", "load_model", metavar=f"[{'|'.join(LOAD_MODELS)}]",
        help=f"Standard generator's loads (default {LOAD_MODELS[0]}): h25 (the BDEW shape scaled per "
             "household) or individual (each household its own occupancy-driven profile).")),
    ("latitude", click.option("--latitude", type=float, metavar="DEG",
                              help="Standard generator: PV for this place (north > 0) instead of a "
                                   "TMY3 station; with --longitude.")),
    ("longitude", click.option("--longitude", type=float, metavar="DEG", help="East > 0 (with --latitude).")),
    ("altitude", click.option("--altitude", type=float, metavar="M",
                              help="Metres above sea level of the place (default: pvlib's map).")),
    ("currency", click.option("--currency", metavar="NAME",
                              help="Currency of tariffs and bills, shown in tables and reports (default "
                                   f"{FIELDS['currency'].default}, the notebook's).")),
    *battery_options(),
    ("mechanisms", click.option("--mechanism", "mechanisms", multiple=True, metavar="NAME",
                                cls=LazyHelpOption, help_text=_mechanism_help)),
)


def series_option(default: str):
    """``--series`` with this command's default (see :data:`SERIES_DEFAULT`)."""
    return click.option("--series", type=click.Choice(SERIES_MODES), default=default, show_default=True,
                        help=_series_help())


def scenario_options(fn=None, *, settle: bool = True, series_default: str = "full"):
    """Add ``[SCENARIO.toml]`` and the scenario flags (:data:`SCENARIO_FLAGS`,
    :data:`REALISTIC_FLAGS`), ``--mechanism`` and ``--series`` (default ``series_default``).
    ``settle=False``: without ``--profiles``, ``--mechanism`` and ``--series`` (``profiles generate``)."""
    if fn is None:
        return functools.partial(scenario_options, settle=settle, series_default=series_default)
    options = [*SCENARIO_OPTIONS, ("series", series_option(series_default))]

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    for name, decorate in reversed(options):
        if settle or name not in SETTLING:
            wrapper = decorate(wrapper)
    return wrapper


def scenario_from_options(scenario_file: str | None, **flags) -> scenario.Scenario:
    """The validated Scenario of a file plus flags (flags win); raises ScenarioError."""
    return scenario.from_mapping(scenario_values_from_options(scenario_file, **flags),
                                 source=scenario_file or "scenario")


def scenario_values_from_options(scenario_file: str | None, **flags) -> dict:
    """The values of a file plus flags, not yet validated (a sweep completes them)."""
    overrides = {k: flags.get(k) for k in SCENARIO_FLAGS + REALISTIC_FLAGS}
    if not overrides["mechanisms"]:
        overrides["mechanisms"] = None
    return scenario.load_values(scenario_file, overrides)
