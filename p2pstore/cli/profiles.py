"""``p2pstore profiles import|generate|list|show|delete``: measured or generated communities stored
as profile sets."""

from __future__ import annotations

import json

import click

from p2pstore.cli import LazyGroup, open_store
from p2pstore.cli.formatting import echo_json, echo_warnings, format_option, render
from p2pstore.cli.options import scenario_from_options, scenario_options

#: subcommand -> "module:attr" under p2pstore.cli
PROFILES_COMMANDS = {
    "import": "profiles:import_profiles",
    "generate": "profiles:generate_profiles",
    "list": "profiles:list_profiles",
    "show": "profiles:show_profiles",
    "delete": "profiles:delete_profiles",
}


@click.group(cls=LazyGroup, lazy_commands=PROFILES_COMMANDS)
def profiles():
    """Import measured load/PV profiles and tariffs (or store a generated community) as named
    profile sets, and manage them.

    Runs use a set with `p2pstore run --profiles NAME` (see docs/profiles.md for the formats).

    \b
    Examples:
      p2pstore profiles import demo --load load.csv --pv pv.csv --tariffs tariffs.csv
      p2pstore profiles import pecan --long data.parquet --tariffs tou.csv --timezone America/Chicago
      p2pstore profiles generate year --generator standard --days 365 --households 40 --prosumer-share 0.5
      p2pstore profiles list
      p2pstore profiles show demo --json
      p2pstore profiles delete demo
    """


@click.command("import")
@click.argument("name")
@click.option("--load", "load", metavar="FILE",
              help="Wide load file: a timestamp column and one column per household (kW).")
@click.option("--pv", metavar="FILE",
              help="Wide PV file with the same households and timestamps (default: no PV).")
@click.option("--long", "long", metavar="FILE",
              help="Long file: timestamp, household, load_kw[, pv_kw] (or load_kwh, pv_kwh).")
@click.option("--tariffs", metavar="FILE",
              help="Tariffs: household, buy, sell (flat) or timestamp, household, buy, sell (time-varying).")
@click.option("--p2p-allowed", "p2p_allowed", metavar="FILE",
              help="P2P calendar: timestamp, p2p_allowed (true/false); default: always allowed.")
@click.option("--unit", type=click.Choice(["kW", "kWh"]),
              help="Wide values are mean power per slot (kW, default) or energy per slot (kWh).")
@click.option("--timezone", metavar="ZONE",
              help="IANA zone naive timestamps are read in and aware ones converted to (default UTC).")
@click.option("--slot-minutes", type=click.Choice(["5", "10", "15", "30", "60"]),
              help="Resample to this slot length (mean power: energy is conserved).")
@click.option("--sep", metavar="CHAR",
              help="CSV field separator of every file of the import (default ','; ';' for German exports).")
@click.option("--decimal", metavar="CHAR", help="Decimal mark of CSV numbers (default '.'; ',' for German exports).")
@click.option("--date-format", "date_format", metavar="FORMAT",
              help="strftime format of the timestamps, e.g. '%d.%m.%Y %H:%M' (default ISO 8601).")
@click.option("--replace", is_flag=True, help="Overwrite a set of this name that holds other data (unused by runs).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def import_profiles(ctx, name, load, pv, long, tariffs, p2p_allowed, unit, timezone, slot_minutes, sep, decimal,
                    date_format, replace, as_json):
    """Validate files and store them as profile set NAME (CSV or Parquet, by extension).

    Households with PV are prosumers, the others consumers. Nothing is stored when a file is
    malformed (one line names the file, line and problem; exit status 2). Importing identical
    data again changes nothing. Naive local times cross daylight-saving changes with --timezone
    (the set is then on the zone's standard time); values that look like a unit mistake warn.

    \b
    Examples:
      p2pstore profiles import demo --load examples/profiles/load.csv --pv examples/profiles/pv.csv \\
          --tariffs examples/profiles/tariffs.csv --p2p-allowed examples/profiles/p2p_allowed.csv
      p2pstore profiles import solar --load load.parquet --pv pv.parquet --unit kWh \\
          --timezone Australia/Brisbane --slot-minutes 15 --tariffs tariffs.csv
      p2pstore profiles import berlin --load export.csv --sep ';' --decimal ',' \\
          --date-format '%d.%m.%Y %H:%M' --timezone Europe/Berlin --tariffs tariffs.csv
    """
    from p2pstore.jobs.build_profiles import import_profiles as build  # numpy, the store: loaded when the command runs

    store = open_store(ctx, writes=True)
    with echo_warnings():
        result = build(store, name, replace=replace, load=load, pv=pv, long=long, tariffs=tariffs,
                       p2p_allowed=p2p_allowed, unit=unit, timezone=timezone,
                       slot_minutes=int(slot_minutes) if slot_minutes else None,
                       sep=sep, decimal=decimal, date_format=date_format)
    if as_json:
        echo_json(result)
        return
    verb = {"imported": "imported", "replaced": "replaced", "unchanged": "unchanged (identical data already stored)"}
    click.echo(f"profile set {name!r} {verb[result['status']]}: {result['households']} households, "
               f"{result['slots']} slots, content hash {result['content_hash'][:12]}")


