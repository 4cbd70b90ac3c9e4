"""Every figure kind, drawn with long mechanism names and many mechanisms, fits a journal page:
no wider than 7.2 in, every text inside the canvas, no legend over an axes' data area, TrueType
fonts in PDF and text as ``<text>`` in SVG (synthetic frames, real matplotlib)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest

from p2pstore import registry
from p2pstore.reports import battery_figures as B
from p2pstore.reports import figures as F
from p2pstore.reports.figure_style import FigureOptions, figure_bytes

LONG = {f"long_mech_{k}": f"A rather long mechanism name from a paper, variant {k} (Author et al. 2021)"
        for k in range(4)}
MECHS = ["conventional", "mmr", "bill_sharing", "sdr", "mmr_lit", "bs_lit", "bs_lit_slot", *LONG]


@pytest.fixture(autouse=True)
def long_names():
    for name, text in LONG.items():
        registry.register(name, lambda community: None, label=text)
    yield
    for name in LONG:
        registry.unregister(name)


def _daily(days: int) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    return pd.concat([pd.DataFrame({"mechanism": m, "day": np.arange(1, days + 1), "date": dates,
                                    "bill": rng.normal(100, 5, days) + (k % 3),
                                    "avg_load_kwh_per_house": rng.normal(7, 1, days),
                                    "avg_pv_kwh_per_prosumer": rng.normal(6, 2, days)}) for k, m in enumerate(MECHS)])


def _bills(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    names = [f"Household with a long name {i}" for i in range(n)]
    return pd.concat([pd.DataFrame({"mechanism": m, "household": names, "position": np.arange(n),
                                    "kind": ["consumer" if i % 3 else "prosumer" for i in range(n)],
                                    "bill": rng.normal(500, 300, n)}) for m in MECHS])


def _prices(days: int) -> pd.DataFrame:
    ts = pd.date_range("2024-06-01", periods=days * 96, freq="15min")
    rng = np.random.default_rng(4)
    return pd.concat([pd.DataFrame({"mechanism": m, "slot": np.arange(len(ts)), "ts": ts,
                                    "import_price": 5 + rng.normal(0, 0.1, len(ts)) + k % 2,
                                    "export_price": 4 + k % 3, "p2p_price": 4.5}) for k, m in enumerate(MECHS[1:])])


def _series() -> pd.DataFrame:
    ts = pd.date_range("2024-01-01", periods=366 * 96, freq="15min")
    return pd.DataFrame({"mechanism": "mmr", "slot": np.arange(len(ts)), "ts": ts,
                         "load_kw": 3 + np.sin(np.arange(len(ts)) / 15), "pv_kw": 2.0})


def _sweep() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    shares = [round(0.1 * k, 1) for k in range(1, 10)]
    rows = [{"run_id": r, "mechanism": m, "metric": "savings_vs_conventional_pct", "value": rng.normal(5, 1),
             "prosumer_share": shares[r % 9]} for r in range(45) for m in MECHS[1:]]
    values = pd.DataFrame(rows)
    table = values.groupby(["prosumer_share", "mechanism", "metric"])["value"].agg(
        n="count", mean="mean").reset_index()
    table["ci95_low"], table["ci95_high"] = table["mean"] - 0.5, table["mean"] + 0.5
    return values, table


def _batteries(homes: int, days: int = 8) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """``(batteries, battery_series, times)`` of ``homes`` home batteries and the shared one."""
    names = [f"Household with a long name {i}" for i in range(homes)] + ["community_battery"]
    times = pd.Series(pd.date_range("2024-06-01", periods=days * 96, freq="15min"))
    params = pd.DataFrame({"run_id": 1, "household": names, "dispatch": "self_consumption",
                           "capacity_kwh": 5.0 + np.arange(len(names))})
    slots = np.arange(len(times))
    series = pd.concat([pd.DataFrame({"run_id": 1, "household": n, "slot": slots, "charge_kw": 0.0, "discharge_kw": 0.0,
                                      "soc_kwh": (5.0 + k) * (0.5 + 0.45 * np.sin(slots / 15 + k))})
                        for k, n in enumerate(names)])
    return params, series, times


def _storage(by: str, levels: list, rules: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(value, params)`` of runs over ``levels`` of ``by`` and dispatch ``rules``, every mechanism."""
    rng = np.random.default_rng(6)
    runs = [(r, level, rule) for r, (level, rule) in enumerate((lv, ru) for lv in levels for ru in rules)]
    params = pd.DataFrame({"run_id": [r for r, _, _ in runs], by: [lv for _, lv, _ in runs],
                           "battery_dispatch": [ru for _, _, ru in runs], "seed": 1})
    value = pd.DataFrame([{"run_id": r, "mechanism": m, "seed": 1, "capacity_kwh": 10.0,
                           B.VALUE: rng.normal(3, 1)} for r, _, _ in runs for m in MECHS])
    return value, params


