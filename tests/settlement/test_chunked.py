"""Chunked settlement: the same bits as the whole community at once, whatever the chunk size."""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np
import pytest

from p2pstore import registry
from p2pstore.errors import InputError, P2PStoreError
from p2pstore.limits import HOUSEHOLD_BLOCK
from p2pstore.profiles import generate
from p2pstore.profiles.base import column_sums
from p2pstore.profiles.chunks import ProfilesChunks, TariffFileChunks
from p2pstore.profiles.notebook_chunks import NotebookChunks
from p2pstore.profiles.sets import TariffTable, with_tariffs
from p2pstore.profiles.standard_chunks import StandardChunks
from p2pstore.scenario import Scenario
from p2pstore.settlement import settle
from p2pstore.settlement.chunked import settle_chunked

BUILTINS = ("conventional", "mmr", "bill_sharing", "sdr", "mmr_lit", "bs_lit", "bs_lit_slot")
SOURCES = {"notebook": NotebookChunks, "standard": StandardChunks}
#: chunk sizes: one block, two blocks, a size that is not a multiple of the block, the whole
SIZES = (HOUSEHOLD_BLOCK, 2 * HOUSEHOLD_BLOCK, 3 * HOUSEHOLD_BLOCK + 5, 10_000)


def _scenario(generator: str, **kw) -> Scenario:
    # 70 consumers: prosumers start inside a block, so chunks and PV blocks do not line up
    values = dict(consumers=70, prosumers=150, days=2, generator=generator, mechanisms=BUILTINS,
                  inverter_outages=6, maintenance_windows=2, seed=5)
    return Scenario(**{**values, **kw})


