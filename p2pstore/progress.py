"""Progress reporting that the library layers accept and the CLI draws.

Long operations (export, report, writing a big run) take ``progress``: a callable
``progress(total, label)`` returning a context manager whose ``update(n)`` advances by ``n`` of
``total`` steps; ``total`` may be a function that counts them, called only by a progress that
is shown (counting can cost a query). The CLI passes :func:`p2pstore.cli.progress.progress_bar` (a click progress bar
on a terminal, nothing when piped); the default, :func:`no_progress`, does nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import ContextManager, Protocol


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
