"""Profile sets in the store, on SQLite and PostgreSQL: stored once and read back exactly (whole
or in part), reused, replaced, protected while runs use them, and pinned in the runs' specs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from p2pstore.errors import InputError, NotFoundError
from p2pstore.jobs.build_profiles import import_profiles
from p2pstore.jobs.execute import run_now, run_scenario
from p2pstore.profiles.importer import read_profile_set
from p2pstore.scenario import Scenario
from p2pstore.store import RunRequest
from store_helpers import count

TIMES = pd.date_range("2025-01-01", periods=96 * 3, freq="15min")
N = 6


def make_set(shift: float = 0.0, tariffs: str = "flat"):
    rng = np.random.default_rng(5)
    names = [f"meter-{i:03d}" for i in range(N)]
    load = pd.DataFrame(rng.uniform(0.1, 2.0, (len(TIMES), N)) + shift, columns=names)
    sun = np.clip(np.sin(np.pi * ((TIMES.hour + TIMES.minute / 60) - 6) / 12), 0, None)
    pv = pd.DataFrame(np.outer(sun, [2.0, 0, 1.5, 0, 3.0, 0.5]), columns=names)
    if tariffs == "flat":
        table = pd.DataFrame({"household": names, "buy": np.linspace(5, 7, N), "sell": [3.0, 0, 3.5, 0, 2.5, 3.1]})
    else:  # time of use: per household, two plans
        rows = [(t, hh, 8.0 if 17 <= t.hour < 21 else 4.0 + (k % 2), 2.0 if k % 2 else -0.5)
                for t in TIMES for k, hh in enumerate(names)]
        table = pd.DataFrame(rows, columns=["timestamp", "household", "buy", "sell"])
    flags = pd.DataFrame({"timestamp": TIMES, "p2p_allowed": ~((TIMES.day == 2) & (TIMES.hour == 12))})
    return read_profile_set(load=load.assign(timestamp=TIMES), pv=pv.assign(timestamp=TIMES), tariffs=table,
                            p2p_allowed=flags)


def test_stored_once_read_back_bit_for_bit(store):
    data = make_set()
    out = store.save_profile_set("meters", data)
    assert out["status"] == "imported" and out["content_hash"] == data.content_hash
    assert count(store, "profile_values") == N * len(TIMES) and count(store, "profile_p2p") == len(TIMES)
    back = store.load_profile_set("meters")
    assert back.names == data.names and list(back.kinds) == list(data.kinds)
    assert np.array_equal(back.load_kw, data.load_kw) and np.array_equal(back.pv_kw, data.pv_kw)
    assert np.array_equal(back.p2p_allowed, data.p2p_allowed)
    assert back.start == data.start and back.slot_minutes == 15
    assert back.content_hash == data.content_hash  # tariffs included
    listing = store.profile_sets()
    assert listing["name"].tolist() == ["meters"]
    row = listing.iloc[0]
    assert (row["households"], row["consumers"], row["prosumers"], row["days"]) == (N, 2, 4, 3.0)
    assert row["tariffs"] == "flat" and row["runs"] == 0


def test_identical_data_reused_other_data_need_replace(store):
    first = store.save_profile_set("meters", make_set())
    again = store.save_profile_set("meters", make_set())
    assert again["status"] == "unchanged" and again["id"] == first["id"]
    assert count(store, "profile_values") == N * len(TIMES)
    with pytest.raises(InputError, match="already exists with other data .* use --replace"):
        store.save_profile_set("meters", make_set(shift=0.1))
    with pytest.raises(InputError, match="already stored as profile set 'meters'"):
        store.save_profile_set("twin", make_set())
    replaced = store.save_profile_set("meters", make_set(shift=0.1), replace=True)
    assert replaced["status"] == "replaced"
    assert count(store, "profile_values") == N * len(TIMES) and count(store, "profile_sets") == 1


def test_time_varying_tariffs_stored_as_shared_series(store):
    data = make_set(tariffs="time")
    store.save_profile_set("tou", data)
    assert count(store, "profile_tariffs") == 2 * len(TIMES)  # two plans, not one series per household
    back = store.load_profile_set("tou")
    assert back.content_hash == data.content_hash
    members = store.profile_set("tou")["members"]
    assert members["tariff_series"].tolist() == [0, 1, 0, 1, 0, 1] and members["buy"].isna().all()


@pytest.mark.parametrize("tariffs", ["flat", "time"])
def test_runs_read_only_their_households_and_window(store, tariffs):
    data = make_set(tariffs=tariffs)
    store.save_profile_set("meters", data)
    scenario = Scenario(profiles="meters", households=3, seed=11, start="2025-01-02", days=1)
    run_id, settlement = run_now(store, scenario, "none")
    expected = data.community(households=3, seed=11, start="2025-01-02", days=1)
    p = settlement.profiles
    assert list(p.labels) == list(expected.labels) and p.start == expected.start and p.n_slots == 96
    assert np.array_equal(p.load_kw, expected.load_kw) and np.array_equal(p.lambda_buy, expected.lambda_buy)
    assert not p.p2p_allowed.all()  # the calendar's window
    # the stored spec pins the set's content hash; the scenario row holds the drawn community's size
    stored = store.scenario_of(run_id)
    assert stored.profiles_hash == data.content_hash and stored.profiles == "meters"
    runs = store.runs()
    prosumers = int((expected.kinds == "prosumer").sum())
    assert (runs.loc[0, "consumers"], runs.loc[0, "prosumers"], runs.loc[0, "days"]) == (3 - prosumers, prosumers, 1)
    assert store.bills(run_id)["household"].iloc[:3].tolist() == list(expected.labels)
    assert store.profile_sets().loc[0, "runs"] == 1


def test_sets_in_use_cannot_be_deleted_or_replaced(store):
    store.save_profile_set("meters", make_set())
    run_scenario(Scenario(profiles="meters", days=1), store, series="none")
    with pytest.raises(InputError, match=r"profile set 'meters' is used by 1 run\(s\) \(ids 1\); it cannot be deleted"):
        store.delete_profile_set("meters")
    with pytest.raises(InputError, match="cannot be replaced"):
        store.save_profile_set("meters", make_set(shift=1.0), replace=True)
    assert count(store, "profile_values") == N * len(TIMES)
    from p2pstore.jobs.schedules import add_schedule
    from p2pstore.store.queue.schedules import remove_schedule

    store.save_profile_set("spare", make_set(shift=2.0))
    add_schedule(store, "nightly", "0 2 * * *", Scenario(profiles="spare", days=1))
    with pytest.raises(InputError, match="profile set 'spare' is used by schedule\\(s\\) 'nightly'"):
        store.delete_profile_set("spare")
    remove_schedule(store.engine, "nightly")
    assert store.delete_profile_set("spare") == N * len(TIMES)
    assert count(store, "profile_values") == N * len(TIMES)
    with pytest.raises(NotFoundError, match="no profile set named 'spare' \\(known: meters\\)"):
        store.delete_profile_set("spare")


def test_scenario_errors_surface_when_queued_and_write_nothing(store):
    store.save_profile_set("meters", make_set())
    runs_before = count(store, "runs")
    with pytest.raises(InputError, match=r"5 day\(s\) from its start do not fit in profile set 'meters'"):
        store.create_run(Scenario(profiles="meters", days=5))
    with pytest.raises(InputError, match="cannot draw 7 households from profile set 'meters', which has 6"):
        store.create_run(Scenario(profiles="meters", households=7))
    with pytest.raises(NotFoundError, match="no profile set named 'nope'"):
        store.create_run(Scenario(profiles="nope"))
    with pytest.raises(InputError, match="not the pinned"):
        store.create_run(Scenario(profiles="meters", profiles_hash="0" * 64))
    assert count(store, "runs") == runs_before and count(store, "scenarios") == 0


def test_a_pinned_run_computes_from_its_data_even_after_the_name_moves(store):
    """A queued run keeps the content hash it was queued with: replacing is refused while it
    waits, and a run whose set vanished fails naming the hash rather than using other data."""
    from p2pstore.jobs.execute import execute_run
    from p2pstore.store.queue import runs

    store.save_profile_set("meters", make_set())
    run_id = store.create_run(Scenario(profiles="meters", days=1), series="none")
    with pytest.raises(InputError, match="is used by 1 run"):
        store.save_profile_set("meters", make_set(shift=1.0), replace=True)
    claim = runs.claim_next(store.engine, "w", 60.0)
    assert claim.run_id == run_id
    committed, settlement = execute_run(store, claim)
    assert committed and settlement.profiles.n_households == N


def test_tariff_files_of_generated_runs_are_stored_and_shared(store, tmp_path):
    path = tmp_path / "tou.csv"
    hours = pd.date_range("2025-01-01", periods=48, freq="60min")
    pd.DataFrame({"timestamp": hours, "buy": np.where(hours.hour >= 17, 9.0, 4.0), "sell": 2.0}).to_csv(path, index=False)
    ids = store.create_runs([RunRequest(
        Scenario(days=2, seed=s, tariffs=str(path)), series="none") for s in (1, 2)])
    assert count(store, "profile_sets") == 1 and count(store, "profile_tariffs") == 48
    spec = store.scenario_of(ids[0])
    assert spec.tariffs is None and len(spec.tariffs_hash) == 64
    assert store.profile_sets().empty  # a tariff file is not a named profile set
    again = store.create_run(Scenario(days=1, tariffs=str(path)), series="none")  # stored once
    assert count(store, "profile_sets") == 1 and store.scenario_of(again).tariffs_hash == spec.tariffs_hash
    with pytest.raises(InputError, match="time-varying tariffs cover .* not every slot"):
        store.create_run(Scenario(days=3, tariffs=str(path)))


def test_python_api_from_dataframes(db_url):
    """The notebook workflow of docs/profiles.md: DataFrames in, a stored run out."""
    import p2pstore

    assert "run_scenario" in p2pstore.__all__ and p2pstore.run_scenario is run_scenario
    store = p2pstore.Store(db_url)
    try:
        names = ["a", "b", "c"]
        load = pd.DataFrame(1.0, index=TIMES, columns=names)
        pv = pd.DataFrame({"a": 2.0, "b": 0.0, "c": 0.5}, index=TIMES)
        tariffs = pd.DataFrame({"household": names, "buy": [6.0, 6.5, 7.0], "sell": [3.0, 0.0, 3.2]})
        out = import_profiles(store, "frames", load=load, pv=pv, tariffs=tariffs)
        assert out["status"] == "imported" and out["households"] == 3 and out["warnings"] == []
        assert store.profile_sets()["name"].tolist() == ["frames"]
        run_id, settlement = p2pstore.run_scenario(p2pstore.Scenario(profiles="frames", days=1), db_url,
                                                   series="none")
        bills = store.bills(run_id, mechanism="conventional").set_index("household")["bill"]
        # b imports 1 kW for 24 h at 6.5; a exports 1 kW at 3
        assert bills["b"] == pytest.approx(24 * 6.5) and bills["a"] == pytest.approx(-24 * 3.0)
        assert settlement.totals()["conventional"] == pytest.approx(bills.sum())
    finally:
        store.close()
