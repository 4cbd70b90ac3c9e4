"""Settlement core: pure, vectorised numpy. One function per mechanism, KPIs, daily table.

Mechanisms are looked up by name in :mod:`p2pstore.registry` (built-ins and plugins alike).
Imports neither SQLAlchemy, pandas I/O nor click.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property

from p2pstore import registry
from p2pstore.profiles.base import Profiles
from p2pstore.settlement.daily import daily_table
from p2pstore.settlement.metrics import compute_metrics
from p2pstore.settlement.plugin import settle_plugin
from p2pstore.settlement.result import Flows, MechanismResult

__all__ = ["Flows", "MechanismResult", "Settlement", "settle", "settle_one"]


@dataclasses.dataclass(frozen=True, eq=False)
class Settlement:
    """Every mechanism's result for one community; what the store writes for one run."""

    profiles: Profiles
    flows: Flows
    results: dict[str, MechanismResult]  # keyed by mechanism, in settlement order
    conventional: MechanismResult | None = None  # the KPIs' baseline when not among the results
    #: The run's batteries (:class:`p2pstore.batteries.stage.BatteryDispatch`), None without any.
    #: With batteries, ``profiles`` holds each household's own (pre-battery) load and PV and
    #: ``flows`` the post-battery ones that every mechanism settled.
    batteries: object = None
    #: A settlement in household chunks (:func:`~p2pstore.settlement.chunked.settle_chunked`):
    #: its :class:`~p2pstore.settlement.chunked.HouseholdChunks`, which make the households'
    #: ``[k, H]`` series again a chunk at a time (its results keep ``[N]`` and ``[H]`` arrays only).
    household_chunks: object = None

    @cached_property
    def daily(self) -> dict:
        """The notebook's daily table; see :func:`p2pstore.settlement.daily.daily_table`."""
        return daily_table(self)

    @cached_property
    def metrics(self) -> dict[str, dict[str, float]]:
        """KPIs per mechanism: ``{mechanism: {metric: value}}``; see docs/metrics.md."""
        return compute_metrics(self)

    def totals(self) -> dict[str, float]:
        """Community bill per mechanism, currency over the horizon."""
        return {m: float(r.bills.sum()) for m, r in self.results.items()}


def settle_one(name: str, profiles: Profiles, flows: Flows) -> MechanismResult:
    """Settle ``flows`` (of ``profiles``) under the registered mechanism ``name``.

    Raises :class:`~p2pstore.errors.UnknownMechanismError` for an unknown name and
    :class:`~p2pstore.errors.MechanismError` (naming the plugin) for a plugin that fails.
    """
    mechanism = registry.get(name)
    function = registry.load(mechanism)
    if mechanism.builtin:
        return function(profiles, flows)
    return settle_plugin(name, mechanism.describe(), function, profiles, flows)


def settle(profiles: Profiles, mechanisms: tuple[str, ...] | list[str]) -> Settlement:
    """Settle ``profiles`` under each named mechanism (order kept); see :func:`settle_one`."""
    flows = Flows(profiles.load_kw, profiles.pv_kw, profiles.slot_hours)
    for name in mechanisms:  # every name known before anything is computed
        registry.get(name)
    results = {name: settle_one(name, profiles, flows) for name in mechanisms}
    flows.release_scratch()
    return Settlement(profiles, flows, results)
