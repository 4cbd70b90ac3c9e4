"""PostgreSQL's least-privilege path for ``p2pstore query``: a reader role and a gate function.

``SET ROLE`` alone is no boundary when the store's URL is a superuser's: the query itself could
call ``set_config('role', 'postgres', true)`` and then, in the same statement, read files or end
other sessions. So a query runs *inside* a ``SECURITY DEFINER`` function owned by the
``p2pstore_reader`` role (``NOLOGIN``, no superuser, no membership in ``pg_read_server_files``,
``pg_write_server_files``, ``pg_execute_server_program`` or ``pg_signal_backend``, SELECT on the
store's tables only) — more precisely, owned by this database's *gate role*
``p2pstore_reader_<database oid>``, a member of ``p2pstore_reader`` and of nothing else, whose
privileges the query has. A function's owner and the owner's members may alter it: were it
owned by the shared reader role, any member of that role (another database's owner, say) could
switch this database's gate to ``SECURITY INVOKER`` and so stop every query here. Nobody is a
member of a gate role (the migrating user only for its transaction). Within a security-definer function PostgreSQL refuses to change ``role``
or ``session_authorization``, so every part of the query — also SQL run dynamically by
``query_to_xml`` or ``ts_stat`` — has the reader's privileges and nothing more.

:func:`install_query_role` runs after every migration (``migrations/env.py``): it creates the
role when the migrating user may (superuser or CREATEROLE; a concurrent creation by another
database's migration is tolerated), (re)creates the function, and grants SELECT on every table,
view and materialized view of the store's schema (never on foreign tables) — so tables added by
later migrations are covered, whoever runs them. Roles are cluster-wide: the role is never
dropped by p2pstore.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from p2pstore.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

#: The role queries run as (cluster-wide; shared by every p2pstore database on the server).
READER_ROLE = "p2pstore_reader"
#: The gate function, in the store's schema: ``(sql text, max_rows bigint) RETURNS SETOF record``.
QUERY_FUNCTION = "p2pstore_readonly_query"
QUERY_FUNCTION_SIGNATURE = f"{QUERY_FUNCTION}(text, bigint)"
#: Predefined roles that let a role read or write server files, run programs or signal backends.
DANGEROUS_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program",
                   "pg_signal_backend")

_CREATE_ROLE = f"""
DO $do$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER_ROLE}') THEN
    BEGIN
      CREATE ROLE {READER_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;  -- created concurrently: fine
      WHEN insufficient_privilege THEN
        RAISE NOTICE 'p2pstore: no privilege to create role {READER_ROLE}';
    END;
  END IF;
END $do$
"""

#: This database's gate role (see the module docstring): one per database, so that the members
#: of the shared reader role cannot alter another database's gate.
_GATE_NAME_SQL = f"SELECT '{READER_ROLE}_' || oid FROM pg_database WHERE datname = current_database()"

_CREATE_GATE_ROLE = f"""
DO $do$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{{gate}}') THEN
    BEGIN
      CREATE ROLE {{gate}} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT IN ROLE {READER_ROLE};
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;  -- created concurrently: fine
      WHEN insufficient_privilege THEN
        RAISE NOTICE 'p2pstore: no privilege to create role {{gate}}';
    END;
  END IF;
END $do$
"""

# max_rows NULL: the whole result (RETURN QUERY, in bulk); else at most max_rows rows, read
# lazily, so "--limit 10" on an endless generator returns at once.
_CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {QUERY_FUNCTION}(sql text, max_rows bigint)
RETURNS SETOF record LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $fn$
DECLARE
  r record;
  n bigint := 0;
BEGIN
  IF max_rows IS NULL THEN
    RETURN QUERY EXECUTE sql;
    RETURN;
  END IF;
  FOR r IN EXECUTE sql LOOP
    EXIT WHEN n >= max_rows;
    RETURN NEXT r;
    n := n + 1;
  END LOOP;
END
$fn$
"""


# Tables, views and materialized views of the store's schema; never foreign tables (a file_fdw
# table would let a query read server files).
_GRANT_SELECT = f"""
DO $do$
DECLARE rel record;
BEGIN
  FOR rel IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
  LOOP
    EXECUTE format('GRANT SELECT ON %I.%I TO {READER_ROLE}', current_schema(), rel.relname);
  END LOOP;
END $do$
"""


def install_query_role(conn: Connection) -> bool:
    """Create (if permitted) the reader role and this database's gate role, install the gate
    function and grant read access.

    PostgreSQL only (a no-op returning False on SQLite). Runs in the caller's transaction; a
    missing privilege is logged and leaves the database as it was. Returns whether the role and
    the function are in place.
    """
    from sqlalchemy import text  # SQLAlchemy: loaded with the migrations that call this

    if conn.dialect.name != "postgresql":
        return False
    conn.execute(text(_CREATE_ROLE))
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": READER_ROLE}).first() is None:
        log.warning("role %s does not exist and %s may not create it: 'p2pstore query' will refuse "
                    "to run until it exists (see docs/schema.md)", READER_ROLE, _current_user(conn))
        return False
    gate = gate_role(conn)
    conn.execute(text(_CREATE_GATE_ROLE.format(gate=gate)))
    try:
        with conn.begin_nested():
            for sql in _install_statements(conn, gate):
                conn.execute(text(sql))
    except StoreError as exc:  # database errors arrive mapped to typed StoreErrors
        from p2pstore.store.engine import one_line  # the store's engine module: as above

        log.warning("cannot install the read-only query function for %s: %s", _current_user(conn),
                    one_line(exc))
        return False
    return True


def gate_role(conn: Connection) -> str:
    """The name of this database's gate role: ``p2pstore_reader_<database oid>``."""
    return conn.exec_driver_sql(_GATE_NAME_SQL).scalar()


def _install_statements(conn: Connection, gate: str) -> list[str]:
    """The statements that (re)install the gate function, owned by ``gate`` (or, where that role
    could not be created, by :data:`READER_ROLE` as before), and grant read access."""
    from sqlalchemy import text  # SQLAlchemy: loaded with the migrations that call this

    schema = _schema(conn)
    gate_exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :g"), {"g": gate}).first() is not None
    owner = gate if gate_exists else READER_ROLE
    if not gate_exists:
        log.warning("%s may not create role %s: the query gate is owned by %s, which every member of %s may "
                    "alter (see docs/schema.md)", _current_user(conn), gate, READER_ROLE, READER_ROLE)
    superuser, member, may_create, installed = conn.execute(text(
        "SELECT rolsuper, pg_has_role(current_user, :o, 'MEMBER'), has_schema_privilege(:o, current_schema(), "
        "'CREATE'), COALESCE((SELECT p.prosecdef AND p.proowner = to_regrole(:o) FROM pg_proc p "
        "WHERE p.oid = to_regprocedure(:f)), false) FROM pg_roles WHERE rolname = current_user"),
        {"o": owner, "f": QUERY_FUNCTION_SIGNATURE}).one()
    grants = [f"GRANT USAGE ON SCHEMA {schema} TO {READER_ROLE}", _GRANT_SELECT]
    if installed and not superuser and not member:
        return grants  # in place, and only its owner's members may replace it: grant new tables only
    # A non-superuser may hand the function to the owner only while it is a member of it and the
    # owner may create in the schema. Both are granted for this transaction only (membership
    # would let this user alter the gate; CREATE would let the owner create objects).
    join = not superuser and not member
    lend_create = not superuser and not may_create
    return [
        *([f"GRANT {owner} TO CURRENT_USER"] if join else []),
        _CREATE_FUNCTION,
        f"REVOKE ALL ON FUNCTION {QUERY_FUNCTION_SIGNATURE} FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION {QUERY_FUNCTION_SIGNATURE} TO CURRENT_USER",
        *([f"GRANT CREATE ON SCHEMA {schema} TO {owner}"] if lend_create else []),
        f"ALTER FUNCTION {QUERY_FUNCTION_SIGNATURE} OWNER TO {owner}",
        *([f"REVOKE CREATE ON SCHEMA {schema} FROM {owner}"] if lend_create else []),
        *grants,
        *([f"REVOKE {owner} FROM CURRENT_USER"] if join else []),
    ]


def uninstall_query_function(conn: Connection) -> None:
    """Drop the gate function and this database's gate role (when permitted); the reader role
    stays: it is shared by every database on the server."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {QUERY_FUNCTION_SIGNATURE}")
        gate = gate_role(conn)
        conn.exec_driver_sql(f"DO $do$ BEGIN DROP ROLE IF EXISTS {gate}; EXCEPTION WHEN insufficient_privilege "
                             f"OR dependent_objects_still_exist THEN NULL; END $do$")


def _schema(conn: Connection) -> str:
    from sqlalchemy import text  # SQLAlchemy: loaded with the migrations that call this

    name = conn.execute(text("SELECT current_schema()")).scalar()
    return conn.dialect.identifier_preparer.quote(name)


def _current_user(conn: Connection) -> str:
    return conn.exec_driver_sql("SELECT current_user").scalar()


#: One round trip at query time: is the gate in place, and are its roles still harmless? The
#: function must be a security-definer function owned by this database's gate role (a member of
#: the reader role; or by the reader role itself where the gate role could not be created).
CHECK_SQL = f"""
SELECT r.oid IS NOT NULL AS role_exists,
       COALESCE(r.rolsuper OR o.rolsuper, r.rolsuper, false) AS role_super,
       ARRAY(SELECT d FROM unnest(%(dangerous)s::text[]) AS d
             WHERE (r.oid IS NOT NULL AND pg_has_role(r.oid, d, 'MEMBER'))
                OR (o.oid IS NOT NULL AND pg_has_role(o.oid, d, 'MEMBER'))) AS role_dangerous,
       p.oid IS NOT NULL AS function_exists,
       COALESCE(p.prosecdef AND (p.proowner = r.oid OR (o.rolname = ({_GATE_NAME_SQL})
                                                       AND pg_has_role(o.oid, r.oid, 'MEMBER'))), false)
         AS function_safe,
       p.oid IS NOT NULL AND has_function_privilege(p.oid, 'EXECUTE') AS may_execute
FROM (SELECT 1) AS one
LEFT JOIN pg_roles r ON r.rolname = '{READER_ROLE}'
LEFT JOIN pg_proc p ON p.oid = to_regprocedure('{QUERY_FUNCTION_SIGNATURE}')
LEFT JOIN pg_roles o ON o.oid = p.proowner
"""


def refusal(check: dict) -> str | None:
    """Why a query must not run, from a :data:`CHECK_SQL` row (None: it may run)."""
    fix = "run 'p2pstore db upgrade' as a user that may create roles (see docs/schema.md)"
    if not check["role_exists"]:
        return f"the database has no {READER_ROLE} role for read-only queries: {fix}"
    if check["role_super"] or check["role_dangerous"]:
        extra = "superuser" if check["role_super"] else "member of " + ", ".join(check["role_dangerous"])
        return (f"role {READER_ROLE} has privileges a read-only query must not have ({extra}); "
                f"revoke them (see docs/schema.md)")
    if not check["function_exists"]:
        return f"the database has no {QUERY_FUNCTION} function for read-only queries: {fix}"
    if not check["function_safe"]:
        return f"function {QUERY_FUNCTION} is not the security-definer function of this database's gate role: {fix}"
    if not check["may_execute"]:
        return (f"this user may not execute {QUERY_FUNCTION}: GRANT EXECUTE ON FUNCTION "
                f"{QUERY_FUNCTION_SIGNATURE} TO <user> (see docs/schema.md)")
    return None
