"""Settlement core: pure, vectorised numpy. One function per mechanism, KPIs, daily table.

Imports neither SQLAlchemy, pandas I/O nor click.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property

from p2pstore.profiles.base import Profiles
from p2pstore.settlement.bill_sharing import settle_bill_sharing
from p2pstore.settlement.conventional import settle_conventional
from p2pstore.settlement.daily import daily_table
from p2pstore.settlement.metrics import compute_metrics
from p2pstore.settlement.mmr import settle_mmr
from p2pstore.settlement.result import Flows, MechanismResult

__all__ = ["Flows", "MechanismResult", "Settlement", "settle", "MECHANISM_FUNCTIONS"]

MECHANISM_FUNCTIONS = {"conventional": settle_conventional, "mmr": settle_mmr, "bill_sharing": settle_bill_sharing}


@dataclasses.dataclass(frozen=True, eq=False)
class Settlement:
    """Every mechanism's result for one community; what the store writes for one run."""

    profiles: Profiles
    flows: Flows
    results: dict[str, MechanismResult]  # keyed by mechanism, in settlement order

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


def settle(profiles: Profiles, mechanisms: tuple[str, ...] | list[str]) -> Settlement:
    """Settle ``profiles`` under each named mechanism (order kept)."""
    flows = Flows(profiles.load_kw, profiles.pv_kw, profiles.slot_hours)
    results = {}
    for name in mechanisms:
        try:
            fn = MECHANISM_FUNCTIONS[name]
        except KeyError:
            raise ValueError(f"unknown mechanism {name!r} (known: {', '.join(MECHANISM_FUNCTIONS)})") from None
        results[name] = fn(profiles, flows)
    flows.release_scratch()
    return Settlement(profiles, flows, results)
