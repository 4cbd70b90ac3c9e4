"""Alembic environment for p2pstore.

The connection comes, in order of preference, from ``config.attributes["connection"]``
(p2pstore.store.schema.migrate and pytest-alembic pass one, inside their own transaction), from
``-x db=URL``, from ``sqlalchemy.url``, or from p2pstore's own URL resolution
(``P2PSTORE_DATABASE_URL``, else ``./p2pstore.db``). After every online run, the read-only query
role is brought in step with the schema (PostgreSQL; see ``p2pstore.store.querygate.query_role``).
"""

from __future__ import annotations

from alembic import context

from p2pstore.store.schema import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    from p2pstore.store.engine import resolve_url

    return resolve_url(context.get_x_argument(as_dictionary=True).get("db")
                       or config.get_main_option("sqlalchemy.url") or None)


def _configure(connection) -> None:
    dialect = connection.dialect.name

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        """Tables of one backend only (``info["dialect"]``, the per-slot series) exist there only."""
        return type_ != "table" or reflected or obj.info.get("dialect", dialect) == dialect

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=dialect == "sqlite",
        compare_type=True,
        include_object=include_object,
    )


def _after_migrations() -> None:
    """PostgreSQL: keep the read-only query role's grants and gate function in step with the
    schema after every upgrade (tables of later migrations included); drop the function when the
    schema is downgraded to nothing. See p2pstore.store.querygate.query_role."""
    from p2pstore.store.querygate.query_role import install_query_role, uninstall_query_function

    migration_context = context.get_context()
    connection = migration_context.connection
    if migration_context.get_current_revision() is None:
        uninstall_query_function(connection)
    else:
        install_query_role(connection)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    from sqlalchemy.engine import Connection

    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _configure(given)  # a Connection: the caller owns its transaction
        with context.begin_transaction():
            context.run_migrations()
            _after_migrations()
        return
    if given is not None:  # an Engine
        engine = given
    else:
        from p2pstore.store.engine import create_engine

        engine = create_engine(_url())
    with engine.begin() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
            _after_migrations()
    if given is None:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
