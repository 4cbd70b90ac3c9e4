"""Enqueueing (p2pstore.jobs.enqueue): sweeps as cartesian products, validated before anything
is written, inserted in one transaction. Both backends."""

from __future__ import annotations

import pytest

from p2pstore.jobs.enqueue import enqueue, expand, parse_seeds, parse_sweep
from p2pstore.scenario import Scenario

from .conftest import count

TINY = Scenario(days=1)


def test_sweep_expansion_is_a_cartesian_product():
    base = Scenario(days=1)
    scen = expand(base, [parse_sweep("prosumers=3,5,7"), parse_sweep("mechanisms=mmr+bill_sharing,conventional")],
                  parse_seeds("1..4"))
    assert len(scen) == 3 * 2 * 4
    assert {(s.prosumers, s.mechanisms, s.seed) for s in scen} == {
        (p, m, seed) for p in (3, 5, 7) for m in (("mmr", "bill_sharing"), ("conventional",)) for seed in (1, 2, 3, 4)
    }
    assert [s.seed for s in scen[:4]] == [1, 2, 3, 4]  # seeds vary fastest


@pytest.mark.parametrize("bad, match", [
    ("prosumers", "KEY=V1"),
    ("prosumers=3,,5", "empty value"),
    ("nosuch=1,2", "nosuch"),
])
def test_bad_sweeps_are_refused(bad, match):
    from p2pstore.errors import P2PStoreError

    with pytest.raises(P2PStoreError, match=match):
        expand(Scenario(), [parse_sweep(bad)])


def test_enqueue_is_one_transaction(store):
    """A sweep whose last scenario is invalid writes nothing; a large one is one statement."""
    from p2pstore.errors import ScenarioError

    with pytest.raises(ScenarioError, match="prosumers"):
        expand(Scenario(), [parse_sweep("prosumers=3,0")])
    ids = enqueue(store, expand(TINY, [], list(range(1000))), series="none", batch="big")
    assert len(ids) == 1000 and count(store, "SELECT COUNT(*) FROM runs WHERE batch='big'") == 1000


def test_enqueue_of_1000_runs_commits_once(store):
    from sqlalchemy import event

    commits = []

    def on_commit(conn):
        commits.append(1)

    event.listen(store.engine, "commit", on_commit)
    try:
        ids = enqueue(store, expand(TINY, [parse_sweep("prosumers=3,4,5,6")], list(range(250))),
                      series="none", batch="one-tx")
    finally:
        event.remove(store.engine, "commit", on_commit)
    assert len(ids) == 1000 and len(commits) == 1

