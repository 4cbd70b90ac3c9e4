"""The standard generator: calendar mapping, the demandlib H25 and pvlib PVWatts paths it uses,
scaling, noise, events and determinism per seed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from p2pstore.profiles import generate
from p2pstore.profiles.standard import (h25_per_annual_kwh, horizon_load_per_annual_kwh, horizon_pv_per_kwp, to_slots,
                                        typical_year_pv, weather_day_index)
from p2pstore.scenario import WEATHER_FILES, Scenario


def scenario(**kw) -> Scenario:
    return Scenario(**{"generator": "standard", **kw})


# -- calendar ------------------------------------------------------------------------------------
def test_weather_day_index_maps_calendar_days_leap_days_and_year_wrap():
    assert weather_day_index(dt.date(2025, 1, 1), 3).tolist() == [0, 1, 2]
    # leap year: 28 Feb (58), 29 Feb takes 28 Feb's weather, 1 Mar is day 59 as in any year
    assert weather_day_index(dt.date(2028, 2, 28), 3).tolist() == [58, 58, 59]
    assert weather_day_index(dt.date(2025, 2, 28), 2).tolist() == [58, 59]
    assert weather_day_index(dt.date(2028, 12, 31), 1).tolist() == [364]
    # year wrap: 30 Dec 2025 .. 2 Jan 2026, and a horizon longer than a year
    assert weather_day_index(dt.date(2025, 12, 30), 4).tolist() == [363, 364, 0, 1]
    long = weather_day_index(dt.date(2027, 1, 1), 3 * 365 + 1)   # 2027, 2028 (leap), 2029
    assert long.min() == 0 and long.max() == 364
    assert np.array_equal(long[:365], np.arange(365))
    assert np.bincount(long).tolist() == [3] * 58 + [4] + [3] * 306   # only 28 Feb counted 4 times


def test_to_slots_repeats_or_averages_and_keeps_energy():
    hourly = np.arange(48, dtype=float).reshape(2, 24)
    quarter = to_slots(hourly, 15)
    assert quarter.shape == (2, 96) and np.array_equal(quarter[:, :4], np.repeat(hourly[:, :1], 4, axis=1))
    assert np.array_equal(to_slots(hourly, 120), hourly.reshape(2, 12, 2).mean(axis=2))
    odd = to_slots(hourly, 45)                                      # 45-minute slots straddle hours
    assert odd.shape == (2, 32)
    assert odd.sum() * 0.75 == pytest.approx(hourly.sum())
    assert odd[0, 1] == pytest.approx((15 * 0 + 30 * 1) / 45)     # 00:45-01:30


# -- the library paths ---------------------------------------------------------------------------
def test_demandlib_h25_path_matches_bdew_table_with_dynamisation():
    """demandlib's H25 (the path used; ElecSlp does not run on pandas 3): BDEW's 2025 table, x4 for
    kW, weekday/Saturday/Sunday by date, times BDEW's day-of-year polynomial."""
    import demandlib

    table = pd.read_csv(Path(demandlib.__file__).parent / "bdew" / "bdew_data" / "h25.csv", header=[0, 1])
    months = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
              "November", "Dezember"]

    def expected(ts: dt.datetime) -> float:
        day_type = {5: "SA", 6: "FT"}.get(ts.weekday(), "WT")
        row = ts.hour * 4 + ts.minute // 15
        doy = float(ts.timetuple().tm_yday)
        dyn = -3.92e-10 * doy**4 + 3.2e-7 * doy**3 - 7.02e-5 * doy**2 + 0.0021 * doy + 1.24
        return 4 * table[(months[ts.month - 1], day_type)].iloc[row] * dyn / 1e6

    start = dt.date(2027, 12, 30)                      # crosses into 2028, a leap year
    per_kwh = h25_per_annual_kwh(start, 70)
    assert per_kwh.shape == (70, 96)
    for ts in [dt.datetime(2027, 12, 30, 0, 0),       # Thursday, December
               dt.datetime(2028, 1, 1, 7, 45),        # Saturday, January
               dt.datetime(2028, 1, 2, 19, 15),       # Sunday
               dt.datetime(2028, 2, 29, 12, 30)]:     # leap day, Tuesday
        day = (ts.date() - start).days
        assert per_kwh[day, ts.hour * 4 + ts.minute // 15] == pytest.approx(expected(ts), rel=1e-12)
    year = h25_per_annual_kwh(dt.date(2025, 1, 1), 365)
    assert year.sum() * 0.25 == pytest.approx(1.0, abs=0.01)           # BDEW: 1 kWh/year per kWh/year
    assert not year.flags.writeable


@pytest.mark.parametrize("weather", WEATHER_FILES)
def test_every_listed_weather_file_ships_with_pvlib_and_gives_pv_by_day_only(weather):
    pv, meta = typical_year_pv(weather, 30.0, 180.0)
    assert pv.shape == (365, 24) and not pv.flags.writeable
    assert np.isfinite(pv).all() and pv.min() >= 0.0 and pv.max() < 1.0          # kW per kWp, DC/AC 1.2
    assert pv[:, :4].max() == 0.0 and pv[:, 22:].max() == 0.0                      # local standard time: night
    # the sun is highest at solar noon: 12:00 local standard time shifted by the longitude's
    # distance from the time zone's meridian (Sand Point, Alaska: 25.5 degrees west, ~13:40)
    solar_noon = 12.0 - (meta["longitude"] - 15.0 * meta["TZ"]) / 15.0
    peak_hour_middle = int(np.argmax(pv.mean(axis=0))) + 0.5
    assert abs(peak_hour_middle - solar_noon) <= 1.0
    month = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    june, december = pv[month[5]:month[6]].sum(), pv[month[11]:month[12]].sum()
    assert june > 1.3 * december
    assert -180 < meta["longitude"] < -60 and 30 < meta["latitude"] < 60


def test_greensboro_pvwatts_year_is_plausible_and_tilt_azimuth_matter():
    flat, meta = typical_year_pv("723170TYA.CSV", 0.0, 180.0)
    tilted, _ = typical_year_pv("723170TYA.CSV", 30.0, 180.0)
    west, _ = typical_year_pv("723170TYA.CSV", 30.0, 270.0)
    assert meta["latitude"] == pytest.approx(36.1)
    assert 1200 < tilted.sum() < 1600                         # kWh per kWp and year, North Carolina
    assert tilted.sum() > flat.sum() and tilted.sum() > west.sum()
    assert west[:, 15:18].sum() > tilted[:, 15:18].sum()    # a west-facing array produces later


# -- the generator -------------------------------------------------------------------------------
def test_shapes_kinds_tariffs_and_units():
    s = scenario(consumers=4, prosumers=6, days=10, start="2025-06-01")
    p = generate(s)
    assert p.load_kw.shape == p.pv_kw.shape == (10, 960)
    assert p.labels.tolist()[:5] == ["C1", "C2", "C3", "C4", "P1"] and p.kinds.tolist().count("prosumer") == 6
    assert p.start == dt.datetime(2025, 6, 1) and p.slot_hours == 0.25 and p.periods_per_day == 96
    assert np.all(p.pv_kw[:4] == 0.0) and np.all(p.lambda_sell[:4] == 0.0)
    assert np.all((6.0 <= p.lambda_buy[:4]) & (p.lambda_buy[:4] <= 7.0))
    assert np.all((5.0 <= p.lambda_buy[4:]) & (p.lambda_buy[4:] <= 6.0))
    assert np.all((3.0 <= p.lambda_sell[4:]) & (p.lambda_sell[4:] <= 3.8))
    assert p.load_kw.min() > 0.0 and p.pv_kw.min() == 0.0 and np.isfinite(p.pv_kw).all()


def test_without_noise_households_are_scaled_copies_of_the_two_models():
    s = scenario(consumers=3, prosumers=5, days=20, start="2025-03-10", load_day_noise=0.0, load_slot_noise=0.0,
                 pv_slot_noise=0.0, inverter_outages=0, annual_load_kwh=(1000.0, 9000.0), pv_kwp=(1.0, 10.0))
    p = generate(s)
    load_base = horizon_load_per_annual_kwh(s).ravel()
    pv_base = horizon_pv_per_kwp(s).ravel()
    annual = p.load_kw / load_base
    kwp = p.pv_kw[3:][:, pv_base > 0] / pv_base[pv_base > 0]
    assert np.allclose(annual, annual[:, :1], rtol=1e-12) and np.all((1000 <= annual) & (annual <= 9000))
    assert np.allclose(kwp, kwp[:, :1], rtol=1e-12) and np.all((1 <= kwp) & (kwp <= 10))
    assert len(np.unique(annual[:, 0])) == 8 and len(np.unique(kwp[:, 0])) == 5


def test_slot_and_day_noise_have_the_documented_spread():
    s = scenario(consumers=20, prosumers=20, days=60, load_day_noise=0.1, load_slot_noise=0.2, pv_slot_noise=0.3,
                 inverter_outages=0)
    quiet = generate(s.replace(load_day_noise=0.0, load_slot_noise=0.0, pv_slot_noise=0.0))
    noisy = generate(s)
    # The same seed draws the same sizes whatever the noise: the ratio is the noise factor.
    factor = noisy.load_kw / quiet.load_kw
    day = factor.reshape(40, 60, 96).mean(axis=2)
    slot = factor.reshape(40, 60, 96) / day[:, :, None]
    assert day.mean() == pytest.approx(1.0, abs=0.01) and day.std() == pytest.approx(0.1, rel=0.05)
    assert slot.std() == pytest.approx(0.2, rel=0.05)
    lit = quiet.pv_kw > 0
    pv_factor = noisy.pv_kw[lit] / quiet.pv_kw[lit]
    assert pv_factor.mean() == pytest.approx(1.0, abs=0.01) and pv_factor.std() == pytest.approx(0.3, rel=0.05)
    half = np.sqrt(3) * 0.3
    assert pv_factor.min() >= 1 - half - 1e-6 and pv_factor.max() <= 1 + half + 1e-6   # uniform: bounded
    assert np.array_equal(noisy.pv_kw == 0, quiet.pv_kw == 0)                          # night stays dark


def test_leap_day_and_year_wrap_take_the_mapped_weather():
    s = scenario(start="2028-02-28", days=3, pv_slot_noise=0.0, inverter_outages=0, maintenance_windows=0)
    pv = generate(s).pv_kw.reshape(10, 3, 96)
    assert np.array_equal(pv[:, 1], pv[:, 0])           # 29 Feb repeats 28 Feb's weather
    assert not np.array_equal(pv[:, 2], pv[:, 1])
    wrap = horizon_pv_per_kwp(scenario(start="2025-12-31", days=2))
    hourly, _ = typical_year_pv("723170TYA.CSV", 30.0, 180.0)
    assert np.array_equal(wrap[1], np.repeat(hourly[0], 4))           # 1 January of the typical year
    assert np.array_equal(wrap[0], np.repeat(hourly[364], 4))


def test_outages_blank_whole_days_and_maintenance_windows_block_p2p():
    s = scenario(consumers=2, prosumers=3, days=8, inverter_outages=3, maintenance_windows=2, maintenance_slots=8)
    p = generate(s)
    assert len(p.outages) == 3 and len(p.maintenance) == 2
    days = p.pv_kw.reshape(5, 8, 96).sum(axis=2)
    for household, day in p.outages:
        assert household >= 2 and days[household, day] == 0.0
    assert (days > 0).sum() == 3 * 8 - len(set(p.outages))
    expected = np.ones(8 * 96, dtype=bool)
    for first in p.maintenance:
        expected[first:first + 8] = False
    assert np.array_equal(p.p2p_allowed, expected) and not expected.all()


def test_same_seed_same_profiles_cached_or_not_other_seed_differs():
    s = scenario(consumers=3, prosumers=4, days=14, start="2025-07-01")
    a = generate(s)
    typical_year_pv.cache_clear()
    h25_per_annual_kwh.cache_clear()
    b = generate(s)
    for name in ("load_kw", "pv_kw", "lambda_buy", "lambda_sell", "p2p_allowed"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.outages == b.outages and a.maintenance == b.maintenance
    c = generate(s.replace(seed=43))
    assert not np.array_equal(a.load_kw, c.load_kw) and not np.array_equal(a.pv_kw, c.pv_kw)
    assert not np.array_equal(a.lambda_buy, c.lambda_buy)
    # tariffs and sizes do not depend on the horizon
    longer = generate(s.replace(days=20))
    assert np.array_equal(longer.lambda_buy, a.lambda_buy)


def test_pinned_numbers_for_one_seed():
    """Same seed, same profiles on any machine with the pinned library versions."""
    p = generate(scenario(consumers=2, prosumers=2, days=7, start="2025-05-01"))
    assert p.load_kw.sum() * 0.25 == pytest.approx(PINNED_LOAD_KWH, rel=1e-9)
    assert p.pv_kw.sum() * 0.25 == pytest.approx(PINNED_PV_KWH, rel=1e-9)


PINNED_LOAD_KWH = 210.79444566480527
PINNED_PV_KWH = 318.23184813801254


def test_hourly_slots_are_the_means_of_the_quarter_hours():
    s60 = scenario(days=2, slot_minutes=60, start="2025-06-21")
    p = generate(s60)
    assert p.load_kw.shape == p.pv_kw.shape == (10, 48) and p.periods_per_day == 24 and p.slot_hours == 1.0
    s15 = s60.replace(slot_minutes=15)
    for model in (horizon_pv_per_kwp, horizon_load_per_annual_kwh):
        assert np.allclose(model(s60), model(s15).reshape(2, 24, 4).mean(axis=2), rtol=1e-12)


def test_profiles_package_does_not_import_the_libraries_for_the_notebook_generator():
    import subprocess
    import sys

    code = ("import sys; from p2pstore.profiles import generate; from p2pstore.scenario import Scenario\n"
            "generate(Scenario(days=1))\nprint('LIBS=' + ','.join(m for m in ('pvlib', 'demandlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LIBS=\n" in out.stdout
