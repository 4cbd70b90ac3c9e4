"""``export``: one file per table, equal to what the readers return; parquet needs pyarrow."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest
from click.testing import CliRunner
from pg_databases import BACKENDS, drop_pg_database, make_pg_database

from p2pstore import Scenario, Store
from p2pstore.simulate import simulate

from p2pstore.cli import cli
from p2pstore.errors import DataWarning
from p2pstore.reports.export import export_run, export_tables

TABLES = list(export_tables())  # the store's list (EXPORT_TABLES): every export writes each of these


def test_export_csv(sweep, tmp_path):
    result = CliRunner().invoke(cli, ["--db", sweep.url, "export", str(sweep.ids[0]), "-o", str(tmp_path / "out")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == sorted([f"{t}.csv" for t in TABLES] + ["scenario.json", "manifest.json"])
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert (manifest["runs"], manifest["results_of"], manifest["complete"]) == (
        {str(sweep.ids[0]): "succeeded"}, [sweep.ids[0]], True)
    bills = pd.read_csv(tmp_path / "out" / "bills.csv")
    api = sweep.store.bills([sweep.ids[0]])
    assert list(bills["household"]) == list(api["household"])
    assert bills["bill"].to_numpy() == pytest.approx(api["bill"].to_numpy(), rel=1e-15)
    series = pd.read_csv(tmp_path / "out" / "household_series.csv")
    assert len(series) == len(sweep.store.series(sweep.ids[0])) > 0
    spec = json.loads((tmp_path / "out" / "scenario.json").read_text())
    assert spec["seed"] == 11 and spec["prosumers"] == 2


def test_export_parquet(sweep, tmp_path):
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
    assert "needs pyarrow" in result.output
    assert not (tmp_path / "pq").exists()


def test_export_unknown_run(sweep, tmp_path):
    result = CliRunner().invoke(cli, ["--db", sweep.url, "export", "777", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no run with id 777" in result.output
    assert not (tmp_path / "x").exists()


def test_export_files_equal_the_readers(sweep, tmp_path):
    """Every exported table holds the rows and values its reader returns, in the same order."""
    run_id = sweep.ids[0]
    export_run(sweep.store, run_id, tmp_path / "csv", "csv")
    export_run(sweep.store, run_id, tmp_path / "pq", "parquet")
    readers = {
        "households": sweep.store.households(run_id), "bills": sweep.store.bills([run_id]),
        "daily_bills": sweep.store.daily_bills([run_id]), "clearing_prices": sweep.store.prices([run_id]),
        "household_series": sweep.store.series(run_id), "community_series": sweep.store.community_series(run_id),
        "run_metrics": sweep.store.metrics(run_ids=[run_id]),
    }
    for name, api in readers.items():
        for got in (pd.read_csv(tmp_path / "csv" / f"{name}.csv"), pd.read_parquet(tmp_path / "pq" / f"{name}.parquet")):
            assert list(got.columns) == list(api.columns), name
            assert len(got) == len(api) > 0, name
            for col in api.columns:
                want = api[col].reset_index(drop=True)
                if pd.api.types.is_float_dtype(want):  # full precision, NULL as NaN
                    assert got[col].to_numpy(dtype=float) == pytest.approx(want.to_numpy(dtype=float), rel=0,
                                                                           abs=0, nan_ok=True), (name, col)
                elif not pd.api.types.is_datetime64_any_dtype(want):
                    assert list(got[col].astype(str)) == list(want.astype(str)), (name, col)
    prices = pd.read_parquet(tmp_path / "pq" / "clearing_prices.parquet")
    assert str(prices["ts"].dtype).startswith("datetime64") and prices["p2p_allowed"].dtype == bool


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_batch_export_covers_every_run_once_per_table(sweep, tmp_path, fmt):
    from p2pstore.reports.export import export_batch

    steps = []

    class Bar:
        def update(self, n):
            steps.append(n)

    def progress(total, label):
        import contextlib

        assert callable(total)  # counted only by a progress that is shown (a query per table)
        steps.append(("total", total()))
        return contextlib.nullcontext(Bar())

    with pytest.warns(DataWarning, match=r"batch 'sweep': 1 run\(s\) \(queued 1\) not finished"):
        paths = export_batch(sweep.store, "sweep", tmp_path / "b", fmt, partial=True, progress=progress)
    assert sorted(p.name for p in paths) == sorted([*(f"{t}.{fmt}" for t in TABLES), "manifest.json"])
    paths = [p for p in paths if p.name != "manifest.json"]
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    runs = read(tmp_path / "b" / f"runs.{fmt}")
    assert sorted(runs["run_id"]) == sorted([*sweep.ids, sweep.queued])  # every run of the batch, any status
    assert sweep.single not in set(runs["run_id"])
    for name in ("households", "bills", "daily_bills", "clearing_prices", "household_series", "run_metrics"):
        df = read(tmp_path / "b" / f"{name}.{fmt}")
        assert sorted(set(df["run_id"])) == sweep.ids, name  # the finished runs; the queued one has no rows
    series = read(tmp_path / "b" / f"household_series.{fmt}")
    assert len(series) == sum(len(sweep.store.series(r)) for r in sweep.ids)
    scenarios = read(tmp_path / "b" / f"scenarios.{fmt}")
    assert len(scenarios) == len(set(runs["scenario_id"]))
    total = steps[0][1]
    assert steps[0][0] == "total" and sum(steps[1:]) == total == sum(
        len(read(p)) for p in paths)


def test_streaming_in_small_chunks_gives_the_same_rows(sweep):
    run_id = sweep.ids[0]
    whole = [row for chunk in sweep.store.stream_table("household_series", [run_id]) for row in chunk.full_rows()]
    chunks = list(sweep.store.stream_table("household_series", [run_id], chunk_rows=7))
    assert max(len(c) for c in chunks) == 7
    assert [row for c in chunks for row in c.full_rows()] == whole
    assert len(whole) == sweep.store.count_rows("household_series", [run_id])
    api = sweep.store.series(run_id)
    assert [tuple(r) for r in api.itertuples(index=False)] == whole  # the reader's rows, in its order


def test_failed_export_leaves_no_half_written_file(sweep, tmp_path, monkeypatch):
    from p2pstore.reports import export_csv as export_module

    def broken(path, columns, chunks, bar):
        path.write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(export_module, "write_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        export_run(sweep.store, sweep.ids[0], tmp_path / "x", "csv")
    assert list((tmp_path / "x").iterdir()) == []


def test_export_needs_a_run_or_a_batch(sweep, tmp_path):
    for args in ([], [str(sweep.ids[0]), "--batch", "sweep"]):
        result = CliRunner().invoke(cli, ["--db", sweep.url, "export", *args, "-o", str(tmp_path / "y")])
        assert result.exit_code == 2 and "give a RUN_ID or --batch NAME" in result.output
    result = CliRunner().invoke(cli, ["--db", sweep.url, "export", "--batch", "nope", "-o", str(tmp_path / "y")])
    assert result.exit_code == 2 and "no batch named 'nope'" in result.output
    assert not (tmp_path / "y").exists()


def test_a_partial_batch_is_refused_or_exported_with_a_warning_and_a_manifest(sweep, tmp_path):
    """A batch with a queued run: refused in one line naming how many runs are not finished
    (nothing written); with --partial, exported with a warning, and manifest.json says which
    runs the files hold."""
    args = ["--db", sweep.url, "export", "--batch", "sweep", "-o"]
    refused = CliRunner().invoke(cli, [*args, str(tmp_path / "no")])
    assert refused.exit_code == 2
    assert refused.output.strip() == ("Error: batch 'sweep' has 1 run(s) (queued 1) not finished: export it when they "
                                      "are (p2pstore runs wait --batch sweep), or what is finished now with --partial")
    assert not (tmp_path / "no").exists()
    done = CliRunner().invoke(cli, [*args, str(tmp_path / "yes"), "--partial"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert done.stderr.strip() == (f"Warning: batch 'sweep': 1 run(s) (queued 1) not finished; the export holds the "
                                   f"results of the {len(sweep.ids)} finished run(s) (manifest.json lists them)")
    manifest = json.loads((tmp_path / "yes" / "manifest.json").read_text())
    assert manifest["batch"] == "sweep" and manifest["complete"] is False
    assert manifest["runs"] == {**{str(i): "succeeded" for i in sweep.ids}, str(sweep.queued): "queued"}
    assert manifest["results_of"] == sweep.ids and manifest["not_finished"] == [sweep.queued]
    assert sorted(manifest["files"]) == sorted(f"{t}.csv" for t in TABLES)
    assert sorted(set(pd.read_csv(tmp_path / "yes" / "bills.csv")["run_id"])) == sweep.ids


def test_the_list_of_exported_tables_has_the_battery_tables():
    assert TABLES[:9] == ["runs", "scenarios", "households", "bills", "daily_bills", "clearing_prices",
                          "household_series", "community_series", "run_metrics"]
    assert {"batteries", "battery_series"} <= set(TABLES) and len(set(TABLES)) == len(TABLES)


@pytest.fixture(params=BACKENDS)
def battery_store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'b.db'}" if request.param == "sqlite" else make_pg_database()
    store = Store(url)
    try:
        yield store
    finally:
        store.engine.dispose()
        if request.param != "sqlite":
            drop_pg_database(url)


def store_run(store: Store, scenario: Scenario) -> int:
    run_id = store.create_run(scenario, series="full")
    assert store.write_results(run_id, simulate(scenario), "full")
    return run_id


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_battery_tables_are_exported_with_rows_or_as_a_header_only(battery_store, tmp_path, fmt):
    """A run with batteries: one ``batteries`` row per battery, one ``battery_series`` row per
    battery and slot. A run without: both files are written all the same, with their columns and
    no row (every export has the same files, so scripts read them without checking)."""
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    days = 2
    with_batteries = store_run(battery_store, Scenario(days=days, battery_share=1.0, shared_battery_kwh=10.0,
                                                       consumers=2, prosumers=2))
    without = store_run(battery_store, Scenario(days=days, consumers=2, prosumers=2))
    export_run(battery_store, with_batteries, tmp_path / "with", fmt)
    export_run(battery_store, without, tmp_path / "without", fmt)
    batteries = read(tmp_path / "with" / f"batteries.{fmt}")
    assert sorted(batteries["household"]) == ["P1", "P2", "community_battery"]
    assert set(batteries["run_id"]) == {with_batteries} and (batteries["capacity_kwh"] > 0).all()
    series = read(tmp_path / "with" / f"battery_series.{fmt}")
    slots = days * 24 * 60 // Scenario().slot_minutes
    assert len(series) == 3 * slots and set(series["run_id"]) == {with_batteries}
    assert list(series.groupby("household")["slot"].nunique()) == [slots] * 3
    assert (series["soc_kwh"] >= 0).all() and (series["charge_kw"] * series["discharge_kw"] == 0).all()
    for name, frame in (("batteries", batteries), ("battery_series", series)):
        empty = read(tmp_path / "without" / f"{name}.{fmt}")
        assert list(empty.columns) == list(frame.columns) and len(empty) == 0, name
