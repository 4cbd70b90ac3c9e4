"""Reading ``household_series`` in numpy (:func:`p2pstore.store.results.household_series.household_series_arrays`):
the arrays are the view's rows bit for bit, also for households with slots of their own or
tariffs in some slots only, whether the profiles are read in this process or (a large run in a
SQLite file) by the helper process of :mod:`p2pstore.store.results.profile_reader`; the ``same`` keys that let
a writer format a column once only ever name equal values."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from sqlalchemy import text

from p2pstore.store.results import profile_reader
from p2pstore.errors import StoreError
from p2pstore.scenario import Scenario
from p2pstore.store.results.household_series import _HouseholdSlots, household_series_arrays

from test_series_layout import CASES


@pytest.fixture(params=["any-size", "large-only"])
def reader(request, monkeypatch, store):
    """Which runs' profiles the helper process reads: any run's (its threshold lowered to 0) or
    only large ones (the tests' runs are small: read in this process). Returns whether the
    helper is expected: for a SQLite file only, never for PostgreSQL."""
    if request.param == "any-size":
        monkeypatch.setattr(profile_reader, "MIN_ROWS", 0)
    return request.param == "any-size" and store.dialect == "sqlite"


def _parts(store, run_id: int) -> list:
    mechanisms = store.get_run(run_id)["mechanisms"]
    mechanisms = mechanisms.split(",") if isinstance(mechanisms, str) else list(mechanisms)
    with store.engine.connect() as conn:
        return list(household_series_arrays(conn, run_id, mechanisms))


def _stored(store, case: str) -> int:
    settlement = CASES[case]()
    run_id = store.create_run(Scenario(days=1, mechanisms=tuple(settlement.results)))
    assert store.write_results(run_id, settlement, "full")
    return run_id


def _bits(a: np.ndarray) -> list:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64).tolist()


@pytest.mark.parametrize("case", list(CASES))
def test_same_keys_name_equal_values(store, case):
    """Two parts whose column has the same key hold the same values, bit for bit; load and PV
    are shared by every derived mechanism of a household, and so are the flows of mechanisms
    with the same per-slot factors (MMR and bill sharing)."""
    run_id = _stored(store, case)
    parts = _parts(store, run_id)
    groups: dict = defaultdict(list)
    for part in parts:
        for column, key in part.same.items():
            groups[key].append((part, column))
    for key, members in groups.items():
        first = members[0][0].values[members[0][1]]
        for part, column in members[1:]:
            assert _bits(part.values[column]) == _bits(first), (key, part.mechanism, part.household, column)
    derived = {p.mechanism for p in parts if "load_kw" in p.same}
    for household in {p.household for p in parts}:
        keys = {p.same["load_kw"] for p in parts if p.household == household and p.mechanism in derived}
        assert len(keys) == 1 or keys == {("zeros",)}, household  # one text for all its mechanisms
    if {"mmr", "bill_sharing"} <= derived:
        for household in {p.household for p in parts}:
            mmr, bs = ({c: p.same.get(c) for c in ("grid_import_kwh", "p2p_import_kwh")}
                       for p in parts if p.household == household and p.mechanism in ("mmr", "bill_sharing"))
            assert mmr == bs and None not in mmr.values()


def _view(store, run_id: int) -> dict:
    with store.engine.connect() as conn:
        return {tuple(r[1:4]): tuple(r[4:]) for r in conn.execute(
            text("SELECT * FROM household_series WHERE run_id = :r"), {"r": run_id})}


def _assert_parts_are_the_view(store, run_id: int) -> None:
    view = _view(store, run_id)
    seen = 0
    for part in _parts(store, run_id):
        columns = [c for c in part.values if c != "slot"]
        for k, slot in enumerate(part.values["slot"].tolist()):
            want = view[(part.mechanism, part.household, slot)]
            got = tuple(float(part.values[c][k]) for c in columns)
            assert _bits(np.array(got)) == _bits(np.array(want, dtype=np.float64)), (part.mechanism, part.household, slot)
            seen += 1
    assert seen == len(view)


@pytest.mark.parametrize("case", list(CASES))
def test_parts_are_the_view(store, case, reader):
    run_id = _stored(store, case)
    with store.engine.connect() as conn:
        slots = _HouseholdSlots(conn, run_id, 0, [(0, 0.3, 0.1)])
        slots.close()
    assert (slots.helper is not None) == reader
    _assert_parts_are_the_view(store, run_id)


def test_a_household_missing_slots_reads_its_own_slots(store, reader):
    """Slots that are not a range (rows removed by hand) are read, not assumed; a household
    without any (all removed) has no rows, in the view as in the arrays."""
    run_id = _stored(store, "all-builtins")
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM household_slots WHERE run_id = :r AND position = 1 AND slot IN (0, 5, 6)"),
                     {"r": run_id})
        conn.execute(text("DELETE FROM household_slots WHERE run_id = :r AND position = 3"), {"r": run_id})
    parts = _parts(store, run_id)
    short = [p for p in parts if len(p.values["slot"]) != len(parts[0].values["slot"])]
    assert short and all("slot" not in p.same and 5 not in p.values["slot"].tolist() for p in short)
    assert len({p.household for p in parts}) == 4  # of 5: the one without slots is left out
    _assert_parts_are_the_view(store, run_id)


def test_tariffs_in_some_slots_read_as_the_view_coalesces_them(store, reader):
    """A household with a tariff in a few slots (NULL, the flat tariff, in the others)."""
    run_id = _stored(store, "all-builtins")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE household_slots SET lambda_buy = 0.437, lambda_sell = 0.0731 "
                          "WHERE run_id = :r AND position = 2 AND slot BETWEEN 40 AND 60"), {"r": run_id})
        conn.execute(text("UPDATE household_slots SET lambda_sell = 0.05 "
                          "WHERE run_id = :r AND position = 0 AND slot = 70"), {"r": run_id})
    _assert_parts_are_the_view(store, run_id)


def test_a_helper_that_cannot_read_raises_a_store_error(tmp_path):
    """The helper's failure (here: no such file) reaches the caller as one StoreError."""
    reader = profile_reader.ProfileReader(f"file:{tmp_path / 'missing.db'}?mode=ro", 1, [(0, 0.3, 0.1), (1, 0.3, 0.1)])
    try:
        with pytest.raises(StoreError, match="profile reader"):
            reader.get(0)
    finally:
        reader.close()
    assert reader.proc.returncode is not None  # ended


def test_a_helper_closed_early_ends(tmp_path, monkeypatch):
    """A stream abandoned after its first part (answers still in the pipe) ends its helper."""
    from p2pstore.store import Store

    monkeypatch.setattr(profile_reader, "MIN_ROWS", 0)
    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    run_id = _stored(store, "all-builtins")
    with store.engine.connect() as conn:
        slots = _HouseholdSlots(conn, run_id, 0, [(p, 0.3, 0.1) for p in range(5)])
        assert slots.helper is not None and slots.read(0, 0.3, 0.1) is not None
        slots.close()
    assert slots.helper.proc.returncode is not None
    store.close()
