"""No CSV p2pstore writes holds a text cell a spreadsheet would evaluate as a formula.

Households named like formulas (``=1+1``, ``+1+1``, ``@SUM(A1)``, ``-2+3``, a tab or a carriage
return first) are imported and stored as they are; every CSV writer (``export`` of a run and of
a batch, through both of its formatting paths, ``query``, ``bills``, ``compare``, ``runs list``,
the profile files of ``profiles generate --write-csv``) writes them with a leading ``'``, and
numbers (``-0.5``) as numbers. SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner
from profile_csv import import_args, write_community

from p2pstore.cli import cli
from p2pstore.csv_cells import FORMULA_STARTS, safe_cell, safe_frame, safe_text_array

HOSTILE = ["=1+1", "+1+1", "@SUM(A1)", "-2+3", "=HYPERLINK(\"http://x\";\"y\")", "\t=1", "H6"]
# the CSV files of the import cannot hold a tab or a quote unquoted: write them quoted below
SAFE_IN_FILES = ["=1+1", "+1+1", "@SUM(A1)", "-2+3", "=cmd|' /C calc'!A0", "H6"]


def invoke(db_url, *args):
    result = CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def formula_cells(text: str) -> list[str]:
    """The cells of CSV ``text`` a spreadsheet would evaluate: text starting with one of
    ``= + - @ tab CR`` that is not a number."""
    found = []
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if cell[:1] in FORMULA_STARTS:
                try:
                    float(cell)
                except ValueError:
                    found.append(cell)
    return found


@pytest.fixture
def hostile_run(db_url, tmp_path):
    rng = np.random.default_rng(3)
    n, h = len(SAFE_IN_FILES), 96
    load = rng.uniform(0.1, 2.0, (n, h))
    pv = np.zeros((n, h))
    pv[::2] = rng.uniform(0.0, 3.0, (n // 2, h))
    files = write_community(tmp_path / "files", load, pv, [0.3] * n, [0.05] * n, names=SAFE_IN_FILES)
    invoke(db_url, *import_args("hostile", files))
    invoke(db_url, "run", "--profiles", "hostile", "--batch", "=batch()", "--series", "full")
    return db_url


def test_the_store_keeps_the_names_and_csv_neutralises_them(hostile_run, tmp_path):
    db = hostile_run
    stored = invoke(db, "query", "SELECT household FROM households WHERE run_id = 1 ORDER BY position",
                    "--format", "json")
    assert "\"=1+1\"" in stored  # the store and JSON keep the imported names
    outputs = {
        "query": invoke(db, "query", "SELECT household, bill, '-x' AS \"=col\" FROM bills", "--format", "csv"),
        "bills": invoke(db, "bills", "1", "--format", "csv"),
        "runs list": invoke(db, "runs", "list", "--format", "csv"),
        "compare": invoke(db, "compare", "--runs", "1", "--format", "csv"),
        "compare --pivot": invoke(db, "compare", "--runs", "1", "--pivot", "mean", "--format", "csv"),
    }
    invoke(db, "export", "1", "-o", str(tmp_path / "run"))
    invoke(db, "export", "--batch", "=batch()", "-o", str(tmp_path / "batch"))
    for where in ("run", "batch"):
        for path in sorted((tmp_path / where).glob("*.csv")):
            outputs[f"export {where} {path.name}"] = path.read_text()
    for name, text in outputs.items():
        assert formula_cells(text) == [], name
    assert "'=1+1" in outputs["bills"] and "'-2+3" in outputs["bills"] and "'@SUM(A1)" in outputs["bills"]
    assert "'=col" in outputs["query"] and "'-x" in outputs["query"]
    assert "'=batch()" in outputs["runs list"]
    series = outputs["export run household_series.csv"]
    assert "'+1+1" in series and "'=cmd|' /C calc'!A0" in series
    assert any(c.startswith("-") for row in csv.reader(io.StringIO(series)) for c in row)  # numbers stay numbers
    assert "'=1+1" in outputs["export batch households.csv"] and "'=batch()" in outputs["export batch runs.csv"]


def test_parquet_keeps_the_stored_names(hostile_run, tmp_path):
    import pyarrow.parquet as pq

    invoke(hostile_run, "export", "1", "--format", "parquet", "-o", str(tmp_path / "pq"))
    names = pq.read_table(tmp_path / "pq" / "households.parquet").column("household").to_pylist()
    assert names == SAFE_IN_FILES


def test_profile_files_neutralise_labels(tmp_path):
    from p2pstore.profiles import generate
    from p2pstore.profiles.csv_export import write_profile_csvs
    from p2pstore.scenario import Scenario

    profiles = generate(Scenario(days=1, consumers=3, prosumers=4))
    profiles = dataclasses.replace(profiles, labels=np.array(HOSTILE))
    paths = write_profile_csvs(profiles, tmp_path)
    for name, path in paths.items():
        text = path.read_text()
        assert formula_cells(text) == [], name
    assert "'=1+1" in paths["load.csv"].read_text() and "'@SUM(A1)" in paths["tariffs.csv"].read_text()


@pytest.mark.parametrize("value", [*HOSTILE, "", None, "'=x", "a=b", "\r\n", "-", 3, -2.5, True])
def test_the_column_rule_is_the_cell_rule(value):
    column = safe_text_array(pa.array([value if isinstance(value, (str, type(None))) else str(value)],
                                      type=pa.string()))
    cell = safe_cell(value if isinstance(value, (str, type(None))) else str(value))
    assert column.to_pylist() == [cell]
    assert safe_cell(value) == (("'" + value) if isinstance(value, str) and value[:1] in "=+-@\t\r" and value
                                else value)


def test_frames_keep_numbers_and_neutralise_text_and_headers():
    df = pd.DataFrame({"=h": ["=1", "ok", None], "n": [-1.5, 2.0, -3.0], "i": [-1, 2, 3]})
    out = safe_frame(df)
    assert list(out.columns) == ["'=h", "n", "i"]
    assert out["'=h"].tolist()[:2] == ["'=1", "ok"] and out["n"].tolist() == [-1.5, 2.0, -3.0]
    assert df.columns[0] == "=h" and df["=h"][0] == "=1"  # the caller's frame is left alone
    assert "-1.5" in out.to_csv(index=False)
