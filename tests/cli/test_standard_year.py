"""A stored year of the standard generator has seasons, nights and noons (community_series, both
backends), and the same seed stores the same totals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from p2pstore import Store
from p2pstore.cli import cli


def run_json(db_url, *args) -> dict:
    result = CliRunner().invoke(cli, ["--db", db_url, "run", "--generator", "standard", "--json", *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_a_standard_year_has_seasons_nights_and_noons(db_url):
    first = run_json(db_url, "--days", "365", "--start", "2025-01-01", "--seed", "1", "--series", "community")
    again = run_json(db_url, "--days", "365", "--start", "2025-01-01", "--seed", "1", "--series", "none")
    other = run_json(db_url, "--days", "365", "--start", "2025-01-01", "--seed", "2", "--series", "none")
    assert again["totals"] == first["totals"] and again["bills"] == first["bills"]
    assert all(other["totals"][m] != pytest.approx(first["totals"][m], rel=1e-6) for m in first["totals"])

    store = Store(db_url)
    try:
        series = store.community_series(first["run_id"], mechanism="conventional")
        params = store.run_params([first["run_id"]]).iloc[0]
    finally:
        store.close()
    assert params["generator"] == "standard" and params["weather"] == "723170TYA.CSV"
    assert len(series) == 365 * 96 and series["slot"].tolist() == list(range(365 * 96))
    ts = pd.Timestamp("2025-01-01") + pd.to_timedelta(series["slot"] * 15, unit="min")
    month, hour = ts.dt.month.to_numpy(), ts.dt.hour.to_numpy()
    load, pv = series["load_kw"].to_numpy(), series["pv_kw"].to_numpy()

    assert pv[month == 6].sum() >= 1.3 * pv[month == 12].sum()
    assert load[month == 1].sum() >= 1.05 * load[month == 7].sum()
    assert pv[hour < 3].max() == 0.0 and load[hour < 3].min() > 0.0
    by_hour = pd.Series(pv).groupby(hour).mean()
    assert 11 <= by_hour.idxmax() <= 13 and by_hour[12] > 2 * by_hour[8] and by_hour[12] > 2 * by_hour[16]
    assert (pv[(hour >= 11) & (hour < 14)].reshape(365, 12).sum(axis=1) > 0).all()   # daylight at noon every day


def test_generator_flag_is_checked(db_url):
    result = CliRunner().invoke(cli, ["--db", db_url, "run", "--generator", "weather"])
    assert result.exit_code == 2 and "'generator': unknown generator 'weather' (known: notebook, standard)" in result.output
    assert result.output.count("\n") == 1, result.output
