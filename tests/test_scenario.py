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


# -- strict types and bounds ------------------------------------------------------------------
def test_every_numeric_field_declares_its_type_and_bounds():
    """A new numeric field needs its entry in NUMBERS: strict checking comes with one line."""
    from p2pstore.scenario import FIELDS, NUMBERS

    numeric = {name for name, f in FIELDS.items()
               if name != "mechanisms" and isinstance(f.default, (int, float, tuple)) and not isinstance(f.default, bool)}
    assert numeric == set(NUMBERS)
    for name, rule in NUMBERS.items():
        assert rule.problem(getattr(Scenario(), name)) is None, name  # the defaults are in bounds


@pytest.mark.parametrize("field, value, words", [
    ("days", True, "expected an integer, got True (bool)"),
    ("days", "2", "expected an integer, got '2' (str)"),
    ("days", 2.0, "expected an integer, got 2.0 (float)"),
    ("seed", None, "expected an integer, got None"),
    ("load_day_noise", False, "expected a number, got False (bool)"),
    ("load_day_noise", "0.1", "expected a number, got '0.1' (str)"),
    ("consumer_buy_tariff", [True, 7], "expected a [low, high] pair of numbers, got [True, 7]"),
    ("consumer_buy_tariff", ["6", "7"], "expected a [low, high] pair of numbers"),
    ("consumer_buy_tariff", [6.0, 7.0, 8.0], "expected a [low, high] pair of numbers"),
    ("consumer_buy_tariff", "6:7", "expected a [low, high] pair of numbers"),
    ("mechanisms", [1], "expected a list of mechanism names"),
    ("start", 20250101, "expected text, got 20250101 (int)"),
    ("currency", 5, "expected text"),
])
def test_types_are_strict(field, value, words):
    from p2pstore.scenario import from_mapping

    with pytest.raises(ScenarioError, match=f"^scenario field '{field}': ") as err:
        from_mapping({field: value})
    assert words in str(err.value)


@pytest.mark.parametrize("values, field, words", [
    ({"load_day_noise": 1e308}, "load_day_noise", "must be <= 1"),
    ({"pv_cloud_noise": float("inf")}, "pv_cloud_noise", "must be finite"),
    ({"pv_yield_kwh_per_kwp": [0.0, 5.0]}, "pv_yield_kwh_per_kwp", "must be positive"),
    ({"pv_yield_kwh_per_kwp": [5.0, 25.0]}, "pv_yield_kwh_per_kwp", "must be <= 24"),
    ({"pv_sizing_factor": [0.5, 11.0]}, "pv_sizing_factor", "must be <= 10"),
    ({"consumer_buy_tariff": [-1.0, 7.0]}, "consumer_buy_tariff", "must be >= 0"),
    ({"prosumer_daily_kwh": [5.0, 1e6]}, "prosumer_daily_kwh", "must be <= 100000"),
    ({"seed": 2**32}, "seed", "must be <="),
    ({"consumers": 100_001}, "consumers", "must be <= 100000"),
    ({"days": 36_526}, "days", "must be <= 36525"),
    ({"slot_minutes": 120}, "slot_minutes", "must be <= 60"),
    ({"inverter_outages": 1_000_000_000}, "inverter_outages", "at most 210 (one per prosumer-day)"),
    ({"inverter_outages": -1}, "inverter_outages", "must be >= 0"),
    ({"maintenance_windows": 2881}, "maintenance_windows", "at most the number of slots (2880)"),
    ({"start": "9999-12-31"}, "start", "must lie between 1900-01-01 and 2199-12-31"),
    ({"start": "2199-12-31", "days": 2}, "start", "the horizon (2 days from 2199-12-31)"),
    ({"start": "1899-12-31", "days": 1}, "start", "must lie between"),
    ({"currency": "R\ns"}, "currency", "must be printable text"),
    ({"currency": "x" * 17}, "currency", "1 to 16 characters"),
])
def test_numbers_dates_and_labels_are_bounded(values, field, words):
    with pytest.raises(ScenarioError) as err:
        load(None, values)
    assert err.value.field == field and words in str(err.value) and "\n" not in str(err.value)


def test_edges_of_the_bounds_are_accepted():
    s = load(None, {"start": "2199-12-31", "days": 1, "inverter_outages": 7})
    assert s.start_date.isoformat() == "2199-12-31"
    assert load(None, {"start": "1900-01-01", "seed": 2**32 - 1}).seed == 2**32 - 1
    assert load(None, {"pv_yield_kwh_per_kwp": [1e-9, 24.0], "load_day_noise": 1}).load_day_noise == 1.0


def test_toml_date_literals_and_integers_for_floats_are_accepted(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("start = 2025-03-01\nload_day_noise = 0\nconsumer_buy_tariff = [6, 7]\n")
    s = load(f)
    assert (s.start, s.load_day_noise, s.consumer_buy_tariff) == ("2025-03-01", 0.0, (6.0, 7.0))


def test_non_utf8_and_unreadable_files_are_one_line(tmp_path):
    f = tmp_path / "latin1.toml"
    f.write_bytes(b"currency = \"\xe9\"\n")
    with pytest.raises(ScenarioError, match=r"is not UTF-8 text \(byte 0xe9 at offset 12\)"):
        load(f)
    with pytest.raises(ScenarioError, match="cannot read"):
        load(tmp_path)  # a directory


@pytest.mark.parametrize("key, text, value", [
    ("prosumers", "12", 12), ("load_day_noise", "0.1", 0.1), ("consumer_buy_tariff", "6:7", (6.0, 7.0)),
    ("mechanisms", "mmr+conventional", ("mmr", "conventional")), ("start", "2025-02-01", "2025-02-01"),
])
def test_flag_text_is_parsed_to_the_field_type(key, text, value):
    from p2pstore.scenario import parse_value

    assert parse_value(key, text) == value


@pytest.mark.parametrize("key, text", [("prosumers", "2.5"), ("prosumers", "x"), ("load_day_noise", "lots"),
                                       ("consumer_buy_tariff", "6:seven")])
def test_flag_text_that_is_not_a_number_names_the_field(key, text):
    from p2pstore.scenario import parse_value

    with pytest.raises(ScenarioError, match=f"^scenario field '{key}': expected"):
        parse_value(key, text)
