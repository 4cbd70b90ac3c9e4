"""A run settled by a plugin stays readable once the plugin is uninstalled: ``runs show``,
``bills``, ``export``, ``report`` and ``compare`` read what was stored with it (the mechanisms'
display names and the plugin they came from in ``run_mechanisms``; bills, prices, series and
metrics as rows). The plugin is uninstalled by taking its distribution off the import path
(the registry then no longer finds its entry point). SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sys
import warnings

import pytest
from click.testing import CliRunner

from broken_plugin import make_broken_plugin
from p2pstore import registry
from p2pstore.cli import cli

PLUGIN = "import_only"  # a working mechanism of the test distribution


def invoke(db_url, *args):
    result = CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def orphaned_run(db_url, tmp_path, monkeypatch):
    """A run of ``conventional`` and the plugin, then the plugin uninstalled; yields its id."""
    site = str(make_broken_plugin(tmp_path / "site"))
    monkeypatch.syspath_prepend(site)
    registry.refresh()
    with warnings.catch_warnings():  # the distribution's deliberately bad names warn when read
        warnings.simplefilter("ignore", registry.PluginWarning)
        assert PLUGIN in registry.names()
        out = json.loads(invoke(db_url, "run", "--days", "1", "--mechanism", "conventional", "--mechanism", PLUGIN,
                                "--batch", "orphans", "--json"))
        queued = json.loads(invoke(db_url, "enqueue", "--days", "1", "--seed", "5", "--series", "none",
                                   "--mechanism", "mmr", "--mechanism", PLUGIN, "--batch", "later", "--json"))
        out["queued"] = queued["run_ids"][0]
    sys.path.remove(site)
    registry.refresh()
    assert PLUGIN not in registry.names()
    yield out
    registry.refresh()


def test_a_plugin_run_is_read_without_the_plugin(orphaned_run, db_url, tmp_path):
    run_id, bills = orphaned_run["run_id"], orphaned_run["bills"]
    shown = json.loads(invoke(db_url, "runs", "show", str(run_id), "--json"))
    assert shown["scenario"]["mechanisms"] == ["conventional", PLUGIN]
    assert shown["mechanisms"] == [
        {"mechanism": "conventional", "label": "Conventional", "plugin": None},
        {"mechanism": PLUGIN, "label": PLUGIN, "plugin": "broken-mechanisms 0.1 (broken_mechanisms:fine)"}]
    assert shown["totals"][PLUGIN] == pytest.approx(sum(bills[PLUGIN].values()), rel=1e-12)
    assert "plugin broken-mechanisms 0.1" in invoke(db_url, "runs", "show", str(run_id))
    wide = invoke(db_url, "bills", str(run_id), "--format", "csv").splitlines()
    assert wide[0] == f"household,conventional,{PLUGIN}" and len(wide) == 1 + len(bills[PLUGIN])
    table = json.loads(invoke(db_url, "compare", "--runs", str(run_id), "--metric", "community_bill",
                              "--format", "json"))
    assert [row["mechanism"] for row in table] == ["conventional", PLUGIN]
    invoke(db_url, "export", str(run_id), "-o", str(tmp_path / "run"))
    assert json.loads((tmp_path / "run" / "scenario.json").read_text())["mechanisms"] == ["conventional", PLUGIN]
    invoke(db_url, "export", "--batch", "orphans", "-o", str(tmp_path / "batch"))
    assert PLUGIN in (tmp_path / "batch" / "bills.csv").read_text()
    invoke(db_url, "report", "--run", str(run_id), "-o", str(tmp_path / "run.html"))
    assert PLUGIN in (tmp_path / "run.html").read_text()


@pytest.mark.slow  # fast tier: covered there by quicker tests of the same modules
def test_rerunning_without_the_plugin_fails_once_naming_it(orphaned_run, db_url):
    """A queued run whose plugin was uninstalled meanwhile: the worker fails it at its first
    attempt (of 3 allowed), naming the plugin as the settled run stored it; no backoff, no retry."""
    import subprocess

    from sqlalchemy import create_engine, text

    run_id = orphaned_run["queued"]
    worker = subprocess.run([sys.executable, "-m", "p2pstore", "--db", db_url, "worker", "--burst", "--poll", "0.1"],
                            capture_output=True, text=True, timeout=300)
    assert worker.returncode == 0, worker.stderr
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            status, attempts, max_attempts, error = conn.execute(text(
                "SELECT status, attempts, max_attempts, error FROM runs WHERE id = :r"), {"r": run_id}).one()
    finally:
        engine.dispose()
    assert (status, attempts, max_attempts) == ("failed", 1, 3)
    assert error.splitlines()[0] == (
        f"MechanismNotInstalledError: run {run_id} needs mechanism plugin '{PLUGIN}' (broken-mechanisms 0.1 "
        f"(broken_mechanisms:fine)), which is not installed here: install it on the workers, then "
        f"'p2pstore runs retry {run_id}' (retrying without it cannot pass)")
    assert "will retry" not in worker.stderr
