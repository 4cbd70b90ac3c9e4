"""KPIs by group of households: consumers against prosumers, and battery owners apart (any other
kind a run stores too), for the bill and savings KPIs.

The community KPIs of ``run_metrics`` hide who gains: a mechanism that lowers the community bill
may do so at the consumers' or at the prosumers' expense. Here each run's per-household bills
(``bills``) are summed per kind of household and compared with the conventional baseline of the
same run. Nothing here writes to the store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from p2pstore import display
from p2pstore.reports.compare import describe, ordered_mechanisms

#: The mechanism savings are measured against.
BASELINE = "conventional"
#: Columns of :func:`bills_by_kind`, after the keys; money in the runs' currency.
KIND_COLUMNS = ("households", "bill_total", "bill_per_household", "savings_vs_conventional",
                "savings_per_household", "savings_vs_conventional_pct")
#: Kinds in the order they are reported (other kinds after them, sorted).
KIND_ORDER = ("consumer", "prosumer", "consumer with battery", "prosumer with battery")
BATTERY_SUFFIX = " with battery"


def with_battery_kinds(bills: pd.DataFrame, owners: set[tuple[int, str]]) -> pd.DataFrame:
    """``bills`` with the kind of every battery owner (``(run_id, household)`` in ``owners``)
    suffixed ``" with battery"``: battery owners are a group of their own."""
    if not owners:
        return bills
    owned = [(int(r), str(h)) in owners for r, h in zip(bills["run_id"], bills["household"])]
    return bills.assign(kind=bills["kind"].where(~pd.Series(owned, index=bills.index),
                                                 bills["kind"] + BATTERY_SUFFIX))


def bills_by_kind(bills: pd.DataFrame) -> pd.DataFrame:
    """Per run, kind of household and mechanism: the number of households, their total bill and
    bill per household over the horizon (currency), and their savings against the conventional
    bill of the same households (currency, per household, and in % of the absolute conventional
    bill; NaN when the run was not settled conventionally).

    ``bills``: ``Store.bills`` rows (run_id, mechanism, household, kind, bill).
    """
    totals = bills.groupby(["run_id", "kind", "mechanism"], sort=False)["bill"].agg(
        households="count", bill_total="sum").reset_index()
    totals["bill_per_household"] = totals["bill_total"] / totals["households"]
    base = totals[totals["mechanism"] == BASELINE][["run_id", "kind", "bill_total"]]
    merged = totals.merge(base.rename(columns={"bill_total": "_base"}), on=["run_id", "kind"], how="left")
    merged["savings_vs_conventional"] = merged["_base"] - merged["bill_total"]
    merged["savings_per_household"] = merged["savings_vs_conventional"] / merged["households"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * merged["savings_vs_conventional"] / merged["_base"].abs()
    merged["savings_vs_conventional_pct"] = pct.where(merged["_base"].abs() > 0)
    return _ordered(merged.drop(columns="_base"), ["run_id"])


def _ordered(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    kind_rank = {k: i for i, k in enumerate(KIND_ORDER)}
    mech_rank = {m: i for i, m in enumerate(ordered_mechanisms(table["mechanism"]))}
    order = table.assign(_k=table["kind"].map(lambda k: (kind_rank.get(k, len(kind_rank)), k)),
                         _m=table["mechanism"].map(mech_rank))
    return order.sort_values([*keys, "_k", "_m"], kind="stable").drop(columns=["_k", "_m"]).reset_index(drop=True)


def compare_by_kind(bills: pd.DataFrame, metrics=("bill_per_household", "savings_per_household",
                                                  "savings_vs_conventional_pct")) -> pd.DataFrame:
    """Across runs, per kind and mechanism: the statistics of :func:`p2pstore.reports.compare.describe`
    (n runs, mean, median, sd, min, max, 95 % CI of the mean) of each of ``metrics``
    (:data:`KIND_COLUMNS`)."""
    per_run = bills_by_kind(bills)
    long = per_run.melt(id_vars=["run_id", "kind", "mechanism"], value_vars=list(metrics), var_name="metric")
    table = describe(long, ["kind", "mechanism", "metric"])
    rank = {m: i for i, m in enumerate(metrics)}
    return _ordered(table, []).sort_values("metric", key=lambda s: s.map(rank), kind="stable").reset_index(drop=True)


def kind_table(bills: pd.DataFrame, currency: str = "Rs") -> pd.DataFrame:
    """One run's :func:`bills_by_kind` for people: display names and units in the headers."""
    table = bills_by_kind(bills).drop(columns="run_id")
    table["mechanism"] = display.mechanisms(table["mechanism"])
    return table.rename(columns={
        "bill_total": f"bill ({currency})", "bill_per_household": f"bill per household ({currency})",
        "savings_vs_conventional": f"savings vs conventional ({currency})",
        "savings_per_household": f"savings per household ({currency})",
        "savings_vs_conventional_pct": "savings vs conventional (%)"})
