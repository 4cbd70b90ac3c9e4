"""Scenario in, settlement out: profiles (generated unless given), then every requested mechanism."""

from __future__ import annotations

from p2pstore.scenario import Scenario


def simulate(scenario: Scenario, profiles=None):
    """Return the :class:`~p2pstore.settlement.Settlement` of ``scenario``.

    ``profiles``: the community to settle (:class:`~p2pstore.profiles.base.Profiles`); None
    generates it from the scenario. A scenario on a profile set or with a tariff file needs its
    stored data: :func:`p2pstore.run_scenario` (or the jobs layer) reads them from the store.
    """
    from p2pstore.settlement import settle

    if profiles is None:
        if scenario.imported or scenario.tariffs is not None or scenario.tariffs_hash is not None:
            from p2pstore.errors import InputError

            raise InputError("this scenario uses stored data (a profile set or a tariff file): "
                             "settle it with p2pstore.run_scenario(scenario, store)")
        from p2pstore.profiles import generate

        profiles = generate(scenario)
    return settle(profiles, scenario.mechanisms)
