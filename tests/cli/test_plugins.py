"""Mechanism plugins end to end, on SQLite and PostgreSQL.

* The example plugin (examples/mechanism-plugin, ``flat_p2p``), which the README's test command
  installs into the test environment: its bills are printed, stored, compared and reported like
  a built-in's.
* A test-only distribution of broken plugins (tests/broken_plugin.py), found through the real
  entry-point group: each broken kind fails its run with one line naming the plugin, through
  ``p2pstore run`` and through a worker, and none of the run's results are written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from broken_plugin import make_broken_plugin
from example_plugin import needs_example_plugin
from p2pstore.cli import cli
from p2pstore.store.schema import RESULT_TABLES, VIEWS, tables_on


def invoke(db_url, *args):
    result = CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def scalar_rows(db_url, sql, **params):
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def expected_flat_p2p(days: int) -> np.ndarray:
    """[N] bills of flat_p2p on the generated scenario, from the formula (no plugin code)."""
    from p2pstore.profiles import generate
    from p2pstore.scenario import Scenario

    p = generate(Scenario(days=days))
    L, PV, dt = p.load_kw, p.pv_kw, p.slot_hours
    imp, exp = np.maximum(L - PV, 0), np.maximum(PV - L, 0)
    I, E = imp.sum(axis=0), exp.sum(axis=0)
    m = np.minimum(I, E)
    on = p.p2p_allowed
    f_im = np.where(on & (I > 0), m / np.where(I > 0, I, 1), 0)
    f_ex = np.where(on & (E > 0), m / np.where(E > 0, E, 1), 0)
    sell_ref = p.lambda_sell[p.lambda_sell > 0].mean()
    mid = (p.lambda_buy.mean() + sell_ref) / 2
    buy, sell = p.lambda_buy[:, None], p.lambda_sell[:, None]
    cost = imp * dt * (f_im * mid + (1 - f_im) * buy) - exp * dt * (f_ex * mid + (1 - f_ex) * sell)
    return cost.sum(axis=1), mid


@needs_example_plugin
def test_example_plugin_is_settled_stored_and_compared(db_url):
    out = json.loads(invoke(db_url, "run", "--days", "3", "--mechanism", "conventional", "--mechanism", "flat_p2p",
                            "--json"))
    assert list(out["bills"]) == ["conventional", "flat_p2p"]
    bills, mid = expected_flat_p2p(3)
    np.testing.assert_allclose(list(out["bills"]["flat_p2p"].values()), bills, rtol=1e-12)
    run_id = out["run_id"]

    stored = dict(scalar_rows(db_url, "SELECT household, bill FROM bills WHERE run_id = :r AND mechanism = 'flat_p2p'",
                              r=run_id))
    assert stored == pytest.approx(out["bills"]["flat_p2p"], rel=1e-12)
    prices = scalar_rows(db_url, "SELECT p2p_allowed, p2p_price, import_price FROM clearing_prices "
                                 "WHERE run_id = :r AND mechanism = 'flat_p2p' ORDER BY slot", r=run_id)
    assert len(prices) == 3 * 96
    for allowed, p2p_price, import_price in prices:
        assert import_price is None
        assert (p2p_price == pytest.approx(mid, rel=1e-12)) if allowed else p2p_price is None
    assert scalar_rows(db_url, "SELECT COUNT(*) FROM run_metrics WHERE run_id = :r AND mechanism = 'flat_p2p'",
                       r=run_id)[0][0] > 10

    table = json.loads(invoke(db_url, "compare", "--runs", str(run_id), "--metric", "community_bill",
                              "--format", "json"))
    assert [row["mechanism"] for row in table] == ["conventional", "flat_p2p"]
    assert table[1]["mean"] == pytest.approx(sum(bills), rel=1e-12)
    wide = invoke(db_url, "bills", str(run_id))
    assert wide.splitlines()[0].split() == ["household", "conventional", "flat_p2p"]


def run_with_plugins(site, *args):
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "p2pstore", *args], capture_output=True, text=True, env=env,
                          timeout=300)


BROKEN = {
    "broken_raises": r"^Error: mechanism plugin 'broken_raises' \(broken-mechanisms 0\.1, broken_mechanisms:raises\) "
                     r"raised ValueError: no market today; the run's results are not stored$",
    "broken_shape": r"^Error: mechanism plugin 'broken_shape' .* returned costs of shape \(10,\), "
                    r"expected \[N, H\] = \(10, 96\); the run's results are not stored$",
    "broken_nan": r"^Error: mechanism plugin 'broken_nan' .* returned a non-finite cost \(nan\) for household 'C2' "
                  r"in slot 2; the run's results are not stored$",
    "broken_missing": r"^Error: mechanism plugin 'broken_missing' \(broken-mechanisms 0\.1, "
                      r"no_such_module_anywhere:settle\) could not be loaded: ModuleNotFoundError: ",
}


def assert_nothing_stored(db_url, run_id):
    backend = db_url.split(":")[0].split("+")[0]  # "sqlite" or "postgresql"
    for table in (*tables_on(backend, RESULT_TABLES), *VIEWS.tables):
        assert scalar_rows(db_url, f"SELECT COUNT(*) FROM {table} WHERE run_id = :r", r=run_id) == [(0,)], table


@pytest.mark.parametrize("plugin", BROKEN)
def test_broken_plugin_fails_its_run_cleanly(db_url, tmp_path, plugin):
    site = make_broken_plugin(tmp_path / "site")
    result = run_with_plugins(site, "--db", db_url, "run", "--days", "1", "--mechanism", "conventional",
                              "--mechanism", plugin)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    # the distribution's two unusable names are reported as one-line warnings, then one error line
    *warned, error = result.stderr.splitlines()
    assert warned == ["Warning: plugin of broken-mechanisms 0.1 ignored: mechanism name 'Bad-Name' must be 1-32 "
                      "characters: lower-case letters, digits and '_', starting with a letter",
                      "Warning: plugin of broken-mechanisms 0.1 ignored: mechanism name 'conventional' is a "
                      "built-in mechanism's"], result.stderr
    assert re.search(BROKEN[plugin], error), error
    [(run_id, status, error)] = scalar_rows(db_url, "SELECT id, status, error FROM runs")
    assert status == "failed" and plugin in error.splitlines()[0]
    assert_nothing_stored(db_url, run_id)


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_broken_plugin_fails_in_a_worker_too(db_url, tmp_path):
    site = make_broken_plugin(tmp_path / "site")
    queued = run_with_plugins(site, "--db", db_url, "enqueue", "--days", "1", "--series", "none",
                              "--mechanism", "sdr", "--mechanism", "broken_raises", "--max-attempts", "1", "--json")
    assert queued.returncode == 0, queued.stderr
    [run_id] = json.loads(queued.stdout)["run_ids"]
    worker = run_with_plugins(site, "--db", db_url, "worker", "--burst", "--poll", "0.1")
    assert worker.returncode == 0, worker.stderr
    [(status, error)] = scalar_rows(db_url, "SELECT status, error FROM runs WHERE id = :r", r=run_id)
    assert status == "failed"
    assert error.splitlines()[0] == ("MechanismError: mechanism plugin 'broken_raises' (broken-mechanisms 0.1, "
                                     "broken_mechanisms:raises) raised ValueError: no market today; the run's "
                                     "results are not stored")
    assert_nothing_stored(db_url, run_id)


def test_unknown_mechanism_lists_installed_plugins(db_url, tmp_path):
    site = make_broken_plugin(tmp_path / "site")
    result = run_with_plugins(site, "--db", db_url, "run", "--mechanism", "auction")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("Error: scenario field 'mechanisms': unknown mechanism 'auction' "
                                            "(known: conventional, mmr, bill_sharing, sdr, mmr_lit, bs_lit, "
                                            "bs_lit_slot, broken_missing, broken_nan, broken_raises, broken_shape")
    help_text = run_with_plugins(site, "run", "--help").stdout
    assert "broken_raises" in " ".join(help_text.split())
