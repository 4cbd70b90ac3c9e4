"""Queue commands: ``enqueue``, ``worker``, ``schedule ...`` and ``runs cancel|retry|wait``.

Thin: parse options, call :mod:`p2pstore.jobs`, print.
"""

from __future__ import annotations

import logging
import sys

import click

from p2pstore.cli import LazyGroup, db_url, open_store, patiently
from p2pstore.cli.formatting import echo_json, echo_warnings, render
from p2pstore.cli.memory import memory_limit_option, share_memory_limit
from p2pstore.cli.options import (SERIES_DEFAULT, scenario_from_options, scenario_options,
                                  scenario_values_from_options)
from p2pstore.errors import InputError
from p2pstore.jobs.enqueue import enqueue as enqueue_runs, parse_at, plan_sweep
from p2pstore.jobs.options import DEFAULT_MAX_ATTEMPTS, DEFAULT_PRIORITY, NO_WAIT_STALE_HELP, WORKER_DEFAULTS as W
from p2pstore.reports.compare import format_run_ids


def _queue_options(fn):
    fn = click.option("--max-attempts", type=int, default=DEFAULT_MAX_ATTEMPTS, show_default=True,
                      help="Attempts before a failing run is marked failed (retries back off).")(fn)
    fn = click.option("--priority", type=int, default=DEFAULT_PRIORITY, show_default=True,
                      help="Lower runs first (like nice).")(fn)
    return fn


# -- enqueue -----------------------------------------------------------------------------------
@click.command()
@scenario_options(series_default=SERIES_DEFAULT["enqueue"])
@click.option("--sweep", "sweeps", multiple=True, metavar="KEY=V1,V2,...",
              help="Sweep a scenario field over values (repeatable: the cartesian product is queued). "
                   "Ranges as LOW:HIGH, several mechanisms as a+b.")
@click.option("--seeds", metavar="A..B", help="Sweep the seed over A..B (inclusive).")
@click.option("--batch", help="Batch name grouping these runs (default: generated).")
@_queue_options
@click.option("--at", "at", metavar="ISO-8601", help="Do not start before this time (naive = UTC).")
@click.option("--json", "as_json", is_flag=True, help='Print {"batch": ..., "run_ids": [...]}.')
@memory_limit_option
@click.pass_context
def enqueue(ctx, scenario_file, series, sweeps, seeds, batch, priority, max_attempts, at, as_json, memory_limit,
            **flags):
    """Queue runs for workers: one scenario, or the cartesian product of sweeps over it.

    All runs are inserted in one transaction; nothing is written if any value is invalid.
    Queued runs store community series by default (--series community): a sweep of hundreds of
    runs stays small. Ask for --series full to keep every household's per-slot flows.

    \b
    Examples:
      p2pstore enqueue --sweep prosumers=3,5,7 --seeds 1..20 --batch demo
      p2pstore enqueue --households 20 --sweep prosumer_share=0.1,0.2,0.4,0.8 --seeds 1..10 --batch share
      p2pstore enqueue scenario.toml --days 7 --at 2026-01-01T02:00:00Z
      p2pstore enqueue --sweep mechanisms=mmr+bill_sharing,conventional --series none --json
      p2pstore enqueue --profiles demo --households 4 --seeds 1..50 --batch mc   # Monte Carlo over households
      p2pstore enqueue --sweep profiles=demo,other --tariffs tou.csv
      p2pstore enqueue --generator standard --days 365 --sweep pv_kwp=2:4,4:8 --seeds 1..5
    """
    base = scenario_values_from_options(scenario_file, **flags)
    not_before = parse_at(at)
    if seeds and flags.get("seed") is not None:
        raise InputError("give --seed or --seeds, not both")
    batch, scenarios = plan_sweep(base, sweeps=sweeps, seeds=seeds, batch=batch, series=series,
                                  max_attempts=max_attempts, memory_limit=memory_limit)  # checked before the database opens
    store = open_store(ctx, writes=True)
    with echo_warnings():
        ids = patiently(lambda: enqueue_runs(store, scenarios, batch=batch, series=series, priority=priority,
                                        not_before=not_before, max_attempts=max_attempts, memory_limit=memory_limit))
    if as_json:
        echo_json({"batch": batch, "run_ids": ids})
        return
    click.echo(f"queued {len(ids)} run(s) in batch {batch}: {format_run_ids(ids, sep=', ')}")


# -- worker ------------------------------------------------------------------------------------
@click.command()
@click.option("--concurrency", type=click.IntRange(min=1), default=W.concurrency, show_default=True,
              help="Runs settled at once, each in its own process (capped to what memory allows, "
                   "with a warning).")
