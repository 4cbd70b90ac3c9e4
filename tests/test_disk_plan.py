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


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB filesystem (tmpfs) of its own: a disk that really is short of space."""
    import subprocess

    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _p2pstore(url: str, *args: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "p2pstore", "--db", url, *args], capture_output=True, text=True)


def test_a_chunked_full_run_is_refused_by_a_disk_that_is_short_and_writes_nothing(small_disk):
    """``--series full`` in household chunks is checked against the store's real free disk before
    anything is settled or stored: by ``p2pstore run`` (one line, exit 2) and by a worker taking a
    queued run (the run fails with the same line); what fits the disk is stored."""
    from p2pstore.store import Store

    url = f"sqlite:///{small_disk / 'p.db'}"
    town = ["--households", "200", "--prosumer-share", "0.7", "--days", "30", "--memory-limit", "250MB"]
    with Store(url) as store:
        store.query("SELECT 1")  # migrated on the small disk
    refused = _p2pstore(url, "run", *town, "--series", "full")
    assert refused.returncode == 2 and refused.stdout == "", refused.stdout + refused.stderr
    line = refused.stderr.strip()
    assert "\n" not in line and "--series full of 200 households x 2880 slots needs about 22.0 MiB of disk" in line
    assert f"{small_disk} has" in line and "free" in line
    queued = _p2pstore(url, "enqueue", *town, "--series", "full", "--max-attempts", "1", "--json")
    assert queued.returncode == 0, queued.stderr
    worker = _p2pstore(url, "worker", "--burst", "--memory-limit", "250MB")
    assert worker.returncode == 0, worker.stderr
    with Store(url) as store:
        runs = store.query("SELECT status, error FROM runs ORDER BY id")
        assert runs["status"].tolist() == ["failed"] and "needs about 22.0 MiB of disk" in runs["error"][0]
        assert int(store.query("SELECT COUNT(*) AS n FROM household_slots")["n"][0]) == 0
    fits = _p2pstore(url, "run", "--households", "64", "--prosumer-share", "0.7", "--days", "1", "--series", "full")
    assert fits.returncode == 0, fits.stderr


def test_a_full_run_the_disk_check_accepts_leaves_the_store_writable(small_disk):
    """The rows of a run's one transaction are on disk twice at the peak (SQLite's write-ahead
    log, then the database file): a run with room for one copy only is refused in one line, and
    the store takes later runs (it was once accepted, and left the disk full and every write refused)."""
    from p2pstore.store import Store

    url = f"sqlite:///{small_disk / 'p.db'}"
    with Store(url) as store:
        store.query("SELECT 1")  # migrated on the small disk
    town = ["--households", "64", "--prosumer-share", "0.7", "--days", "10"]
    one_copy = disk_plan.series_bytes(["conventional", "mmr", "bill_sharing"], 64, 960)
    assert one_copy < 3 * 2**20 < 2 * one_copy  # the disk holds one copy of the rows, not two
    refused = _p2pstore(url, "run", *town, "--series", "full")
    assert refused.returncode == 2 and refused.stdout == "", refused.stdout + refused.stderr
    line = refused.stderr.strip()
    assert "\n" not in line and "write-ahead log" in line and "free" in line
    later = _p2pstore(url, "run", *town, "--series", "community")
    assert later.returncode == 0, later.stderr
    with Store(url) as store:
        assert store.query("SELECT status FROM runs ORDER BY id")["status"].tolist() == ["succeeded"]
