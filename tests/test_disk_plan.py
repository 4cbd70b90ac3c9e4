"""The disk check of ``--series full`` on a SQLite store."""

from __future__ import annotations

import pytest

from p2pstore import disk_plan
from p2pstore.errors import InputError
from p2pstore.jobs.execute import run_scenario
from p2pstore.scenario import Scenario


def test_full_series_grow_with_cells_and_plugins_and_nothing_else_is_counted():
    base = disk_plan.series_bytes(["mmr"], 100, 2880)
    assert base == 100 * 2880 * disk_plan.SQLITE_BYTES_PER_CELL
    assert disk_plan.series_bytes(["mmr", "flat_p2p"], 100, 2880) > base
    assert disk_plan.series_bytes(["mmr"], 100, 2880, "community") == 0


def test_a_run_whose_rows_do_not_fit_the_disk_is_refused_before_it_is_stored(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    monkeypatch.setattr(disk_plan, "SQLITE_BYTES_PER_CELL", 2**50)  # no disk is that large
    with pytest.raises(InputError, match="--series full of 10 households x 96 slots needs about") as err:
        run_scenario(Scenario(days=1), url, series="full")
    assert "free" in str(err.value) and "\n" not in str(err.value)
    from p2pstore.store import Store

    with Store(url) as store:
        assert int(store.query("SELECT COUNT(*) AS n FROM runs")["n"][0]) == 0
        run_scenario(Scenario(days=1), store, series="community")  # other series are not checked


def test_a_profile_set_run_is_checked_once_its_slots_are_known(tmp_path, monkeypatch):
    """A scenario drawn from a profile set leaves ``slot_minutes`` to the set: nothing to check
    (and no error) before the set is read; with the set's households and slots it is checked."""
    monkeypatch.setattr(disk_plan, "SQLITE_BYTES_PER_CELL", 2**50)
    scenario = Scenario(profiles="demo", households=6, days=2)
    assert scenario.slot_minutes is None
    database = str(tmp_path / "p.db")
    disk_plan.check_disk(database, scenario, "full")
    with pytest.raises(InputError, match="--series full of 6 households x 192 slots"):
        disk_plan.check_disk(database, scenario, "full", households=6, slots=192)
