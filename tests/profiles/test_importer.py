"""The importer without a database: formats, units, time zones, slot inference and resampling,
calendars, tariffs (flat, time-varying, community-wide), DataFrames, content hashes."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from p2pstore.errors import DataWarning, InputError
from p2pstore.profiles.importer import read_profile_set, read_tariffs
from p2pstore.profiles.sets import TariffTable, draw_households, resample

pytestmark = pytest.mark.filterwarnings("ignore:no household has PV:p2pstore.errors.DataWarning")


def wide(times, columns: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame({"timestamp": times, **columns})


HALF_HOURS = pd.date_range("2025-01-01", periods=8, freq="30min")
LOAD = wide(HALF_HOURS, {"a": [1, 2, 3, 4, 5, 6, 7, 8], "b": [0.5] * 8})
PV = wide(HALF_HOURS, {"a": [0, 0, 1, 2, 2, 1, 0, 0], "b": [0.0] * 8})
FLAT = pd.DataFrame({"household": ["a", "b"], "buy": [6.0, 5.0], "sell": [3.0, 0.0]})


def test_dataframes_in_file_order_with_kinds():
    s = read_profile_set(load=LOAD, pv=PV, tariffs=FLAT)
    assert s.names == ("a", "b") and list(s.kinds) == ["prosumer", "consumer"]
    assert s.slot_minutes == 30 and s.n_slots == 8 and s.start == dt.datetime(2025, 1, 1)
    assert s.timezone == "UTC" and s.p2p_allowed.all()
    np.testing.assert_array_equal(s.load_kw[0], np.arange(1, 9))
    p = s.community()
    assert p.slot_hours == 0.5 and p.periods_per_day == 48 and p.days == 1  # a partial day counts
    np.testing.assert_array_equal(p.lambda_buy, [6.0, 5.0])
    assert p.lambda_sell_ref == 3.0


def test_datetime_index_and_column_order_of_pv_do_not_matter():
    s = read_profile_set(load=LOAD.set_index("timestamp"), pv=PV[["timestamp", "b", "a"]], tariffs=FLAT)
    np.testing.assert_array_equal(s.pv_kw[0], PV["a"])
    assert s.content_hash == read_profile_set(load=LOAD, pv=PV, tariffs=FLAT).content_hash


def test_kwh_unit_and_resampling_conserve_energy():
    kwh = LOAD.assign(a=LOAD["a"] * 0.5, b=LOAD["b"] * 0.5)  # energy per 30-minute slot
    s = read_profile_set(load=kwh, unit="kWh", tariffs=FLAT)
    np.testing.assert_allclose(s.load_kw, read_profile_set(load=LOAD, tariffs=FLAT).load_kw)
    fine = read_profile_set(load=LOAD, pv=PV, tariffs=FLAT, slot_minutes=15)
    assert fine.n_slots == 16 and fine.slot_minutes == 15
    np.testing.assert_array_equal(fine.load_kw[0, :4], [1, 1, 2, 2])
    coarse = read_profile_set(load=LOAD, pv=PV, tariffs=FLAT, slot_minutes=60)
    np.testing.assert_array_equal(coarse.load_kw[0], [1.5, 3.5, 5.5, 7.5])
    for r in (fine, coarse):  # kWh over the horizon is unchanged
        np.testing.assert_allclose(r.load_kw.sum(axis=1) * r.slot_minutes / 60, LOAD[["a", "b"]].sum() * 0.5)


def test_coarser_slots_drop_an_incomplete_tail_with_a_warning():
    with pytest.warns(DataWarning, match="the last 1 step"):
        s = read_profile_set(load=LOAD.iloc[:7], tariffs=FLAT, slot_minutes=60)
    assert s.n_slots == 3


def test_resampling_refuses_misaligned_or_incompatible_slots():
    shifted = LOAD.assign(timestamp=HALF_HOURS + pd.Timedelta("30min"))
    with pytest.raises(InputError, match="not on a 60-minute boundary"):
        read_profile_set(load=shifted, tariffs=FLAT, slot_minutes=60)
    five = wide(pd.date_range("2025-01-01", periods=6, freq="5min"), {"a": [1.0] * 6})
    with pytest.raises(InputError, match="cannot resample 5-minute steps to 15-minute|fewer timestamps"):
        read_profile_set(load=five.iloc[:2], tariffs=FLAT.iloc[:1], slot_minutes=15)


def test_aware_timestamps_are_converted_naive_ones_kept():
    text = [t.strftime("%Y-%m-%dT%H:%M:%S+10:00") for t in HALF_HOURS]
    aware = LOAD.assign(timestamp=text)
    own = read_profile_set(load=aware, tariffs=FLAT)
    assert own.start == dt.datetime(2025, 1, 1) and own.timezone == "UTC+10:00"
    utc = read_profile_set(load=aware, tariffs=FLAT, timezone="UTC")
    assert utc.start == dt.datetime(2024, 12, 31, 14) and utc.timezone == "UTC"
    naive = read_profile_set(load=LOAD, tariffs=FLAT, timezone="Australia/Brisbane")
    assert naive.start == dt.datetime(2025, 1, 1) and naive.timezone == "Australia/Brisbane"
    assert naive.content_hash != read_profile_set(load=LOAD, tariffs=FLAT).content_hash


def test_several_offsets_without_a_zone_are_read_in_utc_with_a_warning():
    times = ["2025-03-30T00:00:00+01:00", "2025-03-30T01:00:00+01:00", "2025-03-30T03:00:00+02:00",
             "2025-03-30T04:00:00+02:00"]
    df = pd.DataFrame({"timestamp": times, "a": [1.0, 1, 1, 1]})
    with pytest.warns(DataWarning, match="several UTC offsets"):
        s = read_profile_set(load=df, tariffs=FLAT.iloc[:1])
    assert s.start == dt.datetime(2025, 3, 29, 23) and s.slot_minutes == 60 and s.n_slots == 4


def test_long_format_with_kwh_columns_and_numeric_names(tmp_path):
    rows = [(t, hh, v * 0.25, p * 0.25) for t in pd.date_range("2025-01-01", periods=4, freq="15min")
            for hh, v, p in (("0042", 1.0, 0.0), ("7", 2.0, 1.0))]
    df = pd.DataFrame(rows, columns=["timestamp", "household", "load_kwh", "pv_kwh"]).sample(frac=1, random_state=1)
    path = tmp_path / "long.csv"
    df.to_csv(path, index=False)
    tariffs = pd.DataFrame({"household": ["0042", "7"], "buy": [1.0, 2.0], "sell": [0.0, 1.0]})
    s = read_profile_set(long=path, tariffs=tariffs)
    assert set(s.names) == {"0042", "7"}  # names stay text: leading zeros kept
    k = s.names.index("7")
    np.testing.assert_array_equal(s.load_kw[k], [2.0] * 4)
    np.testing.assert_array_equal(s.pv_kw[k], [1.0] * 4)
    assert s.kinds[k] == "prosumer" and s.kinds[1 - k] == "consumer"
    with pytest.raises(InputError, match="contradicts the column names"):
        read_profile_set(long=path, tariffs=tariffs, unit="kW")
    df.to_parquet(tmp_path / "long.parquet", index=False)  # Parquet: the same set
    assert read_profile_set(long=tmp_path / "long.parquet", tariffs=tariffs).content_hash == s.content_hash


def test_long_format_missing_and_duplicate_rows():
    base = pd.DataFrame({"timestamp": list(HALF_HOURS[:3]) * 2, "household": ["a"] * 3 + ["b"] * 3,
                         "load_kw": [1.0] * 6})
    with pytest.raises(InputError, match=r"long DataFrame: household 'b' has no row for 2025-01-01 00:30"):
        read_profile_set(long=base.drop(index=4), tariffs=FLAT)
    dup = pd.concat([base, base.iloc[[1]]], ignore_index=True)
    with pytest.raises(InputError, match=r"row 7, column 'timestamp': duplicate row for household 'a'"):
        read_profile_set(long=dup, tariffs=FLAT)


def test_calendar_resampled_off_if_off_anywhere_in_the_slot():
    flags = pd.DataFrame({"timestamp": pd.date_range("2025-01-01", periods=16, freq="15min"),
                          "p2p_allowed": [True] * 5 + [False] + [True] * 10})
    s = read_profile_set(load=LOAD, tariffs=FLAT, p2p_allowed=flags)
    np.testing.assert_array_equal(s.p2p_allowed, [True, True, False, True, True, True, True, True])


def test_time_varying_tariffs_upsampled_cut_and_shared():
    hourly = pd.date_range("2024-12-31 23:00", periods=6, freq="60min")
    tou = pd.DataFrame({"timestamp": hourly, "buy": [9.0, 1, 2, 3, 4, 9], "sell": [0.0, -1, 0, 1, 2, 0]})
    s = read_profile_set(load=LOAD, pv=PV, tariffs=tou)  # one tariff for every household
    assert s.tariffs.time_varying and s.tariffs.buy.shape == (1, 8)  # stored once, 30-minute slots
    p = s.community()
    assert p.lambda_buy.shape == (2, 8) and p.lambda_buy.strides[0] == 0  # a broadcast view
    np.testing.assert_array_equal(p.lambda_buy[1], [1, 1, 2, 2, 3, 3, 4, 4])
    np.testing.assert_array_equal(p.lambda_sell_ref, [0, 0, 0, 0, 1, 1, 2, 2])  # mean of positive sells


def test_per_household_time_varying_tariffs_merge_identical_series():
    times = list(HALF_HOURS)
    rows = [(t, hh, 5.0 + (k % 2), 1.0) for k, t in enumerate(times) for hh in ("a", "b", "c")]
    rows = [(t, hh, buy + (hh == "c"), sell) for t, hh, buy, sell in rows]  # a and b share a series
    table = read_tariffs(pd.DataFrame(rows, columns=["timestamp", "household", "buy", "sell"]))
    assert table.households == ("a", "b", "c") and table.buy.shape == (2, 8)
    np.testing.assert_array_equal(table.series_of, [0, 0, 1])
    buy, _ = table.for_households(["c", "a"], HALF_HOURS[2].to_pydatetime(), 30, 4)
    np.testing.assert_array_equal(buy, [[6, 7, 6, 7], [5, 6, 5, 6]])
    with pytest.raises(InputError, match="time-varying tariffs cover .* not every slot"):
        table.for_households(["a"], HALF_HOURS[6].to_pydatetime(), 30, 4)
    with pytest.raises(InputError, match="tariffs missing for household 'z'"):
        table.for_households(["z"], HALF_HOURS[0].to_pydatetime(), 30, 1)


def test_flat_tariff_table_checks_and_warnings(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("household,buy,sell\na,6,3\na,5,2\n")
    with pytest.raises(InputError, match=r"t.csv: line 3: a second flat tariff for household 'a'"):
        read_tariffs(path)
    path.write_text("buy,sell\n6,-1\n")
    table = read_tariffs(path)
    assert table.households is None and not table.time_varying
    np.testing.assert_array_equal(table.for_households(["x", "y"], dt.datetime(2025, 1, 1), 15, 4)[1], [-1, -1])
    path.write_text("household,buy,sell\na,3,4\n")
    with pytest.warns(DataWarning, match="sell tariff above the buy tariff"):
        read_tariffs(path)


def test_content_hash_depends_on_every_value():
    a = read_profile_set(load=LOAD, pv=PV, tariffs=FLAT)
    assert a.content_hash == read_profile_set(load=LOAD.copy(), pv=PV, tariffs=FLAT).content_hash
    nudged = LOAD.assign(a=LOAD["a"] + np.r_[0, 0, 0, 1e-12, 0, 0, 0, 0])
    assert read_profile_set(load=nudged, pv=PV, tariffs=FLAT).content_hash != a.content_hash
    other_tariffs = FLAT.assign(sell=[3.0, 0.5])
    assert read_profile_set(load=LOAD, pv=PV, tariffs=other_tariffs).content_hash != a.content_hash
    assert read_profile_set(load=LOAD, pv=PV).content_hash != a.content_hash


def test_the_callers_dataframe_is_left_alone():
    df = pd.DataFrame({"timestamp": HALF_HOURS, 1: [1.0] * 8})
    read_profile_set(load=df, tariffs=pd.DataFrame({"buy": [1.0], "sell": [0.0]}))
    assert list(df.columns) == ["timestamp", 1]


def test_no_pv_warns_and_a_run_needs_tariffs():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = read_profile_set(load=LOAD)
    assert any("no household has PV" in str(w.message) for w in caught)
    assert s.tariffs is None
    with pytest.raises(InputError, match="has no tariffs"):
        s.community()
    table = TariffTable(None, np.array([6.0]), np.array([0.0]))
    assert s.community(tariffs=table).lambda_buy.tolist() == [6.0, 6.0]


def test_windows_and_draws():
    s = read_profile_set(load=wide(pd.date_range("2025-01-01", periods=96 * 3, freq="15min"),
                                   {f"h{i}": [float(i + 1)] * 288 for i in range(10)}), tariffs=FLAT.iloc[1:].assign(household=None).drop(columns="household"))
    first, n = s.shape.window("2025-01-02", 1)
    assert (first, n) == (96, 96)
    assert s.shape.window(None, None) == (0, 288) and s.shape.window("2025-01-02", None) == (96, 192)
    with pytest.raises(InputError, match=r"3 day\(s\) from 2025-01-02 do not fit in profile set, which covers "
                                         r"2025-01-01 00:00 to 2025-01-03 23:45 \(3 days of 15-minute slots\)"):
        s.shape.window("2025-01-02", 3)
    with pytest.raises(InputError, match="from 2024-12-31 do not fit"):
        s.community(start="2024-12-31")
    p = s.community(households=4, seed=7, start="2025-01-03", days=1)
    assert p.n_households == 4 and p.n_slots == 96 and p.start == dt.datetime(2025, 1, 3)
    rows = draw_households(10, 4, 7)
    assert list(p.labels) == [f"h{i}" for i in rows] and list(rows) == sorted(rows)
    np.testing.assert_array_equal(p.load_kw[:, 0], rows + 1.0)
    assert list(draw_households(10, 4, 7)) == list(rows)  # reproducible
    assert len({tuple(draw_households(10, 4, seed)) for seed in range(20)}) > 10  # seeds vary the community
    with pytest.raises(InputError, match="cannot draw 11 households from profile set, which has 10"):
        s.community(households=11)


def test_resample_helper():
    x = np.array([[1.0, 3.0, 5.0, 7.0]])
    np.testing.assert_array_equal(resample(x, 30, 60), [[2.0, 6.0]])
    np.testing.assert_array_equal(resample(x, 60, 30), [[1, 1, 3, 3, 5, 5, 7, 7]])
    np.testing.assert_array_equal(resample(np.array([True, False, True, True]), 15, 30, how="all"), [False, True])
