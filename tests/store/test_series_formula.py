"""The household_series formula has one definition (:mod:`p2pstore.store.results.series`): the
view's SQL shipped in the newest migration that creates the view is what the definition
generates, and the numpy path evaluates it to the view's values bit for bit, on both backends."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from p2pstore.scenario import Scenario
from p2pstore.store.results import profile_reader, series
from p2pstore.store.schema import HouseholdSeriesExplicit, MechanismSlot

from test_series_layout import CASES

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _newest_view_migration():
    """The newest migration defining ``view_sql`` (the one whose view the database holds)."""
    path = max((p for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py") if "def view_sql(" in p.read_text()),
               key=lambda p: p.name)
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_migrations_view_is_the_definitions(dialect):
    migration = _newest_view_migration()
    assert migration.view_sql(dialect) == series.view_sql(dialect)
    assert migration.derived_select(dialect) == series.derived_select(dialect)
    assert tuple(migration.SERIES_COLUMNS) == series.SERIES_COLUMNS


def test_a_changed_definition_no_longer_matches_the_migration(monkeypatch):
    """The check above can fail: a flow changed in the definition only is caught."""
    migration = _newest_view_migration()
    monkeypatch.setitem(series.DERIVED, "grid_import_kwh", series.EXPORT * series.Factor("grid_import_h"))
    assert migration.view_sql("sqlite") != series.view_sql("sqlite")


def test_columns_and_factors_are_the_tables():
    assert series.SERIES_COLUMNS == tuple(c.name for c in HouseholdSeriesExplicit.__table__.columns)
    factor_columns = tuple(c.name for c in MechanismSlot.__table__.columns)[3:]  # after run, mechanism, slot
    assert series.FACTORS == factor_columns
    assert series.FLOW_FACTORS == factor_columns[:4] and series.FLOW_COLUMNS == series.SERIES_COLUMNS[6:10]


def test_the_helper_reads_the_definitions_inputs():
    """The helper's statements read the inputs as the definition states them (its tariffs are
    the view's COALESCE, its flat tariffs bound as parameters)."""
    assert profile_reader.SQL["profile"].startswith(f"SELECT {series.input_sql('load_kw')}, {series.input_sql('pv_kw')} ")
    assert profile_reader.SQL["tariffs"].startswith(
        f"SELECT {series.input_sql('buy')}, {series.input_sql('sell')} FROM household_slots")
    assert "COALESCE(lambda_buy, :b)" in profile_reader.SQL["tariffs"]
    assert all(f"{c} IS NOT NULL" in profile_reader.SQL["shape"] for c in series.OVERRIDES)


def _bits(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


@pytest.mark.parametrize("case", ["all-builtins", "time-varying-tariffs"])
def test_numpy_evaluation_is_the_view_bit_for_bit(store, case):
    """:func:`series.evaluate` over the stored inputs (tariffs coalesced in numpy) gives the
    view's derived columns bit for bit; some slots carry a tariff of their own."""
    settlement = CASES[case]()
    run_id = store.create_run(Scenario(days=1, mechanisms=tuple(settlement.results)))
    assert store.write_results(run_id, settlement, "full")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE household_slots SET lambda_buy = 0.437, lambda_sell = 0.0731 "
                          "WHERE run_id = :r AND position = 1 AND slot BETWEEN 10 AND 30"), {"r": run_id})
        inputs = conn.execute(text(
            "SELECT s.position, s.slot, s.load_kw, s.pv_kw, s.lambda_buy, s.lambda_sell, h.lambda_buy, h.lambda_sell "
            "FROM household_slots s JOIN households h ON h.run_id = s.run_id AND h.position = s.position "
            "WHERE s.run_id = :r ORDER BY s.position, s.slot"), {"r": run_id}).all()
        mechanisms = conn.execute(text("SELECT DISTINCT mechanism FROM mechanism_slots WHERE run_id = :r "
                                       "ORDER BY mechanism"), {"r": run_id}).scalars().all()
        assert mechanisms, "no derived mechanism stored"
        for mechanism in mechanisms:
            factors = conn.execute(text(f"SELECT slot, {', '.join(series.FACTORS)} FROM mechanism_slots "
                                        "WHERE run_id = :r AND mechanism = :m ORDER BY slot"),
                                   {"r": run_id, "m": mechanism}).all()
            view = conn.execute(text(f"SELECT {', '.join(series.DERIVED)} FROM household_series v "
                                     "JOIN households h ON h.run_id = v.run_id AND h.household = v.household "
                                     "WHERE v.run_id = :r AND v.mechanism = :m ORDER BY h.position, v.slot"),
                                {"r": run_id, "m": mechanism}).all()
            _assert_evaluated_is_the_view(inputs, factors, view)


def _assert_evaluated_is_the_view(inputs, factors, view) -> None:
    table = np.array([[np.nan if v is None else v for v in row] for row in inputs], dtype=np.float64)
    slots = table[:, 1].astype(np.int64)
    by_slot = {int(row[0]): row[1:] for row in factors}
    f = np.array([by_slot[s] for s in slots.tolist()], dtype=np.float64)
    values = {"load_kw": table[:, 2], "pv_kw": table[:, 3],
              "buy": np.where(np.isnan(table[:, 4]), table[:, 6], table[:, 4]),
              "sell": np.where(np.isnan(table[:, 5]), table[:, 7], table[:, 5])}
    got = series.evaluate(values, dict(zip(series.FACTORS, f.T)))
    want = np.array(view, dtype=np.float64)
    assert want.shape == (len(inputs), len(series.DERIVED))
    for k, column in enumerate(series.DERIVED):
        assert np.array_equal(_bits(got[column]), _bits(want[:, k])), column
