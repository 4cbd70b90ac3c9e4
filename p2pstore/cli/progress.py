"""Progress bars on the terminal: drawn on stderr when it is a terminal, silent when piped."""

from __future__ import annotations

import sys

import click


def progress_bar(total, label: str, *, min_total: int = 0):
    """A :data:`p2pstore.progress.ProgressFactory` for the CLI: a click progress bar (counts,
    percentage, ETA) on stderr when stderr is a terminal and ``total`` (an int, or a function
    returning it, called only then) reaches ``min_total``; nothing otherwise."""
    from p2pstore.progress import no_progress

    if not sys.stderr.isatty():
        return no_progress(total, label)
    total = total() if callable(total) else total
    if total < min_total:
        return no_progress(total, label)
    return click.progressbar(length=max(int(total), 1), label=label, file=sys.stderr, show_eta=True,
                             show_percent=True, width=30)


def note(text: str) -> None:
    """A line on stderr when it is a terminal (what a long step is doing); nothing when piped."""
    if sys.stderr.isatty():
        click.echo(text, err=True)
