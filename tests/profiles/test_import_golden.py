"""The notebook's own profiles, imported as wide CSV, wide Parquet and long CSV, settle to the
notebook's bills (1e-9 relative) under every mechanism, through ``p2pstore run --profiles NAME``,
on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from notebook_dumps import DUMPS, MECHANISMS, dump_from_golden, expected_bills, import_args
from p2pstore.cli import cli

GOLDEN = sorted((DUMPS[0].parents[2] / "golden").glob("notebook_s*.npz"))
FORMATS = ("wide-csv", "wide-parquet", "long-csv")


def invoke(db_url, *args):
    result = CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def assert_bills(printed: dict, expected: dict) -> None:
    for m in MECHANISMS:
        assert list(printed[m]) == list(expected[m]), m  # the files' names, in file order
        np.testing.assert_allclose(list(printed[m].values()), list(expected[m].values()), rtol=1e-9, atol=1e-9,
                                   err_msg=m)


def test_committed_dumps_are_the_golden_profiles(tmp_path):
    """The committed run_seed.py dump of seed 2024 holds the golden file's arrays, bit for bit."""
    import pandas as pd

    dump = next(d for d in DUMPS if d.name == "notebook_s2024_c1_p1_d3")
    with np.load(dump.parents[2] / "golden" / "notebook_s2024_c1_p1_d3.npz") as z:
        g = {k: z[k] for k in z.files}
    load = pd.read_csv(dump / "load.csv").drop(columns="timestamp").to_numpy().T
    assert np.array_equal(load, g["load_kw"])
    assert np.array_equal(pd.read_csv(dump / "p2p_allowed.csv")["p2p_allowed"].to_numpy(), g["p2p_allowed"])
    assert expected_bills(dump)["mmr"]["P1"] == float(g["bills_mmr"][1])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dump", DUMPS, ids=[d.name for d in DUMPS])
def test_run_dumped_profiles_reproduces_the_notebook(db_url, tmp_path, dump, fmt):
    invoke(db_url, "profiles", "import", "nb", *import_args(dump, fmt, tmp_path))
    out = json.loads(invoke(db_url, "run", "--profiles", "nb", "--json", "--series", "none"))
    assert_bills(out["bills"], expected_bills(dump))


@pytest.mark.parametrize("npz", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_scenarios_every_format_is_the_same_data(db_url, tmp_path, npz):
    """Bigger scenarios (the notebook's own 3 + 7 households over 30 days among them), written
    from the golden data exactly as run_seed.py writes them. The three formats carry the same
    values bit for bit, so they have one content hash: the second and third imports change
    nothing, and the set settles to the notebook's bills."""
    dump = dump_from_golden(npz, tmp_path / "dump")
    results = [json.loads(invoke(db_url, "profiles", "import", "nb", *import_args(dump, fmt, tmp_path / fmt),
                                 "--json")) for fmt in FORMATS]
    assert [r["status"] for r in results] == ["imported", "unchanged", "unchanged"]
    assert len({r["content_hash"] for r in results}) == 1
    out = json.loads(invoke(db_url, "run", "--profiles", "nb", "--json", "--series", "none"))
    assert_bills(out["bills"], expected_bills(dump))
