"""The literature mechanisms on communities imported as profile sets, through the CLI:
``p2pstore profiles import`` (wide CSV + ``household,buy,sell`` tariffs), then
``p2pstore run --profiles NAME --json``, on SQLite and PostgreSQL.

The hand-worked cases of the specification (a 1-slot and a 4-slot community) must give their
bills to 1e-9; a notebook-sized community (10 households, 30 days of 15-minute slots, P2P
maintenance windows) must agree with the loop-based reference (tests/settlement/literature_oracle.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from p2pstore.cli import cli
from profile_csv import import_args, write_community

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "settlement"))
import literature_oracle as oracle  # noqa: E402

LIT = ("sdr", "mmr_lit", "bs_lit", "bs_lit_slot")


def invoke(db_url, *args):
    result = CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def run_bills(db_url, name, mechanisms):
    args = ["run", "--profiles", name, "--json", "--series", "none"]
    for m in mechanisms:
        args += ["--mechanism", m]
    return json.loads(invoke(db_url, *args))["bills"]


# spec cases: (load, pv, buy, sell, {mechanism: bills})
SPEC = {
    "c1": ([[1], [2], [2]], [[3], [0], [0]], [0.30] * 3, [0.10, 0, 0], {
        "conventional": [-0.05, 0.15, 0.15], "sdr": [-0.075, 0.1125, 0.1125], "mmr_lit": [-0.10, 0.125, 0.125],
        "bs_lit": [0.0, 0.075, 0.075], "bs_lit_slot": [0.0, 0.075, 0.075]}),
    "c2": ([[1], [2], [0.5]], [[4], [1], [1.5]], [0.30] * 3, [0.10] * 3, {
        "conventional": [-0.075, 0.075, -0.025], "sdr": [-0.075, 0.025, -0.025],
        "mmr_lit": [-0.09375, 0.05, -0.03125], "bs_lit": [-0.05625, 0.0, -0.01875],
        "bs_lit_slot": [-0.05625, 0.0, -0.01875]}),
    "c7": ([[1, 1, 0.5, 1], [1, 1, 0.5, 0.5], [1, 1, 1, 0], [1, 1, 1, 0]],
           [[0, 2, 4, 1], [0, 1, 2, 0.5], [0, 0, 0, 0], [0, 0, 0, 0]], [0.30] * 4, [0.10, 0.10, 0, 0], {
        "conventional": [-0.0375, 0.0375, 0.225, 0.225], "sdr": [-0.05, 0.0375, 0.15625, 0.15625],
        "mmr_lit": [-0.0975, 0.0225, 0.1875, 0.1875], "bs_lit": [-0.009375, 0.028125, 0.140625, 0.140625],
        "bs_lit_slot": [0.0225, 0.0525, 0.1125, 0.1125]}),
}


@pytest.mark.parametrize("case", SPEC)
def test_hand_worked_cases_imported_as_profile_sets(db_url, tmp_path, case):
    load, pv, buy, sell, expected = SPEC[case]
    invoke(db_url, *import_args(case, write_community(tmp_path, load, pv, buy, sell)))
    bills = run_bills(db_url, case, expected)
    names = [f"H{i + 1}" for i in range(len(load))]
    for mechanism, values in expected.items():
        assert list(bills[mechanism]) == names
        np.testing.assert_allclose(list(bills[mechanism].values()), values, rtol=1e-9, atol=1e-12, err_msg=mechanism)


def test_notebook_sized_community_matches_the_loop_reference(db_url, tmp_path):
    from p2pstore.profiles import generate
    from p2pstore.scenario import Scenario

    p = generate(Scenario())  # the notebook's 3 consumers + 7 prosumers, 30 days, 3 maintenance windows
    assert not p.p2p_allowed.all()
    labels = [str(x) for x in p.labels]
    files = write_community(tmp_path, p.load_kw, p.pv_kw, p.lambda_buy, p.lambda_sell, allowed=p.p2p_allowed,
                            names=labels)
    invoke(db_url, *import_args("notebook", files))
    bills = run_bills(db_url, "notebook", LIT)
    args = (p.load_kw.tolist(), p.pv_kw.tolist(), p.slot_hours, p.lambda_buy.tolist(), p.lambda_sell.tolist(),
            p.p2p_allowed.tolist())
    for mechanism in LIT:
        cost, *_ = oracle.settle(mechanism, *args)
        assert list(bills[mechanism]) == labels
        np.testing.assert_allclose(list(bills[mechanism].values()), np.sum(cost, axis=1), rtol=1e-9,
                                   err_msg=mechanism)
