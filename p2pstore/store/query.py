"""Ad-hoc read-only SQL (``p2pstore query``): writes are refused by the database itself.

SQLite: the file is opened a second time with ``mode=ro``. PostgreSQL: the statement runs in a
``READ ONLY`` transaction that is rolled back, and it is sent with the extended query protocol
(pipeline mode), which accepts a single statement only, so ``...; COMMIT; DROP ...`` cannot
escape the transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from p2pstore.errors import StoreError
from p2pstore.store.engine import SQLITE_BUSY_TIMEOUT_MS, connect, one_line

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

Rows = list[tuple[Any, ...]]


def run_readonly_query(engine: Engine, sql: str, *, dataframe: bool = False):
    """Run one SQL statement read-only; return ``(columns, rows)`` or a pandas DataFrame.

    Raises :class:`StoreError` ``"read-only: ..."`` for a statement that would write (nothing is
    changed), and a one-line ``"SQL error: ..."`` for any other database error.
    """
    if not sql or not sql.strip():
        raise StoreError("SQL error: empty statement")
    if engine.dialect.name == "postgresql":
        columns, rows = _query_pg(engine, sql)
    else:
        columns, rows = _query_sqlite(engine, sql)
    if dataframe:
        import pandas as pd

        return pd.DataFrame.from_records(rows, columns=columns)
    return columns, rows


def _query_sqlite(engine: Engine, sql: str) -> tuple[list[str], Rows]:
    import sqlite3
    from pathlib import Path

    database = engine.url.database
    if database in (None, "", ":memory:"):
        raise StoreError("read-only queries need a SQLite file, not an in-memory database")
    path = Path(database).resolve()
    if not path.exists():
        raise StoreError(f"SQLite database {str(path)!r} does not exist")
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True,
                               timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {str(path)!r} read-only: {one_line(exc)}") from None
    try:
        cur = conn.execute(sql)
        columns = [d[0] for d in cur.description] if cur.description else []
        rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
        return columns, rows
    except sqlite3.Error as exc:
        msg = one_line(exc)
        if "readonly" in msg or "read-only" in msg:
            raise StoreError(f"read-only: statement refused ({msg})") from None
        raise StoreError(f"SQL error: {msg}") from None
    except sqlite3.Warning as exc:  # e.g. "You can only execute one statement at a time."
        raise StoreError(f"SQL error: {one_line(exc)}") from None
    finally:
        conn.rollback()
        conn.close()


def _query_pg(engine: Engine, sql: str) -> tuple[list[str], Rows]:
    import psycopg

    with connect(engine) as sa_conn:
        raw = sa_conn.connection.driver_connection
        try:
            with raw.cursor() as cur:
                cur.execute("SET TRANSACTION READ ONLY")
                if psycopg.Pipeline.is_supported():
                    with raw.pipeline():
                        cur.execute(sql)
                else:  # binary results force the extended protocol too
                    cur.format = psycopg.pq.Format.BINARY
                    cur.execute(sql)
                columns = [d.name for d in cur.description] if cur.description else []
                rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
                return columns, rows
        except psycopg.errors.ReadOnlySqlTransaction as exc:
            raise StoreError(f"read-only: statement refused ({one_line(exc)})") from None
        except psycopg.Error as exc:
            raise StoreError(f"SQL error: {one_line(exc)}") from None
        finally:
            raw.rollback()
