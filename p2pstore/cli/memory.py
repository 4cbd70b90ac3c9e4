"""``--memory-limit SIZE``, shared by ``run``, ``enqueue`` and ``worker``."""

from __future__ import annotations

import os

import click

from p2pstore.limits import MEMORY_LIMIT_ENV, parse_size


def _parse(ctx, param, value):
    return None if value in (None, "") else parse_size(value)  # InputError: one line


def memory_limit_option(fn):
    """Add ``--memory-limit SIZE`` (bytes as an int, None = what the machine has available)."""
    return click.option(
        "--memory-limit", "memory_limit", metavar="SIZE", envvar=MEMORY_LIMIT_ENV, callback=_parse,
        help="Memory a run may use, e.g. 300MB, 2GiB, 4G (default: what this machine has available "
             f"now, or ${MEMORY_LIMIT_ENV}). A community that does not fit is settled in household "
             "chunks; see docs/scale.md. enqueue: the workers' limit, each run is checked against it; "
             "worker: shared by its --concurrency settling processes.")(fn)


def share_memory_limit(memory_limit: int | None, processes: int) -> None:
    """Give each of a worker's ``processes`` settling processes its share of ``memory_limit``
    bytes (they read :data:`~p2pstore.limits.MEMORY_LIMIT_ENV`); nothing when None."""
    if memory_limit is not None:
        os.environ[MEMORY_LIMIT_ENV] = str(memory_limit // processes)
