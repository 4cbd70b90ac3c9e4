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


def test_standard_generator_keys_have_sensible_defaults_and_load_from_toml(tmp_path):
    s = Scenario()
    assert s.generator == "notebook"  # its specs leave the standard generator's keys out (same hash as before)
    assert (s.annual_load_kwh, s.pv_kwp, s.pv_tilt, s.pv_azimuth, s.weather) == (None,) * 5
    assert "weather" not in json.loads(s.canonical_json())
    s = Scenario(generator="standard")
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


def test_households_and_prosumer_share_size_a_generated_community():
    s = load(None, {"households": 20, "prosumer_share": 0.35})
    assert (s.consumers, s.prosumers, s.households, s.prosumer_share) == (13, 7, 20, 0.35)
    assert (Scenario(households=10, prosumer_share=0.25).prosumers, Scenario(households=10, prosumer_share=0.35).prosumers) == (3, 4)
    assert from_json(s.canonical_json()) == s  # stored with its share; the derived counts agree
    assert json.loads(s.canonical_json())["prosumer_share"] == 0.35
    assert load(None, {"households": 20, "prosumer_share": 0.3, "prosumers": 6}).consumers == 14  # agreeing counts


def test_a_share_sweep_keeps_the_community_size():
    from p2pstore.jobs.enqueue import expand, parse_sweep

    base = Scenario(households=20, prosumer_share=0.1, days=2)
    runs = expand(base, [parse_sweep("prosumer_share=0.1,0.4,0.8")], [1, 2])
    assert [(r.consumers, r.prosumers, r.seed) for r in runs] == [(18, 2, 1), (18, 2, 2), (12, 8, 1), (12, 8, 2),
                                                                  (4, 16, 1), (4, 16, 2)]
    assert [r.consumers + r.prosumers for r in expand(base, [parse_sweep("households=10,30")])] == [10, 30]


@pytest.mark.parametrize(
    "values, field, message",
    [
        ({"households": 20, "prosumer_share": 0.3, "prosumers": 5}, "prosumers", "conflicts with households = 20"),
        ({"households": 20, "prosumer_share": 0.3, "consumers": 3}, "consumers", "give the share or the counts"),
        ({"prosumer_share": 0.3}, "prosumer_share", "needs 'households'"),
        ({"households": 20}, "households", "needs 'prosumer_share'"),
        ({"households": 10, "prosumer_share": 1.0}, "prosumer_share", "leaves 0 consumers"),
        ({"households": 10, "prosumer_share": 0.01}, "prosumer_share", "leaves 0 prosumers"),
        ({"households": 10, "prosumer_share": 1.5}, "prosumer_share", "must be a share in [0, 1]"),
        ({"households": 10, "prosumer_share": float("nan")}, "prosumer_share", "must be a share"),
        ({"households": 0, "prosumer_share": 0.5}, "households", "must be positive"),
        ({"profiles": "demo", "prosumer_share": 0.5}, "prosumer_share", "not used with a profile set"),
    ],
)
def test_share_sizing_errors_name_the_field(values, field, message):
    with pytest.raises(ScenarioError) as info:
        load(None, values)
    assert info.value.field == field and message in str(info.value) and "\n" not in str(info.value)


def test_share_sweep_cli_with_conflicting_counts_writes_nothing(tmp_path):
    from click.testing import CliRunner

    from p2pstore.cli import cli

    url = f"sqlite:///{tmp_path / 'p.db'}"
    r = CliRunner().invoke(cli, ["--db", url, "enqueue", "--households", "20", "--prosumers", "5",
                                 "--sweep", "prosumer_share=0.1,0.5"])
    assert r.exit_code == 2 and r.output.startswith("Error: scenario field 'prosumers': 5 conflicts"), r.output
    r = CliRunner().invoke(cli, ["--db", url, "enqueue", "--households", "20", "--sweep", "prosumer_share=0.1,0.5",
                                 "--batch", "s", "--json"])
    assert r.exit_code == 0 and len(json.loads(r.output)["run_ids"]) == 2


def test_standard_example_file_is_the_defaults_over_a_year():
    from pathlib import Path

    s = load(Path(__file__).parents[1] / "examples" / "standard-year.toml")
    assert s == Scenario(generator="standard", days=365)


# -- strict types and bounds ------------------------------------------------------------------
def test_every_numeric_field_declares_its_type_and_bounds():
    """A new numeric field needs its entry in NUMBERS: strict checking comes with one line."""
    from p2pstore.scenario import FIELDS, NUMBERS

    numeric = {name for name, f in FIELDS.items()
               if name != "mechanisms" and isinstance(f.default, (int, float, tuple)) and not isinstance(f.default, bool)}
    unset = {name for name, f in FIELDS.items() if f.default is None}  # optional; the numeric ones are listed
    assert numeric <= set(NUMBERS) <= numeric | unset
    assert {"consumers", "days", "households", "prosumer_share", "pv_kwp", "pv_tilt"} <= set(NUMBERS)
    for scenario in (Scenario(), Scenario(generator="standard"), Scenario(households=10, prosumer_share=0.5)):
        for name, rule in NUMBERS.items():
            value = getattr(scenario, name)
            assert value is None or rule.problem(value) is None, name  # the defaults are in bounds


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
