"""``compare``: numbers equal to raw SQL, grouping by any scenario field, formats parse, errors."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner
from p2pstore.cli import cli
from raw_sql import raw_metrics
from p2pstore.errors import NotFoundError, P2PStoreError
from p2pstore.reports.compare import compare, parse_run_ids, render_compare

STATS = ["mean", "median", "min", "max"]
COLUMNS = ["n", "mean", "median", "sd", "min", "max", "ci95_low", "ci95_high"]


def invoke(url, *args):
    return CliRunner().invoke(cli, ["--db", url, *args], catch_exceptions=False)


def test_compare_matches_raw_sql(sweep):
    table = compare(sweep.store, batch="sweep", by="prosumers")
    assert table.attrs["run_ids"] == sweep.ids  # the queued run is left out
    raw = raw_metrics(sweep.url, sweep.ids)
    expected = raw.groupby(["prosumers", "mechanism", "metric"])["value"].agg(
        ["count", "mean", "median", "min", "max", "std"]).reset_index()
    merged = table.merge(expected, on=["prosumers", "mechanism", "metric"], suffixes=("", "_sql"))
    assert len(merged) == len(table) == len(expected)
    assert (merged["n"] == merged["count"]).all()
    assert merged["sd"].to_numpy() == pytest.approx(merged["std"].to_numpy(), rel=1e-12, nan_ok=True)
    for stat in STATS:
        assert merged[stat].to_numpy() == pytest.approx(merged[f"{stat}_sql"].to_numpy(), rel=1e-12, nan_ok=True)
    assert set(table["prosumers"]) == {2, 4}
    assert set(table["n"]) <= {0, 2}
    assert list(dict.fromkeys(table["mechanism"])) == ["conventional", "mmr", "bill_sharing"]

    ungrouped = compare(sweep.store, run_ids=sweep.ids)
    assert "prosumers" not in ungrouped.columns
    assert set(ungrouped["n"]) <= {0, 4}
    one = raw.groupby(["mechanism", "metric"])["value"].mean()
    for rec in ungrouped.itertuples():
        assert rec.mean == pytest.approx(one[(rec.mechanism, rec.metric)], rel=1e-12, nan_ok=True)


def test_compare_by_any_scenario_field_and_metric_filter(sweep):
    metric = sweep.store.metrics(run_ids=sweep.ids)["metric"].iloc[0]
    by_seed = compare(sweep.store, run_ids=sweep.ids, by="seed", metrics=[metric])
    assert set(by_seed["metric"]) == {metric}
    assert sorted(set(by_seed["seed"])) == [11, 12, 13, 14]
    by_range = compare(sweep.store, batch="sweep", by="prosumer_sell_tariff", metrics=[metric])
    assert set(by_range["prosumer_sell_tariff"]) == {"3:3.8"}
    by_households = compare(sweep.store, batch="sweep", by="households", metrics=[metric])
    assert sorted(set(by_households["households"])) == [4, 6]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"run_ids": [12345]}, "no run with id 12345"),
        ({"batch": "nope"}, "no batch named 'nope'"),
        ({"batch": "sweep", "metrics": ["no_such_kpi"]}, "unknown metric 'no_such_kpi'"),
        ({"batch": "sweep", "by": "colour"}, "unknown scenario parameter 'colour'"),
        ({}, "--runs IDS or --batch NAME"),
    ],
)
def test_compare_errors(sweep, kwargs, message):
    with pytest.raises(NotFoundError, match=message.replace("(", r"\(")):
        compare(sweep.store, **kwargs)


def test_compare_refuses_unfinished_run(sweep):
    with pytest.raises(P2PStoreError, match=f"run {sweep.queued} is queued"):
        compare(sweep.store, run_ids=[sweep.ids[0], sweep.queued])


def test_parse_run_ids():
    assert parse_run_ids("1,2,5-7") == [1, 2, 5, 6, 7]
    assert parse_run_ids(["3", "1-2"]) == [3, 1, 2]
    with pytest.raises(P2PStoreError, match="bad run id list"):
        parse_run_ids("1,x")


def test_cli_formats_parse(sweep):
    ids = ",".join(map(str, sweep.ids))
    api = compare(sweep.store, run_ids=sweep.ids, by="prosumers")

    csv = invoke(sweep.url, "compare", "--runs", ids, "--by", "prosumers", "--format", "csv")
    assert csv.exit_code == 0, csv.output
    df = pd.read_csv(io.StringIO(csv.output))
    assert list(df.columns) == ["prosumers", "mechanism", "metric", "unit", *COLUMNS]
    assert len(df) == len(api)
    assert df["mean"].to_numpy() == pytest.approx(api["mean"].to_numpy(), rel=1e-12, nan_ok=True)

    js = invoke(sweep.url, "compare", "--batch", "sweep", "--by", "prosumers", "--format", "json")
    assert js.exit_code == 0, js.output
    records = json.loads(js.output)
    assert len(records) == len(api) and set(records[0]) == {"prosumers", "mechanism", "metric", "unit", *COLUMNS}

    md = invoke(sweep.url, "compare", "--batch", "sweep", "--format", "markdown")
    assert md.exit_code == 0, md.output
    lines = md.output.strip().splitlines()
    assert lines[0] == "| mechanism | metric | unit | " + " | ".join(COLUMNS) + " |"
    assert lines[1] == "| :--- | :--- | :--- | " + " | ".join(["---:"] * len(COLUMNS)) + " |"
    assert all(line.startswith("| ") and line.endswith(" |") and line.count(" | ") == 10 for line in lines)
    assert len(lines) == 2 + len(compare(sweep.store, batch="sweep"))

    table = invoke(sweep.url, "compare", "--batch", "sweep", "--by", "prosumers")
    assert table.exit_code == 0, table.output
    head = table.output.splitlines()[0].split()
    assert head == ["prosumers", "mechanism", "metric", "unit", *COLUMNS]
    assert "bill_sharing" in table.output


def test_cli_metric_option_repeats(sweep):
    names = list(dict.fromkeys(sweep.store.metrics(run_ids=sweep.ids)["metric"]))[:2]
    args = [a for name in names for a in ("--metric", name)]
    out = invoke(sweep.url, "compare", "--batch", "sweep", *args, "--format", "json")
    assert out.exit_code == 0, out.output
    assert {r["metric"] for r in json.loads(out.output)} == set(names)


@pytest.mark.parametrize(
    "args, message",
    [
        (["compare", "--batch", "nope"], "no batch named 'nope'"),
        (["compare", "--runs", "99999"], "no run with id 99999"),
        (["compare", "--batch", "sweep", "--metric", "bogus"], "unknown metric 'bogus'"),
        (["compare", "--batch", "sweep", "--by", "colour"], "unknown scenario parameter 'colour'"),
        (["compare"], "give exactly one of --runs IDS or --batch NAME"),
        (["compare", "--runs", "1", "--batch", "sweep"], "give exactly one of"),
        (["compare", "--runs", "a-b"], "bad run id list"),
    ],
)
def test_cli_errors_are_one_line(sweep, args, message):
    result = CliRunner().invoke(cli, ["--db", sweep.url, *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert message in result.output


def test_render_rejects_unknown_format(sweep):
    with pytest.raises(P2PStoreError, match="unknown format"):
        render_compare(compare(sweep.store, batch="sweep"), "xml")


def test_format_run_ids_inverts_parse():
    from p2pstore.reports.compare import format_run_ids

    assert format_run_ids([7, 1, 2, 3, 9, 10]) == "1-3,7,9-10"
    assert format_run_ids([4], sep=", ") == "4"
    assert format_run_ids([]) == ""
    ids = [1, 2, 3, 5, 8, 9]
    assert parse_run_ids(format_run_ids(ids)) == ids


@pytest.mark.parametrize("stat", STATS)
def test_pivot_puts_mechanisms_in_columns_with_the_long_tables_values(sweep, stat):
    from p2pstore.reports.compare import pivot_compare

    long = compare(sweep.store, batch="sweep", by="prosumers")
    wide = pivot_compare(long, stat)
    assert list(wide.columns) == ["metric", "unit", "prosumers", "conventional", "mmr", "bill_sharing",
                                  "n_conventional", "n_mmr", "n_bill_sharing"]
    assert len(wide) == len(long) // 3
    # metrics keep the long table's order; within a metric the groups ascend
    assert list(dict.fromkeys(wide["metric"])) == list(dict.fromkeys(long["metric"]))
    for _, block in wide.groupby("metric", sort=False):
        assert list(block["prosumers"]) == sorted(block["prosumers"])
    for rec in long.itertuples():
        row = wide[(wide["metric"] == rec.metric) & (wide["prosumers"] == rec.prosumers)]
        assert len(row) == 1 and row[f"n_{rec.mechanism}"].iloc[0] == rec.n
        got, want = row[rec.mechanism].iloc[0], getattr(rec, stat)
        assert (pd.isna(got) and pd.isna(want)) or got == want


def test_pivot_cli_formats_and_bad_statistic(sweep):
    from p2pstore.reports.compare import pivot_compare

    out = invoke(sweep.url, "compare", "--batch", "sweep", "--by", "prosumers", "--pivot", "median",
                 "--format", "csv").output
    df = pd.read_csv(io.StringIO(out))
    expected = pivot_compare(compare(sweep.store, batch="sweep", by="prosumers"), "median")
    assert list(df.columns) == list(expected.columns)
    assert df["mmr"].to_numpy() == pytest.approx(expected["mmr"].to_numpy(), rel=1e-12, nan_ok=True)
    md = invoke(sweep.url, "compare", "--batch", "sweep", "--pivot", "mean", "--format", "markdown").output
    assert md.splitlines()[0] == ("| metric | unit | conventional: mean | mmr: mean | bill_sharing: mean "
                                  "| n conventional | n mmr | n bill_sharing |")
    bad = CliRunner().invoke(cli, ["--db", sweep.url, "compare", "--batch", "sweep", "--pivot", "mode"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    with pytest.raises(P2PStoreError, match="unknown statistic 'mode'"):
        pivot_compare(compare(sweep.store, batch="sweep"), "mode")


def test_single_run_groups_have_no_interval_and_mechanism_filter(sweep):
    table = compare(sweep.store, batch="sweep", by="seed", mechanisms=["mmr"])
    assert set(table["mechanism"]) == {"mmr"} and set(table["n"]) <= {0, 1}
    assert table["sd"].isna().all() and table["ci95_low"].isna().all() and table["ci95_high"].isna().all()
    with pytest.raises(NotFoundError, match="no selected run settled mechanism 'auction'"):
        compare(sweep.store, batch="sweep", mechanisms=["auction"])


def _tabular_columns(tex: str) -> int:
    import re

    return len(re.search(r"\\begin\{tabular\}\{([lrc]+)\}", tex).group(1))


def test_latex_format_is_a_papers_table(sweep):
    out = invoke(sweep.url, "compare", "--batch", "sweep", "--by", "prosumers", "--metric",
                 "savings_vs_conventional_pct", "--format", "latex", "--caption", "Savings (%) per share_x",
                 "--label", "tab:savings").output
    lines = out.splitlines()
    assert lines[:4] == [r"\begin{table}[htbp]", r"\centering", r"\caption{Savings (\%) per share\_x}",
                         r"\label{tab:savings}"]
    assert lines[-1] == r"\end{table}" and r"\toprule" in lines and r"\bottomrule" in lines
    assert _tabular_columns(out) == 5 <= 8  # prosumers, three mechanisms, n once
    assert r"Prosumers & Conventional & MMR & Bill-sharing & $n$ \\" in lines  # display names, no identifiers
    assert r"\multicolumn{3}{c}{mean $\pm$ 95\,\% CI}" in out
    assert sum(line.startswith(("2 &", "4 &")) for line in lines) == 2 and "bill\\_sharing" not in out
    pivot = invoke(sweep.url, "compare", "--batch", "sweep", "--pivot", "mean±sd", "--format", "latex").output
    assert r"$\pm$" in pivot and r"\caption" not in pivot
    assert r"KPI & Conventional & MMR & Bill-sharing & $n$ \\" in pivot  # ungrouped: a row per KPI
    ascii_spelling = invoke(sweep.url, "compare", "--batch", "sweep", "--pivot", "mean+-sd", "--format", "latex").output
    assert ascii_spelling == pivot
    long = invoke(sweep.url, "compare", "--batch", "sweep", "--by", "prosumers", "--metric", "community_bill",
                  "--format", "latex", "--layout", "long").output
    assert _tabular_columns(long) == 4 and r"Prosumers & Mechanism & mean $\pm$ 95\,\% CI & $n$ \\" in long
    bad = CliRunner().invoke(cli, ["--db", sweep.url, "compare", "--batch", "sweep", "--caption", "x"])
    assert bad.exit_code != 0 and "--caption and --label go with --format latex" in bad.output


def test_many_mechanisms_switch_to_the_long_layout_and_escape_names():
    import pandas as pd

    from p2pstore import registry
    from p2pstore.reports.latex_table import latex_compare

    registry.register("odd_name_x", lambda community: None, label="A & B's 100% #1")
    try:
        mechs = ["conventional", "mmr", "bill_sharing", "sdr", "mmr_lit", "bs_lit", "bs_lit_slot", "odd_name_x"]
        table = pd.DataFrame({"prosumer_share": 0.5, "mechanism": mechs, "metric": "community_bill", "unit": "Rs",
                              "n": 5, "mean": 1.0, "median": 1.0, "sd": 0.1, "min": 0.9, "max": 1.1,
                              "ci95_low": 0.9, "ci95_high": 1.1})
        tex = latex_compare(table, caption="t", label="tab:t")
        assert _tabular_columns(tex) == 4 and r"A \& B's 100\% \#1" in tex
        assert _tabular_columns(latex_compare(table.iloc[:6])) == 8  # six mechanisms still fit
    finally:
        registry.unregister("odd_name_x")


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_by_accepts_every_parameter_help_lists_and_groups_under_readable_labels(sweep):
    from p2pstore.reports.compare import known_parameters

    help_text = invoke(sweep.url, "compare", "--help").output.replace("\n", " ")
    for name in ("tariffs", "tariffs_hash", "profiles", "prosumer_share", "households", "batch"):
        assert name in known_parameters() and name in " ".join(help_text.split())
    for name in known_parameters():
        out = CliRunner().invoke(cli, ["--db", sweep.url, "compare", "--batch", "sweep", "--by", name,
                                       "--metric", "community_bill", "--format", "json"])
        assert out.exit_code == 0, (name, out.output)
    table = compare(sweep.store, batch="sweep", by="tariffs")
    assert set(table["tariffs"]) == {"(none)"}  # no run used a tariff file: one group, readably named
    hashes = compare(sweep.store, batch="sweep", by="tariffs_hash")
    assert all(len(str(v)) <= 12 for v in hashes["tariffs_hash"])
