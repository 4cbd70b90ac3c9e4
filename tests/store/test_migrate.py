"""Schema checks at start-up: fresh databases migrate, others at the wrong revision are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from p2pstore.errors import StoreError
from p2pstore.store import Store
from p2pstore.store.schema import migrate
from p2pstore.store.engine import create_engine
from p2pstore.store.schema import Base, tables_on


def _exec(url: str, sql: str, **params) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def test_fresh_database_is_migrated_to_head(db_url):
    assert migrate.current(db_url) == (None, migrate.head_revision())
    with Store(db_url) as store:
        assert set(tables_on(store.dialect, Base.metadata.tables)) <= set(inspect(store.engine).get_table_names())
    rev, head = migrate.current(db_url)
    assert rev == head == migrate.head_revision()
    with Store(db_url):  # a second open finds it at head and changes nothing
        pass


def test_fresh_database_without_migrate_is_refused(db_url):
    with pytest.raises(StoreError, match="p2pstore db upgrade"):
        Store(db_url, migrate=False)
    assert migrate.current(db_url)[0] is None


def _make_older(db_url) -> str:
    """Bring a migrated database one revision back; return that revision."""
    from alembic import command
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(migrate.head_revision())
    if head.down_revision is None:  # a single revision: pretend this p2pstore knows a newer one
        return ""
    command.downgrade(migrate.alembic_config(db_url), head.down_revision)
    return head.down_revision


def test_older_revision_is_refused_naming_upgrade(db_url, monkeypatch):
    Store(db_url).close()
    older = _make_older(db_url)
    if not older:
        older = migrate.head_revision()
        monkeypatch.setattr(migrate, "head_revision", lambda: "9999_newer")
        monkeypatch.setattr(migrate, "_known_revisions", lambda: {older, "9999_newer"})
    with pytest.raises(StoreError) as err:
        Store(db_url)
    msg = str(err.value)
    assert "p2pstore db upgrade" in msg and older in msg and "\n" not in msg
    if not older.startswith("9999"):
        monkeypatch.undo()
        before, after = migrate.upgrade(db_url)
        assert (before, after) == (older, migrate.head_revision())
        Store(db_url).close()


def test_unknown_newer_revision_is_refused(db_url):
    Store(db_url).close()
    _exec(db_url, "UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(StoreError, match="unknown to this p2pstore") as err:
        Store(db_url)
    assert "9999_future" in str(err.value)
    with pytest.raises(StoreError, match="unknown to this p2pstore"):
        migrate.upgrade(db_url)


def test_tables_without_version_are_refused(db_url):
    Store(db_url).close()
    _exec(db_url, "DROP TABLE alembic_version")
    with pytest.raises(StoreError, match="no schema version"):
        Store(db_url)


def test_upgrade_and_current_on_fresh_database(db_url):
    before, after = migrate.upgrade(db_url)
    assert before is None and after == migrate.head_revision()
    assert migrate.upgrade(db_url) == (after, after)  # idempotent
    assert migrate.current(db_url) == (after, after)


def test_current_of_unreachable_database_is_one_line(backend, tmp_path):
    url = (f"sqlite:///{tmp_path}/missing/dir/x.db" if backend == "sqlite"
           else "postgresql://u:pw@127.0.0.1:1/x")
    with pytest.raises(StoreError, match="cannot connect") as err:
        migrate.current(url)
    assert "\n" not in str(err.value) and ":pw@" not in str(err.value)


def test_concurrent_first_use_migrates_once(db_url):
    from concurrent.futures import ThreadPoolExecutor

    def open_store(_):
        with Store(db_url) as s:
            return s.dialect

    with ThreadPoolExecutor(4) as pool:
        assert len(list(pool.map(open_store, range(4)))) == 4
    assert migrate.current(db_url)[0] == migrate.head_revision()


def test_profile_sets_migration_keeps_results_and_widens_labels(db_url):
    """A database at 0002 holding a run's results upgrades in place: every result row stays,
    constraints and cascades still hold, and households may then have long imported names."""
    from alembic import command

    from p2pstore.scenario import Scenario
    from p2pstore.simulate import simulate

    command.upgrade(migrate.alembic_config(db_url), "0002")
    scenario = Scenario(days=1, consumers=1, prosumers=2, seed=4)
    s = simulate(scenario)
    _exec(db_url, "INSERT INTO scenarios (id, spec_hash, spec_json, seed, consumers, prosumers, days) "
                  "VALUES (1, :hash, :spec, 4, 1, 2, 1)", hash=scenario.spec_hash(), spec=scenario.canonical_json())
    _exec(db_url, "INSERT INTO runs (id, scenario_id, status, mechanisms, series, priority, attempts, max_attempts) "
                  "VALUES (1, 1, 'succeeded', 'mmr', 'full', 0, 1, 3)")
    for k, label in enumerate(s.profiles.labels):
        _exec(db_url, f"INSERT INTO households VALUES (1, {k}, '{label}', '{s.profiles.kinds[k]}', 6, 3, 1, 1)")
        _exec(db_url, f"INSERT INTO bills VALUES (1, 'mmr', '{label}', {s.results['mmr'].bills[k]}, 0, 0, 0, 0, 0)")
        _exec(db_url, f"INSERT INTO household_series VALUES (1, 'mmr', '{label}', 0, 1, 0, 0, 0, 0, 0, 0.5)")
    before, after = migrate.upgrade(db_url)
    assert (before, after) == ("0002", migrate.head_revision())
    with Store(db_url) as store:
        assert store.bills(1)["bill"].tolist() == pytest.approx(s.results["mmr"].bills.tolist(), rel=1e-12)
        assert len(store.series(1)) == 3
        long_name = "meter NMI 6001234567 (south-east, unit 12b)"
        _exec(db_url, f"INSERT INTO households VALUES (1, 9, '{long_name}', 'consumer', 6, 3, 1, 1)")
        assert long_name in store.households(1)["household"].tolist()
        with pytest.raises(Exception, match="(?i)check|constraint"):
            _exec(db_url, "INSERT INTO households VALUES (1, 10, 'x', 'storage', 6, 3, 1, 1)")
        with pytest.raises(Exception, match="(?i)unique"):
            _exec(db_url, "INSERT INTO households VALUES (1, 11, 'C1', 'consumer', 6, 3, 1, 1)")
        _exec(db_url, "DELETE FROM runs WHERE id = 1")  # results cascade with their run
        assert store.query("SELECT COUNT(*) AS n FROM household_series")["n"].iloc[0] == 0
        assert store.query("SELECT COUNT(*) AS n FROM bills")["n"].iloc[0] == 0


def test_revisions_read_without_alembic_match_alembic(db_url):
    """The start-up check reads the chain from the migration files and the revision with one
    SELECT; both agree with Alembic's own reading (also for an empty database)."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert migrate._chain() == migrate._alembic_chain()
    assert migrate.head_revision() == script.get_current_head()
    assert migrate._known_revisions() == {s.revision for s in script.walk_revisions()}
    engine = create_engine(db_url)
    try:
        for _ in range(2):  # empty, then migrated
            with engine.connect() as conn:
                assert migrate.revision_of(conn) == MigrationContext.configure(conn).get_current_revision()
            Store(db_url).close()
    finally:
        engine.dispose()
