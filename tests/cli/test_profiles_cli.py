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
