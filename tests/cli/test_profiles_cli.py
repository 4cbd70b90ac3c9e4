"""``p2pstore profiles ...`` and runs on imported sets and tariff files, end to end on SQLite and
PostgreSQL: a hand-checkable time-of-use community, generated runs with a tariff file, list /
show / delete with --json, and the example data set of the docs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from p2pstore.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "profiles"


def invoke(db_url, *args, code: int = 0):
    result = CliRunner().invoke(cli, ["--db", db_url, *args])
    assert result.exit_code == code, result.output
    return result


def write_tou(tmp_path) -> list[str]:
    """C1 and P1, two 1-hour slots with time-of-use tariffs (tests/settlement/test_time_varying.py
    works the same community by hand)."""
    (tmp_path / "load.csv").write_text("timestamp,C1,P1\n2025-06-01 17:00,2,1\n2025-06-01 18:00,1,0\n")
    (tmp_path / "pv.csv").write_text("timestamp,C1,P1\n2025-06-01 17:00,0,3\n2025-06-01 18:00,0,2\n")
    (tmp_path / "tou.csv").write_text(
        "timestamp,household,buy,sell\n"
        "2025-06-01 17:00,C1,8,0\n2025-06-01 17:00,P1,6,4\n"
        "2025-06-01 18:00,C1,4,0\n2025-06-01 18:00,P1,2,-1\n")
    return ["--load", str(tmp_path / "load.csv"), "--pv", str(tmp_path / "pv.csv"),
            "--tariffs", str(tmp_path / "tou.csv")]


def test_time_of_use_by_hand(db_url, tmp_path):
    """slot 1 (17:00, peak): refs buy 7, sell 4; the community is balanced (3 kW = 3 kW), so MMR
    and bill sharing trade C1's 2 kWh at cp2p = 5.5.
    slot 2 (18:00): refs buy 3, sell 0 (no positive sell tariff); PV 2 > load 1, cp2p = 1;
    MMR exports at (1 * 1 + 1 * 0) / 2 = 0.5; bill sharing sells half of P1's 2 kWh to C1 at 1
    and half to the grid at -1.
    conventional: C1 2*8 + 1*4 = 20; P1 -2*4 + 2*1 = -6."""
    invoke(db_url, "profiles", "import", "tou", *write_tou(tmp_path))
    out = json.loads(invoke(db_url, "run", "--profiles", "tou", "--json").output)
    expected = {"conventional": {"C1": 20.0, "P1": -6.0}, "mmr": {"C1": 12.0, "P1": -12.0},
                "bill_sharing": {"C1": 12.0, "P1": -11.0}}
    for mechanism, bills in expected.items():
        assert out["bills"][mechanism] == pytest.approx(bills, rel=1e-12, abs=1e-12), mechanism
    prices = invoke(db_url, "query", "SELECT slot, import_price, export_price, p2p_price FROM clearing_prices "
                    "WHERE mechanism = 'mmr' ORDER BY slot", "--format", "json").output
    assert json.loads(prices) == [
        {"slot": 0, "import_price": 5.5, "export_price": 5.5, "p2p_price": 5.5},
        {"slot": 1, "import_price": 1.0, "export_price": 0.5, "p2p_price": 1.0},
    ]
    hh = json.loads(invoke(db_url, "query", "SELECT household, lambda_buy, lambda_sell FROM households "
                           "ORDER BY position", "--format", "json").output)
    assert hh == [{"household": "C1", "lambda_buy": 6.0, "lambda_sell": 0.0},
                  {"household": "P1", "lambda_buy": 4.0, "lambda_sell": 1.5}]  # means over the slots


def test_generated_run_with_a_tariff_file(db_url, tmp_path):
    flat = json.loads(invoke(db_url, "run", "--days", "2", "--json", "--series", "none").output)
    (tmp_path / "same.csv").write_text("household,buy,sell\n" + "".join(
        f"{h},10,1\n" for h in ["C1", "C2", "C3", "P1", "P2", "P3", "P4", "P5", "P6", "P7"]))
    dear = json.loads(invoke(db_url, "run", "--days", "2", "--json", "--series", "none",
                             "--tariffs", str(tmp_path / "same.csv")).output)
    assert dear["totals"]["conventional"] > flat["totals"]["conventional"]
    hh = json.loads(invoke(db_url, "query", f"SELECT DISTINCT lambda_buy FROM households WHERE run_id = {dear['run_id']}",
                           "--format", "json").output)
    assert hh == [{"lambda_buy": 10.0}]
    (tmp_path / "short.csv").write_text("household,buy,sell\nC1,6,0\n")
    bad = invoke(db_url, "run", "--days", "2", "--tariffs", str(tmp_path / "short.csv"), code=2)
    assert bad.output == f"Error: {tmp_path / 'short.csv'}: tariffs missing for household 'C2' (and 8 more)\n"


def test_list_show_delete_json_and_refusals(db_url, tmp_path):
    first = json.loads(invoke(db_url, "profiles", "import", "tou", *write_tou(tmp_path), "--json").output)
    assert first["status"] == "imported" and first["households"] == 2 and first["warnings"] == []
    listing = json.loads(invoke(db_url, "profiles", "list", "--json").output)
    assert [(r["name"], r["households"], r["consumers"], r["prosumers"], r["tariffs"], r["runs"]) for r in listing] == \
        [("tou", 2, 1, 1, "time", 0)]
    assert "tou" in invoke(db_url, "profiles", "list").output
    show = json.loads(invoke(db_url, "profiles", "show", "tou", "--json").output)
    assert [m["household"] for m in show["members"]] == ["C1", "P1"]
    assert [m["tariff_series"] for m in show["members"]] == [0, 1] and show["slot_minutes"] == 60
    invoke(db_url, "run", "--profiles", "tou", "--series", "none")
    refused = invoke(db_url, "profiles", "delete", "tou", code=2)
    assert refused.output == "Error: profile set 'tou' is used by 1 run(s) (ids 1); it cannot be deleted\n"
    missing = invoke(db_url, "profiles", "show", "nope", code=2)
    assert missing.output.startswith("Error: no profile set named 'nope' (known: tou)")
    (tmp_path / "other").mkdir()
    invoke(db_url, "profiles", "import", "spare", *write_tou(tmp_path / "other"), "--tariffs",
           str(tmp_path / "other" / "tou.csv"), "--timezone", "Europe/Berlin")
    assert json.loads(invoke(db_url, "profiles", "delete", "spare", "--json").output) == \
        {"deleted": "spare", "value_rows": 4}
    assert [r["name"] for r in json.loads(invoke(db_url, "profiles", "list", "--json").output)] == ["tou"]


def test_example_data_set_runs(db_url):
    """The small data set under examples/profiles/ imports and settles as docs/profiles.md shows."""
    args = ["--load", str(EXAMPLES / "load.csv"), "--pv", str(EXAMPLES / "pv.csv"),
            "--tariffs", str(EXAMPLES / "tariffs.csv"), "--p2p-allowed", str(EXAMPLES / "p2p_allowed.csv")]
    out = invoke(db_url, "profiles", "import", "demo", *args).output
    assert out.startswith("profile set 'demo' imported: 12 households, 672 slots")
    run = json.loads(invoke(db_url, "run", "--profiles", "demo", "--households", "6", "--seed", "3", "--days", "2",
                            "--start", "2025-06-03", "--json", "--series", "none").output)
    assert len(run["bills"]["mmr"]) == 6
    tou = json.loads(invoke(db_url, "run", "--profiles", "demo", "--tariffs", str(EXAMPLES / "tou_tariffs.csv"),
                            "--json", "--series", "none").output)
    assert len(tou["bills"]["conventional"]) == 12


# --------------------------------------------------------------------------------------------
# generated communities stored as profile sets (profiles generate)
# --------------------------------------------------------------------------------------------
#: (scenario flags, tariff shape): the notebook generator with its drawn flat tariffs, and the
#: standard generator with a time-of-use tariff file (per-slot tariffs in the set).
GENERATED = {
    "notebook-flat": (["--seed", "5", "--consumers", "2", "--prosumers", "4", "--days", "3",
                       "--start", "2025-03-30"], "flat"),
    "standard-tou": (["--generator", "standard", "--seed", "9", "--households", "6", "--prosumer-share", "0.5",
                      "--days", "2", "--start", "2025-06-02", "--tariffs", str(EXAMPLES / "tou_tariffs.csv")], "time"),
}


def run_bills(db_url, *args) -> dict:
    return json.loads(invoke(db_url, "run", "--json", "--series", "none", *args).output)["bills"]


def assert_same_bills(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for mechanism, bills in expected.items():
        assert list(got[mechanism]) == list(bills), mechanism  # the same households, in the same order
        assert got[mechanism] == pytest.approx(bills, rel=1e-9, abs=0), mechanism


@pytest.mark.parametrize("case", GENERATED)
def test_generated_set_settles_like_the_generating_run(db_url, case):
    flags, tariffs = GENERATED[case]
    generating = run_bills(db_url, *flags)
    out = json.loads(invoke(db_url, "profiles", "generate", "gen", *flags, "--json").output)
    assert out["status"] == "imported" and out["households"] == 6 and out["tariffs"] == tariffs
    assert out["consumers"] == (2 if case == "notebook-flat" else 3) and out["files"] == []
    assert_same_bills(run_bills(db_url, "--profiles", "gen"), generating)
    # the set is a set like any other: listed, shown, drawn from by window and households
    listing = {r["name"]: r for r in json.loads(invoke(db_url, "profiles", "list", "--json").output)}
    assert listing["gen"]["households"] == 6 and listing["gen"]["runs"] == 1
    one_day = run_bills(db_url, "--profiles", "gen", "--households", "3", "--seed", "1", "--days", "1",
                        "--start", flags[flags.index("--start") + 1])
    assert len(one_day["mmr"]) == 3
    # generating it again is recognised; other data under the name need --replace
    again = json.loads(invoke(db_url, "profiles", "generate", "gen", *flags, "--json").output)
    assert again["status"] == "unchanged" and again["content_hash"] == out["content_hash"]


@pytest.mark.parametrize("case", GENERATED)
def test_written_csv_files_import_to_the_same_set(db_url, tmp_path, case):
    flags, _ = GENERATED[case]
    generating = run_bills(db_url, *flags)
    out = json.loads(invoke(db_url, "profiles", "generate", "gen", *flags, "--write-csv",
                            str(tmp_path / "csv"), "--json").output)
    files = {Path(f).name: f for f in out["files"]}
    assert sorted(files) == sorted(["load.csv", "pv.csv", "tariffs.csv", "p2p_allowed.csv"])
    args = ["--load", files["load.csv"], "--pv", files["pv.csv"], "--tariffs", files["tariffs.csv"],
            "--p2p-allowed", files["p2p_allowed.csv"]]
    same = json.loads(invoke(db_url, "profiles", "import", "gen", *args, "--json").output)
    assert same["status"] == "unchanged" and same["content_hash"] == out["content_hash"]  # bit for bit
    invoke(db_url, "profiles", "delete", "gen")
    imported = json.loads(invoke(db_url, "profiles", "import", "imp", *args, "--json").output)
    assert imported["status"] == "imported" and imported["households"] == 6
    assert_same_bills(run_bills(db_url, "--profiles", "imp"), generating)


def test_generate_refusals_store_nothing(db_url, tmp_path):
    from db_counts import table_counts

    invoke(db_url, "profiles", "generate", "gen", "--days", "1")
    invoke(db_url, "run", "--profiles", "gen", "--series", "none")
    (tmp_path / "bad.toml").write_text('generator = "csv"\n')
    (tmp_path / "file").write_text("not a directory\n")
    before = table_counts(db_url)
    cases = [
        (["gen", "--days", "1", "--seed", "2"],
         "Error: profile set 'gen' already exists with other data (content hash "),
        (["gen", "--days", "1", "--seed", "2", "--replace"],
         "Error: profile set 'gen' is used by 1 run(s) (ids 1); it cannot be replaced"),
        (["other", "--days", "1"], "Error: these data are already stored as profile set 'gen'"),
        (["x", "--generator", "csv"], "Error: scenario field 'generator': unknown generator 'csv' "
                                      "(known: notebook, standard)"),
        (["x", str(tmp_path / "bad.toml")], "unknown generator 'csv'"),
        (["x", "--days", "0"], "'days'"),
        (["x", "--days", "1", "--tariffs", str(tmp_path / "missing.csv")], "missing.csv"),
        (["x", "--days", "1", "--write-csv", str(tmp_path / "file" / "sub")], "is not a directory"),
        (["two\nlines", "--days", "1"], "Error: "),
    ]
    for args, message in cases:
        result = CliRunner().invoke(cli, ["--db", db_url, "profiles", "generate", *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1, (args, result.output)
        assert message in result.output, (args, result.output)
    assert table_counts(db_url) == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("p2pstore.db")) == ["bad.toml", "file"]
    # an unused set is replaced
    invoke(db_url, "profiles", "generate", "spare", "--days", "1", "--seed", "3")
    replaced = json.loads(invoke(db_url, "profiles", "generate", "spare", "--days", "1", "--seed", "4", "--replace",
                                 "--json").output)
    assert replaced["status"] == "replaced"