@click.command("generate")
@click.argument("name")
@scenario_options(settle=False)
@click.option("--replace", is_flag=True, help="Overwrite a set of this name that holds other data (unused by runs).")
@click.option("--write-csv", "write_csv", metavar="DIR", type=click.Path(file_okay=False),
              help="Also write the set as files `profiles import` reads: load.csv, pv.csv, tariffs.csv, "
                   "p2p_allowed.csv.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def generate_profiles(ctx, name, scenario_file, replace, write_csv, as_json, **flags):
    """Generate a community (the same scenario options as `p2pstore run`) and store it as
    profile set NAME.

    `p2pstore run --profiles NAME` then settles the same households over the same slots to the
    same bills as `p2pstore run` with these options; other runs draw households or windows from
    it like from imported data. Generating the same community again changes nothing.

    \b
    Examples:
      p2pstore profiles generate ref                        # the reference notebook's community
      p2pstore profiles generate year --generator standard --days 365 --seed 7 --write-csv year-csv
      p2pstore profiles generate tou scenario.toml --tariffs examples/profiles/tou_tariffs.csv --days 7
    """
    from p2pstore.jobs.build_profiles import generate_profiles as build  # numpy, the store: loaded when the command runs

    scenario = scenario_from_options(scenario_file, **flags)
    result = build(open_store(ctx, writes=True), name, scenario, replace=replace, write_csv=write_csv)
    if as_json:
        echo_json(result)
        return
    verb = {"imported": "stored", "replaced": "replaced", "unchanged": "unchanged (identical data already stored)"}
    click.echo(f"profile set {name!r} {verb[result['status']]}: {result['households']} households "
               f"({result['consumers']} consumers, {result['prosumers']} prosumers), {result['slots']} slots "
               f"from {result['start']}, content hash {result['content_hash'][:12]}")
    if result["files"]:
        click.echo(f"wrote {', '.join(result['files'])}")


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
@format_option(help="Output format (--json is --format json).")
@click.pass_context
def list_profiles(ctx, as_json, fmt):
    """List profile sets: households, consumers/prosumers, span, slots, tariffs, runs using them.

    \b
    Example:
      p2pstore profiles list --format csv
    """
    df = open_store(ctx).profile_sets()
    if fmt == "table" and not as_json:
        df = df.assign(content_hash=df["content_hash"].str[:12])
        df = df.drop(columns=["source", "created_at"])
    click.echo(render(df, "json" if as_json else fmt))


@click.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show_profiles(ctx, name, as_json):
    """Show one profile set: its span and slots, and each household with kind, tariffs and
    energy totals.

    \b
    Example:
      p2pstore profiles show demo
    """
    info = open_store(ctx).profile_set(name)
    members = info.pop("members")
    if as_json:
        info["members"] = json.loads(render(members, "json"))
        echo_json(info)
        return
    for key, value in info.items():
        click.echo(f"{key:>14}: {value}")
    click.echo()
    click.echo(render(members, float_digits=3))


@click.command("delete")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def delete_profiles(ctx, name, as_json):
    """Delete profile set NAME and its values. Refused while runs or schedules use it.

    \b
    Example:
      p2pstore profiles delete demo
    """
    rows = open_store(ctx, writes=True).delete_profile_set(name)
    if as_json:
        echo_json({"deleted": name, "value_rows": rows})
        return
    click.echo(f"profile set {name!r} deleted ({rows} value rows)")
