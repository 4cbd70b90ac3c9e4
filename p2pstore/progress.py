"""Progress reporting that the library layers accept and the CLI draws.

Long operations (export, report, writing a big run) take ``progress``: a callable
``progress(total, label)`` returning a context manager whose ``update(n)`` advances by ``n`` of
``total`` steps. The CLI passes :func:`p2pstore.cli.progress.progress_bar` (a click progress bar
on a terminal, nothing when piped); the default, :func:`no_progress`, does nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import ContextManager, Protocol


class Progress(Protocol):
    def update(self, n: int) -> None: ...


#: ``progress(total, label)`` -> a context manager yielding a :class:`Progress`.
ProgressFactory = Callable[[int, str], ContextManager[Progress]]


class _Silent:
    def update(self, n: int) -> None:
        pass


def no_progress(total: int, label: str) -> ContextManager[Progress]:
    """A progress that shows nothing."""
    return contextlib.nullcontext(_Silent())
