"""The :class:`~p2pstore.store.Store`'s profile-set methods: save, list, inspect, load, delete.

Generating a set or importing one from files is the profiles layer's
(:func:`p2pstore.jobs.build_profiles.generate_profiles`, :func:`p2pstore.jobs.build_profiles.import_profiles`),
which then calls :meth:`ProfileSetMethods.save_profile_set`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from p2pstore.errors import InputError, IntegrityViolation
from p2pstore.profiles.sets import ProfileSet, TariffTable
from p2pstore.store.engine import begin_write
from p2pstore.store.profilesets import storage
from p2pstore.store.profilesets.read import (
    household_rows,
    links_t,
    read_community,
    read_profile_set,
    read_tariff_file,
    require_set,
    sets_t,
)
from p2pstore.store.schema import Run

if TYPE_CHECKING:
    from p2pstore.scenario import Scenario


class ProfileSetMethods:
    """Save, list, inspect, load and delete profile sets; mixed into :class:`~p2pstore.store.Store`."""

    engine: Any
    url: str

    def save_profile_set(self, name: str, data: ProfileSet, *, replace: bool = False) -> dict[str, Any]:
        """Store ``data`` (a :class:`~p2pstore.profiles.sets.ProfileSet`) as ``name``, in one
        transaction, its values in bulk. Returns ``{"id", "name", "content_hash", "status"}``
        with status ``"imported"``, ``"unchanged"`` (identical data already stored under this
        name: nothing written) or ``"replaced"`` (``replace=True``, the old set unused)."""
        try:
            with begin_write(self.engine, f"store profile set {name!r}") as conn:
                return storage.save_profile_set(conn, name, data, replace=replace)
        except IntegrityViolation:
            raise InputError(f"profile set {name!r} (or identical data) was stored meanwhile by another "
                             "process; try again") from None

    def profile_sets(self):
        """Named profile sets, one row each: name, households, consumers, prosumers, days,
        slot_minutes, start, end (start of the last slot), timezone, tariffs (none | flat | time),
        runs (that use it), content_hash, source, created_at."""
        import pandas as pd  # lazy: pandas costs the store's start-up a quarter of a second

        used = (sa.select(links_t.c.profile_set_id, sa.func.count(Run.id).label("runs"))
                .select_from(links_t.join(Run, Run.scenario_id == links_t.c.scenario_id))
                .group_by(links_t.c.profile_set_id).subquery())
        stmt = (sa.select(sets_t.c.name, sets_t.c.households, sets_t.c.consumers, sets_t.c.prosumers,
                          sets_t.c.slots, sets_t.c.slot_minutes, sets_t.c.start, sets_t.c.timezone, sets_t.c.tariffs,
                          sa.func.coalesce(used.c.runs, 0).label("runs"), sets_t.c.content_hash, sets_t.c.source,
                          sets_t.c.created_at)
                .select_from(sets_t.outerjoin(used, used.c.profile_set_id == sets_t.c.id))
                .where(sets_t.c.kind == "profiles").order_by(sets_t.c.name))
        with self.engine.connect() as conn:
            df = pd.read_sql(stmt, conn)
        if df.empty:
            return df.assign(days=[], end=[])
        df["start"] = pd.to_datetime(df["start"])
        df["end"] = df["start"] + pd.to_timedelta((df["slots"] - 1) * df["slot_minutes"], unit="min")
        df["days"] = df["slots"] * df["slot_minutes"] / 1440.0
        order = ["name", "households", "consumers", "prosumers", "days", "slot_minutes", "start", "end",
                 "timezone", "tariffs", "runs", "content_hash", "source", "created_at"]
        return df[order]

    def profile_set(self, name: str) -> dict[str, Any]:
        """One set's row (as :meth:`profile_sets`) plus ``members``: a DataFrame of position,
        household, kind, buy, sell (flat tariffs; NaN when time-varying), tariff_series,
        load_kwh, pv_kwh; and ``run_ids`` / ``schedules`` that use it."""
        import pandas as pd  # lazy: pandas costs the store's start-up a quarter of a second

        with self.engine.connect() as conn:
            meta = require_set(conn, name=name)
            hh = pd.DataFrame(household_rows(conn, meta["id"])).drop(columns="profile_set_id")
            runs, schedules = storage.users(conn, meta["id"])
        row = self.profile_sets().set_index("name").loc[name].to_dict()
        return {"name": name, **row, "members": hh, "run_ids": runs, "schedules": schedules}

    def load_profile_set(self, name: str) -> ProfileSet:
        """Every value of profile set ``name`` as a :class:`~p2pstore.profiles.sets.ProfileSet`
        (numpy arrays; ``.community(...)`` draws a run's households from it)."""
        with self.engine.connect() as conn:
            return read_profile_set(conn, require_set(conn, name=name))

    def delete_profile_set(self, name: str) -> int:
        """Delete profile set ``name`` with its values (refused while a run or schedule uses
        it); return how many value rows were deleted."""
        with begin_write(self.engine) as conn:
            return storage.delete_profile_set(conn, name)

    def community(self, scenario: Scenario):
        """The :class:`~p2pstore.profiles.base.Profiles` a resolved scenario on a profile set
        computes from (its households and window only are read)."""
        with self.engine.connect() as conn:
            return read_community(conn, scenario)

    def tariff_file(self, content_hash: str) -> TariffTable:
        """The stored tariff file with ``content_hash`` (a scenario's ``tariffs_hash``)."""
        with self.engine.connect() as conn:
            return read_tariff_file(conn, content_hash)