@click.option("--burst", is_flag=True, help="Exit 0 once nothing is queued or running for this worker.")
@click.option("--no-wait-stale", "no_wait_stale", is_flag=True, help=NO_WAIT_STALE_HELP)
@click.option("--name", help="Worker name stored on its runs (default worker@HOST:PID).")
@click.option("--poll", type=click.FloatRange(min=0.05), default=W.poll, show_default=True,
              help="Seconds between claim ticks.")
@click.option("--heartbeat", type=click.FloatRange(min=0.05), default=W.heartbeat, show_default=True,
              help="Seconds between renewals of the leases of held runs.")
@click.option("--stale-after", type=click.FloatRange(min=0.1), default=W.stale_after, show_default=True,
              help="Lease this worker takes on each run it holds: a run whose lease was not renewed "
                   "for this long is taken back by any worker.")
@click.option("--max-run-time", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Fail a run whose attempt takes longer than this (its process is stopped).")
@click.option("--backoff", type=click.FloatRange(min=0), default=W.backoff_base, show_default=True,
              help=f"Retry delay after the first failure, doubling per attempt (max {W.backoff_cap:g} s).")
@click.option("--grace", type=click.FloatRange(min=0), default=W.grace, show_default=True,
              help="On SIGTERM/SIGINT, seconds to finish held runs before releasing them.")
@click.option("--schedule-sync", type=click.FloatRange(min=0.1), default=W.schedule_sync, show_default=True,
              help="Seconds between re-reads of the schedules table.")
@click.option("--connect-retry", type=click.FloatRange(min=0.1), default=W.connect_retry, show_default=True,
              help="First wait between attempts while the database is unreachable (doubles, max 30 s).")
@memory_limit_option
@click.pass_context
def worker(ctx, concurrency, burst, no_wait_stale, name, poll, heartbeat, stale_after, max_run_time, backoff, grace,
           schedule_sync, connect_retry, memory_limit):
    """Claim queued runs and settle them; fire cron schedules.

    On SIGTERM/SIGINT (to it or its whole process group) it stops claiming, finishes what it
    holds for up to --grace seconds, releases the rest back to the queue without charging a
    failure, and exits 0; a second signal releases at once. While the database is away it
    retries with backoff; with --burst a permanent database error (authentication, missing
    database, not a database, read-only) ends it with one line and exit 2.

    \b
    Examples:
      p2pstore worker --burst                       # drain the queue (a dead worker's runs too), then exit
      p2pstore --db postgresql://postgres@db/p2p worker --concurrency 4 --max-run-time 3600
      p2pstore worker --concurrency 2 --memory-limit 8GB    # 4 GB per settling process
    """
    # lazy: the worker imports SQLAlchemy, numpy and APScheduler, which `p2pstore --help` must not load
    from p2pstore.jobs.worker import run_worker

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    share_memory_limit(memory_limit, concurrency)
    code = run_worker(
        db_url(ctx), name, concurrency=concurrency, burst=burst, wait_stale=not no_wait_stale, poll=poll,
        heartbeat=heartbeat, stale_after=stale_after, max_run_time=max_run_time, backoff_base=backoff,
        grace=grace, schedule_sync=schedule_sync, connect_retry=connect_retry,
    )
    ctx.exit(code)


# -- runs cancel / retry (runs wait: p2pstore.cli.wait) ------------------------------------------
def _echo_ids(done: str, ids: list[int]) -> None:
    """``cancelled 3 run(s): 4-6`` (no list when nothing changed)."""
    click.echo(f"{done} {len(ids)} run(s){': ' + format_run_ids(ids, sep=', ') if ids else ''}")


@click.command("cancel")
@click.argument("run_ids", type=int, nargs=-1)
@click.option("--batch", help="Cancel every queued or running run of this batch.")
@click.pass_context
def cancel_runs(ctx, run_ids, batch):
    """Cancel queued or running runs. A running run's worker cannot commit its results.

    \b
    Examples:
      p2pstore runs cancel 12 13
      p2pstore runs cancel --batch demo
    """
    # lazy: the store imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.queue.actions import cancel

    engine = open_store(ctx, writes=True).engine
    _echo_ids("cancelled", patiently(lambda: cancel(engine, list(run_ids) or None, batch)))


@click.command("retry")
@click.argument("run_ids", type=int, nargs=-1)
@click.option("--failed", is_flag=True, help="Requeue every failed run.")
@click.pass_context
def retry_runs(ctx, run_ids, failed):
    """Requeue failed or cancelled runs with fresh attempts.

    \b
    Examples:
      p2pstore runs retry 12
      p2pstore runs retry --failed
    """
    # lazy: the store imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.queue.actions import retry

    engine = open_store(ctx, writes=True).engine
    _echo_ids("requeued", patiently(lambda: retry(engine, list(run_ids) or None, failed=failed)))


# -- schedules ---------------------------------------------------------------------------------
SCHEDULE_COMMANDS = {
    "add": "queue_cmds:schedule_add",
    "list": "queue_cmds:schedule_list",
    "pause": "queue_cmds:schedule_pause",
    "resume": "queue_cmds:schedule_resume",
    "remove": "queue_cmds:schedule_remove",
}


@click.group(cls=LazyGroup, lazy_commands=SCHEDULE_COMMANDS)
def schedule():
    """Cron schedules: every firing queues one run of the schedule's scenario.

    Workers fire them (each worker keeps every active schedule; one run per firing however many
    workers are up).

    \b
    Examples:
      p2pstore schedule add nightly --cron "0 2 * * *" --timezone Europe/Berlin --days 7
      p2pstore schedule list
      p2pstore schedule pause nightly
    """


@click.command("add")
@click.argument("name")
@click.option("--cron", required=True, metavar="EXPR",
              help='Crontab expression "m h dom mon dow" (a leading seconds field is allowed).')
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone of the cron fields.")
@scenario_options(series_default=SERIES_DEFAULT["schedule add"])
@_queue_options
@click.pass_context
def schedule_add(ctx, name, cron, timezone, scenario_file, series, priority, max_attempts, **flags):
    """Add a schedule running a scenario (file and/or flags, as in `run`).

    Its runs store community series by default (--series community); --series full keeps every
    household's per-slot flows.

    \b
    Examples:
      p2pstore schedule add nightly --cron "0 2 * * *" scenario.toml
      p2pstore schedule add hourly-mmr --cron "0 * * * *" --mechanism mmr --series none
    """
    # lazy: jobs.schedules imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.jobs.schedules import add_schedule, check_schedule, next_fire_time

    check_schedule(name, cron, timezone, max_attempts)  # before opening (or creating) the database
    scenario = scenario_from_options(scenario_file, **flags)
    store = open_store(ctx, writes=True)
    with echo_warnings():
        sid = patiently(lambda: add_schedule(store, name, cron, scenario, timezone=timezone, series=series,
                                             priority=priority, max_attempts=max_attempts))
    click.echo(f"schedule {name!r} (id {sid}) added; next firing {next_fire_time(cron, timezone).isoformat()}")


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
@click.pass_context
def schedule_list(ctx, as_json):
    """List schedules with their next firing and their last run.

    \b
    Example:
      p2pstore schedule list --json
    """
    # lazy: jobs.schedules imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.jobs.schedules import next_fire_time
    from p2pstore.store.queue.schedules import list_schedules  # lazy: SQLAlchemy, as above

    rows = list_schedules(open_store(ctx).engine)
    for r in rows:
        r["next_fire_time"] = None if r["paused"] else next_fire_time(r["cron"], r["timezone"])
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("(no schedules)")
        return
    # lazy: pandas takes a third of a second to import; only a table of schedules needs it
    import pandas as pd

    cols = ["id", "name", "cron", "timezone", "paused", "next_fire_time", "last_fire_time", "runs",
            "mechanisms", "series", "scenario_id"]
    click.echo(render(pd.DataFrame(rows)[cols]))


def _set_paused(ctx, name, paused):
    # lazy: jobs.schedules imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.queue.schedules import set_paused

    engine = open_store(ctx, writes=True).engine
    patiently(lambda: set_paused(engine, name, paused))
    click.echo(f"schedule {name!r} {'paused' if paused else 'resumed'}")


@click.command("pause")
@click.argument("name")
@click.pass_context
def schedule_pause(ctx, name):
    """Stop a schedule firing (workers pick the change up within --schedule-sync).

    \b
    Example:
      p2pstore schedule pause nightly
    """
    _set_paused(ctx, name, True)


@click.command("resume")
@click.argument("name")
@click.pass_context
def schedule_resume(ctx, name):
    """Let a paused schedule fire again.

    \b
    Example:
      p2pstore schedule resume nightly
    """
    _set_paused(ctx, name, False)


@click.command("remove")
@click.argument("name")
@click.pass_context
def schedule_remove(ctx, name):
    """Delete a schedule; the runs it queued stay.

    \b
    Example:
      p2pstore schedule remove nightly
    """
    # lazy: jobs.schedules imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.queue.schedules import remove_schedule

    engine = open_store(ctx, writes=True).engine
    patiently(lambda: remove_schedule(engine, name))
    click.echo(f"schedule {name!r} removed")
