"""A prosumer-share sweep at a fixed community size, queued with one ``enqueue`` and settled by a
real worker: ``compare --by prosumer_share --format json`` gives per group the n, mean, median,
sd, min, max and Student-t 95 % interval that plain SQL over ``run_metrics`` and the statistics
module give. Both backends."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest
from click.testing import CliRunner
from scipy import stats
from p2pstore.cli import cli
from raw_sql import raw_metrics

SHARES = [0.1, 0.2, 0.4, 0.8]
SEEDS = range(1, 6)
HOUSEHOLDS = 20
WORKER = "import sys; from p2pstore.cli import main; main(sys.argv[1:])"


def invoke(url, *args):
    result = CliRunner().invoke(cli, ["--db", url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def share_sweep(sweep_url):
    """The sweep queued with one enqueue and drained by ``p2pstore worker --burst``."""
    out = invoke(sweep_url, "enqueue", "--households", str(HOUSEHOLDS), "--days", "2", "--series", "none",
                 "--sweep", "prosumer_share=" + ",".join(map(str, SHARES)), "--seeds", "1..5",
                 "--batch", "share", "--json")
    ids = json.loads(out)["run_ids"]
    assert len(ids) == len(SHARES) * len(SEEDS)
    done = subprocess.run([sys.executable, "-c", WORKER, "--db", sweep_url, "worker", "--burst", "--poll", "0.1"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return ids


def stored_metrics(url: str, ids: list[int]) -> dict:
    """{(prosumer_share, mechanism, metric): [values]} from run_metrics and the stored specs."""
    groups: dict = {}
    for rec in raw_metrics(url, ids).itertuples():
        spec = json.loads(rec.spec_json)
        assert spec["households"] == rec.consumers + rec.prosumers == HOUSEHOLDS
        assert rec.prosumers == round(spec["prosumer_share"] * HOUSEHOLDS)
        values = groups.setdefault((spec["prosumer_share"], rec.mechanism, rec.metric), [])
        if rec.value is not None and rec.value == rec.value:
            values.append(rec.value)
    return groups


def test_compare_json_statistics_equal_those_of_the_stored_metrics(share_sweep, sweep_url):
    records = json.loads(invoke(sweep_url, "compare", "--batch", "share", "--by", "prosumer_share",
                                "--format", "json"))
    expected = stored_metrics(sweep_url, share_sweep)
    assert len(records) == len(expected)
    assert {r["prosumer_share"] for r in records} == set(SHARES)
    keys = {"prosumer_share", "mechanism", "metric", "unit", "n", "mean", "median", "sd", "min", "max",
            "ci95_low", "ci95_high"}
    checked = 0
    for rec in records:
        assert set(rec) == keys
        values = expected[(rec["prosumer_share"], rec["mechanism"], rec["metric"])]
        assert rec["n"] == len(values)
        if not values:
            continue
        mean, sd = statistics.fmean(values), statistics.stdev(values)
        half = stats.t.ppf(0.975, len(values) - 1) * sd / len(values) ** 0.5
        assert rec["n"] == len(SEEDS)
        assert rec["mean"] == pytest.approx(mean, rel=1e-12, abs=1e-12)
        assert rec["median"] == pytest.approx(statistics.median(values), rel=1e-12, abs=1e-12)
        assert rec["sd"] == pytest.approx(sd, rel=1e-9, abs=1e-12)
        assert (rec["min"], rec["max"]) == (min(values), max(values))
        assert rec["ci95_low"] == pytest.approx(mean - half, rel=1e-9, abs=1e-12)
        assert rec["ci95_high"] == pytest.approx(mean + half, rel=1e-9, abs=1e-12)
        checked += 1
    assert checked >= len(SHARES) * 3 * 10
    units = {r["metric"]: r["unit"] for r in records}
    assert units["savings_vs_conventional_pct"] == "%" and units["community_bill"] == "Rs"


def test_pivot_mean_ci95_without_baseline(share_sweep, sweep_url):
    out = invoke(sweep_url, "compare", "--batch", "share", "--by", "prosumer_share", "--metric",
                 "savings_vs_conventional_pct", "--mechanism", "mmr", "--mechanism", "bill_sharing",
                 "--pivot", "mean±ci95", "--format", "csv")
    import io

    import pandas as pd

    wide = pd.read_csv(io.StringIO(out))
    assert list(wide.columns) == ["metric", "unit", "prosumer_share", "mmr", "mmr_ci95_low", "mmr_ci95_high",
                                  "bill_sharing", "bill_sharing_ci95_low", "bill_sharing_ci95_high",
                                  "n_mmr", "n_bill_sharing"]
    assert list(wide["prosumer_share"]) == SHARES
    assert (wide["n_mmr"] == len(SEEDS)).all()
    assert (wide["mmr_ci95_low"] < wide["mmr"]).all() and (wide["mmr"] < wide["mmr_ci95_high"]).all()
    table = invoke(sweep_url, "compare", "--batch", "share", "--by", "prosumer_share", "--metric",
                   "savings_vs_conventional_pct", "--mechanism", "mmr", "--pivot", "mean±ci95")
    header, rule, *rows = table.splitlines()
    assert "mmr: mean ± 95% CI (%)" in header and "conventional" not in header
    first = wide.iloc[0]
    assert f"{first['mmr']:.2f} ± {first['mmr_ci95_high'] - first['mmr']:.2f}" in rows[0]


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_the_sweep_variables_are_columns_of_the_runs_export_and_of_the_paper_outputs(share_sweep, sweep_url, tmp_path):
    """The swept share is a Parquet column of the batch's export (not only inside spec_json), the
    report's PDF figures embed TrueType fonts at most 7.5 in wide, its SVGs keep text as text,
    and the LaTeX table has its caption, label and at most 8 columns."""
    import re

    import pyarrow.parquet as pq

    invoke(sweep_url, "export", "--batch", "share", "--format", "parquet", "-o", str(tmp_path / "x"))
    runs = pq.read_table(tmp_path / "x" / "runs.parquet").to_pandas()
    assert {"prosumer_share", "households"} <= set(runs.columns)
    assert sorted(set(runs["prosumer_share"].round(12))) == SHARES and set(runs["households"]) == {HOUSEHOLDS}
    for fmt in ("pdf", "svg"):
        invoke(sweep_url, "report", "--batch", "share", "-o", str(tmp_path / f"{fmt}.html"),
               "--figures-dir", str(tmp_path / fmt), "--figure-format", fmt)
    for path in (tmp_path / "pdf").iterdir():
        data = path.read_bytes()
        assert not re.search(rb"/Subtype\s*/Type3", data) and re.search(rb"/Subtype\s*/(TrueType|CIDFontType2)", data)
        width = float(re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+)", data).group(1))
        assert width <= 7.5 * 72, (path.name, width / 72)
    for path in (tmp_path / "svg").iterdir():
        assert "<text" in path.read_text()
    tex = invoke(sweep_url, "compare", "--batch", "share", "--by", "prosumer_share", "--format", "latex",
                 "--caption", "Savings", "--label", "tab:share")
    assert r"\begin{table}" in tex and r"\caption{Savings}" in tex and r"\label{tab:share}" in tex
    assert len(re.search(r"\\begin\{tabular\}\{([lrc]+)\}", tex).group(1)) <= 8
