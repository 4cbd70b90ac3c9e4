"""Files as researchers have them: spreadsheet exports (separator, decimal comma, day-first dates),
local wall-clock time across both daylight-saving changes, UTC offsets, and the strict checks
(times that do not exist, booleans, absurd values, memory, names equal but for case, unit
mistakes). Without a database; the CLI and both backends are in tests/cli/test_real_world_imports.py."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from p2pstore.errors import DataWarning, InputError
from p2pstore.profiles.importer import read_profile_set
from real_world_data import BERLIN, GERMAN, berlin_data, write_files

FLAT = pd.DataFrame({"household": ["H1", "H2"], "buy": [0.32, 0.30], "sell": [0.0, 0.08]})


def read_style(tmp_path, style: str, **extra):
    files = write_files(tmp_path, style)
    options = GERMAN if style == "german" else {}
    return read_profile_set(load=files["load"], pv=files["pv"], tariffs=FLAT, timezone=BERLIN, **options, **extra)


def test_utc_offsets_naive_local_time_and_german_export_give_the_same_set(tmp_path):
    sets = {style: read_style(tmp_path, style) for style in ("utc_offsets", "naive_local", "german")}
    _, load, pv = berlin_data()
    for style, s in sets.items():
        np.testing.assert_array_equal(s.load_kw, load.T, err_msg=style)
        np.testing.assert_array_equal(s.pv_kw, pv.T, err_msg=style)
        assert s.timezone == "Europe/Berlin standard time UTC+01:00", style
        assert s.start == pd.Timestamp("2025-03-29 00:00"), style
    assert len({s.content_hash for s in sets.values()}) == 1


def test_spring_gap_is_not_missing_slots_and_the_autumn_hour_is_resolved_by_order(tmp_path):
    s = read_style(tmp_path, "naive_local")
    instants, _, _ = berlin_data()
    assert s.n_slots == len(instants)
    # on standard time the grid is regular: 29 March 00:00 + k hours, every slot one real hour
    standard = (instants.tz_convert("UTC").tz_localize(None) + pd.Timedelta(hours=1)).to_numpy()
    np.testing.assert_array_equal(np.datetime64(s.start, "h") + np.arange(s.n_slots) * np.timedelta64(1, "h"),
                                  standard.astype("datetime64[h]"))


def test_a_local_file_without_daylight_saving_change_keeps_its_wall_clock(tmp_path):
    (tmp_path / "load.csv").write_text("timestamp,H1\n2025-07-01 00:00,0.5\n2025-07-01 01:00,0.4\n")
    s = read_profile_set(load=str(tmp_path / "load.csv"), timezone=BERLIN)
    assert s.timezone == BERLIN and s.start == pd.Timestamp("2025-07-01 00:00")


def test_local_times_that_do_not_exist_are_refused(tmp_path):
    rows = ["timestamp,H1", "2025-03-30 01:45,0.3"] + [f"2025-03-30 02:{m:02d},0.3" for m in (0, 15, 30, 45)] + \
           ["2025-03-30 03:00,0.3"]
    (tmp_path / "load.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError) as err:
        read_profile_set(load=str(tmp_path / "load.csv"), timezone=BERLIN)
    message = str(err.value)
    assert "line 3" in message and "2025-03-30 02:00 does not exist in Europe/Berlin" in message
    assert "\n" not in message


def test_mixed_offsets_without_a_zone_warn_with_advice_that_works(tmp_path):
    files = write_files(tmp_path, "utc_offsets")
    with pytest.warns(DataWarning, match="--timezone Europe/Berlin"):
        utc = read_profile_set(load=files["load"], pv=files["pv"], tariffs=FLAT)
    assert utc.timezone == "UTC"
    zoned = read_profile_set(load=files["load"], pv=files["pv"], tariffs=FLAT, timezone=BERLIN)
    np.testing.assert_array_equal(zoned.load_kw, utc.load_kw)


def test_a_repeated_hour_without_a_zone_says_how_to_read_it(tmp_path):
    files = write_files(tmp_path, "naive_local")
    with pytest.raises(InputError, match="duplicate timestamp 2025-10-26 02:00.*--timezone"):
        read_profile_set(load=files["load"])


def test_a_semicolon_file_read_with_commas_names_the_separator(tmp_path):
    files = write_files(tmp_path, "german")
    with pytest.raises(InputError, match=r"semicolon-separated, give --sep ';'"):
        read_profile_set(load=files["load"])


def test_a_date_that_does_not_match_the_format_names_its_line(tmp_path):
    (tmp_path / "load.csv").write_text("timestamp;H1\n01.01.2025 00:00;0,5\n2025-01-01 01:00;0,4\n")
    with pytest.raises(InputError, match=r"line 3.*does not match --date-format '%d.%m.%Y %H:%M'"):
        read_profile_set(load=str(tmp_path / "load.csv"), **GERMAN)


# -- strict values -------------------------------------------------------------------------------
TIMES = pd.date_range("2025-01-01", periods=96, freq="15min")


def frame(**columns) -> pd.DataFrame:
    return pd.DataFrame({"timestamp": TIMES, **columns})


@pytest.mark.parametrize("fmt", ["csv", "parquet", "dataframe"])
def test_boolean_columns_are_refused_in_every_format(tmp_path, fmt):
    df = frame(H1=np.full(96, 0.4), H2=[True, False] * 48)
    source = {"csv": tmp_path / "load.csv", "parquet": tmp_path / "load.parquet", "dataframe": df}[fmt]
    if fmt == "csv":
        df.to_csv(source, index=False)
    elif fmt == "parquet":
        df.to_parquet(source)
    with pytest.raises(InputError, match=r"column 'H2': a boolean"):
        read_profile_set(load=source if fmt != "dataframe" else df)


def test_booleans_mixed_with_numbers_are_refused():
    df = frame(H1=np.array([0.4] * 95 + [True], dtype=object))
    with pytest.raises(InputError, match=r"row 96, column 'H1': a boolean \(True\), not a number"):
        read_profile_set(load=df)


@pytest.mark.parametrize("values, problem", [
    (np.full(96, 1e300), r"load 1e\+300 kW is above the physical bound of 100000 kW"),
    (np.full(96, 10**18, dtype=np.int64), r"load 1e\+18 kW is above the physical bound"),
])
def test_values_above_the_physical_bound_are_refused(tmp_path, values, problem):
    path = tmp_path / "load.parquet"
    frame(H1=values).to_parquet(path)
    with pytest.raises(InputError, match=problem):
        read_profile_set(load=str(path))


def test_absurd_tariffs_are_refused():
    tariffs = pd.DataFrame({"household": ["H1"], "buy": [1e300], "sell": [0.0]})
    with pytest.raises(InputError, match="tariff 1e\\+300 per kWh is above the physical bound"):
        read_profile_set(load=frame(H1=np.full(96, 0.4)), tariffs=tariffs)


def test_dates_as_values_are_refused():
    with pytest.raises(InputError, match=r"column 'H1': a column of datetime64"):
        read_profile_set(load=frame(H1=TIMES))


def test_a_large_file_is_refused_before_reading_when_memory_is_short(tmp_path, monkeypatch):
    path = tmp_path / "wide.csv"
    columns = 400
    header = ",".join(["timestamp"] + [f"H{k}" for k in range(columns)])
    row = ",".join(["0.123"] * columns)
    stamps = pd.date_range("2025-01-01", periods=6000, freq="15min").strftime("%Y-%m-%d %H:%M")
    path.write_text(header + "\n" + "\n".join(f"{t},{row}" for t in stamps) + "\n")
    monkeypatch.setenv("P2PSTORE_IMPORT_MEMORY", str(50 * 2**20))
    with pytest.raises(InputError) as err:
        read_profile_set(load=str(path))
    message = str(err.value)
    assert message.startswith(f"{path}: importing it needs about ") and "401 columns" in message
    assert "50.0 MiB available" in message


# -- warnings ------------------------------------------------------------------------------------
def caught(**kwargs) -> list[str]:
    with warnings.catch_warnings(record=True) as found:
        warnings.simplefilter("always", DataWarning)
        read_profile_set(**kwargs)
    return [str(w.message) for w in found if issubclass(w.category, DataWarning)]


def test_kwh_per_slot_imported_as_kw_warns_and_names_the_household_and_the_unit():
    # 3,500 and 3,150 kWh/year homes as kWh per 15-minute slot (0.1 and 0.09 kWh), read as kW
    kwh = frame(Alice=np.full(96, 0.1), Bob=np.full(96, 0.09))
    messages = caught(load=kwh)
    [message] = [m for m in messages if "kWh/year" in m]
    assert "household 'Alice' and 1 other(s)" in message and "--unit kWh" in message
    assert not [m for m in caught(load=kwh, unit="kWh") if "kWh/year" in m]


def test_watts_and_unit_kwh_on_kw_values_warn_with_their_advice():
    watts = caught(load=frame(H1=np.full(96, 400.0)))
    assert any("household 'H1'" in m and "look like W" in m for m in watts)
    kw_as_kwh = caught(load=frame(H1=np.full(96, 2.0)), unit="kWh")
    assert any("drop --unit kWh" in m for m in kw_as_kwh)


def test_names_equal_but_for_case_warn():
    messages = caught(load=frame(House1=np.full(96, 0.4), house1=np.full(96, 0.4), HOUSE1=np.full(96, 0.4)))
    assert any("'House1', 'house1', 'HOUSE1' differ only in case" in m for m in messages)


def test_a_community_of_ordinary_homes_in_kwh_per_slot_warns_even_when_some_look_plausible():
    # 3,500 to 5,500 kWh/year homes as kWh per 15-minute slot: 876 to 1,376 kWh/year read as kW
    per_slot = np.linspace(3500, 5500, 5) / 8760 / 4
    messages = caught(load=frame(**{f"home{k}": np.full(96, v) for k, v in enumerate(per_slot)}))
    [message] = [m for m in messages if "kWh/year" in m]
    assert "household 'home0' and 4 other(s)" in message and "--unit kWh" in message


def test_a_community_of_small_homes_in_kw_is_not_taken_for_kwh():
    kw = frame(**{f"flat{k}": np.full(96, v) for k, v in enumerate(np.linspace(1600, 3000, 5) / 8760)})
    assert not [m for m in caught(load=kw) if "kWh/year" in m]


def test_one_small_home_among_ordinary_ones_gets_the_generic_advice():
    kw = frame(tiny=np.full(96, 800 / 8760), **{f"home{k}": np.full(96, 3500 / 8760) for k in range(4)})
    [message] = [m for m in caught(load=kw) if "kWh/year" in m]
    assert "household 'tiny'" in message and "check the unit" in message and "import with --unit kWh" not in message


def test_a_large_file_is_refused_under_an_address_space_limit(tmp_path):
    """``ulimit -v`` (RLIMIT_AS) counts as memory the import cannot have, in a child process."""
    import subprocess
    import sys

    path = tmp_path / "wide.csv"
    header = ",".join(["timestamp"] + [f"H{k}" for k in range(400)])
    row = ",".join(["0.123"] * 400)
    stamps = pd.date_range("2025-01-01", periods=6000, freq="15min").strftime("%Y-%m-%d %H:%M")
    path.write_text(header + "\n" + "\n".join(f"{t},{row}" for t in stamps) + "\n")
    code = ("import resource, sys\n"
            "import pandas, pyarrow  # loaded before the limit: only the file's cells count\n"
            "from p2pstore.errors import InputError\n"
            "from p2pstore.profiles.importer import read_profile_set\n"
            "with open('/proc/self/statm') as f: mapped = int(f.read().split()[0]) * resource.getpagesize()\n"
            "resource.setrlimit(resource.RLIMIT_AS, (mapped + 64 * 2**20, resource.RLIM_INFINITY))\n"
            "try:\n    read_profile_set(load=sys.argv[1])\nexcept InputError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert "importing it needs about" in done.stdout and "401 columns" in done.stdout, done.stdout + done.stderr
