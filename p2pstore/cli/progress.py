"""Progress bars on the terminal: drawn on stderr when it is a terminal, silent when piped."""

from __future__ import annotations

import contextlib
import sys

import click


def progress_bar(total: int, label: str):
    """A :data:`p2pstore.progress.ProgressFactory` for the CLI: a click progress bar (counts,
    percentage, ETA) on stderr when stderr is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        from p2pstore.progress import no_progress

        return no_progress(total, label)
    return click.progressbar(length=max(int(total), 1), label=label, file=sys.stderr, show_eta=True,
                             show_percent=True, width=30)


@contextlib.contextmanager
def stage(label: str):
    """A one-line ``label ...`` note on a terminal's stderr for a step that has no steps to count."""
    tty = sys.stderr.isatty()
    if tty:
        click.echo(f"{label} ...", err=True)
    yield
