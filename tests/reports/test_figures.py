"""Figures for print: valid SVG and PDF files, 95 % CI bands, no baseline in savings figures, no
legend entry without a visible line, distributions per sweep value, and single-run figures that
stay readable for 1,000 households over a year (real matplotlib, real stores)."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from p2pstore.cli import cli
from p2pstore.reports import figures as F
from p2pstore.reports.compare import compare

SVG = "{http://www.w3.org/2000/svg}"


def invoke(url, *args):
    result = CliRunner().invoke(cli, ["--db", url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def assert_valid_pdf(path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF"), path
    assert b"trailer" in data or b"/Type /XRef" in data or b"/Type/XRef" in data
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) == 1, path  # one page per figure
    if shutil.which("pdftoppm"):
        out = subprocess.run(["pdftoppm", "-png", "-r", "20", "-singlefile", str(path), str(path.with_suffix(""))],
                             capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert path.with_suffix(".png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("fmt, target", [("svg", "batch"), ("pdf", "run")])
@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_report_writes_valid_vector_figures(sweep, tmp_path, fmt, target):
    selection = ["--batch", "sweep"] if target == "batch" else ["--run", str(sweep.single)]
    out = invoke(sweep.url, "report", *selection, "-o", str(tmp_path / "r.html"),
                 "--figures-dir", str(tmp_path / "figs"), "--figure-format", fmt)
    files = sorted((tmp_path / "figs").iterdir())
    assert f"and {len(files)} {fmt.upper()} files" in out and len(files) >= (5 if target == "run" else 3)
    for path in files:
        assert path.suffix == f".{fmt}"
        if fmt == "svg":
            root = ET.parse(path).getroot()  # well-formed XML
            assert root.tag == f"{SVG}svg" and root.get("viewBox")
            assert next(root.iter(f"{SVG}path"), None) is not None
        else:
            assert_valid_pdf(path)


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_png_files_at_the_asked_resolution_and_the_alias(sweep, tmp_path):
    from matplotlib.image import imread

    invoke(sweep.url, "report", "--run", str(sweep.single), "-o", str(tmp_path / "a.html"),
           "--figures-dir", str(tmp_path / "a"), "--dpi", "50")
    invoke(sweep.url, "report", "--run", str(sweep.single), "-o", str(tmp_path / "b.html"),
           "--png-dir", str(tmp_path / "b"), "--dpi", "100")
    low = imread(tmp_path / "a" / "01-daily-load-pv.png")
    high = imread(tmp_path / "b" / "01-daily-load-pv.png")
    assert high.shape[1] == pytest.approx(2 * low.shape[1], abs=2)
    assert high.shape[1] == pytest.approx(100 * F.new_figure().get_size_inches()[0], abs=2)
    bad = CliRunner().invoke(cli, ["--db", sweep.url, "report", "--run", str(sweep.single), "-o",
                                   str(tmp_path / "c.html"), "--png-dir", "x", "--figures-dir", "y"])
    assert bad.exit_code == 2 and "not both" in bad.output


def _legend(fig) -> list[str]:
    return F.legend_texts(fig)


def test_savings_against_a_parameter_has_ci_band_and_no_baseline(sweep):
    table = compare(sweep.store, batch="sweep", by="prosumers")
    savings = table[table["mechanism"] != F.BASELINE]
    fig = F.metric_vs_parameter(savings, "prosumers", "savings_vs_conventional_pct", "Savings (%)")
    assert _legend(fig) == ["MMR", "Bill-sharing", "95% CI of the mean"]
    bands = fig.axes[0].collections
    assert len(bands) == 2
    for band, mech in zip(bands, ["mmr", "bill_sharing"]):  # the band spans the stored interval
        rows = savings[(savings["metric"] == "savings_vs_conventional_pct") & (savings["mechanism"] == mech)]
        ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
        assert ys.min() == pytest.approx(rows["ci95_low"].min()) and ys.max() == pytest.approx(rows["ci95_high"].max())
    assert "95% CI" in F.figure_bytes(fig, "svg").decode()


def test_no_legend_entry_without_a_visible_line():
    table = pd.DataFrame({
        "prosumers": [2, 4, 2, 4], "mechanism": ["mmr", "mmr", "bill_sharing", "bill_sharing"],
        "metric": "x", "n": [1, 1, 0, 0], "mean": [1.0, 2.0, np.nan, np.nan],
        "ci95_low": np.nan, "ci95_high": np.nan,
    })
    fig = F.metric_vs_parameter(table, "prosumers", "x")
    assert _legend(fig) == ["MMR"]  # no values for bill sharing, and no interval from single runs
    assert len(fig.axes[0].lines) == 1


def test_distribution_is_grouped_by_the_sweep_parameter(sweep):
    rows = sweep.store.metrics(run_ids=sweep.ids)
    rows = rows[rows["mechanism"] != F.BASELINE]
    fig = F.metric_distribution(rows, "savings_vs_conventional_pct", "Savings (%)", by="prosumers",
                                by_label="prosumers")
    panels = [ax for ax in fig.axes if ax.get_visible()]  # one panel per mechanism, a box per value
    assert [ax.get_title() for ax in panels] == ["MMR", "Bill-sharing"]
    for ax in panels:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4"]
        assert ax.get_xlabel() == "prosumers"


def _year_of(n_households: int, n_prosumers: int):
    """Stored-like frames of a 365-day run of ``n_households`` (values drawn; shapes are what
    the figures read)."""
    rng = np.random.default_rng(1)
    days = pd.date_range("2025-01-01", periods=365, freq="D")
    mechs = ["conventional", "mmr", "bill_sharing"]
    daily = pd.concat([pd.DataFrame({"mechanism": m, "day": np.arange(1, 366), "date": days,
                                     "bill": rng.normal(100, 5, 365), "avg_load_kwh_per_house": rng.normal(7, 1, 365),
                                     "avg_pv_kwh_per_prosumer": rng.normal(6, 2, 365)}) for m in mechs])
    names = [f"C{i}" for i in range(1, n_households - n_prosumers + 1)] + [f"P{i}" for i in range(1, n_prosumers + 1)]
    bills = pd.concat([pd.DataFrame({"mechanism": m, "household": names, "position": np.arange(n_households),
                                     "kind": ["consumer" if n[0] == "C" else "prosumer" for n in names],
                                     "bill": rng.normal(5000, 2000, n_households)}) for m in mechs])
    ts = pd.date_range("2025-01-01", periods=365 * 96, freq="15min")
    prices = pd.DataFrame({"mechanism": "mmr", "slot": np.arange(len(ts)), "ts": ts,
                           "import_price": 5.2, "export_price": 5.0, "p2p_price": np.nan})
    return daily, bills, prices


def test_single_run_figures_stay_readable_for_1000_households_over_a_year():
    daily, bills, prices = _year_of(1000, 600)
    community = F.community_size(1000, 400, 600)
    fig = F.household_bills(bills, "Rs", community)
    width, _ = fig.get_size_inches()
    assert width <= 8  # not one bar per household
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["consumers (n = 400)", "prosumers (n = 600)"]
    assert "1,000 households (400 consumers, 600 prosumers)" in fig.axes[0].get_title().replace("\n", " ")
    assert _legend(fig) == ["Conventional", "MMR", "Bill-sharing"]

    fig = F.daily_community_bill(daily, "Rs", community)
    monthly = [line for line in fig.axes[0].lines if line.get_label() in ("Conventional", "MMR", "Bill-sharing")]
    assert [len(line.get_xdata()) for line in monthly] == [12, 12, 12]  # monthly means over the faint days
    assert "monthly means" in fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel() == "Community bill (Rs/day)"

    fig = F.prices_over_time(prices, "Rs", community)
    assert [len(ax.lines[0].get_xdata()) for ax in fig.axes] == [365, 365]  # daily means, not 35,040 slots
    assert [ax.get_ylabel() for ax in fig.axes] == ["Import price\n(Rs/kWh)", "Export price\n(Rs/kWh)"]  # no P2P panel
    assert _legend(fig) == ["MMR"]


def test_small_runs_keep_the_notebooks_per_day_and_per_household_figures(sweep):
    bills = sweep.store.bills([sweep.single])
    fig = F.household_bills(bills)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list(dict.fromkeys(bills["household"]))
    daily = sweep.store.daily_bills([sweep.single])
    fig = F.daily_load_pv(daily, F.community_size(10, 3, 7))
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2, 3]
    assert fig.axes[0].get_ylabel() == "Energy (kWh/day)"


def test_equal_lines_share_one_legend_entry():
    table = pd.DataFrame({
        "prosumers": [2, 4] * 3, "mechanism": ["conventional"] * 2 + ["mmr"] * 2 + ["bill_sharing"] * 2,
        "metric": "participation_willingness", "n": 5, "mean": [1.0, 1.0, 0.7, 0.6, 1.0, 1.0],
        "ci95_low": [1.0, 1.0, 0.6, 0.5, 1.0, 1.0], "ci95_high": [1.0, 1.0, 0.8, 0.7, 1.0, 1.0],
    })
    fig = F.metric_vs_parameter(table, "prosumers", "participation_willingness")
    assert _legend(fig) == ["Conventional*", "MMR", "95% CI of the mean"]  # short entries, and a note
    assert fig.legends[0].get_title().get_text() == "* equal values: Conventional = Bill-sharing"
    assert len(fig.axes[0].lines) == 2
