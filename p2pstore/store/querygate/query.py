"""Ad-hoc read-only SQL (``p2pstore query``) with the least privilege each backend offers.

One statement that returns rows is run, streamed in batches, under a time limit:

The time limit bounds the whole query, its streaming included: no batch is fetched past it, and
a fetch still running at it is ended.

* **PostgreSQL**: in a ``READ ONLY`` transaction with ``statement_timeout`` and ``lock_timeout``,
  inside the ``p2pstore_reader`` role's security-definer gate function (see
  :mod:`p2pstore.store.querygate.query_role`): the statement cannot read or list server files, run
  programs, write files, export large objects, reload or change privileged settings, take locks
  stronger than a read's, signal other backends or switch back to the login role, even when the
  store's URL is a superuser's. The statement is parsed and described first (extended protocol:
  one statement only) and must return rows. The connection is closed afterwards, so nothing it
  did (session advisory locks, settings) outlives the query.
* **SQLite**: the file is opened a second time with ``mode=ro``; an authorizer refuses ATTACH and
  DETACH (also the hidden ATTACH of ``VACUUM INTO``), schema changes, PRAGMAs other than
  read-only ones, and ``load_extension``; no database may be attached at all
  (``SQLITE_LIMIT_ATTACHED`` = 0); a progress handler ends the statement at the time limit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from p2pstore.errors import LockBusyError, StoreError
from p2pstore.limits import DEFAULT_QUERY_TIMEOUT_S
from p2pstore.store.engine import SQLITE_BUSY_TIMEOUT_MS, connect, one_line, sqlite_path
from p2pstore.store.errmap import map_error

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

Rows = list[tuple[Any, ...]]

#: Seconds a query may run before it is ended (``--timeout``; 0 = no limit).
DEFAULT_TIMEOUT_S = DEFAULT_QUERY_TIMEOUT_S
#: Rows fetched per round trip while streaming.
BATCH_ROWS = 5000
#: PostgreSQL: longest wait for a lock (a migration's) before the query gives up, seconds.
LOCK_TIMEOUT_S = 5.0
#: SQLite: largest string or blob a query may build (bytes).
SQLITE_MAX_LENGTH = 100_000_000

_REFUSED = "read-only: "


@dataclasses.dataclass
class QueryResult:
    """An open query: its column names and its rows, in batches of at most :data:`BATCH_ROWS`.

    ``truncated`` is set once :meth:`batches` is exhausted: the statement had more rows than the
    ``limit`` it was opened with.
    """

    columns: list[str]
    _batches: Iterator[Rows]
    limit: int | None = None
    truncated: bool = False

    def batches(self) -> Iterator[Rows]:
        left = self.limit
        for rows in self._batches:
            if left is not None and len(rows) > left:
                rows, self.truncated = rows[:left], True
            if left is not None:
                left -= len(rows)
            if rows:
                yield rows
            if left == 0 and self.truncated:
                return

    def rows(self) -> Rows:
        return [r for batch in self.batches() for r in batch]


@contextlib.contextmanager
def open_readonly_query(engine: Engine, sql: str, *, timeout: float | None = DEFAULT_TIMEOUT_S,
                        limit: int | None = None) -> Iterator[QueryResult]:
    """Open one read-only SQL statement; yield a :class:`QueryResult` streaming its rows.

    ``timeout``: seconds before the statement is ended (None or 0: no limit). ``limit``: at most
    this many rows (None: all). Every failure is a one-line :class:`StoreError`: ``"read-only:
    ..."`` for a statement that would write or escape the store (nothing is changed),
    ``"query timed out ..."``, or ``"SQL error: ..."``.
    """
    if not sql or not sql.strip():
        raise StoreError("SQL error: empty statement")
    if limit is not None and limit < 0:
        raise StoreError(f"limit must be >= 0, got {limit}")
    timeout = timeout or None
    if timeout is not None and timeout < 0:
        raise StoreError(f"timeout must be >= 0 seconds, got {timeout}")
    opener = _open_pg if engine.dialect.name == "postgresql" else _open_sqlite
    with opener(engine, sql, timeout, limit) as (columns, batches):
        yield QueryResult(columns, batches, limit)


def run_readonly_query(engine: Engine, sql: str, *, dataframe: bool = False,
                       timeout: float | None = DEFAULT_TIMEOUT_S, limit: int | None = None):
    """Run one read-only statement to the end; return ``(columns, rows)`` or a pandas DataFrame.

    See :func:`open_readonly_query` for the guarantees and errors.
    """
    with open_readonly_query(engine, sql, timeout=timeout, limit=limit) as result:
        rows = result.rows()
    if dataframe:
        import pandas as pd  # pandas: only for a DataFrame result

        return pd.DataFrame.from_records(rows, columns=result.columns)
    return result.columns, rows


def _fetch_batches(cursor, limit: int | None, driver_error: type[Exception],
                   errors: Callable[[Exception], StoreError], deadline: float | None = None,
                   timeout: float | None = None) -> Iterator[Rows]:
    """Batches of ``cursor``'s rows (one more than ``limit`` at most, to tell a truncation), driver
    errors raised as ``errors(exc)``. Past ``deadline`` (``time.monotonic()``) no batch is
    fetched: the query timed out (``timeout`` seconds), however fast each fetch was."""
    size = BATCH_ROWS if limit is None else min(BATCH_ROWS, limit + 1)
    try:
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                raise _timed_out(timeout)
            rows = cursor.fetchmany(size)
            if not rows:
                return
            yield rows
    except driver_error as exc:
        raise errors(exc) from None


def _timed_out(timeout: float | None) -> StoreError:
    if timeout is None:  # no time limit: cancelled from outside (Ctrl-C, an administrator)
        return StoreError("query cancelled")
    return StoreError(f"query timed out after {timeout:g} s (--timeout SECONDS; 0 for no limit)")


# -- SQLite ------------------------------------------------------------------------------------
#: PRAGMAs a query may use: informational ones (with a table or index argument) ...
_SQLITE_INFO_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check", "collation_list",
    "function_list", "module_list", "pragma_list", "database_list", "compile_options",
})
#: ... and settings that may be read, never set.
_SQLITE_READ_PRAGMAS = frozenset({
    "page_count", "page_size", "freelist_count", "user_version", "application_id", "schema_version",
    "journal_mode", "encoding", "foreign_keys", "data_version", "auto_vacuum", "max_page_count",
})


def _sqlite_authorizer(denied: list[str]) -> Callable[..., int]:
    """An authorizer allowing reads only; it appends what it refuses to ``denied``."""

    refused_actions = {
        sqlite3.SQLITE_ATTACH: "ATTACH (also used by VACUUM INTO)",
        sqlite3.SQLITE_DETACH: "DETACH",
        sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE",
        sqlite3.SQLITE_REINDEX: "REINDEX",
        sqlite3.SQLITE_ANALYZE: "ANALYZE",
        sqlite3.SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE",
        sqlite3.SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE",
    }
    for name in dir(sqlite3):
        if name.startswith(("SQLITE_CREATE_", "SQLITE_DROP_")):
            refused_actions.setdefault(getattr(sqlite3, name), name[len("SQLITE_"):].replace("_", " "))

    def authorize(action, arg1, arg2, _db, _trigger):
        if action in refused_actions:
            denied.append(refused_actions[action])
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name in _SQLITE_INFO_PRAGMAS or (name in _SQLITE_READ_PRAGMAS and arg2 is None):
                return sqlite3.SQLITE_OK
            denied.append(f"PRAGMA {name}" + ("" if arg2 is None else f" = {arg2}"))
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in ("load_extension", "fts3_tokenizer"):
            denied.append(f"{arg2}()")
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    return authorize


@contextlib.contextmanager
def _open_sqlite(engine: Engine, sql: str, timeout: float | None, limit: int | None):

    database = sqlite_path(engine)
    if database is None:
        raise StoreError("read-only queries need a SQLite file, not an in-memory database")
    path = Path(database).resolve()
    if not path.exists():
        raise StoreError(f"SQLite database {str(path)!r} does not exist")
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise map_error(exc, context=f"cannot open {str(path)!r} read-only") from exc
    denied: list[str] = []
    deadline = None if timeout is None else time.monotonic() + timeout

    def errors(exc: Exception) -> StoreError:
        msg = one_line(exc)
        if denied:
            return StoreError(f"{_REFUSED}{denied[0]} is refused (a query may only read the store)")
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if code == sqlite3.SQLITE_INTERRUPT and deadline is not None and time.monotonic() >= deadline:
            return _timed_out(timeout)
        if code == sqlite3.SQLITE_READONLY:
            return StoreError(f"{_REFUSED}statement refused ({msg})")
        return map_error(exc, context="SQL error") or StoreError(f"SQL error: {msg}")

    try:
        if hasattr(conn, "enable_load_extension"):  # absent when Python is built without extensions
            conn.enable_load_extension(False)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, SQLITE_MAX_LENGTH)
        conn.set_authorizer(_sqlite_authorizer(denied))
        if deadline is not None:
            conn.set_progress_handler(lambda: int(time.monotonic() >= deadline), 10_000)
        try:
            cur = conn.execute(sql)
        except (sqlite3.Error, sqlite3.Warning) as exc:  # Warning: "only execute one statement"
            raise errors(exc) from None
        if cur.description is None:
            raise StoreError(f"{_REFUSED}only a statement that returns rows is run (SELECT, VALUES, WITH ...)")
        yield [d[0] for d in cur.description], _fetch_batches(cur, limit, sqlite3.Error, errors, deadline, timeout)
    finally:
        conn.rollback()
        conn.close()


# -- PostgreSQL --------------------------------------------------------------------------------
@contextlib.contextmanager
def _open_pg(engine: Engine, sql: str, timeout: float | None, limit: int | None):
    import psycopg  # the PostgreSQL driver: only for a PostgreSQL store

    from p2pstore.store.querygate.query_role import CHECK_SQL, DANGEROUS_ROLES, QUERY_FUNCTION, READER_ROLE, refusal  # PostgreSQL only

    deadline = None if timeout is None else time.monotonic() + timeout
    sa_conn = connect(engine)
    raw = sa_conn.connection.driver_connection
    # statement_timeout bounds each statement, and streaming is one FETCH per batch: the whole
    # query is bounded by this deadline, checked before each fetch and enforced during one by
    # cancelling it from a timer (the server ends it: QueryCanceled, reported as timed out)
    timer = None if deadline is None else threading.Timer(timeout, raw.cancel_safe)

    def errors(exc: psycopg.Error) -> StoreError:
        msg = one_line(exc)
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return _timed_out(timeout)
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return LockBusyError(f"query waited more than {LOCK_TIMEOUT_S:g} s for a lock ({msg}); try again")
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return StoreError(f"{_REFUSED}{msg} (queries run as role {READER_ROLE}, which may only read the store)")
        # 25006 read-only transaction, 2F003 prohibited statement (dblink without a password),
        # 0A000 not supported (COPY inside a function)
        if exc.sqlstate in ("25006", "2F003", "0A000"):
            return StoreError(f"{_REFUSED}{msg}")
        if "multiple commands" in msg:
            return StoreError("SQL error: one statement at a time (got several)")
        return map_error(exc, context="SQL error")

    try:
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            with raw.cursor() as cur:
                cur.execute("SET TRANSACTION READ ONLY")
                limit_ms = 0 if timeout is None else max(1, round(timeout * 1000))
                cur.execute("SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)",
                            (str(limit_ms), str(round(min(timeout or LOCK_TIMEOUT_S, LOCK_TIMEOUT_S) * 1000))))
                cur.execute(CHECK_SQL, {"dangerous": list(DANGEROUS_ROLES)})
                check = dict(zip([d.name for d in cur.description], cur.fetchone()))
            why = refusal(check)
            if why:
                raise StoreError(f"query refused: {why}")
            columns, definition, wrapped = _describe(raw, sql)
            server = raw.cursor(name="p2pstore_query")
            server.execute(f"SELECT * FROM {QUERY_FUNCTION}(%s, %s) AS t({definition.replace('%', '%%')})",
                           (wrapped, None if limit is None else limit + 1))
        except psycopg.Error as exc:
            raise errors(exc) from None
        yield columns, _fetch_batches(server, limit, psycopg.Error, errors, deadline, timeout)
    finally:
        if timer is not None:
            timer.cancel()
        # closed, not pooled: nothing the statement did to the session may outlive the query
        sa_conn.invalidate()
        sa_conn.close()


def _describe(raw, sql: str) -> tuple[list[str], str, str]:
    """Parse and describe ``sql`` without running it: ``(column names, column definition list for
    the gate function, statement to run)``. Refuses several statements, or one returning no rows.

    Columns of a pseudo-type (``void``, ``record``) cannot be declared: the statement is then
    wrapped so those columns are returned as text.
    """
    import psycopg  # the PostgreSQL driver: only for a PostgreSQL store
    from psycopg import pq  # the PostgreSQL driver: only for a PostgreSQL store

    encoding = raw.info.encoding

    def check(res) -> None:
        if res.status != pq.ExecStatus.COMMAND_OK:
            field = res.error_field
            error = psycopg.errors.lookup((field(pq.DiagnosticField.SQLSTATE) or b"XX000").decode())
            raise error((field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode(encoding, "replace"))

    check(raw.pgconn.prepare(b"", sql.encode(encoding)))
    desc = raw.pgconn.describe_prepared(b"")
    check(desc)
    n = desc.nfields
    if n == 0:
        raise StoreError(f"{_REFUSED}only a statement that returns rows is run (SELECT, VALUES, TABLE, "
                         "WITH ..., SHOW, EXPLAIN)")
    names = [desc.fname(i).decode(encoding) for i in range(n)]
    with raw.cursor() as cur:
        cur.execute(
            "SELECT format_type(t.oid, u.mod), t.typtype = 'p' FROM unnest(%s::oid[], %s::int[]) "
            "WITH ORDINALITY AS u(oid, mod, i) JOIN pg_type t ON t.oid = u.oid ORDER BY u.i",
            ([desc.ftype(i) for i in range(n)], [desc.fmod(i) for i in range(n)]))
        types = cur.fetchall()
    aliases = [f"c{i + 1}" for i in range(n)]
    if any(pseudo for _, pseudo in types):
        outer = ", ".join(f"{a}::text" if pseudo else a for a, (_, pseudo) in zip(aliases, types))
        sql = f"SELECT {outer} FROM ({sql}\n) AS p2pstore_q({', '.join(aliases)})"
        types = [("text", False) if pseudo else (t, False) for t, pseudo in types]
    definition = ", ".join(f"{a} {t}" for a, (t, _) in zip(aliases, types))
    return names, definition, sql
