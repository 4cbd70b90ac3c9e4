"""``export``: one file per table, equal to what the readers return; parquet needs pyarrow."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from p2pstore.cli import cli
from p2pstore.reports.export import export_run

TABLES = ["runs", "scenarios", "households", "bills", "daily_bills", "clearing_prices",
          "household_series", "community_series", "run_metrics"]


def test_export_csv(sweep, tmp_path):
    result = CliRunner().invoke(cli, ["--db", sweep.url, "export", str(sweep.ids[0]), "-o", str(tmp_path / "out")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == sorted([f"{t}.csv" for t in TABLES] + ["scenario.json"])
    bills = pd.read_csv(tmp_path / "out" / "bills.csv")
    api = sweep.store.bills([sweep.ids[0]])
    assert list(bills["household"]) == list(api["household"])
    assert bills["bill"].to_numpy() == pytest.approx(api["bill"].to_numpy(), rel=1e-15)
    series = pd.read_csv(tmp_path / "out" / "household_series.csv")
    assert len(series) == len(sweep.store.series(sweep.ids[0])) > 0
    spec = json.loads((tmp_path / "out" / "scenario.json").read_text())
    assert spec["seed"] == 11 and spec["prosumers"] == 2


def test_export_parquet(sweep, tmp_path):
    pytest.importorskip("pyarrow")
    paths = export_run(sweep.store, sweep.ids[0], tmp_path / "pq", "parquet")
    assert {p.name for p in paths} >= {f"{t}.parquet" for t in TABLES}
    prices = pd.read_parquet(tmp_path / "pq" / "clearing_prices.parquet")
    assert len(prices) == len(sweep.store.prices([sweep.ids[0]]))


def test_export_parquet_without_pyarrow(sweep, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import fails as if not installed
    result = CliRunner().invoke(cli, ["--db", sweep.url, "export", str(sweep.ids[0]), "--format", "parquet",
                                      "-o", str(tmp_path / "pq")])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert "pip install 'p2pstore[parquet]'" in result.output
    assert not (tmp_path / "pq").exists()


def test_export_unknown_run(sweep, tmp_path):
    result = CliRunner().invoke(cli, ["--db", sweep.url, "export", "777", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no run with id 777" in result.output
    assert not (tmp_path / "x").exists()
