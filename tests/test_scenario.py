"""The scenario spec: notebook defaults, TOML + overrides, validation naming the field, hashing."""

import json

import pytest

from p2pstore.errors import ScenarioError
from p2pstore.scenario import MECHANISMS, Scenario, from_json, load


def test_defaults_are_the_notebooks():
    s = Scenario()
    assert (s.seed, s.consumers, s.prosumers, s.days) == (42, 3, 7, 30)
    assert (s.slots, s.periods_per_day, s.slot_hours) == (2880, 96, 0.25)
    assert s.mechanisms == MECHANISMS
    assert s.prosumer_sell_tariff == (3.0, 3.8)
    assert (s.inverter_outages, s.maintenance_windows, s.maintenance_slots) == (2, 3, 8)
    assert s.currency == "Rs"


def test_standard_generator_keys_have_sensible_defaults_and_load_from_toml(tmp_path):
    s = Scenario()
    assert s.generator == "notebook"
    assert (s.annual_load_kwh, s.pv_kwp, s.pv_tilt, s.pv_azimuth) == ((2000.0, 5000.0), (2.0, 6.0), 30.0, 180.0)
    assert s.weather == "723170TYA.CSV"
    f = tmp_path / "s.toml"
    f.write_text('generator = "standard"\nweather = "703165TY.csv"\npv_kwp = [3, 8]\npv_tilt = 45\n'
                 "annual_load_kwh = [1500, 2500]\n")
    t = load(f, {"generator": None})
    assert (t.generator, t.weather, t.pv_kwp, t.pv_tilt, t.annual_load_kwh) == (
        "standard", "703165TY.csv", (3.0, 8.0), 45.0, (1500.0, 2500.0))
    assert t.spec_hash() != t.replace(pv_azimuth=170).spec_hash()


def test_toml_then_flags_override(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('seed = 3\ndays = 5\nprosumer_sell_tariff = [3.1, 3.5]\nmechanisms = ["mmr"]\n')
    s = load(f, {"days": 9, "seed": None})
    assert (s.seed, s.days, s.prosumer_sell_tariff, s.mechanisms) == (3, 9, (3.1, 3.5), ("mmr",))


def test_canonical_json_round_trips_and_hash_is_stable():
    a = Scenario(seed=5, days=3)
    b = from_json(a.canonical_json())
    assert b == a and b.spec_hash() == a.spec_hash()
    assert a.spec_hash() != Scenario(seed=6, days=3).spec_hash()
    assert list(json.loads(a.canonical_json())) == sorted(json.loads(a.canonical_json()))


@pytest.mark.parametrize(
    "values, field",
    [
        ({"days": 0}, "days"),
        ({"consumers": -1}, "consumers"),
        ({"prosumers": 0}, "prosumers"),
        ({"consumer_buy_tariff": [7.0, 6.0]}, "consumer_buy_tariff"),
        ({"pv_sizing_factor": [1.0, float("nan")]}, "pv_sizing_factor"),
        ({"mechanisms": ["mmr", "auction"]}, "mechanisms"),
        ({"mechanisms": []}, "mechanisms"),
        ({"colour": "red"}, "colour"),
        ({"seed": "abc"}, "seed"),
        ({"start": "yesterday"}, "start"),
        ({"slot_minutes": 7}, "slot_minutes"),
        ({"load_day_noise": -0.1}, "load_day_noise"),
        ({"generator": "csv"}, "generator"),
        ({"weather": "berlin.csv"}, "weather"),
        ({"pv_tilt": 95}, "pv_tilt"),
        ({"pv_azimuth": 360}, "pv_azimuth"),
        ({"pv_azimuth": -10}, "pv_azimuth"),
        ({"pv_kwp": [6.0, 2.0]}, "pv_kwp"),
        ({"annual_load_kwh": [-1.0, 3000.0]}, "annual_load_kwh"),
    ],
)
def test_invalid_values_name_their_field(values, field):
    with pytest.raises(ScenarioError) as info:
        load(None, values)
    assert info.value.field == field
    assert f"'{field}'" in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_key_in_file_is_refused(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("seed = 1\nhouseholds = 4\n")
    with pytest.raises(ScenarioError, match="'households'.*unknown key"):
        load(f)


def test_malformed_and_missing_files(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("seed = = 1\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load(f)
    with pytest.raises(ScenarioError, match="does not exist"):
        load(tmp_path / "nope.toml")


def test_example_scenario_file_loads():
    from pathlib import Path

    s = load(Path(__file__).parents[1] / "examples" / "scenario.toml")
    assert (s.seed, s.consumers, s.prosumers, s.days) == (7, 5, 12, 14)


def test_standard_example_file_is_the_defaults_over_a_year():
    from pathlib import Path

    s = load(Path(__file__).parents[1] / "examples" / "standard-year.toml")
    assert s == Scenario(generator="standard", days=365)
