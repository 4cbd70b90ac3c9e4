"""The notebook generator reproduces the notebook's draws bit for bit (tests/golden/*.npz)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from p2pstore.profiles import generate
from p2pstore.profiles.notebook import generate_notebook
from p2pstore.scenario import Scenario

GOLDEN = sorted((Path(__file__).resolve().parents[1] / "golden").glob("notebook_*.npz"))


def _load(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_bit_identical_to_notebook(path):
    g = _load(path)
    seed, nc, npro, days = (int(v) for v in g["params"])
    p = generate(Scenario(seed=seed, consumers=nc, prosumers=npro, days=days))
    assert np.array_equal(p.load_kw, g["load_kw"])
    assert np.array_equal(p.pv_kw, g["pv_kw"])
    assert np.array_equal(p.lambda_buy, g["lambda_buy"])
    assert np.array_equal(p.lambda_sell, g["lambda_sell"])
    assert np.array_equal(p.p2p_allowed, g["p2p_allowed"])
    assert p.lambda_buy_ref == g["lambda_buy_ref"]
    assert p.lambda_sell_ref == g["lambda_sell_ref"]


def test_golden_sets_cover_seed_sizes_and_horizon():
    params = {tuple(int(v) for v in _load(p)["params"]) for p in GOLDEN}
    assert (42, 3, 7, 30) in params
    assert len({s for s, *_ in params}) >= 4
    assert len({c for _, c, _, _ in params}) >= 3 and len({q for _, _, q, _ in params}) >= 3
    assert len({d for *_, d in params}) >= 3


def test_shapes_labels_and_time_index():
    s = Scenario(consumers=2, prosumers=3, days=2, start="2024-06-30")
    p = generate_notebook(s)
    assert p.load_kw.shape == p.pv_kw.shape == (5, 192)
    assert list(p.labels) == ["C1", "C2", "P1", "P2", "P3"]
    assert list(p.kinds) == ["consumer"] * 2 + ["prosumer"] * 3
    assert p.start == dt.datetime(2024, 6, 30)
    assert p.slot_hours == 0.25 and p.periods_per_day == 96
    ts = p.timestamps()
    assert ts[0] == np.datetime64("2024-06-30T00:00") and ts[-1] == np.datetime64("2024-07-01T23:45")
    assert np.all(p.pv_kw[:2] == 0) and np.all(p.lambda_sell[:2] == 0)
    assert np.all(p.load_kw >= 0.05) and np.all(p.pv_kw >= 0)


def test_events_are_recorded_and_applied():
    s = Scenario(seed=3, days=10)
    p = generate_notebook(s)
    assert len(p.outages) == s.inverter_outages and len(p.maintenance) == s.maintenance_windows
    for i, day in p.outages:
        assert s.consumers <= i < s.n_households
        assert np.all(p.pv_kw[i, day * 96:(day + 1) * 96] == 0)
    off = np.zeros(p.n_slots, bool)
    for first in p.maintenance:
        off[first:first + s.maintenance_slots] = True
    np.testing.assert_array_equal(p.p2p_allowed, ~off)


def test_uses_no_global_random_state():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    generate_notebook(Scenario(days=2))
    assert np.array_equal(np.random.get_state()[1], before)


def test_deterministic_and_seed_sensitive():
    a = generate_notebook(Scenario(days=2))
    b = generate_notebook(Scenario(days=2))
    c = generate_notebook(Scenario(days=2, seed=43))
    assert np.array_equal(a.load_kw, b.load_kw) and np.array_equal(a.pv_kw, b.pv_kw)
    assert not np.array_equal(a.load_kw, c.load_kw)


def test_other_slot_length():
    p = generate_notebook(Scenario(days=2, slot_minutes=60))
    assert p.load_kw.shape == (10, 48) and p.slot_hours == 1.0 and p.periods_per_day == 24
    # daily load energy stays in the configured range give or take the noise
    daily = p.load_kw.reshape(10, 2, 24).sum(axis=2) * p.slot_hours
    assert np.all((daily > 3.0) & (daily < 10.5))


def test_scenario_ranges_are_used():
    s = Scenario(days=1, consumer_buy_tariff=(9.0, 9.0), prosumer_buy_tariff=(8.0, 8.0),
                 prosumer_sell_tariff=(2.0, 2.0), load_day_noise=0.0, load_slot_noise=0.0,
                 consumer_daily_kwh=(4.0, 4.0), prosumer_daily_kwh=(6.0, 6.0))
    p = generate_notebook(s)
    assert np.all(p.lambda_buy[:3] == 9.0) and np.all(p.lambda_buy[3:] == 8.0)
    assert np.all(p.lambda_sell[3:] == 2.0)
    np.testing.assert_allclose(p.load_kw.sum(axis=1) * 0.25, [4.0] * 3 + [6.0] * 7, rtol=1e-12)
