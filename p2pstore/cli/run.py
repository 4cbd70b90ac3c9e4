"""``p2pstore run``: settle one scenario now and store it."""

from __future__ import annotations

import functools

import click

from p2pstore.cli import open_store, without_cyclic_gc
from p2pstore.cli.formatting import echo_json, echo_warnings, render
from p2pstore.cli.memory import memory_limit_option
from p2pstore.cli.options import SERIES_DEFAULT, scenario_from_options, scenario_options
from p2pstore.jobs.execute import RunInterrupted, run_now
from p2pstore.jobs.interrupts import signals_interrupt
from p2pstore.progress import note, progress_bar
from p2pstore.reports.numbers import format_number
from p2pstore.reports.tables import aligned_text
from p2pstore.simulate import check_memory


#: Household-slot values from which ``run`` shows its progress (a year of 30 households).
BIG_RUN_VALUES = 1_000_000


@click.command()
@scenario_options(series_default=SERIES_DEFAULT["run"])
@click.option("--json", "as_json", is_flag=True, help="Print run id, totals and bills as JSON.")
@click.option("--daily", is_flag=True, help="Also print the notebook's daily table.")
@click.option("--batch", help="Batch name grouping this run with others (compare --batch, export --batch).")
@click.option("--lease", type=click.FloatRange(min=0.2), default=60.0, show_default=True,
              help="Seconds the run stays this command's without a renewal (renewed every quarter "
                   "of it while computing and writing); no worker can take it meanwhile.")
@click.option("--retry-for", type=click.FloatRange(min=0), default=300.0, show_default=True,
              help="Seconds to keep retrying a database that stops answering before giving up.")
@memory_limit_option
@click.pass_context
def run(ctx, scenario_file, as_json, daily, series, batch, lease, retry_for, memory_limit, **flags):
    """Settle a scenario now, store the run, and print its bills.

    Runs through the same code a worker uses. With no arguments this is the reference
    notebook's scenario (seed 42, 3 consumers, 7 prosumers, 30 days). With --profiles it
    settles a stored profile set (all its households, or --households N drawn with --seed).
    The run is this command's alone (a lease it renews): workers never take it. Ctrl-C,
    SIGTERM and SIGHUP cancel it (one line, exit 130, 143 or 129).

    \b
    Examples:
      p2pstore run
      p2pstore run scenario.toml --days 7 --daily
      p2pstore run --seed 3 --prosumers 20 --mechanism mmr --mechanism bill_sharing --json
      p2pstore run --series none          # keep prices, bills and metrics only
      p2pstore run --profiles demo --households 4 --seed 2 --start 2025-01-02 --days 1
      p2pstore run --tariffs examples/profiles/tou_tariffs.csv --days 7   # time-of-use tariffs
      p2pstore run --households 20 --prosumer-share 0.4 --batch share     # 12 consumers, 8 prosumers
      p2pstore run --generator standard --days 365 --series community   # a year with seasons
      p2pstore run --households 25000 --prosumer-share 0.7 --days 365 --series community --memory-limit 3GB
    """
    with without_cyclic_gc():
        _run(ctx, scenario_file, as_json, daily, series, batch, lease, retry_for, memory_limit, **flags)


def _run(ctx, scenario_file, as_json, daily, series, batch, lease, retry_for, memory_limit, **flags):
    from p2pstore.store.retry import describe  # the store (SQLAlchemy): loaded once a run is stored

    scenario = scenario_from_options(scenario_file, **flags)
    plan = check_memory(scenario, series, memory_limit)  # before anything is stored or allocated
    store = open_store(ctx, writes=True)
    if not scenario.imported and scenario.n_households * scenario.slots >= BIG_RUN_VALUES:
        note(f"{plan.describe()} ...")
    said = []

    def on_retry(exc, delay):
        if not said:
            click.echo(f"waiting for the database ({describe(exc)}); retrying for up to {retry_for:g} s", err=True)
            said.append(True)

    try:
        with echo_warnings(), signals_interrupt():  # SIGTERM and SIGHUP cancel the run as Ctrl-C does
            run_id, settlement = run_now(store, scenario, series, batch=batch, lease_s=lease, patience=retry_for,
                                         on_retry=on_retry, memory_limit=memory_limit,
                                         progress=functools.partial(progress_bar, min_total=BIG_RUN_VALUES))
    except RunInterrupted as exc:
        click.echo(str(exc), err=True)
        ctx.exit(exc.exit_code)
    profiles = settlement.profiles
    labels = [str(x) for x in profiles.labels]
    if as_json:
        echo_json({
            "run_id": run_id,
            "totals": settlement.totals(),
            "bills": {m: dict(zip(labels, r.bills.tolist())) for m, r in settlement.results.items()},
        })
        return
    click.echo(
        f"run {run_id}: {profiles.n_households} households, {profiles.days} days, "
        f"{profiles.n_slots} slots, series={series}, stored in {store.url}"
    )
    click.echo(totals_table(settlement, scenario.currency))
    if daily:
        click.echo()
        click.echo(render(daily_frame(settlement, scenario.currency), float_digits=2))


def totals_table(settlement, currency: str) -> str:
    """Community bill and savings vs conventional per mechanism, as an aligned text table (two
    decimals; built without pandas, which the settle-and-store path does not import)."""
    names = ["mechanism", f"community_bill_{currency}", f"savings_{currency}", "savings_%"]
    rows = []
    for mechanism, total in settlement.totals().items():
        m = settlement.metrics[mechanism]
        rows.append([mechanism] + [format_number(v, 2) for v in (
            round(total, 2), m["savings_vs_conventional"], m["savings_vs_conventional_pct"])])
    return aligned_text(names, rows, right=[False, True, True, True])


def daily_frame(settlement, currency: str):
    """The notebook's ``daily_df`` of a settlement just computed."""
    # lazy: the settlement package imports numpy (start-up of every command's --help)
    from p2pstore.settlement.daily import notebook_daily_frame

    d = settlement.daily
    return notebook_daily_frame(d["day"], d["avg_load_kwh_per_house"], d["avg_pv_kwh_per_prosumer"],
                                d["bill"], currency)
