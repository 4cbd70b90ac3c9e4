"""Malformed files are refused before anything is stored: one line naming the file, the line or
column and the problem, exit status 2, every table unchanged (SQLite and PostgreSQL). Odd but
legal data is imported with a warning."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from db_counts import table_counts
from p2pstore.cli import cli

HOUSEHOLDS = ("H1", "H2", "H3")
TIMES = [f"2025-03-01 {h:02d}:00" for h in range(24)]


def csv_text(header, rows) -> str:
    return "\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n"


def valid_files() -> dict[str, str]:
    """A day of hourly data: H1 and H2 have PV, H3 has none; flat tariffs; a P2P calendar."""
    load = [[t, 0.5 + k / 10, 0.4, 0.3] for k, t in enumerate(TIMES)]
    pv = [[t, max(0.0, 1 - abs(k - 12) / 6), max(0.0, 0.5 - abs(k - 12) / 12), 0.0] for k, t in enumerate(TIMES)]
    return {
        "load.csv": csv_text(("timestamp", *HOUSEHOLDS), load),
        "pv.csv": csv_text(("timestamp", *HOUSEHOLDS), pv),
        "tariffs.csv": csv_text(("household", "buy", "sell"), [("H1", 6.5, 3.2), ("H2", 6.0, 3.0), ("H3", 6.2, 0)]),
        "p2p.csv": csv_text(("timestamp", "p2p_allowed"), [(t, "false" if k == 3 else "true") for k, t in enumerate(TIMES)]),
    }


def lines(text_: str) -> list[str]:
    return text_.splitlines()


def replace_line(files, name, number, new):
    """Line ``number`` (1-based, header = 1) of ``name`` replaced by ``new``."""
    rows = lines(files[name])
    rows[number - 1] = new
    files[name] = "\n".join(rows) + "\n"


def mutate(case: str, files: dict[str, str]) -> list[str]:
    """Apply malformed case ``case`` to ``files``; return extra CLI options."""
    if case == "empty cell":
        replace_line(files, "load.csv", 5, f"{TIMES[3]},0.8,,0.3")
    elif case == "non-numeric cell":
        replace_line(files, "pv.csv", 4, f"{TIMES[2]},0,abc,0")
    elif case == "infinite cell":
        replace_line(files, "load.csv", 3, f"{TIMES[1]},inf,0.4,0.3")
    elif case == "negative load":
        replace_line(files, "load.csv", 7, f"{TIMES[5]},0.5,-0.2,0.3")
    elif case == "negative pv":
        replace_line(files, "pv.csv", 8, f"{TIMES[6]},0,0,-1")
    elif case == "duplicate timestamp":
        replace_line(files, "load.csv", 6, f"{TIMES[3]},0.5,0.4,0.3")
    elif case == "unparseable timestamp":
        replace_line(files, "load.csv", 4, "yesterday noon,0.5,0.4,0.3")
    elif case == "missing slot":
        rows = lines(files["load.csv"])
        del rows[10]
        files["load.csv"] = "\n".join(rows) + "\n"
    elif case == "irregular step":
        replace_line(files, "load.csv", 4, "2025-03-01 02:20,0.5,0.4,0.3")
    elif case == "household only in load":
        files["pv.csv"] = "\n".join(",".join(r.split(",")[:3]) for r in lines(files["pv.csv"])) + "\n"
    elif case == "household only in pv":
        files["pv.csv"] = "\n".join(r + (",HX" if i == 0 else ",0") for i, r in enumerate(lines(files["pv.csv"]))) + "\n"
    elif case == "tariffs missing":
        files["tariffs.csv"] = "household,buy,sell\nH1,6.5,3.2\nH3,6.2,0\n"
    elif case == "tariffs for an unknown household":
        files["tariffs.csv"] += "H9,6,3\n"
    elif case == "non-numeric tariff":
        files["tariffs.csv"] = "household,buy,sell\nH1,six,3.2\nH2,6,3\nH3,6.2,0\n"
    elif case == "non-boolean flag":
        replace_line(files, "p2p.csv", 6, f"{TIMES[4]},maybe")
    elif case == "calendar too short":
        files["p2p.csv"] = "\n".join(lines(files["p2p.csv"])[:10]) + "\n"
    elif case == "empty file":
        files["pv.csv"] = ""
    elif case == "header only":
        files["load.csv"] = "timestamp,H1,H2,H3\n"
    elif case == "unreadable file":
        files["pv.csv"] = None  # a directory in its place
    elif case == "binary parquet":
        return ["--load", "garbage.parquet"]
    elif case == "no timestamp column":
        files["load.csv"] = files["load.csv"].replace("timestamp,", "time,", 1)
    elif case == "duplicate column":
        files["load.csv"] = files["load.csv"].replace("H3", "H2", 1)
    elif case == "step of 7 minutes":
        rows = [f"2025-03-01 00:{7 * k:02d},1,1,1" for k in range(5)]
        files["load.csv"] = "timestamp,H1,H2,H3\n" + "\n".join(rows) + "\n"
    elif case == "unsupported extension":
        return ["--load", "load.txt"]
    elif case == "unknown time zone":
        return ["--timezone", "Mars/Olympus"]
    elif case == "control character in a name":
        files["load.csv"] = files["load.csv"].replace("H1", "H\x071", 1)
    else:  # pragma: no cover
        raise AssertionError(case)
    return []


CASES = {
    # case: (file named in the message, where, words of the problem)
    "empty cell": ("load.csv", "line 5, column 'H2'", "empty cell"),
    "non-numeric cell": ("pv.csv", "line 4, column 'H2'", "not a number: 'abc'"),
    "infinite cell": ("load.csv", "line 3, column 'H1'", "infinite value"),
    "negative load": ("load.csv", "line 7, column 'H2'", "negative load -0.2"),
    "negative pv": ("pv.csv", "line 8, column 'H3'", "negative pv -1"),
    "duplicate timestamp": ("load.csv", "line 6, column 'timestamp'", "duplicate timestamp 2025-03-01 03:00"),
    "unparseable timestamp": ("load.csv", "line 4, column 'timestamp'", "unparseable timestamp 'yesterday noon'"),
    "missing slot": ("load.csv", "line 11, column 'timestamp'", "missing slots: 1 slot(s)"),
    "irregular step": ("load.csv", "column 'timestamp'", "irregular step"),
    "household only in load": ("pv.csv", "", "household 'H3' of"),
    "household only in pv": ("pv.csv", "column 'HX'", "household 'HX' is not in"),
    "tariffs missing": ("tariffs.csv", "", "tariffs missing for household 'H2'"),
    "tariffs for an unknown household": ("tariffs.csv", "", "household 'H9' has tariffs but no load profile"),
    "non-numeric tariff": ("tariffs.csv", "line 2, column 'buy'", "not a number: 'six'"),
    "non-boolean flag": ("p2p.csv", "line 6, column 'p2p_allowed'", "not a boolean: 'maybe'"),
    "calendar too short": ("p2p.csv", "", "not every slot"),
    "empty file": ("pv.csv", "", "empty file"),
    "header only": ("load.csv", "", "empty file (no data rows)"),
    "unreadable file": ("pv.csv", "", "cannot read: is a directory"),
    "binary parquet": ("garbage.parquet", "", "cannot read as Parquet"),
    "no timestamp column": ("load.csv", "", "no 'timestamp' column"),
    "duplicate column": ("load.csv", "line 1", "column 'H2' appears twice"),
    "step of 7 minutes": ("load.csv", "column 'timestamp'", "steps of 7 minutes"),
    "unsupported extension": ("load.txt", "", "unsupported file type '.txt'"),
    "unknown time zone": ("", "", "unknown time zone 'Mars/Olympus'"),
    "control character in a name": ("load.csv", "", "contains a control character"),
}


def write(tmp_path, files: dict[str, str | None]) -> None:
    for name, content in files.items():
        if content is None:
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_text(content)
    (tmp_path / "garbage.parquet").write_bytes(b"PAR1 not really parquet \x00\x01")
    (tmp_path / "load.txt").write_text("timestamp,H1\n")


def import_cmd(tmp_path, extra=()) -> list[str]:
    opts = {"--load": "load.csv", "--pv": "pv.csv", "--tariffs": "tariffs.csv", "--p2p-allowed": "p2p.csv"}
    extra = list(extra)
    for i in range(0, len(extra) - 1, 2):
        if extra[i] in opts:
            opts[extra[i]] = extra[i + 1]
            extra[i:i + 2] = ["", ""]
    args = ["profiles", "import", "demo"]
    for opt, name in opts.items():
        args += [opt, str(tmp_path / name)]
    return args + [a for a in extra if a]


@pytest.fixture
def seeded(db_url, tmp_path):
    """A store holding one valid set ('base'); returns the row counts before the bad import."""
    good = tmp_path / "good"
    good.mkdir()
    write(good, valid_files())
    args = import_cmd(good)
    args[2] = "base"
    result = CliRunner().invoke(cli, ["--db", db_url, *args])
    assert result.exit_code == 0, result.output
    return table_counts(db_url)


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_input_is_refused_in_one_line(db_url, tmp_path, seeded, case):
    files = valid_files()
    extra = mutate(case, files)
    write(tmp_path, files)
    result = CliRunner().invoke(cli, ["--db", db_url, *import_cmd(tmp_path, extra)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output
    name, where, problem = CASES[case]
    message = result.output
    assert name in message and where in message and problem in message, message
    if name:  # the file is named first, then where, then the problem
        assert message.index(name) < message.index(problem)
    assert table_counts(db_url) == seeded


def test_valid_files_import_with_kinds_calendar_and_tariffs(db_url, tmp_path):
    write(tmp_path, valid_files())
    result = CliRunner().invoke(cli, ["--db", db_url, *import_cmd(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["status"] == "imported" and out["households"] == 3 and out["slots"] == 24
    show = json.loads(CliRunner().invoke(cli, ["--db", db_url, "profiles", "show", "demo", "--json"]).output)
    assert [m["kind"] for m in show["members"]] == ["prosumer", "prosumer", "consumer"]
    assert [m["buy"] for m in show["members"]] == [6.5, 6.0, 6.2]
    assert show["slot_minutes"] == 60 and show["tariffs"] == "flat"
    counts = table_counts(db_url)
    assert counts["profile_values"] == 3 * 24 and counts["profile_p2p"] == 24
    engine = create_engine(db_url)
    with engine.connect() as conn:
        off = conn.execute(text("SELECT slot FROM profile_p2p WHERE NOT p2p_allowed")).scalars().all()
    engine.dispose()
    assert off == [3]


def test_odd_but_legal_data_is_imported_with_warnings(db_url, tmp_path):
    files = valid_files()
    files["tariffs.csv"] = "household,buy,sell\nH1,3.0,3.2\nH2,6.0,3.0\nH3,6.2,0\n"  # H1 sells above buy
    files["load.csv"] = "\n".join(r if i == 0 else ",".join(r.split(",")[:3] + ["0"])
                                  for i, r in enumerate(lines(files["load.csv"]))) + "\n"  # H3 never loads
    write(tmp_path, files)
    result = CliRunner().invoke(cli, ["--db", db_url, *import_cmd(tmp_path)])
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert "Warning: " in err and "sell tariff above the buy tariff for 1 household(s) (first: 'H1')" in err
    assert "1 household(s) have zero load in every slot (first: 'H3')" in err
    assert "imported" in result.stdout
