"""Hostile or careless input: one line, a non-zero exit within seconds, and no row in the store.

Each case runs against a store that already holds a run (SQLite and PostgreSQL); the row count of
every table must be the same afterwards.
"""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from test_run_cli import invoke, table_counts

from p2pstore.cli import cli

NON_UTF8 = b"seed = 4\ncurrency = \"\xe9\"\n"

FILES = {
    "NON_UTF8.toml": NON_UTF8,
    "BOOL_PAIR.toml": b"consumer_buy_tariff = [true, 7]\n",
    "TEXT_DAYS.toml": b'days = "2"\n',
    "FLOAT_DAYS.toml": b"days = 2.5\n",
    "BOOL_SEED.toml": b"seed = true\n",
    "HUGE_NOISE.toml": b"load_day_noise = 1e308\n",
    "NAN_NOISE.toml": b"pv_slot_noise = nan\n",
    "INF_TARIFF.toml": b"prosumer_sell_tariff = [3.0, inf]\n",
    "OUTAGES.toml": b"inverter_outages = 1000000000\n",
    "WINDOWS.toml": b"maintenance_windows = 1000000000\n",
    "NEGATIVE_KWH.toml": b"consumer_daily_kwh = [-1.0, 5.0]\n",
    "ZERO_YIELD.toml": b"pv_yield_kwh_per_kwp = [0.0, 5.0]\n",
    "DAILY_SLOTS.toml": b"slot_minutes = 1440\n",
    "TEXT_MECHANISM.toml": b"mechanisms = [1, 2]\n",
    "CONTROL_CURRENCY.toml": b'currency = "R\\u001b[31ms"\n',
}

CASES = [
    (["run", "NON_UTF8.toml"], "not UTF-8"),
    (["run", "BOOL_PAIR.toml"], "'consumer_buy_tariff': expected a [low, high] pair of numbers, got [True, 7]"),
    (["run", "TEXT_DAYS.toml"], "'days': expected an integer, got '2'"),
    (["run", "FLOAT_DAYS.toml"], "'days': expected an integer, got 2.5"),
    (["run", "BOOL_SEED.toml"], "'seed': expected an integer, got True"),
    (["run", "HUGE_NOISE.toml"], "'load_day_noise': must be <= 1"),
    (["run", "NAN_NOISE.toml"], "'pv_slot_noise': must be finite"),
    (["run", "INF_TARIFF.toml"], "'prosumer_sell_tariff': must be finite"),
    (["run", "OUTAGES.toml"], "'inverter_outages': must be at most 210 (one per prosumer-day)"),
    (["run", "WINDOWS.toml"], "'maintenance_windows': must be at most the number of slots"),
    (["run", "NEGATIVE_KWH.toml"], "'consumer_daily_kwh': must be >= 0"),
    (["run", "ZERO_YIELD.toml"], "'pv_yield_kwh_per_kwp': must be positive"),
    (["run", "DAILY_SLOTS.toml"], "'slot_minutes': must be <= 60"),
    (["run", "TEXT_MECHANISM.toml"], "'mechanisms': expected a list of mechanism names"),
    (["run", "CONTROL_CURRENCY.toml"], "'currency': must be printable text"),
    (["run", "--days", "100000", "--prosumers", "100000"], "'days': must be <= 36525"),
    (["enqueue", "--days", "100000", "--prosumers", "100000"], "'days': must be <= 36525"),
    (["run", "--memory-limit", "2GB", "--days", "3650", "--consumers", "100000", "--prosumers", "100000"], "of memory"),
    (["enqueue", "--memory-limit", "2GB", "--days", "3650", "--consumers", "100000", "--prosumers", "100000"], "of memory"),
    (["enqueue", "--memory-limit", "2GB", "--sweep", "prosumers=3,100000", "--days", "3650"], "of memory"),
    (["enqueue", "--sweep", "days=2.5"], "'days': expected an integer, got '2.5'"),
    (["enqueue", "--sweep", "load_day_noise=1e308"], "'load_day_noise': must be <= 1"),
    (["run", "--start", "9999-12-31"], "'start': the horizon (30 days from 9999-12-31) must lie between"),
    (["enqueue", "--start", "2199-12-31", "--days", "2"], "'start': the horizon"),
    (["run", "--start", "1066-10-14"], "'start': the horizon"),
    (["run", "--seed", "-1"], "'seed': must be >= 0"),
    (["run", "--seed", str(2**32)], "'seed': must be <= 4.29497e+09"),
    (["enqueue", "--batch", "two\nlines"], "--batch must be printable text"),
    (["enqueue", "--batch", "red\x1b[31m"], "U+001B"),
    (["enqueue", "--batch", "tab\there"], "U+0009"),
    (["enqueue", "--batch", "rtl\u202eoverride"], "U+202E"),
    (["enqueue", "--batch", " padded "], "must not start or end with spaces"),
    (["enqueue", "--batch", "x" * 201], "1 to 200 characters"),
    (["schedule", "add", "night\nly", "--cron", "0 2 * * *"], "schedule name must be printable text"),
    (["schedule", "add", "bell\x07", "--cron", "0 2 * * *"], "U+0007"),
    (["schedule", "add", "never", "--cron", "0 2 30 2 *"], "never fires"),
    (["schedule", "add", "never6", "--cron", "0 0 2 31 4 *"], "never fires"),
    (["schedule", "add", "nightly", "--cron", "0 2 * * *", "--timezone", "Mars/Olympus"], "unknown time zone"),
    (["export", "1", "-o", "/proc/p2pstore-export"], "cannot write export directory"),
    (["export", "1", "-o", "FILE/sub"], "is not a directory"),
    (["report", "--run", "1", "-o", "FILE/report.html"], "is not a directory"),
    (["report", "--run", "1", "-o", "/proc/p2pstore/report.html"], "cannot write report file"),
    (["report", "--run", "1", "-o", "x" * 300 + ".html"], "File name too long"),
    (["report", "--run", "1", "-o", "ok.html", "--png-dir", "/proc/p2pstore-figs"], "cannot write --png-dir"),
]


