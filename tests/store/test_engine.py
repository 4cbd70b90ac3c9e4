"""URL resolution, engine set-up and one-line errors for unusable URLs."""

from __future__ import annotations

import pytest

from p2pstore.errors import StoreError
from p2pstore.store import Store
from p2pstore.store.engine import DEFAULT_URL, ENV_VAR, mask_url, resolve_url


def test_resolve_url_precedence(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_url() == DEFAULT_URL == "sqlite:///./p2pstore.db"
    monkeypatch.setenv(ENV_VAR, "sqlite:////tmp/env.db")
    assert resolve_url() == "sqlite:////tmp/env.db"
    assert resolve_url("sqlite:////tmp/explicit.db") == "sqlite:////tmp/explicit.db"


@pytest.mark.parametrize("given", ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"])
def test_postgres_urls_use_psycopg3(given):
    assert resolve_url(given) == "postgresql+psycopg://u@h/db"


def test_mask_url_hides_password():
    assert "s3cret" not in mask_url("postgresql+psycopg://me:s3cret@db.example/p2p")
    assert "***" in mask_url("postgresql+psycopg://me:s3cret@db.example/p2p")


def _bad_url(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/no/such/dir/p2pstore.db"
    return "postgresql://me:s3cret@127.0.0.1:1/p2pstore"  # nothing listens on port 1


def test_unreachable_database_is_one_line_naming_the_url(backend, tmp_path):
    url = _bad_url(backend, tmp_path)
    with pytest.raises(StoreError) as err:
        Store(url)
    msg = str(err.value)
    assert "\n" not in msg
    assert "cannot connect" in msg
    assert ("no/such/dir" in msg) if backend == "sqlite" else ("127.0.0.1:1" in msg and "***" in msg)
    assert "s3cret" not in msg
    assert err.value.__suppress_context__  # raised `from None`: no chained traceback


@pytest.mark.parametrize("url, words", [
    ("mysql://me:s3cret@localhost/db", "unsupported database 'mysql'"),
    ("not a url at all", "cannot parse database URL"),
    ("nosuchdialect://x/y", "unsupported database 'nosuchdialect'"),
])
def test_unusable_urls_are_refused(url, words):
    with pytest.raises(StoreError, match=words) as err:
        Store(url)
    assert "s3cret" not in str(err.value) and "\n" not in str(err.value)


def test_store_identity(store, backend):
    assert store.dialect == backend
    assert store.url.startswith("sqlite:///" if backend == "sqlite" else "postgresql+psycopg://")
    assert repr(store).startswith("Store(")


def test_backend_settings(store, backend):
    if backend == "postgresql":
        assert store.engine.driver == "psycopg"
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "off"
        return
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
