"""``p2pstore runs wait``: follow runs until they finish, with a progress bar or progress lines."""

from __future__ import annotations

import contextlib
import sys
import time

import click

from p2pstore.cli import open_store, patiently
from p2pstore.errors import NotFoundError, P2PStoreError
from p2pstore.status import FINAL_STATUSES, RunStatus

#: Seconds between the progress lines ``runs wait`` prints when stderr is not a terminal.
PIPED_EVERY = 10.0

#: Order of the statuses in the progress label.
LABEL_ORDER = (RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled, RunStatus.running, RunStatus.queued)


def format_eta(seconds: float) -> str:
    """``"1h02m"``, ``"3m05s"`` or ``"42s"``."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def _label(counts, rate: float) -> str:
    """``succeeded 3 | running 1 | 0.50 runs/s`` (runs per second left out while 0)."""
    parts = [f"{s} {counts[s]}" for s in LABEL_ORDER if counts[s]]
    return " | ".join(parts) + (f" | {rate:.2f} runs/s" if rate else "")


def _finished(counts) -> int:
    return sum(counts[s] for s in FINAL_STATUSES)


@click.command("wait")
@click.argument("run_ids", type=int, nargs=-1)
@click.option("--batch", help="Wait for every run of this batch.")
@click.option("--timeout", type=click.FloatRange(min=0), help="Give up after this many seconds (exit 2).")
@click.option("--poll", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="Seconds between checks.")
@click.option("--report-every", type=click.FloatRange(min=0.05), default=PIPED_EVERY, show_default=True,
              help="When stderr is not a terminal: seconds between progress lines (with the ETA).")
@click.pass_context
def wait_runs(ctx, run_ids, batch, timeout, poll, report_every):
    """Wait until runs finish, with a progress bar; exit 1 if any failed.

    The summary line gives the database's size before and after the wait (what the runs took).
    Without ids or --batch, waits for every run queued or running now. When stderr is not a
    terminal (a log, a pipe), a progress line with the ETA is printed every --report-every
    seconds (when something changed) instead. While the database is away it says so and keeps
    checking, with backoff (until --timeout, if given).

    \b
    Examples:
      p2pstore runs wait --batch demo --timeout 600
      p2pstore runs wait 4 5 6
    """
    # lazy: the store imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.schema.maintenance import database_size, format_growth
    from p2pstore.store.queue.actions import pending_ids, status_counts  # lazy, as above

    start = time.monotonic()

    def remaining():
        return None if timeout is None else max(0.0, timeout - (time.monotonic() - start))

    # before the wait begins, the whole --timeout (None: wait for the database as long as it takes)
    engine = patiently(lambda: open_store(ctx).engine, timeout, outages=True)
    size_before = patiently(lambda: database_size(engine), timeout, outages=True)
    ids = list(run_ids) or None
    if ids is None and batch is None:
        ids = patiently(lambda: pending_ids(engine), timeout, outages=True)
        if not ids:
            click.echo("nothing queued or running")
            return
    counts = patiently(lambda: status_counts(engine, ids, batch), timeout, outages=True)
    total = sum(counts.values())
    if ids and total != len(set(ids)):
        raise NotFoundError("some of the given run ids do not exist")
    if batch and total == 0:
        raise NotFoundError(f"no runs in batch {batch!r}")
    counts = _follow(counts, total, lambda: patiently(lambda: status_counts(engine, ids, batch), remaining(),
                                                      outages=True),
                     start=start, timeout=timeout, poll=poll, report_every=report_every)
    size_after = patiently(lambda: database_size(engine), remaining(), outages=True)
    click.echo(f"{total} run(s): {_label(counts, 0)}; {format_growth(size_before, size_after)} while waiting")
    if counts[RunStatus.failed]:
        ctx.exit(1)


def _follow(counts, total: int, recount, *, start: float, timeout: float | None, poll: float,
            report_every: float):
    """Poll ``recount()`` every ``poll`` s until ``total`` runs are finished, drawing a bar on a
    terminal (else a line every ``report_every`` s when something changed); the last counts.
    Raises :class:`P2PStoreError` once ``timeout`` s have passed since ``start``."""
    done0 = _finished(counts)
    tty = sys.stderr.isatty()
    drawn = click.progressbar(length=total, label=_label(counts, 0), show_eta=True, show_pos=True,
                              file=sys.stderr, width=30) if tty else contextlib.nullcontext()
    shown, printed_at, printed = done0, -report_every, None
    with drawn as bar:
        if bar is not None:
            bar.update(done0)
        while True:
            done = _finished(counts)
            elapsed = time.monotonic() - start
            rate = (done - done0) / elapsed if elapsed > 0 else 0.0
            if bar is not None:
                bar.label = _label(counts, rate)
                bar.update(done - shown)
                shown = done
            elif done < total and elapsed - printed_at >= report_every and (done, counts) != printed:
                # piped: a line now and then (when something changed), with the ETA
                click.echo(f"{done}/{total} finished ({_label(counts, rate)}), "
                           f"ETA {format_eta((total - done) / rate) if rate else 'unknown'}", err=True)
                printed_at, printed = elapsed, (done, dict(counts))
            if done >= total:
                return counts
            if timeout is not None and elapsed >= timeout:
                raise P2PStoreError(f"timed out after {timeout:g} s: {total - done} of {total} runs unfinished "
                                    f"({_label(counts, 0)})")
            time.sleep(poll)
            counts = recount()
