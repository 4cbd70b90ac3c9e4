"""The catalogue of KPIs: every stored metric's name, label, unit, precision, meaning and source.

The one list of metric names (:data:`METRIC_NAMES`); the settlement core computes them
(:mod:`p2pstore.settlement.metrics`), the store keeps them in ``run_metrics``, and tables and
figures take their labels, units and precision from here. Formulas: docs/metrics.md. Standard
library only, so any layer (and the CLI) may import it cheaply.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Metric:
    """A KPI as stored and shown.

    ``unit``: short unit for headers and axes (``{cur}`` = the scenario's currency; "" = none);
    ``decimals``: its natural precision in tables; ``meaning``: one line saying what the value
    measures; ``source``: where its definition comes from (``p2pstore`` or the paper and equations).
    """

    name: str
    label: str
    unit: str
    decimals: int
    meaning: str
    source: str = "p2pstore"

    def caption(self, currency: str = "Rs") -> str:
        """``"Community bill (Rs)"``: label and unit, for axes and table rows."""
        unit = self.unit.format(cur=currency)
        return f"{self.label} ({unit})" if unit else self.label


_ZHOU = "Zhou, Wu & Long 2018"

#: Every KPI, in the order tables list them: the project's own, then the indices of Zhou, Wu &
#: Long (2018) under their own names.
METRICS: tuple[Metric, ...] = (
    Metric("community_bill", "Community bill", "{cur}", 2, "sum of the households' bills"),
    Metric("savings_vs_conventional", "Savings vs conventional", "{cur}", 2,
           "conventional community bill minus this one"),
    Metric("savings_vs_conventional_pct", "Savings vs conventional", "%", 2,
           "savings as a percentage of the conventional community bill"),
    Metric("participation_willingness", "Participation willingness", "share of households", 3,
           "share of households not worse off than under conventional settlement"),
    Metric("equality", "Equality (1 - Gini of net incomes)", "index", 3, "1 - Gini of net incomes"),
    Metric("self_sufficiency", "Self-sufficiency", "share of load", 3, "share of load met inside the community"),
    Metric("self_consumption", "Self-consumption", "share of PV", 3, "share of PV used inside the community"),
    Metric("energy_balance", "Energy balance (PV / load)", "ratio", 3, "PV / load over the horizon"),
    Metric("net_grid_import_kwh", "Net grid import", "kWh", 1, "grid import minus grid export"),
    Metric("grid_import_kwh", "Grid import", "kWh", 1, "energy bought from the grid"),
    Metric("grid_export_kwh", "Grid export", "kWh", 1, "energy sold to the grid"),
    Metric("p2p_traded_kwh", "P2P traded", "kWh", 1, "energy traded between peers"),
    Metric("budget_balance", "Budget balance over P2P-on slots", "{cur}", 2,
           "collected minus the community meter's net grid bill; 0 = self-financing"),
    Metric("value_tapping_index", "Value tapping index VI", "index", 3,
           "0 = conventional, 1 = community optimum", f"{_ZHOU}, eqs (14)-(17)"),
    Metric("participation_index", "Participation willingness index PI", "share of households", 3,
           "share of households strictly better off", f"{_ZHOU}, eq. (18)"),
    Metric("equality_index", "Equality index EI", "index", 3, "1 - Gini of levelled-up incomes",
           f"{_ZHOU}, eqs (19)-(21)"),
    Metric("energy_balance_index", "Energy balance index EBI", "index", 3, "1 - net exchange / gross energy",
           f"{_ZHOU}, eqs (22)-(23)"),
    Metric("epari", "Energy peak-to-average ratio index EPARI", "ratio", 2, "peak / mean net exchange with the grid",
           f"{_ZHOU}, eq. (24)"),
    Metric("self_sufficiency_index", "Self-sufficiency index SSI", "share of load", 3, "1 - net import / load",
           f"{_ZHOU}, eqs (26)-(28)"),
)

METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)

#: KPIs of a run's batteries (docs/batteries.md), stored beside :data:`METRICS` (the same value
#: for every mechanism of the run) only when the run has batteries; totals over every battery.
BATTERY_METRICS: tuple[Metric, ...] = (
    Metric("battery_capacity_kwh", "Battery capacity", "kWh", 1, "usable capacity of every battery"),
    Metric("battery_throughput_kwh", "Battery throughput", "kWh", 1, "energy discharged by the batteries (AC side)"),
    Metric("battery_losses_kwh", "Battery losses", "kWh", 2,
           "energy charged minus discharged minus the change in stored energy"),
    Metric("battery_equivalent_cycles", "Equivalent full cycles", "cycles", 1,
           "energy discharged / capacity"),
)
BATTERY_METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in BATTERY_METRICS)
_BY_NAME = {m.name: m for m in (*METRICS, *BATTERY_METRICS)}


def get_metric(name: str) -> Metric | None:
    """The :class:`Metric` called ``name``; None for a name this version does not define."""
    return _BY_NAME.get(name)
