"""A run settled in household chunks (``--memory-limit``) stores what the whole community at once
stores, on both backends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from p2pstore.errors import InputError
from p2pstore.jobs.execute import run_scenario
from p2pstore.limits import parse_size
from p2pstore.memory_plan import plan_memory
from p2pstore.scenario import Scenario

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


def test_series_full_of_a_community_that_does_not_fit_is_refused_before_anything_is_stored(store):
    scenario = Scenario(households=2_000, prosumer_share=0.7, days=30)
    with pytest.raises(InputError, match="series=full keeps the whole community in memory"):
        run_scenario(scenario, store, series="full", memory_limit=parse_size("300MB"))
    assert int(store.query("SELECT COUNT(*) AS n FROM runs")["n"][0]) == 0
