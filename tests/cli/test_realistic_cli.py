"""The standard generator's individual loads, a location and a currency from the command line,
on SQLite and PostgreSQL: the currency names every money column and the bills table, and the
place's time zone is stored in the run's spec."""

from __future__ import annotations

import json

from click.testing import CliRunner

from p2pstore.cli import cli


def invoke(db_url, *args):
    result = CliRunner().invoke(cli, ["--db", db_url, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_individual_loads_in_sydney_priced_in_aud(db_url):
    out = invoke(db_url, "run", "--generator", "standard", "--load-model", "individual", "--latitude", "-33.87",
                 "--longitude", "151.21", "--currency", "AUD", "--days", "3", "--start", "2025-12-01",
                 "--series", "none")
    assert "community_bill_AUD" in out and "savings_AUD" in out
    assert "(bills over the horizon, AUD; < 0 = net income)" in invoke(db_url, "bills", "1")
    spec = json.loads(invoke(db_url, "query", "SELECT spec_json FROM scenarios", "--format", "json"))[0]["spec_json"]
    spec = json.loads(spec)
    assert (spec["utc_offset"], spec["pv_azimuth"], spec["load_model"], spec["currency"]) == (10.0, 0.0, "individual",
                                                                                             "AUD")


def test_a_bad_load_model_is_one_line(db_url):
    result = CliRunner().invoke(cli, ["--db", db_url, "run", "--generator", "standard", "--load-model", "crest"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "unknown load model 'crest' (known: h25, individual)" in result.output
