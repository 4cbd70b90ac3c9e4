"""The ``p2pstore`` command line: a lazy Click group of thin commands.

Each command lives in a small module imported only when that command runs, so
``p2pstore --help`` starts without numpy, pandas, SQLAlchemy or matplotlib.
User-facing errors (:class:`p2pstore.errors.P2PStoreError`) and a database that stops answering
or refuses the command print as one line and exit 2, never as a traceback.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
import warnings

import click

from p2pstore import __version__
from p2pstore.errors import P2PStoreError, StoreError

#: command name -> "module:attribute" (relative to p2pstore.cli). Add a line to register a command.
COMMANDS: dict[str, str] = {
    "run": "run:run",
    "runs": "runs:runs",
    "bills": "results:bills",
    "query": "results:query",
    "db": "db:db",
    "profiles": "profiles:profiles",
    "enqueue": "queue_cmds:enqueue",
    "worker": "queue_cmds:worker",
    "schedule": "queue_cmds:schedule",
    "compare": "report_cmds:compare",
    "report": "report_cmds:report",
    "export": "report_cmds:export",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, from a name -> "module:attr" map."""

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = COMMANDS if lazy_commands is None else lazy_commands

    def list_commands(self, ctx):
        return sorted(self.lazy_commands)

    def get_command(self, ctx, name):
        target = self.lazy_commands.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(f"p2pstore.cli.{module}"), attr)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # already a message (an inner group's), or an exit
        except P2PStoreError as exc:
            raise UserError(_database_error(exc) or str(exc)) from None
        except Exception as exc:
            message = _database_error(exc)
            if message is None:
                raise
            raise UserError(message) from None


def _database_error(exc: BaseException) -> str | None:
    """One line for a database error that escaped a command without a context of its own (the
    driver's line after ``database unavailable:`` or ``database error:``); None for anything
    else (a bug, or an error that already says what failed)."""
    if not any(m in sys.modules for m in ("sqlalchemy", "sqlite3", "psycopg")):
        return None
    if isinstance(exc, StoreError) and (exc.detail is None or exc.context is not None):
        return None
    # lazy: the store imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.retry import TRANSIENT, classify, describe

    kind = classify(exc)
    if kind is None:
        return None
    return f"database {'unavailable' if kind == TRANSIENT else 'error'}: {describe(exc)}"


class UserError(click.ClickException):
    """A :class:`P2PStoreError` shown as ``Error: <one line>``, exit status 2."""

    exit_code = 2


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    "db_url",
    envvar="P2PSTORE_DATABASE_URL",
    metavar="URL",
    help="Database URL (default: sqlite:///./p2pstore.db; env P2PSTORE_DATABASE_URL). "
    "PostgreSQL: postgresql://user@host/dbname.",
)
@click.version_option(__version__, prog_name="p2pstore")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None) -> None:
    """p2pstore: peer-to-peer energy sharing scenarios for community microgrids, settled
    exactly (conventional, Mid-Market Rate, bill sharing) and kept in SQLite or PostgreSQL.

    \b
    Examples:
      p2pstore run                              # the reference notebook's scenario
      p2pstore run --seed 7 --prosumers 12 --days 14 --json
      p2pstore profiles import demo --load load.csv --pv pv.csv --tariffs tariffs.csv
      p2pstore run --profiles demo --households 20 --seed 3
      p2pstore query "SELECT mechanism, SUM(bill) FROM bills GROUP BY mechanism"
      p2pstore --db postgresql://postgres@127.0.0.1/p2p runs list
    """
    ctx.obj = {"db_url": db_url}


def db_url(ctx: click.Context) -> str | None:
    """The root group's ``--db`` URL (None: the environment or the default file)."""
    return ctx.find_root().obj["db_url"]


#: How long a command waits for a SQLite file another process is writing (or, for commands that
#: wait through outages, for a database that does not answer) before one line and exit 2 (s).
CLI_PATIENCE_S = 120.0
#: A command's SQLite statements wait this long for another writer's lock before saying so.
CLI_BUSY_TIMEOUT_S = 2.0


def open_store(ctx: click.Context, *, writes: bool = False):
    """The Store for the group's ``--db`` URL (imported lazily), opened :func:`patiently`.

    ``writes``: True for commands that write (they create the schema in an *empty* database, and
    refuse a read-only one); read commands keep the default and never create or change schema.
    """
    # lazy: the store imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store import Store

    return patiently(lambda: Store(db_url(ctx), migrate=writes, sqlite_busy_timeout_s=CLI_BUSY_TIMEOUT_S))


def patiently(fn, patience: float | None = CLI_PATIENCE_S, *, outages: bool = False):
    """``fn()``, retried while a SQLite file is locked by another writer (and, with ``outages``,
    while the database does not answer), saying so once on stderr (``waiting for the database
    (...)``); one line and exit 2 after ``patience`` seconds (None: no limit)."""
    # lazy: the store imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.retry import call_with_retry, describe, is_lock_wait, is_transient

    said = []

    def on_retry(exc, delay):
        if not said:
            click.echo(f"waiting for the database ({describe(exc)}); retrying for up to "
                       f"{patience:g} s, Ctrl-C to give up" if patience else
                       f"waiting for the database ({describe(exc)}); retrying, Ctrl-C to give up", err=True)
            said.append(True)

    return call_with_retry(fn, patience=patience, on_retry=on_retry,
                           retry_if=is_transient if outages else is_lock_wait)


@contextlib.contextmanager
def without_cyclic_gc():
    """Python's cyclic garbage collector off for a bounded command (``run``): its start-up imports
    numpy and SQLAlchemy, tens of thousands of long-lived objects the collector would traverse
    again and again (about a seventh of the import time), and settling and storing one run makes
    next to no cyclic garbage. Reference counting still frees everything else."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    _single_threaded_blas()
    _one_line_warnings()
    cli.main(args=argv, prog_name="p2pstore")


#: Environment variables that size the BLAS thread pools numpy may load (OpenBLAS, MKL, BLIS).
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def _single_threaded_blas() -> None:
    """One BLAS thread unless the user chose otherwise (set before numpy is imported).

    p2pstore's few matrix-vector products are memory-bound and small: BLAS threads do not make
    them faster, but each call wakes a pool that then spins, which cost ``p2pstore run`` of a
    100-household year about a fifth of its CPU time. And a threaded product splits its rows
    by the number of cores, so its last bits depended on the machine that settled the run; with
    one thread they are the same everywhere."""
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")


def _one_line_warnings() -> None:
    """Show p2pstore's own warnings (odd data, an ignored plugin) as ``Warning: <message>`` lines
    on stderr instead of Python's two-line format with a source line."""
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if category.__module__.startswith("p2pstore."):
            click.echo(f"Warning: {message}", err=True)
        else:
            default(message, category, filename, lineno, file, line)

    warnings.showwarning = show
