"""``report``: self-contained HTML that renders every figure in headless Chromium; PNG copies."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from chromium_probe import image_states
from p2pstore.cli import cli
from p2pstore.errors import NotFoundError
from p2pstore.reports.html import make_report, notebook_daily_table, single_run_report

NOTEBOOK_TITLES = ("Daily average load &amp; PV over community", "Daily community bill under different mechanisms")


def invoke(url, *args):
    return CliRunner().invoke(cli, ["--db", url, *args], catch_exceptions=False)


def assert_self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", html), "external reference in the report"
    assert "<link" not in html.lower()


def assert_renders(path, tmp_path, n_images: int) -> None:
    states = image_states(path, tmp_path)
    assert len(states) == n_images
    assert all(complete and width > 0 and height > 0 for complete, width, height in states), states


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_single_run_report(sweep, tmp_path):
    out = tmp_path / "run.html"
    result = invoke(sweep.url, "report", "--run", str(sweep.single), "-o", str(out), "--png-dir", str(tmp_path / "png"))
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert_self_contained(html)
    for title in NOTEBOOK_TITLES:
        assert title in html
    for label in ("Bills per household", "Bill per household under different mechanisms",
                  "Clearing prices over time", "Clearing prices by hour of day", "KPIs",
                  "bill_conv_Rs", "bill_mmr_Rs", "bill_bs_Rs", "avg_pv_kWh_per_prosumer"):
        assert label in html, label
    pngs = sorted(p.name for p in (tmp_path / "png").iterdir())
    assert pngs == ["01-daily-load-pv.png", "02-daily-community-bill.png", "03-load-pv-weeks.png",
                    "04-household-bills.png", "05-prices-over-time.png", "06-prices-by-hour.png"]
    assert all((tmp_path / "png" / p).read_bytes().startswith(b"\x89PNG") for p in pngs)
    assert_renders(out, tmp_path, n_images=6)


def test_single_run_daily_table_is_the_notebooks(sweep):
    daily = sweep.store.daily_bills([sweep.single])
    table = notebook_daily_table(daily)
    assert list(table.columns) == ["day", "avg_load_kWh_per_house", "avg_pv_kWh_per_prosumer",
                                   "bill_conv_Rs", "bill_mmr_Rs", "bill_bs_Rs"]
    assert list(table["day"]) == [1, 2, 3]
    bills = sweep.store.bills([sweep.single])
    for mech, col in (("conventional", "bill_conv_Rs"), ("mmr", "bill_mmr_Rs"), ("bill_sharing", "bill_bs_Rs")):
        total = bills.loc[bills["mechanism"] == mech, "bill"].sum()
        assert table[col].sum() == pytest.approx(total, rel=1e-9)
    report = single_run_report(sweep.store, sweep.single)
    assert [slug for slug, _, _ in report.figures][:2] == ["daily-load-pv", "daily-community-bill"]


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_many_runs_report(sweep, tmp_path):
    out = tmp_path / "sweep.html"
    result = invoke(sweep.url, "report", "--batch", "sweep", "-o", str(out), "--png-dir", str(tmp_path / "png"))
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert_self_contained(html)
    assert "grouped by prosumers" in html  # the parameter that varies is picked by default
    assert "Runs included" in html and "Comparison table" in html
    for run_id in sweep.ids:
        assert f'<td class="num">{run_id}</td>' in html
    assert f'<td class="num">{sweep.queued}</td>' not in html
    n = len(list((tmp_path / "png").iterdir()))
    assert n >= 2
    assert_renders(out, tmp_path, n_images=n)


def test_many_runs_report_by_other_parameter(sweep, tmp_path):
    paths = make_report(sweep.store, tmp_path / "r.html", run_ids=sweep.ids, by="seed")
    html = paths[0].read_text()
    assert "grouped by seed" in html and "against seed" in html


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "--run", "4242", "-o", "x.html"], "no run with id 4242"),
        (["report", "--batch", "nope", "-o", "x.html"], "no batch named 'nope'"),
        (["report", "-o", "x.html"], "give exactly one of --run ID, --runs IDS or --batch NAME"),
        (["report", "--run", "1", "--batch", "sweep", "-o", "x.html"], "give exactly one of"),
    ],
)
def test_report_errors(sweep, tmp_path, args, message):
    result = CliRunner().invoke(cli, ["--db", sweep.url, *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert message in result.output


def test_report_of_unfinished_run_is_refused(sweep, tmp_path):
    with pytest.raises(NotFoundError, match="queued"):
        make_report(sweep.store, tmp_path / "q.html", run_id=sweep.queued)
    assert not (tmp_path / "q.html").exists()


def test_cli_starts_without_pandas_or_matplotlib():
    code = (
        "import sys; from click.testing import CliRunner; from p2pstore.cli import cli\n"
        "for name in ('compare', 'report', 'export'):\n"
        "    r = CliRunner().invoke(cli, [name, '--help']); assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('pandas', 'matplotlib', 'numpy', 'sqlalchemy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_default_scenario_report_reproduces_the_notebook_table(tmp_path):
    """The single-run report of the notebook's scenario shows the notebook's daily table."""
    from pathlib import Path

    import numpy as np

    from p2pstore import Scenario, Store
    from p2pstore.simulate import simulate

    golden = np.load(Path(__file__).resolve().parents[1] / "golden" / "notebook_s42_c3_p7_d30.npz")
    store = Store(f"sqlite:///{tmp_path / 'nb.db'}")
    try:
        run_id = store.create_run(Scenario(), series="none")
        assert store.write_results(run_id, simulate(Scenario()), "none")
        table = notebook_daily_table(store.daily_bills([run_id]))
        np.testing.assert_array_equal(table["day"], golden["daily_day"])
        np.testing.assert_allclose(table["avg_load_kWh_per_house"], golden["daily_avg_load_kwh_per_house"], rtol=1e-9)
        np.testing.assert_allclose(table["avg_pv_kWh_per_prosumer"], golden["daily_avg_pv_kwh_per_prosumer"], rtol=1e-9)
        for mech, short in (("conventional", "conv"), ("mmr", "mmr"), ("bill_sharing", "bs")):
            np.testing.assert_allclose(table[f"bill_{short}_Rs"], golden[f"daily_bill_{mech}"], rtol=1e-9)
        html = make_report(store, tmp_path / "nb.html", run_id=run_id)[0].read_text()
    finally:
        store.engine.dispose()
    for value in golden["daily_bill_mmr"][:5]:  # printed like the notebook's daily_df.round(2)
        assert f'<td class="num">{value:,.2f}</td>' in html
    for title in NOTEBOOK_TITLES:
        assert title in html


def test_season_weeks_are_chosen_inside_the_horizon():
    from pandas import Timestamp as T

    from p2pstore.reports.figures import season_week_starts

    assert season_week_starts(T("2025-01-01"), T("2026-01-01")) == [
        ("week from 21 June 2025", T("2025-06-21")), ("week from 21 December 2025", T("2025-12-21"))]
    # a year from July: December comes first in time, June of the next year still fits
    assert season_week_starts(T("2025-07-01"), T("2026-07-01")) == [
        ("week from 21 June 2026", T("2026-06-21")), ("week from 21 December 2025", T("2025-12-21"))]
    assert season_week_starts(T("2025-12-20"), T("2025-12-28")) == [("week from 21 December 2025", T("2025-12-21"))]
    assert season_week_starts(T("2025-12-22"), T("2026-01-21")) == [("first week", T("2025-12-22"))]
    assert season_week_starts(T("2025-01-01"), T("2025-01-04")) == [("horizon", T("2025-01-01"))]


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_standard_year_report_shows_a_june_and_a_december_week(db_url, tmp_path):
    from p2pstore import Scenario, Store
    from p2pstore.reports import figures as F
    from p2pstore.reports.html import community_series_with_time
    from p2pstore.simulate import simulate

    scenario = Scenario(generator="standard", days=365, seed=3, mechanisms=("mmr",))
    store = Store(db_url)
    try:
        run_id = store.create_run(scenario, series="community")
        assert store.write_results(run_id, simulate(scenario), "community")
        report = single_run_report(store, run_id)
        series = community_series_with_time(store, run_id, store.run_params([run_id]).iloc[0].to_dict())
    finally:
        store.close()
    assert "load-pv-weeks" in [slug for slug, _, _ in report.figures]
    assert len(series) == 365 * 96 and series["ts"].iloc[-1] == T_LAST
    fig = F.load_pv_weeks(series)
    june, december = fig.axes
    assert june.get_title().endswith("week from 21 June 2025")
    assert december.get_title().endswith("week from 21 December 2025")
    june_pv, december_pv = (ax.get_lines()[1].get_ydata() for ax in (june, december))
    assert len(june_pv) == len(december_pv) == 7 * 96
    assert june_pv.sum() > 1.3 * december_pv.sum()


T_LAST = __import__("pandas").Timestamp("2025-12-31 23:45")


def test_report_of_a_profile_set_run_names_its_first_day_and_weekdays_of_its_year(db_url, tmp_path):
    """A run on a stored profile set leaves ``start`` unset in its spec: the header and the week
    figure take the first day from the stored results (2024 here, a leap year starting on a Monday),
    not "?" and not 2025's calendar."""
    from p2pstore import Scenario, Store, run_scenario
    from p2pstore.reports import figures as F
    from p2pstore.jobs.build_profiles import generate_profiles
    from p2pstore.reports.html import community_series_with_time

    store = Store(db_url)
    try:
        generate_profiles(store, "y2024", Scenario(start="2024-01-01", days=9, consumers=1, prosumers=2))
        scenario = Scenario(profiles="y2024")
        assert scenario.start is None
        run_id = run_scenario(scenario, store, series="community").run_id
        report = single_run_report(store, run_id)
        series = community_series_with_time(store, run_id, store.run_params([run_id]).iloc[0].to_dict())
    finally:
        store.close()
    assert "9 days from 2024-01-01" in report.subtitle and "?" not in report.subtitle
    fig = F.load_pv_weeks(series)
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert ticks[0] == "Mon 01 Jan 2024" and "Sun 07 Jan 2024" in ticks  # 1 Jan 2025 was a Wednesday


