"""A run settled in household chunks (``--memory-limit``) stores what the whole community at once
stores, on both backends, its household series (``--series full``) included."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from p2pstore.jobs.execute import run_scenario
from p2pstore.limits import HOUSEHOLD_BLOCK, parse_size
from p2pstore.memory_plan import (CHUNK_BYTES_PER_CELL, MEMORY_BASE, PER_HOUSEHOLD_BYTES, plan_memory,
                                  series_bytes_per_cell)
from p2pstore.scenario import Scenario
from p2pstore.store.schema import RESULT_TABLES, tables_on

from example_plugin import needs_example_plugin
from store_helpers import count

MECHANISMS = ("conventional", "sdr", "mmr_lit", "bs_lit", "mmr")


def _read(store, run_id: int) -> dict[str, pd.DataFrame]:
    tables = {"households": store.households(run_id), "bills": store.bills(run_id),
              "daily_bills": store.daily_bills(run_id), "prices": store.prices(run_id),
              "community_series": store.community_series(run_id), "metrics": store.metrics(run_id)}
    return {name: df.drop(columns=["run_id"]).reset_index(drop=True) for name, df in tables.items()}


def _assert_same_to_1e12(chunked: dict, whole: dict) -> None:
    for name, frame in whole.items():
        other = chunked[name]
        assert list(other.columns) == list(frame.columns) and len(other) == len(frame) > 0, name
        for column in frame.columns:
            a, b = frame[column].to_numpy(), other[column].to_numpy()
            if a.dtype.kind == "f":
                np.testing.assert_allclose(b, a, rtol=1e-12, atol=0, err_msg=f"{name}.{column}")
            else:
                assert (a == b).all(), f"{name}.{column}"


@pytest.mark.parametrize("households, days", [(500, 30), (2_000, 30)])
@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_a_run_in_chunks_stores_the_same_results(store, households, days):
    scenario = Scenario(households=households, prosumer_share=0.7, days=days, mechanisms=MECHANISMS, seed=11)
    limit = parse_size("300MB")
    plan = plan_memory(scenario, "community", limit)
    assert plan.chunked and plan.chunks >= 2  # the limit does force chunks
    assert not plan_memory(scenario, "community", 64 * 2**30).chunked
    chunked_id, chunked = run_scenario(scenario, store, series="community", memory_limit=limit)
    whole_id, whole = run_scenario(scenario, store, series="community", memory_limit=64 * 2**30)
    assert chunked.results["bs_lit"].cost is None and whole.results["bs_lit"].cost is not None
    _assert_same_to_1e12(_read(store, chunked_id), _read(store, whole_id))
    bills = store.bills([chunked_id, whole_id]).pivot_table(index=["mechanism", "household"], columns="run_id",
                                                            values="bill")
    np.testing.assert_array_equal(bills[chunked_id].to_numpy(), bills[whole_id].to_numpy())


#: Every built-in (derived rows) and the example plugin (rows stored value by value).
FULL_MECHANISMS = (*MECHANISMS, "bill_sharing", "bs_lit_slot", "flat_p2p")
SERIES = ("load_kw", "pv_kw", "grid_import_kwh", "grid_export_kwh", "p2p_import_kwh", "p2p_export_kwh", "cost")


def _view(store, run_id: int) -> dict[str, np.ndarray]:
    """The ``household_series`` view's rows of a run, read by SQL."""
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM household_series WHERE run_id = :r ORDER BY mechanism, household, "
                                 "slot"), {"r": run_id}).all()
    columns = list(zip(*rows))
    return {"key": np.array(list(zip(*columns[1:4])), dtype=object),
            **{c: np.array(columns[4 + i], dtype=np.float64) for i, c in enumerate(SERIES)}}