def figure_kinds():
    """(name, figure) of every figure kind, with many mechanisms of long names."""
    values, table = _sweep()
    community = F.community_size(1000, 400, 600)
    yield "daily-load-pv", F.daily_load_pv(_daily(366), community)
    yield "daily-load-pv-short", F.daily_load_pv(_daily(7), community)
    yield "daily-community-bill", F.daily_community_bill(_daily(366), "Rs", community)
    yield "daily-community-bill-short", F.daily_community_bill(_daily(14), "Rs", community)
    yield "load-pv-weeks", F.load_pv_weeks(_series())
    yield "household-bills", F.household_bills(_bills(8).query("mechanism in ['mmr', 'long_mech_0']"), "Rs", community)
    yield "household-bills-distribution", F.household_bills(_bills(200), "Rs", community)
    yield "prices-over-time", F.prices_over_time(_prices(30), "Rs", community)
    yield "prices-over-time-short", F.prices_over_time(_prices(3), "Rs", community)
    yield "prices-by-hour", F.prices_by_hour(_prices(30), "Rs", community)
    yield "distribution-by", F.metric_distribution(values, "savings_vs_conventional_pct", "Savings (%)",
                                                   by="prosumer_share", by_label="Prosumer share (of 20 households)")
    yield "distribution", F.metric_distribution(values, "savings_vs_conventional_pct", "Savings (%)")
    yield "vs-parameter", F.metric_vs_parameter(table, "prosumer_share", "savings_vs_conventional_pct",
                                                "Savings against conventional settlement (%)",
                                                by_label="Prosumer share (of 20 households)")
    yield "battery-soc-week", B.soc_week(*_batteries(3))
    yield "battery-soc-week-many", B.soc_week(*_batteries(40))
    yield "value-per-kwh", B.value_per_kwh(*_storage("shared_battery_kwh", [10.0, 50.0, 100.0], ["community"]),
                                           "shared_battery_kwh", "Rs")
    yield "value-per-kwh-rules", B.value_per_kwh(*_storage("battery_file", ["a/homes_small.csv", "b/homes_large.csv"],
                                                           ["self_consumption", "community"]), "battery_file", "Rs")
    yield "value-per-kwh-capacity", B.value_per_kwh(*_storage("capacity_kwh", [5.0, 10.0], ["community"]),
                                                    "capacity_kwh", "Rs")


#: Every figure function the layout test draws (figure_kinds); a new figure kind must be added.
COVERED = {"daily_load_pv", "daily_community_bill", "load_pv_weeks", "household_bills", "prices_over_time",
           "prices_by_hour", "metric_distribution", "metric_vs_parameter", "soc_week", "value_per_kwh"}


def test_every_figure_kind_is_drawn_by_the_layout_test():
    import importlib
    import pkgutil

    import p2pstore.reports

    found = set()
    for info in pkgutil.iter_modules(p2pstore.reports.__path__, "p2pstore.reports."):
        module = importlib.import_module(info.name)
        found |= {name for name, obj in vars(module).items() if getattr(obj, "is_figure", False)}
    assert found and found <= COVERED, f"figure kinds without a layout test: {sorted(found - COVERED)}"


