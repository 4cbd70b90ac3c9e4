"""Queued runs on profile sets and tariff files: a worker process computes them from the
database alone (the files are gone by then), sweeps over sets and seeds work, and every run
settles exactly what ``p2pstore run`` settles for the same scenario."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from p2pstore.jobs.execute import run_scenario

from .conftest import run_rows

TIMES = pd.date_range("2025-01-01", periods=96 * 2, freq="15min")


def write_set(tmp_path, name: str, n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    names = [f"{name}-{i}" for i in range(n)]
    sun = np.clip(np.sin(np.pi * ((TIMES.hour + TIMES.minute / 60) - 6) / 12), 0, None)
    load = pd.DataFrame(rng.uniform(0.2, 1.5, (len(TIMES), n)), columns=names)
    pv = pd.DataFrame(np.outer(sun, rng.uniform(0, 3, n) * (np.arange(n) % 2)), columns=names)
    paths = {k: tmp_path / f"{name}-{k}.csv" for k in ("load", "pv", "tariffs")}
    load.assign(timestamp=TIMES).to_csv(paths["load"], index=False)
    pv.assign(timestamp=TIMES).to_csv(paths["pv"], index=False)
    pd.DataFrame({"household": names, "buy": 6.0, "sell": 3.0}).to_csv(paths["tariffs"], index=False)
    return ["--load", str(paths["load"]), "--pv", str(paths["pv"]), "--tariffs", str(paths["tariffs"])]


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_worker_settles_sweeps_over_sets_and_tariff_files(cli, store, workers, tmp_path):
    for name, n, seed in (("north", 5, 1), ("south", 7, 2)):
        assert cli("profiles", "import", name, *write_set(tmp_path, name, n, seed)).exit_code == 0
    tou = tmp_path / "tou.csv"
    hours = pd.date_range("2025-01-01", periods=48, freq="60min")
    pd.DataFrame({"timestamp": hours, "buy": np.where(hours.hour >= 17, 9.0, 4.0), "sell": 2.5}).to_csv(tou, index=False)

    sweep = cli("enqueue", "--sweep", "profiles=north,south", "--households", "3", "--seeds", "1..2",
                "--series", "none", "--batch", "sets", "--json")
    assert sweep.exit_code == 0, sweep.output
    tariffs = cli("enqueue", "--tariffs", str(tou), "--days", "2", "--series", "none", "--batch", "tou", "--json")
    assert tariffs.exit_code == 0, tariffs.output
    for path in tmp_path.glob("*.csv"):  # the worker must find everything in the database
        path.unlink()

    worker = workers("w1", "--burst", "--poll", "0.1")
    assert worker.wait() == 0
    rows = run_rows(store)
    assert [r["status"] for r in rows] == ["succeeded"] * 5

    ids = json.loads(sweep.output)["run_ids"]
    params = store.run_params(ids)
    assert params["profiles"].tolist() == ["north", "north", "south", "south"]
    assert params["seed"].tolist() == [1, 2, 1, 2]
    for run_id in ids:  # what the worker stored is what `run` settles for the same spec
        spec = store.scenario_of(run_id)
        _, direct = run_scenario(spec, store, series="none")
        got = store.bills(run_id, mechanism="mmr")
        assert got["household"].tolist() == list(direct.profiles.labels)
        np.testing.assert_allclose(got["bill"], direct.results["mmr"].bills, rtol=1e-12)
    north = [store.bills(i)["household"].unique().tolist() for i in ids[:2]]
    assert north[0] != north[1]  # seeds draw different households

    [tou_run] = json.loads(tariffs.output)["run_ids"]
    households = store.households(tou_run)
    # the stored mean tariff of a time-of-use day: 7 hours at 9, 17 at 4
    np.testing.assert_allclose(households["lambda_buy"], (7 * 9 + 17 * 4) / 24)
    np.testing.assert_allclose(households["lambda_sell"], 2.5)
