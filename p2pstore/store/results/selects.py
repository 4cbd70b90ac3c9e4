"""The SELECT of each table by name, its run filter and its order: one statement per table,
shared by the DataFrame readers (:mod:`.readers`) and the export streams (:mod:`.streams`)."""

from __future__ import annotations

from sqlalchemy import Float, bindparam, case, cast, select

from p2pstore import registry
from p2pstore.store.schema import (
    CLEARING_PRICES,
    COMMUNITY_SERIES,
    HOUSEHOLD_SERIES,
    BatterySeries,
    Bill,
    DailyBill,
    Household,
    Run,
    RunBattery,
    RunMetric,
    ScenarioRow,
)

#: Scenario columns joined onto run-level frames (also stored as columns of ``scenarios``).
SCENARIO_COLUMNS = ("seed", "consumers", "prosumers", "days")

runs_t = Run.__table__
scen_t = ScenarioRow.__table__
hh_t = Household.__table__
bills_t = Bill.__table__
daily_t = DailyBill.__table__
prices_t = CLEARING_PRICES
hseries_t = HOUSEHOLD_SERIES
cseries_t = COMMUNITY_SERIES
metrics_t = RunMetric.__table__
runs_scen = runs_t.join(scen_t, runs_t.c.scenario_id == scen_t.c.id)


# -- the statement of each table, by name (shared by the DataFrame readers and the streams) ------
def runs_select():
    cols = [runs_t.c.id.label("run_id")] + [c for c in runs_t.c if c.name != "id"]
    cols += [scen_t.c.spec_hash] + [scen_t.c[name] for name in SCENARIO_COLUMNS]
    households = scen_t.c.consumers + scen_t.c.prosumers  # size and prosumer share: columns, not JSON
    cols += [households.label("households"), (cast(scen_t.c.prosumers, Float) / households).label("prosumer_share")]
    return select(*cols).select_from(runs_scen)


def scenarios_select():
    return select(scen_t.c.id.label("scenario_id"), *[c for c in scen_t.c if c.name != "id"])


def bills_select():
    join = bills_t.join(hh_t, (hh_t.c.run_id == bills_t.c.run_id) & (hh_t.c.household == bills_t.c.household),
                       isouter=True)
    return select(bills_t.c.run_id, bills_t.c.mechanism, bills_t.c.household, hh_t.c.kind, hh_t.c.position,
                  *[c for c in bills_t.c if c.name not in ("run_id", "mechanism", "household")]).select_from(join)


def metrics_select():
    return (select(metrics_t.c.run_id, metrics_t.c.mechanism, metrics_t.c.metric, metrics_t.c.value,
                   runs_t.c.batch, *[scen_t.c[name] for name in SCENARIO_COLUMNS])
            .select_from(runs_scen.join(metrics_t, metrics_t.c.run_id == runs_t.c.id)))


#: Table name -> the SELECT of the columns its reader returns (``run_id`` first where it has one).
_SELECTS = {
    "runs": runs_select,
    "scenarios": scenarios_select,
    "households": lambda: select(hh_t),
    "bills": bills_select,
    "daily_bills": lambda: select(daily_t),
    "clearing_prices": lambda: select(prices_t),
    "household_series": lambda: select(hseries_t),
    "community_series": lambda: select(cseries_t),
    "run_metrics": metrics_select,
    "batteries": lambda: select(RunBattery.__table__),
    "battery_series": lambda: select(BatterySeries.__table__),
}

#: Sort keys of each table's rows (``mechanism`` in settlement order).
_ORDER = {
    "runs": ("run_id",), "scenarios": ("scenario_id",), "households": ("run_id", "position"),
    "bills": ("run_id", "mechanism", "position", "household"), "daily_bills": ("run_id", "mechanism", "day"),
    "clearing_prices": ("run_id", "mechanism", "slot"), "community_series": ("run_id", "mechanism", "slot"),
    "household_series": ("run_id", "mechanism", "household", "slot"),
    "run_metrics": ("run_id", "mechanism", "metric"),
    "batteries": ("run_id", "household"), "battery_series": ("run_id", "household", "slot"),
}


def table_select(name: str):
    """The SELECT (no filter) of the columns the reader of table ``name`` returns; KeyError if
    ``name`` is not a readable table."""
    return _SELECTS[name]()


def run_filtered(name: str, stmt):
    """``stmt`` (a :func:`table_select` of ``name``) limited to the runs of the expanding bound
    parameter ``run_ids`` (``scenarios``: the scenarios of those runs)."""
    if name == "scenarios":
        return stmt.where(scen_t.c.id.in_(select(runs_t.c.scenario_id).where(in_run_ids(runs_t.c.id))))
    return stmt.where(in_run_ids(stmt.selected_columns["run_id"]))


def table_order(name: str, stmt) -> list:
    """ORDER BY terms of table ``name``'s rows in the readers' order (mechanisms ranked in
    the registry's report order, unknown ones last by name)."""
    cols = stmt.selected_columns
    terms = []
    for key in _ORDER[name]:
        if key == "mechanism":
            rank = {m: i for i, m in enumerate(registry.names())}
            terms += [case(rank, value=cols["mechanism"], else_=len(rank)), cols["mechanism"]]
        else:
            terms.append(cols[key])
    return terms


def in_run_ids(column):
    """``column IN (:run_ids)``, bound per chunk by :meth:`StoreReaders._read`."""
    return column.in_(bindparam("run_ids", expanding=True))
