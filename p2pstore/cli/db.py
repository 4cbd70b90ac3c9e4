"""``p2pstore db``: schema migrations."""

from __future__ import annotations

import click

from p2pstore.cli import db_url


@click.group()
def db():
    """Database schema: upgrade to the newest revision, or show the current one.

    \b
    Examples:
      p2pstore db upgrade
      p2pstore --db postgresql://postgres@127.0.0.1/p2p db current
    """


@db.command()
@click.pass_context
def upgrade(ctx):
    """Migrate the database to the newest schema revision (creates it if empty)."""
    from p2pstore.store import migrate

    before, after = migrate.upgrade(db_url(ctx))
    click.echo(f"{before or 'empty'} -> {after}")


@db.command()
@click.pass_context
def current(ctx):
    """Print the database's schema revision and the newest one this p2pstore knows."""
    from p2pstore.store import migrate

    rev, head = migrate.current(db_url(ctx))
    click.echo(f"current: {rev or 'none (empty database)'}\nhead:    {head}")
