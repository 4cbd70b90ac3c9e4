"""`query` cannot escape the store: every way out is refused one by one, and nothing changes.

PostgreSQL tests connect as the server's superuser (the README's and docker-compose's default), so
each refusal comes from the p2pstore_reader role and its security-definer gate, not from a weak
login. SQLite tests check the authorizer and the attach limit.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path

import pytest
from store_helpers import SCENARIO

from p2pstore.errors import StoreError
from p2pstore.store import Store
from p2pstore.store.querygate.query import open_readonly_query, run_readonly_query
from pg_databases import drop_pg_database, make_pg_database, pg_admin, pg_url


@pytest.fixture
def pg_store(settlement):
    url = make_pg_database()
    store = Store(url)
    try:
        run_id = store.create_run(SCENARIO)
        store.write_results(run_id, settlement, "full")
        yield store
    finally:
        store.close()
        drop_pg_database(url)


@pytest.fixture
def sqlite_store(tmp_path, settlement):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    run_id = store.create_run(SCENARIO)
    store.write_results(run_id, settlement, "full")
    yield store
    store.close()


def _pg(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _state(store) -> dict:
    """Row counts of every table, and every run's status."""
    from sqlalchemy import inspect, text

    with store.engine.connect() as conn:
        tables = sorted(inspect(conn).get_table_names())
        counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
        counts["statuses"] = [s for s, in conn.execute(text("SELECT status FROM runs ORDER BY id"))]
    return counts


def _refused(store, sql: str, timeout: float = 10) -> str:
    before = _state(store)
    start = time.monotonic()
    with pytest.raises(StoreError) as err:
        run_readonly_query(store.engine, sql, timeout=timeout)
    assert time.monotonic() - start < timeout + 20
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("read-only: "), msg
    assert _state(store) == before
    return msg


# -- PostgreSQL, superuser URL -----------------------------------------------------------------
def test_pg_query_runs_as_the_reader_role(pg_store):
    cols, rows = run_readonly_query(pg_store.engine, "SELECT current_user, session_user, "
                                    "current_setting('transaction_read_only'), count(*) FROM bills")
    assert cols == ["current_user", "session_user", "current_setting", "count"]
    (current, session, read_only, n), = rows
    oid = run_readonly_query(pg_store.engine, "SELECT oid FROM pg_database WHERE datname = current_database()")[1]
    assert current == f"p2pstore_reader_{oid[0][0]}"  # this database's gate role, a member of p2pstore_reader
    assert session == "postgres" and read_only == "on" and n > 0
    with _pg(pg_url(pg_store.engine.url.database)) as conn:
        assert conn.execute("SELECT pg_has_role(%s, 'p2pstore_reader', 'MEMBER'), r.rolsuper, r.rolcanlogin "
                            "FROM pg_roles r WHERE r.rolname = %s", (current, current)).fetchone() == (True, False, False)


