"""Scenario in, settlement out: generate profiles, then settle every requested mechanism."""

from __future__ import annotations

from p2pstore.scenario import Scenario


def simulate(scenario: Scenario):
    """Return the :class:`~p2pstore.settlement.Settlement` of ``scenario``."""
    from p2pstore.profiles import generate
    from p2pstore.settlement import settle

    return settle(generate(scenario), scenario.mechanisms)