def _texts(fig):
    """Every visible text but tick labels (matplotlib keeps labels of ticks outside the view
    limits and does not draw them; the axes' tight box below covers the drawn ones)."""
    ticks = {id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
             for tick in axis.get_major_ticks() + axis.get_minor_ticks() for t in (tick.label1, tick.label2)}
    return [t for t in fig.findobj(mpl.text.Text)
            if t.get_visible() and t.get_text().strip() and id(t) not in ticks]


def _inside(box, canvas) -> bool:
    return (box.x0 >= canvas.x0 - 0.5 and box.x1 <= canvas.x1 + 0.5
            and box.y0 >= canvas.y0 - 0.5 and box.y1 <= canvas.y1 + 0.5)


@pytest.mark.parametrize("name, fig", list(figure_kinds()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_figure_fits_the_page_without_clipped_text_or_legends_over_data(name, fig):
    width, height = fig.get_size_inches()
    assert width <= 7.2 and height <= 9.5, (name, width, height)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    for text in _texts(fig):
        assert _inside(text.get_window_extent(renderer), canvas), (name, text.get_text())
    for ax in fig.axes:  # tick labels, axis labels and titles as drawn
        if ax.get_visible():
            assert _inside(ax.get_tightbbox(renderer), canvas), (name, ax.get_title(), ax.get_tightbbox(renderer))
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if ax.get_visible():
                assert not box.overlaps(ax.get_window_extent(renderer)), (name, "legend over the axes")


def test_equal_mechanisms_are_drawn_once_with_a_short_entry_and_a_note():
    daily = _daily(14)
    same = daily[daily["mechanism"] == "mmr"].assign(mechanism="bs_lit_slot")
    daily = pd.concat([daily[daily["mechanism"] != "bs_lit_slot"], same])
    fig = F.daily_community_bill(daily, "Rs")
    entries = F.legend_texts(fig)
    assert "MMR*" in entries and not any("Bill sharing per slot" in e for e in entries)
    assert max(len(e) for e in entries) < 80
    note = fig.legends[0].get_title().get_text().replace("\n", " ")
    assert "MMR = Bill sharing per slot" in note
    assert len(fig.axes[0].lines) == len(MECHS) - 1


def test_options_set_title_size_mechanisms_and_labels():
    values, table = _sweep()
    options = FigureOptions(title=False, width=5.0, height=3.0, mechanisms=("mmr", "sdr"),
                            labels={"prosumer_share": "Share of prosumers", "savings_vs_conventional_pct": "Savings"})
    fig = F.metric_vs_parameter(table, "prosumer_share", "savings_vs_conventional_pct", "x", options=options)
    assert tuple(fig.get_size_inches()) == (5.0, 3.0)
    assert fig.axes[0].get_title() == "" and fig.axes[0].get_xlabel() == "Share of prosumers"
    assert fig.axes[0].get_ylabel() == "Savings"
    assert F.legend_texts(fig) == ["MMR", "SDR (Liu 2017)", "95% CI of the mean"]
    with pytest.raises(Exception, match="figure width must be between"):
        FigureOptions(width=26)


def _font_subtypes(pdf: bytes) -> set[bytes]:
    return set(re.findall(rb"/Subtype\s*/(Type3|TrueType|Type0|Type1|CIDFontType2)", pdf))


def test_pdf_fonts_are_truetype_and_svg_text_is_text():
    fig = F.daily_community_bill(_daily(14), "Rs", "a community")
    pdf = figure_bytes(fig, "pdf")
    assert b"Type3" not in b"".join(_font_subtypes(pdf)) and _font_subtypes(pdf) & {b"TrueType", b"CIDFontType2"}
    with mpl.rc_context({"pdf.fonttype": 3}):  # the check can fail: matplotlib's default embeds Type 3
        import io
        buf = io.BytesIO()
        fig.savefig(buf, format="pdf")
        assert b"Type3" in b"".join(_font_subtypes(buf.getvalue()))
    assert mpl.rcParams["pdf.fonttype"] == 3  # the style is per figure, never global
    root = ET.fromstring(figure_bytes(fig, "svg"))
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Daily community bill under different mechanisms" in texts
