"""Bulk readers returning pandas DataFrames (mixed into :class:`p2pstore.store.Store`).

Every reader is one (or, for very long id lists, a few) SQLAlchemy Core ``SELECT`` read with
``pandas.read_sql``: no row-by-row ORM loads. Typed Core columns mean both backends return the
same dtypes (SQLite's text timestamps come back as datetimes). Mechanism and household labels
are plain strings; rows come in a stable order (run, mechanism in settlement order, household
in community order, slot/day).

Units follow docs/schema.md: energies kWh, powers kW, prices currency per kWh, bills currency.

Example::

    from p2pstore import Store
    store = Store("sqlite:///p2pstore.db")
    bills = store.bills([1, 2])                    # long: run_id, mechanism, household, bill, ...
    bills.pivot_table(index="household", columns="mechanism", values="bill")
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from p2pstore import registry
from p2pstore.errors import InputError, NotFoundError
from p2pstore.store.results.household_series import household_series_arrays
from p2pstore.store.results.selects import (
    SCENARIO_COLUMNS,
    bills_select,
    bills_t,
    cseries_t,
    daily_t,
    hh_t,
    hseries_t,
    in_run_ids,
    metrics_select,
    metrics_t,
    prices_t,
    runs_scen,
    runs_select,
    runs_t,
    scen_t,
    scenarios_select,
)

if TYPE_CHECKING:  # pandas is imported lazily so that importing the store stays cheap
    import pandas as pd

#: At most this many ids go into one ``IN (...)``: SQLite allows 32766 host parameters and
#: psycopg 65535, so longer lists are read in chunks and concatenated.
ID_CHUNK = 10_000

def _ids(run_ids: int | Iterable[int] | None) -> list[int] | None:
    if run_ids is None:
        return None
    if isinstance(run_ids, (numbers.Integral, str)):
        run_ids = [run_ids]
    try:
        return sorted({int(r) for r in run_ids})
    except (TypeError, ValueError):
        raise InputError(f"run ids must be integers, got {run_ids!r}") from None


def _where_in(stmt, column, value: str | Iterable[str] | None):
    """``stmt`` filtered on ``column IN value`` (one string or several); unchanged for None."""
    if value is None:
        return stmt
    return stmt.where(column.in_([value] if isinstance(value, str) else list(value)))


def _where_runs(stmt, ids: list[int] | None, batch: str | None):
    """``stmt`` (selecting from ``runs``) limited to the runs ``ids`` and to ``batch``; None: no limit."""
    if batch is not None:
        stmt = stmt.where(runs_t.c.batch == batch)
    if ids is not None:
        stmt = stmt.where(in_run_ids(runs_t.c.id))
    return stmt


def _mechanism_rank(series: pd.Series) -> pd.Series:
    """Rank of each mechanism in result frames: the registry's report order; names it no longer
    knows (an uninstalled plugin's stored results) last, by name."""
    rank = {m: i for i, m in enumerate(registry.ordered(series.unique()))}
    return series.map(rank).astype("int64")


class StoreReaders:
    """DataFrame readers; expects ``self.engine`` (a SQLAlchemy Engine)."""

    engine: Any

    # -- plumbing ----------------------------------------------------------------------------
    def _read(self, stmt, *, ids: list[int] | None = None) -> pd.DataFrame:
        """Run ``stmt`` and return a DataFrame. ``ids`` bind the expanding ``run_ids`` parameter
        (:func:`in_run_ids`), chunked so that very long lists stay under the drivers' parameter
        limits."""
        # lazy: pandas costs the store's start-up a quarter of a second: loaded on first read
        import pandas as pd

        with self.engine.connect() as conn:
            if ids is None:
                return pd.read_sql(stmt, conn)
            chunks = [ids[i:i + ID_CHUNK] for i in range(0, len(ids), ID_CHUNK)] or [[]]
            frames = [pd.read_sql(stmt, conn, params={"run_ids": chunk}) for chunk in chunks]
        frames = [f for f in frames if len(f)] or frames[:1]
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def stored_ids(self, run_ids: int | Iterable[int] | None) -> list[int] | None:
        """``run_ids`` as a sorted list (None stays None); :class:`NotFoundError` naming those
        that are not stored runs."""
        ids = _ids(run_ids)
        if not ids:
            return ids
        stmt = select(runs_t.c.id).where(in_run_ids(runs_t.c.id))
        with self.engine.connect() as conn:  # without pandas: export and the CLI's checks start faster
            found = {i for k in range(0, len(ids), ID_CHUNK) for i in conn.execute(stmt, {"run_ids": ids[k:k + ID_CHUNK]}).scalars()}
        missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
            raise NotFoundError(f"no run with id {shown}" if len(missing) == 1 else f"no runs with ids {shown}")
        return ids

    def batch_run_ids(self, batch: str) -> list[int]:
        """Ids of every run of ``batch`` (any status), ascending; :class:`NotFoundError` if it
        has none."""
        stmt = select(runs_t.c.id).where(runs_t.c.batch == batch).order_by(runs_t.c.id)
        with self.engine.connect() as conn:
            ids = list(conn.execute(stmt).scalars())
        if not ids:
            raise NotFoundError(f"no batch named {batch!r}")
        return ids

    def _require_batch(self, batch: str) -> None:
        stmt = select(runs_t.c.id).where(runs_t.c.batch == batch).limit(1)
        with self.engine.connect() as conn:
            if conn.execute(stmt).first() is None:
                raise NotFoundError(f"no batch named {batch!r}")

    def _result_rows(self, table, ids: list[int], mechanism: str | Iterable[str] | None,
                     stmt=None) -> pd.DataFrame:
        """Rows of result ``table`` (``stmt``: a select from it, default every column) of the runs
        ``ids``, of the given mechanisms only unless ``mechanism`` is None."""
        stmt = select(table) if stmt is None else stmt
        stmt = _where_in(stmt.where(in_run_ids(table.c.run_id)), table.c.mechanism, mechanism)
        return self._read(stmt, ids=ids)

    @staticmethod
    def _sorted(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
        if df.empty:
            return df.reset_index(drop=True)
        if "mechanism" in keys:
            rank = _mechanism_rank(df["mechanism"])
            df = df.assign(_mech=rank)
            keys = ["_mech" if k == "mechanism" else k for k in keys]
            return df.sort_values(list(keys), kind="stable").drop(columns="_mech").reset_index(drop=True)
        return df.sort_values(list(keys), kind="stable").reset_index(drop=True)

    # -- runs and scenarios ----------------------------------------------------------------------
    def runs(self, status: str | Iterable[str] | None = None, batch: str | None = None,
             run_ids: int | Iterable[int] | None = None) -> pd.DataFrame:
        """Runs (one row each) with their scenario's seed, consumers, prosumers and days.

        Columns: run_id, scenario_id, status, mechanisms, series, batch, priority, attempts,
        max_attempts, not_before, enqueued_at, started_at, finished_at, heartbeat_at, worker,
        error, spec_hash, seed, consumers, prosumers, days. Filters combine with AND.
        """
        stmt = _where_in(runs_select(), runs_t.c.status, status)
        ids = _ids(run_ids)
        df = self._read(_where_runs(stmt, ids, batch).order_by(runs_t.c.id), ids=ids)
        return self._sorted(df, ["run_id"])

    def scenarios(self) -> pd.DataFrame:
        """Stored scenarios: scenario_id, spec_hash, spec_json, seed, consumers, prosumers, days,
        created_at."""
        return self._read(scenarios_select().order_by(scen_t.c.id))

    def run_params(self, run_ids: int | Iterable[int] | None = None, batch: str | None = None) -> pd.DataFrame:
        """One row per run with every field of its scenario spec (from the stored JSON).

        Range fields (``[low, high]`` pairs) become two columns ``<name>_low`` / ``<name>_high``
        and keep their plain name as a ``"low:high"`` string; ``mechanisms`` is a
        comma-separated string. ``consumers``, ``prosumers``, ``days`` and ``households`` are
        the community's actual size (for a profile set: the drawn households, by kind, over the
        window's days), so runs on generated and imported communities group alike. Useful to
        group runs by any scenario parameter.
        """
        # lazy: pandas costs the store's start-up a quarter of a second: loaded on first read
        import pandas as pd

        ids = _ids(run_ids)
        stmt = select(runs_t.c.id.label("run_id"), runs_t.c.batch, scen_t.c.spec_json,
                      *[scen_t.c[name] for name in SCENARIO_COLUMNS if name != "seed"]).select_from(runs_scen)
        raw = self._read(_where_runs(stmt, ids, batch).order_by(runs_t.c.id), ids=ids)
        rows = []
        for run_id, run_batch, spec_json, consumers, prosumers, days in raw.itertuples(index=False):
            row: dict[str, Any] = {"run_id": int(run_id), "batch": run_batch}
            for key, value in json.loads(spec_json).items():
                if key == "batteries":  # pinned battery rows: their number groups runs
                    row[key] = len(value)
                elif isinstance(value, list) and key == "mechanisms":
                    row[key] = ",".join(map(str, value))
                elif isinstance(value, list) and len(value) == 2:
                    row[f"{key}_low"], row[f"{key}_high"] = value
                    row[key] = f"{value[0]:g}:{value[1]:g}"
                else:
                    row[key] = value
            row.update(consumers=int(consumers), prosumers=int(prosumers), days=int(days),
                       households=int(consumers) + int(prosumers))
            rows.append(row)
        df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["run_id", "batch"])
        return self._sorted(df, ["run_id"])

    # -- per-run results --------------------------------------------------------------------------
    def households(self, run_id: int) -> pd.DataFrame:
        """Households of one run: run_id, position, household, kind, lambda_buy, lambda_sell
        (currency/kWh), load_kwh, pv_kwh (horizon totals)."""
        run_id = self.stored_ids(run_id)[0]
        return self._read(select(hh_t).where(hh_t.c.run_id == run_id).order_by(hh_t.c.position))

    def bills(self, run_ids: int | Iterable[int], mechanism: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Bills in long format: run_id, mechanism, household, kind, position, bill (currency;
        negative = net income), self_consumed_kwh, grid_import_kwh, grid_export_kwh,
        p2p_import_kwh, p2p_export_kwh."""
        ids = self.stored_ids(run_ids)
        df = self._result_rows(bills_t, ids, mechanism, bills_select())
        return self._sorted(df, ["run_id", "mechanism", "position", "household"])

    def daily_bills(self, run_ids: int | Iterable[int], mechanism: str | Iterable[str] | None = None) -> pd.DataFrame:
        """The notebook's daily table, long: run_id, mechanism, day (1-based), date, bill
        (community currency/day), avg_load_kwh_per_house, avg_pv_kwh_per_prosumer."""
        df = self._result_rows(daily_t, self.stored_ids(run_ids), mechanism)
        return self._sorted(df, ["run_id", "mechanism", "day"])

    def prices(self, run_ids: int | Iterable[int], mechanism: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Clearing prices per slot: run_id, mechanism, slot, ts, p2p_allowed, import_price,
        export_price, p2p_price (currency/kWh; NaN where the mechanism uses per-household
        tariffs, has no such price, or leaves it undefined, e.g. in P2P-off slots) and
        supply_demand_ratio (SDR pricing's E / I; inf where I = 0; NaN for other mechanisms)."""
        df = self._result_rows(prices_t, self.stored_ids(run_ids), mechanism)
        if not df.empty:
            df["p2p_allowed"] = df["p2p_allowed"].astype(bool)
            for col in ("import_price", "export_price", "p2p_price", "supply_demand_ratio"):
                df[col] = df[col].astype("float64")
        return self._sorted(df, ["run_id", "mechanism", "slot"])

    def series(self, run_id: int, mechanism: str | Iterable[str] | None = None,
               household: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Per-household per-slot series (stored with ``--series full`` only; empty otherwise):
        run_id, mechanism, household, slot, load_kw, pv_kw, grid_import_kwh, grid_export_kwh,
        p2p_import_kwh, p2p_export_kwh, cost (currency in the slot).

        The ``household_series`` view's rows; derived rows are computed from the run's per-slot
        tables in numpy (:func:`p2pstore.store.results.household_series.household_series_arrays`, the view's
        values bit for bit), so one household's year reads in a fraction of a second."""
        # lazy: pandas costs the store's start-up a quarter of a second: loaded on first read
        import pandas as pd

        run_id = self.stored_ids(run_id)[0]
        columns = [c.name for c in hseries_t.columns]
        with self.engine.connect() as conn:
            stored = conn.execute(select(runs_t.c.mechanisms).where(runs_t.c.id == run_id)).scalar_one().split(",")
            wanted = stored if mechanism is None else [mechanism] if isinstance(mechanism, str) else list(mechanism)
            households = None if household is None else ([household] if isinstance(household, str) else household)
            parts = list(household_series_arrays(conn, run_id, registry.ordered(wanted), households))
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("run_id", "slot") else
                                              "object" if c in ("mechanism", "household") else "float64")
                                 for c in columns})
        sizes = [len(part.values["slot"]) for part in parts]
        data = {"run_id": np.full(sum(sizes), run_id, dtype=np.int64),
                "mechanism": np.repeat(np.array([part.mechanism for part in parts], dtype=object), sizes),
                "household": np.repeat(np.array([part.household for part in parts], dtype=object), sizes)}
        data.update({c: np.concatenate([part.values[c] for part in parts]) for c in columns[3:]})
        return pd.DataFrame(data, columns=columns)

    def community_series(self, run_id: int, mechanism: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Per-slot community aggregates (``--series full`` or ``community``; empty with ``none``):
        run_id, mechanism, slot, load_kw, pv_kw, grid_import_kwh, grid_export_kwh, p2p_kwh, cost."""
        df = self._result_rows(cseries_t, [self.stored_ids(run_id)[0]], mechanism)
        return self._sorted(df, ["mechanism", "slot"])

    def metrics(self, run_ids: int | Iterable[int] | None = None, batch: str | None = None,
                metric: str | Iterable[str] | None = None, *, wide: bool = False) -> pd.DataFrame:
        """KPIs of runs (see docs/metrics.md), joined with the run's batch and scenario columns.

        Long (default): run_id, mechanism, metric, value, batch, seed, consumers, prosumers, days.
        ``wide=True``: one row per (run, mechanism), one column per metric.
        ``run_ids`` and ``batch`` combine with AND; with neither, every run is read. Unknown run ids or an
        unknown batch raise :class:`~p2pstore.errors.NotFoundError`.
        """
        ids = self.stored_ids(run_ids)
        if batch is not None:
            self._require_batch(batch)
        stmt = _where_in(_where_runs(metrics_select(), ids, batch), metrics_t.c.metric, metric)
        df = self._read(stmt, ids=ids)
        if not df.empty:
            df["value"] = df["value"].astype("float64")
        df = self._sorted(df, ["run_id", "mechanism", "metric"])
        if not wide:
            return df
        index = ["run_id", "mechanism", "batch", *SCENARIO_COLUMNS]
        if df.empty:
            return df.drop(columns=["metric", "value"])
        wide_df = df.pivot_table(index=["run_id", "mechanism"], columns="metric", values="value",
                                 aggfunc="first", dropna=False).reset_index()
        wide_df.columns.name = None
        keys = df.drop_duplicates(["run_id", "mechanism"])[index]
        out = keys.merge(wide_df, on=["run_id", "mechanism"], how="left")
        return out.reset_index(drop=True)
