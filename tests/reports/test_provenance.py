"""Each run stores the software that settled it; ``runs show`` names it; ``runs verify`` settles
the stored scenario again and says whether every stored value is identical (both backends)."""

from __future__ import annotations

import json
import platform

import numpy as np
import sqlalchemy as sa
from click.testing import CliRunner

from p2pstore import Scenario, Store, provenance, run_scenario
from p2pstore.cli import cli
from p2pstore.reports.verify import verify_run
from p2pstore.store.results.provenance_rows import read_provenance


def invoke(url, *args):
    return CliRunner().invoke(cli, ["--db", url, *args])


def test_runs_record_versions_and_verify_detects_changed_values(db_url):
    store = Store(db_url)
    try:
        scenario = Scenario(days=2, consumers=2, prosumers=3, mechanisms=("conventional", "mmr", "flat_p2p"))
        run_id = run_scenario(scenario, store, series="community").run_id
        versions = read_provenance(store.engine, [run_id])[run_id]
        assert versions["numpy"] == np.__version__ and versions["python"] == platform.python_version()
        assert versions["p2pstore"] == provenance.package_version("p2pstore")
        assert versions["plugin:flat_p2p"].startswith("p2pstore-flat-p2p ")  # the plugin that settled it
        assert {"pandas", "pvlib", "demandlib"} <= set(versions)

        shown = json.loads(invoke(db_url, "runs", "show", str(run_id), "--json").output)
        assert shown["provenance"] == versions
        assert "numpy " + np.__version__ in invoke(db_url, "runs", "show", str(run_id)).output

        from p2pstore.reports.html import single_run_report

        page = single_run_report(store, run_id).to_html()
        assert "<h2>Software</h2>" in page and f"<td>{np.__version__}</td>" in page

        ok = invoke(db_url, "runs", "verify", str(run_id))
        assert ok.exit_code == 0 and "identical to a fresh settlement" in ok.output, ok.output
        assert verify_run(store, run_id).values > 1000

        with store.engine.begin() as conn:  # a stored value and a version as another install left them
            conn.execute(sa.text("UPDATE bills SET bill = bill + 0.5 WHERE run_id = :r AND household = 'C1' "
                                 "AND mechanism = 'mmr'"), {"r": run_id})
            conn.execute(sa.text("UPDATE run_provenance SET version = '1.26.4' WHERE run_id = :r "
                                 "AND component = 'numpy'"), {"r": run_id})
        bad = invoke(db_url, "runs", "verify", str(run_id))
        assert bad.exit_code == 1 and "Traceback" not in bad.output
        assert "bills.bill: 1 of 15 values differ (largest difference 0.5)" in bad.output
        assert f"numpy 1.26.4 -> {np.__version__}" in bad.output
        report = json.loads(invoke(db_url, "runs", "verify", str(run_id), "--json").output)
        assert report["identical"] is False and report["versions_changed"]["numpy"] == ["1.26.4", np.__version__]

        queued = store.create_run(scenario)
        refused = invoke(db_url, "runs", "verify", str(queued))
        assert refused.exit_code == 2 and "is queued and has no results to verify" in refused.output
        assert "Traceback" not in refused.output
        with store.engine.begin() as conn:  # provenance goes with its run
            conn.execute(sa.text("DELETE FROM runs WHERE id = :r"), {"r": run_id})
        assert read_provenance(store.engine, [run_id]) == {}
    finally:
        store.close()


def test_changed_lists_every_differing_component():
    assert provenance.changed({"numpy": "1", "git_commit": "a"}, {"numpy": "2", "pandas": "3"}) == {
        "numpy": ("1", "2"), "git_commit": ("a", None), "pandas": (None, "3")}
