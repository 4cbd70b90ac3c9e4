"""Real-world files through ``p2pstore profiles import`` and ``run`` on SQLite and PostgreSQL: the
same data as UTC offsets, naive Berlin local time and a German spreadsheet export settle to
identical bills; bad files are refused in one line with nothing stored; unit mistakes warn."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from db_counts import table_counts
from p2pstore.cli import cli
from real_world_data import BERLIN, write_files

FLAGS = {"utc_offsets": [], "naive_local": [],
         "german": ["--sep", ";", "--decimal", ",", "--date-format", "%d.%m.%Y %H:%M"]}


def invoke(db_url, *args):
    return CliRunner().invoke(cli, ["--db", db_url, *args])


def test_three_ways_of_writing_the_same_data_give_identical_bills(db_url, tmp_path):
    """The store recognises the three imports as one set (same content hash: same households,
    slots and values), so every run on it settles to the same bills."""
    (tmp_path / "tariffs.csv").write_text("household,buy,sell\nH1,0.32,0\nH2,0.30,0.08\n")
    (tmp_path / "tarife.csv").write_text("household;buy;sell\nH1;0,32;0\nH2;0,30;0,08\n")  # every file alike
    status, bills = {}, {}
    for style, flags in FLAGS.items():
        files = write_files(tmp_path, style)
        tariffs = tmp_path / ("tarife.csv" if style == "german" else "tariffs.csv")
        done = invoke(db_url, "profiles", "import", "berlin", "--load", files["load"], "--pv", files["pv"],
                      "--tariffs", str(tariffs), "--timezone", BERLIN, *flags, "--json")
        assert done.exit_code == 0, done.output
        status[style] = json.loads(done.stdout)
        run = invoke(db_url, "run", "--profiles", "berlin", "--series", "none", "--json")
        assert run.exit_code == 0, run.output
        bills[style] = json.loads(run.stdout)["bills"]
    assert [s["status"] for s in status.values()] == ["imported", "unchanged", "unchanged"]
    assert len({s["content_hash"] for s in status.values()}) == 1
    assert bills["utc_offsets"] == bills["naive_local"] == bills["german"]
    assert bills["german"]["conventional"]["H2"] != 0
    shown = json.loads(invoke(db_url, "profiles", "show", "berlin", "--json").stdout)
    assert shown["timezone"] == "Europe/Berlin standard time UTC+01:00"


def bad_load(tmp_path, case: str) -> list[str]:
    path = tmp_path / ("load.parquet" if case == "boolean column" else "load.csv")
    times = pd.date_range("2025-03-30 00:00", periods=12, freq="15min")
    if case == "local time that does not exist":
        stamps = [f"2025-03-30 {h:02d}:{m:02d}" for h in (1, 2, 3) for m in (0, 15, 30, 45)]
        path.write_text("timestamp,H1\n" + "".join(f"{t},0.4\n" for t in stamps))
        return ["--load", str(path), "--timezone", BERLIN]
    if case == "absurd value":
        path.write_text("timestamp,H1\n" + "".join(f"{t:%Y-%m-%d %H:%M},{1e300 if k == 5 else 0.4}\n"
                                                     for k, t in enumerate(times)))
        return ["--load", str(path)]
    pd.DataFrame({"timestamp": times, "H1": np.full(12, 0.4), "H2": [True, False] * 6}).to_parquet(path)
    return ["--load", str(path)]


@pytest.mark.parametrize("case, problem", [
    ("local time that does not exist", "line 6, column 'timestamp': local time 2025-03-30 02:00 does not exist"),
    ("absurd value", "line 7, column 'H1': load 1e+300 kW is above the physical bound of 100000 kW"),
    ("boolean column", "row 1, column 'H2': a boolean column (true/false), not numbers"),
])
def test_bad_files_are_refused_in_one_line_and_nothing_is_stored(db_url, tmp_path, case, problem):
    (tmp_path / "ok.csv").write_text("timestamp,H1\n2025-01-01 00:00,0.4\n2025-01-01 00:15,0.5\n")
    assert invoke(db_url, "profiles", "import", "ok", "--load", str(tmp_path / "ok.csv")).exit_code == 0
    before = table_counts(db_url)
    result = invoke(db_url, "profiles", "import", "bad", *bad_load(tmp_path, case))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert problem in result.output
    assert table_counts(db_url) == before


def test_kwh_per_slot_imported_as_kw_warns_naming_the_household_and_unit(db_url, tmp_path):
    times = pd.date_range("2025-01-01", periods=96 * 7, freq="15min")
    path = tmp_path / "kwh.csv"
    path.write_text("timestamp,flat_3\n" + "".join(f"{t:%Y-%m-%d %H:%M},0.1\n" for t in times))
    result = invoke(db_url, "profiles", "import", "kwh", "--load", str(path))
    assert result.exit_code == 0, result.output
    assert "household 'flat_3': 876 kWh/year read as kW" in result.stderr
    assert "import with --unit kWh" in result.stderr
