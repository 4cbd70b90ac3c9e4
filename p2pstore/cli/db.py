"""``p2pstore db``: schema migrations, what a database holds, and reclaiming space."""

from __future__ import annotations

import click

from p2pstore.cli import db_url, open_store, patiently
from p2pstore.cli.formatting import echo_json
from p2pstore.limits import format_bytes


@click.group()
def db():
    """Database schema and upkeep: upgrade, show the revision, what it holds, reclaim space.

    \b
    Examples:
      p2pstore db upgrade
      p2pstore --db postgresql://postgres@127.0.0.1/p2p db current
      p2pstore db info
      p2pstore runs delete --batch old --yes && p2pstore db vacuum
    """


@db.command()
@click.pass_context
def upgrade(ctx):
    """Migrate the database to the newest schema revision (creates it if empty).

    \b
    Examples:
      p2pstore db upgrade
      p2pstore --db postgresql://postgres@127.0.0.1/p2p db upgrade
    """
    # lazy: Alembic and the store import SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.schema import migrate

    before, after = migrate.upgrade(db_url(ctx))
    click.echo(f"{before or 'empty'} -> {after}")


@db.command()
@click.pass_context
def current(ctx):
    """Print the database's schema revision and the newest one this p2pstore knows.

    \b
    Example:
      p2pstore db current
    """
    # lazy: Alembic and the store import SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.schema import migrate

    rev, head = migrate.current(db_url(ctx))
    click.echo(f"current: {rev or 'none (empty database)'}\nhead:    {head}")


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def info(ctx, as_json):
    """Show the database: URL (password hidden), backend, schema revision, size, runs by
    status and rows per table.

    \b
    Examples:
      p2pstore db info
      p2pstore db info --json
    """
    # lazy: the store imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.schema.maintenance import info as db_info

    engine = open_store(ctx).engine
    out = patiently(lambda: db_info(engine))
    if as_json:
        echo_json(out)
        return
    click.echo(f"{'url':>10}: {out['url']}")
    click.echo(f"{'backend':>10}: {out['backend']}")
    if "file" in out:
        click.echo(f"{'file':>10}: {out['file']}")
    click.echo(f"{'revision':>10}: {out['revision']} (head {out['head']})")
    free = "" if out["free_bytes"] is None else f" ({format_bytes(out['free_bytes'])} free: p2pstore db vacuum)"
    click.echo(f"{'size':>10}: {format_bytes(out['size_bytes'])}{free}")
    click.echo(f"{'runs':>10}: " + (", ".join(f"{s} {n}" for s, n in out["runs"].items() if n) or "none"))
    click.echo(f"{'rows':>10}:")
    width = max(map(len, out["rows"]), default=0)
    for table, n in out["rows"].items():
        click.echo(f"  {table:<{width}} {n:>14,}{'  (view)' if table in out['views'] else ''}")


@db.command()
@click.option("--full", is_flag=True, help="PostgreSQL: VACUUM FULL (rewrites every table and gives the "
              "space back to the system; locks each table meanwhile). SQLite's VACUUM always does.")
@click.option("--json", "as_json", is_flag=True, help='Print {"size_bytes_before": ..., "size_bytes_after": ...}.')
@click.pass_context
def vacuum(ctx, full, as_json):
    """Reclaim the space of deleted runs (SQLite VACUUM; PostgreSQL VACUUM (ANALYZE)).

    SQLite rewrites the file (it needs as much free disk space as the file takes, and other
    writers wait). PostgreSQL's plain VACUUM makes the space reusable without blocking workers;
    --full also shrinks the files.

    \b
    Examples:
      p2pstore db vacuum
      p2pstore --db postgresql://postgres@127.0.0.1/p2p db vacuum --full
    """
    # lazy: the store imports SQLAlchemy and numpy, which `p2pstore --help` must not load
    from p2pstore.store.schema.maintenance import format_growth, vacuum as do_vacuum

    engine = open_store(ctx).engine
    before, after = patiently(lambda: do_vacuum(engine, full=full))
    if as_json:
        echo_json({"size_bytes_before": before, "size_bytes_after": after})
        return
    click.echo(f"vacuumed: {format_growth(before, after)}")