def assert_same_settlement(whole, chunked, mechanisms=BUILTINS):
    """Every stored result of ``chunked`` equals ``whole``'s bit for bit."""
    np.testing.assert_array_equal(chunked.flows.load_total_kw, whole.flows.load_total_kw)
    np.testing.assert_array_equal(chunked.flows.import_total_kw, whole.flows.import_total_kw)
    for a, b in zip(whole.profiles.household_energy_kwh(), chunked.profiles.household_energy_kwh()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(whole.profiles.mean_tariffs(), chunked.profiles.mean_tariffs()):
        np.testing.assert_array_equal(a, b)
    for m in mechanisms:
        w, c = whole.results[m], chunked.results[m]
        assert c.cost is None  # no [N, H] array kept
        np.testing.assert_array_equal(c.bills, w.bills, err_msg=m)
        np.testing.assert_array_equal(c.community_cost, w.community_cost, err_msg=m)
        for key, value in w.household_totals().items():
            np.testing.assert_array_equal(c.household_totals()[key], value, err_msg=f"{m} {key}")
        for key, value in w.community_series().items():
            np.testing.assert_array_equal(c.community_series()[key], value, err_msg=f"{m} {key}")
        for key in ("import_price", "export_price", "p2p_price", "supply_demand_ratio"):
            a, b = getattr(w, key), getattr(c, key)
            assert (a is None) == (b is None), (m, key)
            if a is not None:
                np.testing.assert_array_equal(b, a, err_msg=f"{m} {key}")
    assert chunked.metrics == whole.metrics
    np.testing.assert_array_equal(chunked.daily["avg_load_kwh_per_house"], whole.daily["avg_load_kwh_per_house"])
    for m in mechanisms:
        np.testing.assert_array_equal(chunked.daily["bill"][m], whole.daily["bill"][m])


@pytest.mark.parametrize("generator", sorted(SOURCES))
def test_generated_chunks_are_the_whole_communitys_rows(generator):
    s = _scenario(generator)
    whole = generate(s)
    source = SOURCES[generator](s)
    starts = [0, 64, 70, 128, 200]
    source.prepare(starts)
    assert source.frame.outages == whole.outages and source.frame.maintenance == whole.maintenance
    np.testing.assert_array_equal(source.frame.p2p_allowed, whole.p2p_allowed)
    assert list(source.frame.labels) == list(whole.labels)
    for a, b in zip(starts, [*starts[1:], whole.n_households]):
        part = source.chunk(a, b)
        np.testing.assert_array_equal(part.load_kw, whole.load_kw[a:b])
        np.testing.assert_array_equal(part.pv_kw, whole.pv_kw[a:b])
        np.testing.assert_array_equal(part.lambda_buy, whole.lambda_buy[a:b])
        np.testing.assert_array_equal(part.lambda_sell, whole.lambda_sell[a:b])


@pytest.mark.parametrize("generator", sorted(SOURCES))
@pytest.mark.parametrize("size", SIZES)
def test_chunked_settlement_equals_the_whole_one(generator, size):
    s = _scenario(generator)
    whole = settle(generate(s), BUILTINS)
    assert_same_settlement(whole, settle_chunked(SOURCES[generator](s), BUILTINS, size))
    assert_same_settlement(whole, settle_chunked(ProfilesChunks(generate(s)), BUILTINS, size))


def test_time_varying_tariffs_in_chunks():
    s = _scenario("notebook", consumers=30, prosumers=100)
    profiles = generate(s)
    rng = np.random.default_rng(1)
    buy = rng.uniform(5, 9, profiles.load_kw.shape)
    sell = np.where(profiles.kinds[:, None] == "prosumer", rng.uniform(-1, 4, profiles.load_kw.shape), 0.0)
    tou = dataclasses.replace(profiles, lambda_buy=buy, lambda_sell=sell)
    whole = settle(tou, BUILTINS)
    for size in (HOUSEHOLD_BLOCK, 10_000):
        assert_same_settlement(whole, settle_chunked(ProfilesChunks(tou), BUILTINS, size))


def test_a_tariff_file_applies_per_chunk():
    s = _scenario("notebook")
    profiles = generate(s)
    labels = tuple(str(x) for x in profiles.labels)
    table = TariffTable(labels, np.linspace(6, 8, len(labels)), np.linspace(0, 3, len(labels)), source="t.csv")
    whole = settle(with_tariffs(profiles, table), BUILTINS)
    chunked = settle_chunked(TariffFileChunks(NotebookChunks(s), table, with_tariffs), BUILTINS, HOUSEHOLD_BLOCK)
    assert_same_settlement(whole, chunked)


def test_a_stage_sees_the_community_totals_and_runs_per_chunk():
    s = _scenario("notebook")
    profiles = generate(s)
    seen = []

    def shave(chunk, load_total_kw):  # a stand-in for a battery: halve the load in the community's peak slot
        seen.append(chunk.n_households)
        load = chunk.load_kw.copy()
        load[:, int(np.argmax(load_total_kw))] *= 0.5
        return dataclasses.replace(chunk, load_kw=load)

    whole = settle(shave(profiles, column_sums(profiles.load_kw)), BUILTINS)
    seen.clear()
    chunked = settle_chunked(ProfilesChunks(profiles), BUILTINS, HOUSEHOLD_BLOCK,
                             stage=lambda chunk, totals: shave(chunk, totals.load_kw))
    assert_same_settlement(whole, chunked)
    assert max(seen) == HOUSEHOLD_BLOCK and sum(seen) == 2 * profiles.n_households  # totals pass, cost pass


def test_household_chunks_make_the_whole_communitys_rows_and_costs_again():
    """``--series full`` of a chunked run writes from ``household_chunks``: each chunk's rows and
    its results settled again are the whole community's, bit for bit; the cost-form check of
    the cost pass ran once per chunk and mechanism with a form."""
    s = _scenario("notebook")
    whole = settle(generate(s), BUILTINS)
    third, checked = str(whole.profiles.labels[128]), []

    def check(chunk, r):
        checked.append((str(chunk.labels[0]), r.mechanism))
        return r.mechanism != "sdr" or str(chunk.labels[0]) != third  # sdr "fails" in the third chunk

    chunked = settle_chunked(NotebookChunks(s), BUILTINS, HOUSEHOLD_BLOCK, check_form=check)
    assert {m: r.form_holds for m, r in chunked.results.items()} == {m: m != "sdr" for m in BUILTINS}
    assert len(checked) == 4 * len(BUILTINS) == len(set(checked))  # every built-in declares a form
    again = chunked.household_chunks
    assert [(a, b) for a, b, _ in again] == [(0, 64), (64, 128), (128, 192), (192, 220)]
    for a, b, chunk in again:
        np.testing.assert_array_equal(chunk.load_kw, whole.profiles.load_kw[a:b])
        np.testing.assert_array_equal(chunk.pv_kw, whole.profiles.pv_kw[a:b])
        for m in BUILTINS:
            np.testing.assert_array_equal(again.settle(chunk, m).cost, whole.results[m].cost[a:b], err_msg=m)
    assert settle_chunked(NotebookChunks(s), BUILTINS, HOUSEHOLD_BLOCK).results["mmr"].form_holds is None


def test_workers_give_the_same_bits():
    s = _scenario("standard")
    one = settle_chunked(StandardChunks(s), BUILTINS, HOUSEHOLD_BLOCK)
    assert_same_settlement(one, settle_chunked(StandardChunks(s), BUILTINS, HOUSEHOLD_BLOCK, workers=2))


@contextlib.contextmanager
def _plugin(function, name="chunky"):
    registry.register(name, function)
    try:
        yield name
    finally:
        registry.unregister(name)


def _mid_price(community):
    mid = (community.buy_ref + community.sell_ref) / 2
    return community.import_kw * (mid * community.slot_hours) - community.export_kw * (mid * community.slot_hours)


def test_plugins_settle_in_chunks_only_when_they_say_so():
    s = _scenario("notebook")
    profiles = generate(s)
    with _plugin(_mid_price) as name, pytest.raises(InputError) as err:
        settle_chunked(ProfilesChunks(profiles), [name], HOUSEHOLD_BLOCK)
    assert "settles_in_chunks" in str(err.value) and "--memory-limit" in str(err.value)
    assert "\n" not in str(err.value)

    def chunk_aware(community):
        return _mid_price(community)

    chunk_aware.settles_in_chunks = True
    with _plugin(chunk_aware) as name:
        whole = settle(profiles, [name])
        chunked = settle_chunked(ProfilesChunks(profiles), [name], HOUSEHOLD_BLOCK)
        np.testing.assert_array_equal(chunked.results[name].bills, whole.results[name].bills)


def test_a_chunk_process_that_dies_fails_the_run_in_one_line():
    import os

    def dies(community):  # only ever called in a chunk process (workers=2)
        os._exit(3)

    dies.settles_in_chunks = True
    with _plugin(dies) as name, pytest.raises(P2PStoreError, match="a process settling household chunks died") as err:
        settle_chunked(ProfilesChunks(generate(_scenario("notebook"))), [name], HOUSEHOLD_BLOCK, workers=2)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("seed", range(4))
def test_a_lone_household_in_the_last_chunk_gets_the_whole_runs_bits(seed):
    """65 households in chunks of 64: the last chunk holds one. Each household's P2P energy is a
    product over the slots whose rounding would depend on how many rows it is computed with; it
    is computed a block of households at a time on both paths, so the bits agree."""
    s = Scenario(consumers=20, prosumers=45, days=3, mechanisms=BUILTINS, seed=seed)
    whole = settle(generate(s), BUILTINS)
    assert_same_settlement(whole, settle_chunked(NotebookChunks(s), BUILTINS, HOUSEHOLD_BLOCK))
