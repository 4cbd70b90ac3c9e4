"""Progress reporting: the protocol the library layers accept, and the terminal bar the CLI
passes them.

Long operations (export, report, writing a big run) take ``progress``: a callable
``progress(total, label)`` returning a context manager whose ``update(n)`` advances by ``n`` of
``total`` steps; ``total`` may be a function that counts them, called only by a progress that
is shown (counting can cost a query). The CLI passes :func:`progress_bar` (a click progress bar
on a terminal, nothing when piped); the default, :func:`no_progress`, does nothing.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import ContextManager, Protocol

import click


class Progress(Protocol):
    def update(self, n: int) -> None: ...


#: ``progress(total, label)`` -> a context manager yielding a :class:`Progress`; ``total`` an
#: int or a function returning it.
ProgressFactory = Callable[[int | Callable[[], int], str], ContextManager[Progress]]


class _Silent:
    def update(self, n: int) -> None:
        pass


def no_progress(total: int | Callable[[], int], label: str) -> ContextManager[Progress]:
    """A progress that shows nothing."""
    return contextlib.nullcontext(_Silent())


def progress_bar(total, label: str, *, min_total: int = 0):
    """A :data:`ProgressFactory` for the terminal: a click progress bar (counts, percentage, ETA)
    on stderr when stderr is a terminal and ``total`` (an int, or a function returning it, called
    only then) reaches ``min_total``; nothing otherwise."""
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
