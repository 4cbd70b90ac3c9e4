"""``p2pstore runs``: list and inspect stored runs (queue commands attach here too)."""

from __future__ import annotations

import click

from p2pstore.cli import LazyGroup, open_store, patiently
from p2pstore.cli.formatting import echo_json, format_option, render
from p2pstore.reports.compare import format_run_ids
from p2pstore.status import RUN_STATUSES

#: subcommand -> "module:attr" under p2pstore.cli
RUNS_COMMANDS = {
    "list": "runs:list_runs",
    "show": "runs:show_run",
    "verify": "runs:verify_run",
    "cancel": "queue_cmds:cancel_runs",
    "retry": "queue_cmds:retry_runs",
    "wait": "wait:wait_runs",
    "delete": "runs:delete_runs",
}


@click.group(cls=LazyGroup, lazy_commands=RUNS_COMMANDS)
def runs():
    """List, inspect and manage runs.

    \b
    Examples:
      p2pstore runs list
      p2pstore runs show 1 --json
      p2pstore runs verify 1
      p2pstore runs wait --batch demo
      p2pstore runs retry --failed
      p2pstore runs delete --batch demo --yes
    """


@click.command("list")
@click.option("--status", type=click.Choice(RUN_STATUSES), help="Only runs in this state.")
@click.option("--batch", help="Only runs of this batch.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
@format_option(help="Output format (--json is --format json).")
@click.pass_context
def list_runs(ctx, status, batch, as_json, fmt):
    """List runs, newest last, with their scenario size and status.

    \b
    Example:
      p2pstore runs list --status failed --format csv
    """
    df = open_store(ctx).runs(status=status, batch=batch)
    cols = [c for c in ("run_id", "status", "batch", "seed", "consumers", "prosumers", "days",
                        "mechanisms", "series", "attempts", "enqueued_at", "finished_at", "worker")
            if c in df.columns]
    click.echo(render(df[cols], "json" if as_json else fmt))


@click.command("show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show_run(ctx, run_id, as_json):
    """Show one run: state, scenario, community bill per mechanism, and the software that
    settled it (p2pstore, Python, numpy, pandas, scipy, pvlib, demandlib, plugins, git commit).

    \b
    Example:
      p2pstore runs show 1
      p2pstore runs show 1 --json | jq .provenance
    """
    from p2pstore.store.results.run_mechanisms import stored_mechanisms  # the store: loaded when the command runs
    from p2pstore.store.results.provenance_rows import read_provenance  # as above

    store = open_store(ctx)
    run = store.get_run(run_id)
    scenario = store.scenario_of(run_id)  # read as stored: needs no plugin
    mechanisms = stored_mechanisms(store.engine, run_id)
    bills = store.bills([run_id])
    totals = bills.groupby("mechanism", sort=False)["bill"].sum().to_dict() if not bills.empty else {}
    versions = read_provenance(store.engine, [run_id]).get(run_id, {})
    if as_json:
        echo_json({"run": run, "scenario": scenario.to_dict(), "mechanisms": mechanisms, "totals": totals,
                   "provenance": versions})
        return
    for key, value in run.items():
        click.echo(f"{key:>14}: {value}")
    click.echo(f"{'scenario':>14}: {scenario.canonical_json()}")
    for m in mechanisms:
        click.echo(f"{m['mechanism']:>14}: {m['label']}" + (f", plugin {m['plugin']}" if m["plugin"] else ""))
    for mechanism, total in totals.items():
        click.echo(f"{'total ' + mechanism:>14}: {total:.2f} {scenario.currency}")
    shown = ", ".join(f"{k} {v}" for k, v in versions.items()) or "not recorded (stored by an older p2pstore)"
    click.echo(f"{'software':>14}: {shown}")


@click.command("verify")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: identical, differences, versions_changed.")
@click.pass_context
def verify_run(ctx, run_id, as_json):
    """Settle a stored run's scenario again and compare with its stored results.

    Exit 0 when every stored value is identical; exit 1 with a summary of what differs (tables,
    columns, how many values, the largest difference) and of the software versions that changed
    since the run was stored; exit 2 on an error (a run without results). Nothing is written.

    \b
    Examples:
      p2pstore runs verify 1
      p2pstore runs verify 1 --json
    """
    # loaded when the command runs: `p2pstore --help` stays free of the store and numpy
    from p2pstore.reports.verify import verify_run as verify

    result = verify(open_store(ctx), run_id)
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(result.summary())
    if not result.identical:
        ctx.exit(1)


@click.command("delete")
@click.argument("run_ids", type=int, nargs=-1)
@click.option("--batch", help="Delete every run of this batch.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help='Print {"run_ids": [...], "rows": {table: n}, ...}.')
@click.pass_context
def delete_runs(ctx, run_ids, batch, yes, as_json):
    """Delete runs and every row of theirs (results, series, prices, metrics), in one transaction.

    Asks first unless --yes. A running run is refused (cancel it or wait for it); queued,
    succeeded, failed and cancelled runs are deleted. Scenarios, profile sets and schedules stay.
    The file does not shrink by itself: run `p2pstore db vacuum` afterwards.

    \b
    Examples:
      p2pstore runs delete 4 5 6
      p2pstore runs delete --batch demo --yes --json
      p2pstore runs delete --batch demo --yes && p2pstore db vacuum
    """
    # lazy: the store imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.queue import actions as store_runs

    ids = list(run_ids) or None
    engine = open_store(ctx, writes=True).engine
    found = patiently(lambda: store_runs.deletable(engine, ids, batch))
    if not yes:
        by_status = ", ".join(f"{s} {n}" for s in RUN_STATUSES
                              if (n := sum(v == s for v in found.values())))
        click.confirm(f"Delete {len(found)} run(s) ({by_status}): {format_run_ids(sorted(found), sep=', ')} "
                      "and all their rows?", abort=True, err=True)
    done = patiently(lambda: store_runs.delete_runs(engine, ids, batch))
    if as_json:
        echo_json(done)
        return
    rows = sum(n for t, n in done["rows"].items() if t != "runs")
    click.echo(f"deleted {len(done['run_ids'])} run(s): {format_run_ids(done['run_ids'], sep=', ')} "
               f"({rows:,} result rows); give the space back with: p2pstore db vacuum")
