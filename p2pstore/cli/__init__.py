"""The ``p2pstore`` command line: a lazy Click group of thin commands.

Each command lives in a small module imported only when that command runs, so
``p2pstore --help`` starts without numpy, pandas, SQLAlchemy or matplotlib.
User-facing errors (:class:`p2pstore.errors.P2PStoreError`) print as one line and exit 2.
"""

from __future__ import annotations

import importlib

import click

from p2pstore import __version__

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
        from p2pstore.errors import P2PStoreError

        try:
            return super().invoke(ctx)
        except P2PStoreError as exc:
            raise UserError(str(exc)) from None
        except Exception as exc:
            if _is_operational(exc):  # the database failed under us (read-only, disk full, gone)
                from p2pstore.store.engine import one_line

                raise UserError(f"database error: {one_line(exc)}") from None
            raise


def _is_operational(exc: BaseException) -> bool:
    """Whether ``exc`` is a driver's OperationalError (only drivers already imported are asked)."""
    import sys

    classes = [getattr(sys.modules.get(name), "OperationalError", None)
               for name in ("sqlalchemy.exc", "sqlite3", "psycopg")]
    return any(c is not None and isinstance(exc, c) for c in classes)


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


def open_store(ctx: click.Context, *, writes: bool = False):
    """The Store for the group's ``--db`` URL (imported lazily).

    ``writes``: True for commands that write (they create the schema in an *empty* database, and
    refuse a read-only one); read commands keep the default and never create or change schema.
    """
    from p2pstore.store import Store

    return Store(db_url(ctx), migrate=writes)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    _one_line_warnings()
    cli.main(args=argv, prog_name="p2pstore")


def _one_line_warnings() -> None:
    """Show p2pstore's own warnings (odd data, an ignored plugin) as ``Warning: <message>`` lines
    on stderr instead of Python's two-line format with a source line."""
    import warnings

    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if category.__module__.startswith("p2pstore."):
            click.echo(f"Warning: {message}", err=True)
        else:
            default(message, category, filename, lineno, file, line)

    warnings.showwarning = show
