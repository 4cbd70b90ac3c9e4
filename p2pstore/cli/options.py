"""Options shared by commands that take a scenario (run, enqueue, schedule add)."""

from __future__ import annotations

import functools

import click

SCENARIO_FLAGS = ("seed", "consumers", "prosumers", "days", "start", "generator", "mechanisms")


def scenario_options(fn):
    """Add ``[SCENARIO.toml] --seed --consumers --prosumers --days --start --generator --mechanism
    --series``."""
    from p2pstore.scenario import GENERATORS

    @click.argument("scenario_file", metavar="[SCENARIO.toml]", required=False,
                    type=click.Path(dir_okay=False))
    @click.option("--seed", type=int, help="RNG seed (default 42).")
    @click.option("--consumers", type=int, help="Households without PV (default 3).")
    @click.option("--prosumers", type=int, help="Households with PV (default 7).")
    @click.option("--days", type=int, help="Horizon in days of 96 15-minute slots (default 30).")
    @click.option("--start", help="First day, ISO date (default 2025-01-01).")
    @click.option("--generator", type=click.Choice(GENERATORS),
                  help="Profile generator: notebook (default; the reference notebook's draws) or standard "
                       "(BDEW H25 load, pvlib PV on a typical weather year; see docs/profiles.md).")
    @click.option("--mechanism", "mechanisms", multiple=True, metavar="NAME",
                  help="Mechanism to settle: conventional, mmr, bill_sharing (repeatable; default all).")
    @click.option("--series", type=click.Choice(["full", "community", "none"]), default="full",
                  show_default=True,
                  help="Per-slot series to store: per household, community totals only, or none.")
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def scenario_from_options(scenario_file: str | None, **flags):
    """The validated Scenario of a file plus flags (flags win); raises ScenarioError."""
    from p2pstore import scenario

    overrides = {k: flags.get(k) for k in SCENARIO_FLAGS}
    if not overrides["mechanisms"]:
        overrides["mechanisms"] = None
    return scenario.load(scenario_file, overrides)
