"""The standard generator's individual load model and PV for any location: households that
differ (correlation, coincidence, size), plausible consumption, determinism per seed, seasons in
both hemispheres, local nights without PV, and the keys that go together."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from p2pstore.errors import ScenarioError
from p2pstore.profiles import generate
from p2pstore.profiles.occupancy import dark_slots, dynamisation, generate_individual_loads
from p2pstore.scenario import Scenario, from_mapping


def scenario(**kw) -> Scenario:
    return Scenario(**{"generator": "standard", **kw})


def diversity(load: np.ndarray) -> tuple[float, float, float]:
    """(mean pairwise correlation, coincidence factor, CV of the mean load) of ``[N, H]`` kW."""
    n = len(load)
    corr = np.corrcoef(load)
    mean_corr = (corr.sum() - n) / (n * (n - 1))
    coincidence = load.sum(axis=0).max() / load.max(axis=1).sum()
    means = load.mean(axis=1)
    return float(mean_corr), float(coincidence), float(means.std() / means.mean())


@pytest.mark.parametrize("seed", [1, 42])
def test_a_winter_month_of_100_individual_households_is_diverse_and_plausible(seed):
    s = scenario(consumers=50, prosumers=50, days=31, start="2025-01-01", seed=seed, load_model="individual")
    load = generate(s).load_kw
    mean_corr, coincidence, cv = diversity(load)
    assert mean_corr <= 0.5 and coincidence <= 0.5 and cv >= 0.2, (mean_corr, coincidence, cv)
    january_kwh = load.sum(axis=1) * 0.25
    assert 40 < january_kwh.min() and january_kwh.max() < 2000           # a flat to a large family home
    assert 150 < january_kwh.mean() < 450                                  # 2,000-5,000 kWh/year homes
    assert load.max() < 20 and load.min() > 0                              # a home's connection; base load


def test_the_h25_model_is_what_the_individual_one_is_measured_against():
    """Every H25 household has one shape (correlation near 1): the reason for the new model."""
    load = generate(scenario(consumers=10, prosumers=10, days=31)).load_kw
    mean_corr, coincidence, _ = diversity(load)
    assert mean_corr > 0.9 and coincidence > 0.8


def test_individual_loads_are_deterministic_per_seed_and_differ_between_seeds():
    a = generate(scenario(days=7, load_model="individual", seed=3))
    b = generate(scenario(days=7, load_model="individual", seed=3))
    c = generate(scenario(days=7, load_model="individual", seed=4))
    assert np.array_equal(a.load_kw, b.load_kw) and not np.array_equal(a.load_kw, c.load_kw)
    h25 = generate(scenario(days=7, seed=3))
    assert np.array_equal(a.pv_kw, h25.pv_kw)                               # the load model changes only loads


def test_annual_consumption_follows_the_drawn_distribution_over_a_year():
    load, annual = generate_individual_loads(dt.date(2025, 1, 1), 365, 60, 200, np.random.default_rng(0))
    np.testing.assert_allclose(load.sum(axis=1), annual, rtol=1e-12)       # hourly slots: kW = kWh
    assert 2000 < np.median(annual) < 3000 and annual.min() > 400 and annual.max() < 15000


def test_the_seasonal_level_is_bdew_dynamisation_and_nights_are_dark():
    t = np.array([1.0, 182.0, 365.0])
    published = -3.92e-10 * t**4 + 3.2e-7 * t**3 - 7.02e-5 * t**2 + 2.1e-3 * t + 1.24
    assert dynamisation(t) == pytest.approx(published, rel=1e-12)
    assert dynamisation(t) == pytest.approx([1.242, 0.796, 1.257], abs=1e-3)   # winter ~1.25, summer ~0.8
    dark = dark_slots(dt.date(2025, 6, 21), 1, 24, 52.5)[0]
    assert dark[:3].all() and not dark[12] and dark[23]                     # midsummer night in Berlin
    assert dark_slots(dt.date(2025, 6, 21), 1, 24, 89.0)[0].sum() == 0       # polar day


# -- location ------------------------------------------------------------------------------------
def monthly_pv(s: Scenario) -> np.ndarray:
    p = generate(s)
    per_day = p.pv_kw.sum(axis=0).reshape(s.days, s.periods_per_day)
    months = (np.datetime64(s.start_date) + np.arange(s.days)).astype("datetime64[M]").astype(int) % 12
    return np.array([per_day[months == m].sum() for m in range(12)]), per_day


@pytest.mark.parametrize("place, lat, lon, summer, winter, ratio", [
    ("Berlin", 52.52, 13.405, 5, 11, 3.0),      # June >= 3x December
    ("Sydney", -33.87, 151.21, 11, 5, 1.15),    # December >= 1.15x June
])
def test_a_year_at_a_place_has_its_seasons_and_no_pv_at_local_night(place, lat, lon, summer, winter, ratio):
    s = scenario(consumers=2, prosumers=4, days=365, start="2025-01-01", latitude=lat, longitude=lon)
    months, per_day = monthly_pv(s)
    assert months[summer] >= ratio * months[winter], (place, months[summer] / months[winter])
    first_three_hours = per_day[:, : 3 * s.periods_per_day // 24]
    assert first_three_hours.max() == 0.0
    assert per_day[:, s.periods_per_day // 2].min() > 0                   # some PV every noon


def test_a_place_faces_the_equator_and_records_its_time_zone():
    north, south = scenario(latitude=52.52, longitude=13.405), scenario(latitude=-33.87, longitude=151.21)
    assert (north.pv_azimuth, north.utc_offset, north.weather) == (180.0, 1.0, None)
    assert (south.pv_azimuth, south.utc_offset) == (0.0, 10.0)
    assert '"utc_offset":10.0' in south.canonical_json()
    west = scenario(latitude=40.7, longitude=-74.0, pv_azimuth=200.0, utc_offset=-5.0)
    assert (west.pv_azimuth, west.utc_offset) == (200.0, -5.0)


def test_the_tmy3_stations_keep_working_and_specs_without_new_keys_keep_their_hash():
    s = scenario(days=2)
    assert s.weather == "723170TYA.CSV" and "load_model" not in s.canonical_json()
    assert "latitude" not in s.canonical_json()
    assert generate(s).pv_kw.sum() > 0


@pytest.mark.parametrize("values, field, problem", [
    ({"load_model": "crest"}, "load_model", "unknown load model 'crest'"),
    ({"generator": "notebook", "load_model": "individual"}, "load_model", "only with the standard generator"),
    ({"latitude": 52.5}, "longitude", "needs both latitude and longitude"),
    ({"latitude": 52.5, "longitude": 13.4, "weather": "703165TY.csv"}, "weather", "not both"),
    ({"latitude": 95.0, "longitude": 13.4}, "latitude", "must be <= 90"),
    ({"generator": "notebook", "latitude": 52.5, "longitude": 13.4}, "latitude", "only used by the standard"),
])
def test_keys_that_do_not_go_together_are_refused(values, field, problem):
    with pytest.raises(ScenarioError) as err:
        from_mapping({"generator": "standard", **values})
    assert err.value.field == field and problem in str(err.value)


@pytest.mark.parametrize("size", [64, 70, 1000])
def test_individual_loads_in_chunks_are_the_whole_community_bit_for_bit(size):
    """Chunked settlement regenerates any rows from the model's block states (sizes that are and
    are not multiples of its 64-household block)."""
    from p2pstore.profiles.standard_chunks import StandardChunks

    s = scenario(consumers=70, prosumers=80, days=3, load_model="individual", latitude=-33.87, longitude=151.21)
    whole = generate(s)
    source = StandardChunks(s)
    bounds = list(range(0, 150, size)) + [150]
    source.prepare(bounds)
    for start, stop in zip(bounds, bounds[1:]):
        part = source.chunk(start, stop)
        np.testing.assert_array_equal(part.load_kw, whole.load_kw[start:stop])
        np.testing.assert_array_equal(part.pv_kw, whole.pv_kw[start:stop])