def test_pg_a_member_of_the_reader_role_cannot_alter_the_gate(pg_store):
    """Another role made a member of p2pstore_reader (as another database's owner may be) cannot
    switch this database's gate to SECURITY INVOKER or replace it: the gate is owned by this
    database's gate role, of which nobody is a member. Queries keep working."""
    import psycopg

    member = f"p2pstore_test_member_{uuid.uuid4().hex[:8]}"
    database = pg_store.engine.url.database
    pg_admin(f"CREATE ROLE {member} LOGIN IN ROLE p2pstore_reader")
    try:
        url = pg_url(database).replace("//postgres@", f"//{member}@")
        with _pg(url) as conn:
            for sql in ("ALTER FUNCTION p2pstore_readonly_query(text, bigint) SECURITY INVOKER",
                        "ALTER FUNCTION p2pstore_readonly_query(text, bigint) OWNER TO p2pstore_reader",
                        "DROP FUNCTION p2pstore_readonly_query(text, bigint)"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
                    conn.execute(sql)
            conn.execute("SET ROLE p2pstore_reader")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
                conn.execute("ALTER FUNCTION p2pstore_readonly_query(text, bigint) SECURITY INVOKER")
        assert run_readonly_query(pg_store.engine, "SELECT count(*) FROM bills")[1][0][0] > 0
    finally:
        pg_admin(f"DROP ROLE {member}")


@pytest.mark.parametrize("sql_template, words", [
    ("COPY (SELECT 1) TO PROGRAM 'touch {marker}'", "returns rows"),
    ("COPY runs FROM PROGRAM 'touch {marker}'", "returns rows"),
    ("COPY (SELECT 1) TO '{marker}'", "returns rows"),
    ("SELECT * FROM query_to_xml('COPY (SELECT 1) TO ''{marker}''', true, true, '')", "COPY"),
])
def test_pg_copy_to_programs_and_files_is_refused(pg_store, tmp_path, sql_template, words):
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    msg = _refused(pg_store, sql_template.format(marker=marker))
    assert words in msg
    assert not marker.exists()


@pytest.mark.parametrize("sql, function", [
    ("SELECT pg_read_file('/etc/hostname')", "pg_read_file"),
    ("SELECT pg_read_binary_file('/etc/hostname')", "pg_read_binary_file"),
    ("SELECT pg_ls_dir('/')", "pg_ls_dir"),
    ("SELECT * FROM pg_stat_file('/etc/hostname')", "pg_stat_file"),
    ("SELECT lo_import('/etc/hostname')", "lo_import"),
    ("SELECT lo_export(1, '/tmp/p2pstore-lo-export')", "lo_export"),
    ("SELECT pg_reload_conf()", "pg_reload_conf"),
    ("SELECT pg_rotate_logfile()", "pg_rotate_logfile"),
    ("SELECT * FROM pg_authid", "pg_authid"),
])
def test_pg_server_files_settings_and_catalog_secrets_are_refused(pg_store, sql, function):
    assert function in _refused(pg_store, sql)
    assert not Path("/tmp/p2pstore-lo-export").exists()


@pytest.mark.parametrize("sql", [
    # the login role is a superuser: SET ROLE back to it would be allowed outside the gate
    "SELECT set_config('role', 'postgres', true), pg_read_file('/etc/hostname')",
    "SELECT set_config('role', 'postgres', false)",
    "SELECT set_config('session_authorization', 'postgres', true)",
    "SELECT set_config('role', 'postgres', true), "
    "query_to_xml('SELECT pg_read_file(''/etc/hostname'')', true, true, '')",
    "SELECT ts_stat('SELECT pg_read_file(''/etc/hostname'')::tsvector')",
])
def test_pg_no_way_back_to_the_login_role(pg_store, sql):
    msg = _refused(pg_store, sql)
    assert "security-definer" in msg or "permission denied" in msg


@pytest.mark.parametrize("sql", [
    "SELECT set_config('log_statement', 'all', false)",
    "SELECT set_config('log_min_duration_statement', '0', false)",
    "SELECT set_config('session_preload_libraries', 'x', false)",
    "SELECT set_config('lo_compat_privileges', 'on', false)",
])
def test_pg_privileged_settings_are_refused(pg_store, sql):
    assert "permission denied to set parameter" in _refused(pg_store, sql)


@pytest.mark.slow
@pytest.mark.parametrize("sql", [
    "SET ROLE postgres", "RESET ROLE", "ALTER SYSTEM SET work_mem = '1GB'", "SELECT pg_reload_conf(); ",
    "DO $$ BEGIN PERFORM pg_read_file('/etc/hostname'); END $$",
    "CREATE TEMP TABLE t AS SELECT 1", "LOCK TABLE runs", "LOCK TABLE runs IN ACCESS EXCLUSIVE MODE",
    "SELECT * FROM runs FOR UPDATE", "SELECT * FROM runs FOR SHARE",
    "DELETE FROM runs RETURNING id", "UPDATE runs SET status = 'failed' RETURNING id",
    "INSERT INTO scenarios (spec_hash) VALUES ('x') RETURNING id",
])
def test_pg_commands_other_than_reads_are_refused(pg_store, sql):
    _refused(pg_store, sql)


def test_pg_explicit_locks_are_refused_and_workers_are_never_blocked(pg_store):
    _refused(pg_store, "LOCK TABLE runs IN ACCESS EXCLUSIVE MODE")
    _refused(pg_store, "SELECT * FROM runs FOR UPDATE")
    # a query holding its read as long as it may leaves writers free: writes go through meanwhile
    with open_readonly_query(pg_store.engine, "SELECT id FROM runs", limit=1) as result:
        next(result.batches())
        with _pg(pg_url(pg_store.engine.url.database)) as conn:
            conn.execute("SET lock_timeout = '2s'")
            conn.execute("UPDATE runs SET priority = priority + 1")


def test_pg_other_sessions_cannot_be_signalled(pg_store):
    with _pg(pg_url(pg_store.engine.url.database)) as victim:
        pid = victim.info.backend_pid
        for fn in ("pg_terminate_backend", "pg_cancel_backend"):
            assert "must be a superuser" in _refused(pg_store, f"SELECT {fn}({pid})")
        assert victim.execute("SELECT 1").fetchone() == (1,)  # still alive


def test_pg_dblink_cannot_reach_out(pg_store):
    """dblink is installed on this server: as the reader it cannot connect anywhere."""
    database = pg_store.engine.url.database
    with _pg(pg_url(database)) as conn:
        assert conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'dblink'").fetchone()
        conn.execute("CREATE EXTENSION dblink")
    msg = _refused(pg_store, "SELECT * FROM dblink('dbname=postgres user=postgres host=127.0.0.1', "
                             "'SELECT 1') AS t(x int)")
    assert "password" in msg or "permission denied" in msg


def test_pg_foreign_tables_are_not_granted(pg_store, tmp_path):
    """A file_fdw table in the store's schema would read server files: the reader gets no grant."""
    from p2pstore.store.schema import migrate

    secret = tmp_path / "secret.csv"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    database = pg_store.engine.url.database
    with _pg(pg_url(database)) as conn:
        conn.execute("CREATE EXTENSION file_fdw")
        conn.execute("CREATE SERVER files FOREIGN DATA WRAPPER file_fdw")
        conn.execute(f"CREATE FOREIGN TABLE leak (line text) SERVER files OPTIONS (filename '{secret}')")
    migrate.upgrade(pg_url(database))  # re-grants after an upgrade: still not the foreign table
    assert "permission denied for foreign table leak" in _refused(pg_store, "SELECT * FROM leak")


@pytest.mark.slow
def test_pg_timeout_ends_sleep_and_endless_recursion(pg_store):
    for sql in ("SELECT pg_sleep(60)",
                "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
                "SELECT set_config('statement_timeout', '0', false), pg_sleep(60)::text"):
        start = time.monotonic()
        with pytest.raises(StoreError, match=r"^query timed out after 2 s") as err:
            run_readonly_query(pg_store.engine, sql, timeout=2)
        assert 1.5 < time.monotonic() - start < 30 and "\n" not in str(err.value)


def test_pg_session_state_does_not_outlive_the_query(pg_store):
    """A session advisory lock taken by a query dies with its (closed) connection."""
    run_readonly_query(pg_store.engine, "SELECT pg_advisory_lock(7302114517)")
    with _pg(pg_url(pg_store.engine.url.database)) as conn:
        assert conn.execute("SELECT pg_try_advisory_lock(7302114517)").fetchone() == (True,)


def test_pg_reader_role_with_dangerous_privileges_is_refused(pg_store, monkeypatch):
    """If a DBA ever widened the reader role, query refuses instead of running with it."""
    from p2pstore.store.querygate import query_role

    monkeypatch.setattr(query_role, "DANGEROUS_ROLES", (*query_role.DANGEROUS_ROLES, "pg_read_all_data"))
    role = f"p2pstore_test_{uuid.uuid4().hex[:8]}"
    # a private stand-in for the shared role: never grant anything to the shared p2pstore_reader
    monkeypatch.setattr(query_role, "READER_ROLE", role)
    monkeypatch.setattr(query_role, "CHECK_SQL", query_role.CHECK_SQL.replace("'p2pstore_reader'", f"'{role}'"))
    pg_admin(f"CREATE ROLE {role} NOLOGIN IN ROLE pg_read_all_data")
    try:
        with pytest.raises(StoreError, match="has privileges a read-only query must not have") as err:
            run_readonly_query(pg_store.engine, "SELECT 1")
        assert "pg_read_all_data" in str(err.value)
    finally:
        pg_admin(f"DROP ROLE {role}")


def test_pg_owner_without_createrole_needs_the_role_once(settlement):
    """A store owned by a plain role: `db upgrade` cannot create the reader role, so query refuses
    in one line; once the role exists and the owner is a member, `db upgrade` installs the gate."""
    from p2pstore.store.schema import migrate

    owner = f"p2pstore_test_owner_{uuid.uuid4().hex[:8]}"
    name = f"p2pstore_test_{uuid.uuid4().hex[:12]}"
    pg_admin(f"CREATE ROLE {owner} LOGIN")
    try:
        pg_admin(f'CREATE DATABASE "{name}" OWNER {owner}')
        url = pg_url(name).replace("//postgres@", f"//{owner}@")
        try:
            with Store(url) as store:  # migrated by the owner: no privilege for the shared role
                with pytest.raises(StoreError, match="query refused: ") as err:
                    run_readonly_query(store.engine, "SELECT 1")
                assert "\n" not in str(err.value)
            pg_admin(f"DO $$ BEGIN CREATE ROLE p2pstore_reader NOLOGIN; EXCEPTION WHEN duplicate_object "
                     f"OR unique_violation THEN NULL; END $$")
            pg_admin(f"GRANT p2pstore_reader TO {owner}")
            migrate.upgrade(url)
            with Store(url) as store:
                run_id = store.create_run(SCENARIO)
                store.write_results(run_id, settlement, "none")
                cols, rows = run_readonly_query(store.engine, "SELECT current_user, count(*) FROM bills")
                assert rows == [("p2pstore_reader", 3 * 5)]
                assert "pg_read_file" in _refused(store, "SELECT pg_read_file('/etc/hostname')")
        finally:
            pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        pg_admin(f"DROP ROLE {owner}")  # its membership in p2pstore_reader goes with it


# -- SQLite ------------------------------------------------------------------------------------
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("sql_template, words", [
    ("VACUUM INTO '{target}'", "ATTACH"),
    ("ATTACH DATABASE '{target}' AS other", "ATTACH"),
    ("VACUUM", "ATTACH"),
    ("DETACH DATABASE main", "DETACH"),
    ("SELECT load_extension('{target}')", "load_extension"),
    ("PRAGMA journal_mode = DELETE", "PRAGMA journal_mode"),
    ("PRAGMA user_version = 7", "PRAGMA user_version"),
    ("PRAGMA writable_schema = ON", "PRAGMA writable_schema"),
    ("PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA wal_checkpoint"),
    ("PRAGMA optimize", "PRAGMA optimize"),
    ("CREATE TEMP TABLE t AS SELECT 1", "CREATE TEMP TABLE"),
    ("CREATE TEMP VIEW v AS SELECT 1", "CREATE TEMP VIEW"),
    ("DELETE FROM runs", "readonly"),
    ("DROP TABLE bills", "DROP TABLE"),
])
def test_sqlite_escapes_are_refused_and_no_file_appears(sqlite_store, tmp_path, sql_template, words):
    target = tmp_path / "elsewhere" / "copy.db"
    target.parent.mkdir()
    db = Path(sqlite_store.engine.url.database)
    sqlite_store.engine.dispose()  # checkpointed: the file alone holds the store
    before = (_digest(db), sorted(p.name for p in tmp_path.iterdir()))
    msg = _refused(sqlite_store, sql_template.format(target=target))
    assert words in msg
    assert list(target.parent.iterdir()) == []
    sqlite_store.engine.dispose()
    assert (_digest(db), sorted(p.name for p in tmp_path.iterdir())) == before


def test_sqlite_read_only_pragmas_still_work(sqlite_store):
    assert run_readonly_query(sqlite_store.engine, "PRAGMA journal_mode")[1] == [("wal",)]
    cols, rows = run_readonly_query(sqlite_store.engine, "SELECT name FROM pragma_table_info('bills')")
    assert ("bill",) in rows
    assert run_readonly_query(sqlite_store.engine, "PRAGMA table_info(runs)")[1]


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_sqlite_timeout_ends_endless_recursion(sqlite_store):
    start = time.monotonic()
    with pytest.raises(StoreError, match=r"^query timed out after 2 s"):
        run_readonly_query(sqlite_store.engine, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
                                                "FROM r) SELECT count(*) FROM r", timeout=2)
    assert 1.5 < time.monotonic() - start < 30


# -- both --------------------------------------------------------------------------------------
def test_limit_stops_an_endless_result_at_once(store):
    endless = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r"
    start = time.monotonic()
    with open_readonly_query(store.engine, endless, timeout=30, limit=5) as result:
        rows = result.rows()
    assert rows == [(1,), (2,), (3,), (4,), (5,)] and result.truncated
    assert time.monotonic() - start < 30
    with open_readonly_query(store.engine, "SELECT 1 UNION ALL SELECT 2", limit=2) as result:
        assert result.rows() == [(1,), (2,)] and not result.truncated


def test_results_stream_in_batches(store):
    from p2pstore.store.querygate import query

    n = 3 * query.BATCH_ROWS + 7
    sql = f"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {n}) SELECT n FROM r"
    with open_readonly_query(store.engine, sql) as result:
        sizes = [len(b) for b in result.batches()]
    assert sizes == [query.BATCH_ROWS] * 3 + [7]
