"""Generated profiles written as profile-set CSV files read back to the same arrays, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from p2pstore.profiles import generate
from p2pstore.profiles.csv_export import FILES, write_profile_csvs
from p2pstore.scenario import Scenario


@pytest.mark.parametrize("generator", ["notebook", "standard"])
def test_wide_csv_files_round_trip(tmp_path, generator):
    p = generate(Scenario(generator=generator, consumers=2, prosumers=3, days=3, start="2028-02-28"))
    paths = write_profile_csvs(p, tmp_path / "set")
    assert sorted(paths) == sorted(FILES) and all(path.exists() for path in paths.values())

    def wide(name):
        return pd.read_csv(paths[name], index_col="timestamp", parse_dates=["timestamp"])

    load, pv = wide("load.csv"), wide("pv.csv")
    assert list(load.columns) == list(pv.columns) == ["C1", "C2", "P1", "P2", "P3"]  # every household
    assert np.array_equal(load.to_numpy().T, p.load_kw)
    assert np.array_equal(pv.to_numpy().T, p.pv_kw) and not p.pv_kw[:2].any()
    assert np.array_equal(load.index.to_numpy(), pd.DatetimeIndex(p.timestamps()).to_numpy())
    assert load.index[96 + 1] == pd.Timestamp("2028-02-29 00:15")      # slot starts, the leap day kept
    assert paths["load.csv"].read_text().splitlines()[1].startswith("2028-02-28 00:00:00,")

    tariffs = pd.read_csv(paths["tariffs.csv"])
    assert list(tariffs.columns) == ["household", "buy", "sell"]
    assert tariffs["household"].tolist() == p.labels.tolist()
    assert np.array_equal(tariffs["buy"].to_numpy(), p.lambda_buy)
    assert np.array_equal(tariffs["sell"].to_numpy(), p.lambda_sell)

    allowed = pd.read_csv(paths["p2p_allowed.csv"], index_col="timestamp", parse_dates=["timestamp"])
    assert allowed["p2p_allowed"].dtype == bool
    assert np.array_equal(allowed["p2p_allowed"].to_numpy(), p.p2p_allowed) and not p.p2p_allowed.all()


def test_time_varying_tariffs_are_written_per_slot_and_import_to_the_same_set(tmp_path):
    """Per-slot tariffs go to tariffs.csv as timestamp, household, buy, sell; importing the four
    files gives the data (content hash) of ProfileSet.from_profiles of the same community."""
    from p2pstore.profiles.importer import read_profile_set
    from p2pstore.profiles.sets import ProfileSet, TariffTable, with_tariffs

    p = generate(Scenario(consumers=1, prosumers=2, days=2, start="2025-06-01"))
    h = p.n_slots
    buy = np.vstack([np.linspace(5, 8, h), np.linspace(4, 6, h), np.linspace(4, 6, h)])  # two share a series
    sell = np.vstack([np.zeros(h), np.linspace(-1, 3, h), np.linspace(-1, 3, h)])
    table = TariffTable.time_varying_from_rows(("C1", "P1", "P2"), buy, sell, p.start, 15)
    p = with_tariffs(p, table)
    paths = write_profile_csvs(p, tmp_path)
    tariffs = pd.read_csv(paths["tariffs.csv"])
    assert list(tariffs.columns) == ["timestamp", "household", "buy", "sell"] and len(tariffs) == 3 * h
    assert tariffs["household"].tolist()[:4] == ["C1", "P1", "P2", "C1"]
    assert np.array_equal(tariffs["buy"].to_numpy().reshape(h, 3).T, buy)
    imported = read_profile_set(load=paths["load.csv"], pv=paths["pv.csv"], tariffs=paths["tariffs.csv"],
                                p2p_allowed=paths["p2p_allowed.csv"])
    generated = ProfileSet.from_profiles(p)
    assert generated.tariffs.buy.shape == (2, h)  # distinct series kept once
    assert imported.content_hash == generated.content_hash
    assert imported.kinds.tolist() == generated.kinds.tolist() == ["consumer", "prosumer", "prosumer"]
    back = imported.to_profiles()
    assert np.array_equal(back.lambda_buy, p.lambda_buy) and np.array_equal(back.lambda_sell, p.lambda_sell)
