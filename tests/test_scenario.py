"""The scenario spec: notebook defaults, TOML + overrides, validation naming the field, hashing."""

import json

import pytest

from p2pstore.errors import ScenarioError
from p2pstore.scenario import DEFAULT_MECHANISMS, Scenario, from_json, load


def test_defaults_are_the_notebooks():
    s = Scenario()
    assert (s.seed, s.consumers, s.prosumers, s.days) == (42, 3, 7, 30)
    assert (s.slots, s.periods_per_day, s.slot_hours) == (2880, 96, 0.25)
    assert s.mechanisms == DEFAULT_MECHANISMS
    assert s.prosumer_sell_tariff == (3.0, 3.8)
    assert (s.inverter_outages, s.maintenance_windows, s.maintenance_slots) == (2, 3, 8)
    assert s.currency == "Rs"


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
    f.write_text("seed = 1\ncolour = 4\n")
    with pytest.raises(ScenarioError, match="'colour'.*unknown key"):
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


def test_generated_specs_keep_their_hash():
    """Optional fields left unset stay out of the canonical JSON, so the specs stored before
    profile sets existed keep their hashes (and stored scenarios are found again)."""
    assert Scenario().spec_hash() == "77ba6c8ee21495f3f5af84995c44edfbdac4721a9f2a7cbb2a51fe7203d6ffb2"
    assert "profiles" not in json.loads(Scenario().canonical_json())


def test_profile_set_scenarios():
    s = Scenario(profiles="ausgrid", households=20, seed=3)
    assert s.imported and s.n_households == 20
    assert (s.consumers, s.prosumers, s.days, s.start, s.slot_minutes) == (None, None, None, None, None)
    assert Scenario(profiles="ausgrid").n_households is None and Scenario().n_households == 10
    assert from_json(s.canonical_json()) == s
    back = s.replace(profiles=None, households=None)  # generated again: the notebook's defaults
    assert (back.consumers, back.days, back.start) == (3, 30, "2025-01-01")


@pytest.mark.parametrize(
    "values, field, words",
    [
        ({"profiles": "x", "consumers": 4}, "consumers", "not used with a profile set"),
        ({"profiles": "x", "slot_minutes": 30}, "slot_minutes", "not used with a profile set"),
        ({"households": 4}, "households", "only with a profile set"),
        ({"profiles": "x", "households": 0}, "households", "must be positive"),
        ({"profiles": ""}, "profiles", "must be non-empty"),
        ({"profiles": "a\tb"}, "profiles", "control character"),
        ({"profiles": "x" * 101}, "profiles", "longer than 100"),
        ({"profiles": "x", "profiles_hash": "abc"}, "profiles_hash", "SHA-256"),
        ({"tariffs": "t.csv", "tariffs_hash": "0" * 64}, "tariffs", "not both"),
        ({"profiles": "x", "start": "soon"}, "start", "ISO date"),
    ],
)
def test_profile_fields_are_validated(values, field, words):
    with pytest.raises(ScenarioError, match=words) as info:
        load(None, values)
    assert info.value.field == field


def test_tariff_file_is_relative_to_the_toml_file(tmp_path):
    f = tmp_path / "sub" / "s.toml"
    f.parent.mkdir()
    f.write_text('tariffs = "tou.csv"\nprofiles = "demo"\nhouseholds = 5\n')
    s = load(f)
    assert s.tariffs == str(tmp_path / "sub" / "tou.csv") and s.households == 5
    assert load(f, {"tariffs": "other.csv"}).tariffs == "other.csv"  # a flag is relative to the cwd