def _one_chunk_of_64(scenario: Scenario, series: str) -> int:
    """A memory limit (bytes) that settles ``scenario`` in chunks of 64 households, one at a time."""
    fixed = MEMORY_BASE + scenario.n_households * PER_HOUSEHOLD_BYTES
    per_cell = max(3 * CHUNK_BYTES_PER_CELL // 2, series_bytes_per_cell(scenario, series))
    return fixed + scenario.slots * per_cell * HOUSEHOLD_BLOCK


def _series_rows(store, run_id: int) -> dict[str, int]:
    return {t: count(store, t, run_id) for t in ("household_slots", "mechanism_slots", "household_series_explicit")}


@needs_example_plugin
def test_series_full_in_chunks_reads_back_what_the_whole_run_stores(store):
    """A ``--series full`` run forced into chunks writes its households' rows chunk by chunk; the
    ``household_series`` view (SQL and the Store API), bills, prices and every other table read
    back what the same run settled whole stores, bit for bit (the requirement is 1e-12)."""
    scenario = Scenario(households=200, prosumer_share=0.7, days=5, mechanisms=FULL_MECHANISMS, seed=4)
    limit = _one_chunk_of_64(scenario, "full")
    plan = plan_memory(scenario, "full", limit)
    assert plan.chunked and plan.chunks == 4 and plan.streams_series  # 3 x 64 households and 8
    chunked_id, chunked = run_scenario(scenario, store, series="full", memory_limit=limit)
    whole_id, whole = run_scenario(scenario, store, series="full", memory_limit=64 * 2**30)
    assert chunked.results["mmr"].cost is None and whole.results["mmr"].cost is not None
    assert _series_rows(store, chunked_id) == _series_rows(store, whole_id) == {
        "household_slots": 200 * 480, "mechanism_slots": (len(FULL_MECHANISMS) - 1) * 480,
        "household_series_explicit": 200 * 480}
    _assert_same_to_1e12(_read(store, chunked_id), _read(store, whole_id))
    a, b = _view(store, chunked_id), _view(store, whole_id)
    assert len(a["key"]) == len(FULL_MECHANISMS) * 200 * 480 and (a["key"] == b["key"]).all()
    for column in SERIES:
        np.testing.assert_array_equal(a[column], b[column], err_msg=column)
    api_a, api_b = store.series(chunked_id), store.series(whole_id)
    for column in SERIES:
        np.testing.assert_array_equal(api_a[column].to_numpy(), api_b[column].to_numpy(), err_msg=column)


def test_series_full_in_chunks_with_time_of_use_tariffs(store):
    """A tariff file's per-slot tariffs are stored per household and slot from each chunk, and
    the view reads back what the whole run stores, bit for bit."""
    from pathlib import Path

    tou = Path(__file__).resolve().parents[2] / "examples" / "profiles" / "tou_tariffs.csv"
    scenario = Scenario(households=150, prosumer_share=0.7, days=2, start="2025-06-02", tariffs=str(tou),
                        mechanisms=("conventional", "mmr", "bs_lit"), seed=6)
    limit = _one_chunk_of_64(scenario, "full")
    assert plan_memory(scenario, "full", limit).chunks == 3
    chunked_id, _ = run_scenario(scenario, store, series="full", memory_limit=limit)
    whole_id, _ = run_scenario(scenario, store, series="full", memory_limit=64 * 2**30)
    assert store.query(f"SELECT COUNT(DISTINCT lambda_buy) AS n FROM household_slots "
                       f"WHERE run_id = {chunked_id}")["n"][0] > 1  # the tariffs of each slot
    a, b = _view(store, chunked_id), _view(store, whole_id)
    assert len(a["key"]) == 3 * 150 * 192 and (a["key"] == b["key"]).all()
    for column in SERIES:
        np.testing.assert_array_equal(a[column], b[column], err_msg=column)
    _assert_same_to_1e12(_read(store, chunked_id), _read(store, whole_id))


def test_a_cost_form_that_fails_in_one_chunk_is_stored_value_by_value_for_every_chunk(store):
    """A mechanism's cost form is relied on only if it holds in every chunk (checked in the cost
    pass, before a row is written): one chunk failing stores that mechanism's rows value by
    value for all households, and they read back as the whole settlement's arrays."""
    from p2pstore.profiles import generate
    from p2pstore.profiles.chunks import ProfilesChunks
    from p2pstore.settlement import settle
    from p2pstore.settlement.chunked import settle_chunked
    from p2pstore.store.results.writer import cost_form_holds, derivable_mechanisms

    scenario = Scenario(households=150, prosumer_share=0.6, days=1, mechanisms=("conventional", "mmr", "sdr"), seed=8)
    profiles = generate(scenario)
    second = str(profiles.labels[HOUSEHOLD_BLOCK])

    def check(chunk, r):  # the store's check, except that mmr's form "fails" in the second chunk
        return cost_form_holds(chunk, r) and not (r.mechanism == "mmr" and str(chunk.labels[0]) == second)

    chunked = settle_chunked(ProfilesChunks(profiles), scenario.mechanisms, HOUSEHOLD_BLOCK, check_form=check)
    assert {m: r.form_holds for m, r in chunked.results.items()} == {"conventional": True, "mmr": False, "sdr": True}
    assert derivable_mechanisms(chunked) == {"conventional", "sdr"}
    run_id = store.create_run(scenario)
    totals, steps = [], []
    bar = type("Bar", (), {"update": lambda self, rows: steps.append(rows)})()
    assert store.write_results(run_id, chunked, "full",
                               progress=lambda total, label: totals.append(total) or contextlib.nullcontext(bar))
    written = sum(count(store, t, run_id) for t in tables_on(store.dialect, RESULT_TABLES))
    assert totals == [sum(steps)] == [written]  # the progress total
    n, h = profiles.load_kw.shape
    assert _series_rows(store, run_id) == {"household_slots": n * h, "mechanism_slots": 2 * h,
                                           "household_series_explicit": n * h}
    whole = settle(profiles, scenario.mechanisms).results["mmr"]
    got = store.series(run_id, "mmr")
    expected = {"load_kw": profiles.load_kw, "pv_kw": profiles.pv_kw, "grid_import_kwh": whole.grid_import_kwh(),
                "grid_export_kwh": whole.grid_export_kwh(), "p2p_import_kwh": whole.p2p_import_kwh(),
                "p2p_export_kwh": whole.p2p_export_kwh(), "cost": whole.cost}
    for column, values in expected.items():
        np.testing.assert_array_equal(got[column].to_numpy().reshape(n, h), values, err_msg=column)
    unchecked = settle_chunked(ProfilesChunks(profiles), scenario.mechanisms, HOUSEHOLD_BLOCK)
    assert derivable_mechanisms(unchecked) == frozenset()  # a form nobody checked is not relied on


def _traced_peak(run) -> int:
    """Peak bytes traced by :mod:`tracemalloc` (numpy's arrays included) while ``run()`` runs."""
    import tracemalloc

    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("series", ["none", "community", "full"])
def test_a_chunked_run_never_holds_an_array_of_the_whole_town(tmp_path, series):
    """Settling and storing a run in 64-household chunks (one process) never allocates, at its
    peak, as much as one float64 ``[N, H]`` array of the whole community, whatever ``series``:
    the settlement keeps ``[N]`` and ``[H]`` results, and ``full`` writes a chunk's rows at a time."""
    from p2pstore.store import Store

    n, days = 4_096, 3  # 64 chunks: a chunk's arrays are 1/64 of the town's
    scenario = Scenario(households=n, prosumer_share=0.7, days=days, seed=2)
    h = days * 96
    limit = _one_chunk_of_64(scenario, series)
    plan = plan_memory(scenario, series, limit)
    assert plan.chunk_households == HOUSEHOLD_BLOCK and plan.workers == 1
    with Store(f"sqlite:///{tmp_path / 'p.db'}") as store:
        run_scenario(Scenario(households=HOUSEHOLD_BLOCK * 2, prosumer_share=0.7, days=1, seed=1), store,
                     series=series, memory_limit=limit)  # imports and caches outside the measurement
        stored = []
        peak = _traced_peak(lambda: stored.append(run_scenario(scenario, store, series=series, memory_limit=limit)))
        assert count(store, "household_slots", stored[0].run_id) == (n * h if series == "full" else 0)
    assert peak < n * h * 8, f"peak {peak:,} bytes; one [N, H] array is {n * h * 8:,}"