@pytest.mark.parametrize("args, message", [
    (["--figure-width", "26"], "figure width must be between 1.5 and 7.2 inches, got 26"),
    (["--axis-label", "no equals sign"], "bad axis label 'no equals sign': expected NAME=TEXT"),
    (["--mechanism", "auction"], "unknown mechanism 'auction'"),
])
def test_report_figure_options_are_checked(sweep, tmp_path, args, message):
    result = invoke(sweep.url, "report", "--batch", "sweep", "-o", str(tmp_path / "r.html"), *args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_report_options_reach_every_figure(sweep, tmp_path):
    from matplotlib.image import imread

    result = invoke(sweep.url, "report", "--batch", "sweep", "-o", str(tmp_path / "r.html"), "--no-titles",
                    "--figure-width", "3", "--figure-height", "2.5", "--mechanism", "mmr", "--png-dir",
                    str(tmp_path / "png"), "--dpi", "100", "--axis-label", "prosumers=Number of prosumers")
    assert result.exit_code == 0, result.output
    for path in (tmp_path / "png").iterdir():
        assert imread(path).shape[:2] == (250, 300), path.name
    page = (tmp_path / "r.html").read_text()
    assert "Bill-sharing" not in page.split("Comparison table")[0]  # figures and their sections: mmr only