@pytest.fixture
def populated(db_url, tmp_path, monkeypatch):
    """A store holding one run; the working directory holds the input files."""
    monkeypatch.chdir(tmp_path)
    for name, content in FILES.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "FILE").write_text("a regular file\n")
    assert invoke(db_url, "run", "--days", "1", "--series", "none").exit_code == 0
    return db_url


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_refused_in_one_line_with_nothing_stored(populated, tmp_path, args, message):
    def files():  # the store's own -wal and -shm come and go with its connections
        return sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("p2pstore.db"))

    before = table_counts(populated)
    files_before = files()
    start = time.monotonic()
    result = CliRunner().invoke(cli, ["--db", populated, *args])
    assert time.monotonic() - start < 30
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert message in result.output, result.output
    assert table_counts(populated) == before
    assert files() == files_before  # no report, export or probe left


def test_numeric_warnings_never_reach_the_terminal(db_url, tmp_path):
    """The widest valid ranges settle without a single floating-point warning printed."""
    import subprocess
    import sys

    scenario = tmp_path / "wide.toml"
    scenario.write_text("load_day_noise = 1.0\nload_slot_noise = 1.0\npv_cloud_noise = 1.0\npv_slot_noise = 1.0\n"
                        "consumer_daily_kwh = [0.0, 100000.0]\nprosumer_daily_kwh = [0.0, 0.0]\n"
                        "pv_sizing_factor = [0.0, 10.0]\npv_yield_kwh_per_kwp = [1e-300, 24.0]\n"
                        "consumer_buy_tariff = [0.0, 0.0]\nprosumer_buy_tariff = [0.0, 10000.0]\n"
                        "prosumer_sell_tariff = [0.0, 0.0]\ndays = 2\n")
    out = subprocess.run([sys.executable, "-m", "p2pstore", "--db", db_url, "run", str(scenario),
                          "--series", "none"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr == "", out.stderr


def test_in_memory_sqlite_is_refused_for_commands_that_store():
    for args in (["run", "--days", "1"], ["enqueue", "--days", "1"],
                 ["schedule", "add", "n", "--cron", "0 2 * * *"], ["worker", "--burst"]):
        result = CliRunner().invoke(cli, ["--db", "sqlite://", *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.output.count("\n") == 1 and "in-memory SQLite database" in result.output, result.output


def test_read_only_sqlite_file_is_refused_in_one_line(tmp_path):
    db = tmp_path / "store.db"
    url = f"sqlite:///{db}"
    assert invoke(url, "run", "--days", "1", "--series", "none").exit_code == 0
    invoke(url, "runs", "list")  # a reader checkpoints nothing: the file is what it is
    before = table_counts(url)
    db.chmod(0o444)
    try:
        for args in (["run", "--days", "1"], ["enqueue", "--days", "1"], ["runs", "retry", "--failed"],
                     ["schedule", "add", "n", "--cron", "0 2 * * *"], ["worker", "--burst"], ["db", "upgrade"]):
            result = CliRunner().invoke(cli, ["--db", url, *args])
            assert result.exit_code == 2, (args, result.output)
            assert result.output.count("\n") == 1 and "is read-only" in result.output, result.output
        # reading still works
        listed = invoke(url, "runs", "list", "--format", "csv")
        assert listed.exit_code == 0 and listed.output.count("\n") == 2
        assert invoke(url, "query", "SELECT count(*) AS n FROM runs", "--format", "csv").output == "n\n1\n"
        ro_url = f"sqlite:///file:{db}?mode=ro&uri=true"
        result = CliRunner().invoke(cli, ["--db", ro_url, "run", "--days", "1"])
        assert result.exit_code == 2 and "opened read-only" in result.output
    finally:
        db.chmod(0o644)
    assert table_counts(url) == before


def test_read_commands_on_a_missing_sqlite_file_create_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    for args in (["query", "SELECT 1"], ["runs", "list"], ["bills", "1"], ["compare", "--runs", "1"],
                 ["export", "1", "-o", str(tmp_path / "out")], ["report", "--run", "1", "-o", str(tmp_path / "r.html")],
                 ["schedule", "list"], ["runs", "wait"]):
        result = CliRunner().invoke(cli, ["--db", url, *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.output.count("\n") == 1 and "does not exist" in result.output, result.output
    assert list(tmp_path.iterdir()) == []
