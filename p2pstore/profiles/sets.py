"""Profile sets and tariff tables: imported data as plain numpy arrays, and the communities
drawn from them.

A :class:`ProfileSet` is a named community of measured households (load and PV ``[N, H]`` kW,
per-slot P2P calendar ``[H]``, optional tariffs) on a regular grid of ``slot_minutes`` slots from
``start`` (local wall clock). A :class:`TariffTable` holds tariffs as read from a file: flat
(``[K]``) or time-varying (``[K, T]`` on its own time grid), per named household or one for the
whole community. Both have a content hash over their canonical bytes, so identical data are
recognised and stored once.

:meth:`ProfileSet.community` turns a set into the :class:`~p2pstore.profiles.base.Profiles` of
one run: a window of whole days, a reproducible draw of households, the set's tariffs or a
tariff table's. Nothing here reads files (see :mod:`p2pstore.profiles.importer`) or touches the
database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from functools import cached_property

import numpy as np

from p2pstore.errors import InputError
from p2pstore.profiles.base import Profiles

#: Slot lengths a set may have, minutes.
SLOT_MINUTES: tuple[int, ...] = (5, 10, 15, 30, 60)


def format_time(t: dt.datetime | np.datetime64) -> str:
    """``YYYY-MM-DD HH:MM`` (the way every message and listing shows a slot)."""
    return str(np.datetime64(t, "m")).replace("T", " ")


def slot_times(start: dt.datetime, slot_minutes: int, n: int) -> np.ndarray:
    """[n] datetime64[m]: the start of each slot."""
    return np.datetime64(start, "m") + np.timedelta64(slot_minutes, "m") * np.arange(n)


def resample(values: np.ndarray, from_minutes: int, to_minutes: int, *, how: str = "mean") -> np.ndarray:
    """Resample ``[..., T]`` per-slot values from ``from_minutes`` to ``to_minutes`` slots.

    Finer slots repeat each value (a mean power or a price holds over its slot, so energy is
    conserved); coarser slots take the ``mean`` of whole groups (mean power: energy conserved)
    or, with ``how="all"``, their logical AND (a P2P flag is on only if on all the slot). A
    trailing part of a coarser slot is dropped. Lengths must divide each other.
    """
    if to_minutes == from_minutes:
        return values
    if from_minutes % to_minutes == 0:
        return np.repeat(values, from_minutes // to_minutes, axis=-1)
    k = to_minutes // from_minutes
    whole = values.shape[-1] // k * k
    grouped = values[..., :whole].reshape(*values.shape[:-1], whole // k, k)
    return grouped.all(axis=-1) if how == "all" else grouped.mean(axis=-1)


def draw_households(n_total: int, k: int | None, seed: int) -> np.ndarray:
    """Indices (ascending) of ``k`` of ``n_total`` households drawn without replacement.

    The ``k`` households with the smallest keys of ``default_rng(seed).random(n_total)``: the
    same seed always draws the same households, a new seed another community (a sweep over seeds
    is a Monte Carlo over community composition). ``k=None`` takes them all.
    """
    if k is None or k == n_total:
        return np.arange(n_total)
    if not 1 <= k <= n_total:
        raise InputError(f"cannot draw {k} households from a set of {n_total}")
    keys = np.random.default_rng(seed).random(n_total)
    return np.sort(np.argsort(keys, kind="stable")[:k])


def _hasher(header: dict, arrays) -> str:
    """SHA-256 of a canonical JSON header followed by the raw bytes of ``arrays``."""
    h = hashlib.sha256(json.dumps(header, sort_keys=True, separators=(",", ":")).encode())
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@dataclasses.dataclass(frozen=True, eq=False)
class TariffTable:
    """Grid tariffs, currency/kWh, as read from a file (sell tariffs may be negative).

    ``households``: the names the rows belong to, or None for one tariff that every household
    pays (then ``K = 1``).

    * flat: ``buy`` / ``sell`` are ``[K]``; ``series_of``, ``start`` and ``slot_minutes`` are None;
    * time-varying: ``buy`` / ``sell`` are ``[S, T]``, the *distinct* per-slot series on a grid
      of ``T`` slots of ``slot_minutes`` from ``start``, and ``series_of`` ``[K]`` gives the
      series of each household (a tariff shared by many households is kept once). Build one from
      per-household rows with :meth:`time_varying_from_rows`.
    """

    households: tuple[str, ...] | None
    buy: np.ndarray
    sell: np.ndarray
    series_of: np.ndarray | None = None
    start: dt.datetime | None = None
    slot_minutes: int | None = None
    source: str = "tariffs"

    @classmethod
    def time_varying_from_rows(cls, households: tuple[str, ...] | None, buy: np.ndarray, sell: np.ndarray,
                               start: dt.datetime, slot_minutes: int, source: str = "tariffs") -> TariffTable:
        """A time-varying table from ``[K, T]`` rows (one per household), identical rows merged
        into one series (numbered in order of first appearance, so the result is canonical)."""
        both = np.concatenate([np.asarray(buy, np.float64), np.asarray(sell, np.float64)], axis=1)
        _, first, inverse = np.unique(both, axis=0, return_index=True, return_inverse=True)
        keep, series_of = first_appearance(first[inverse.reshape(-1)])
        return cls(households, np.ascontiguousarray(buy[keep], np.float64),
                   np.ascontiguousarray(sell[keep], np.float64), series_of, start, slot_minutes, source)

    @property
    def time_varying(self) -> bool:
        return self.series_of is not None

    @property
    def n_slots(self) -> int:
        """Slots of a time-varying table (0 for flat tariffs)."""
        return int(self.buy.shape[1]) if self.time_varying else 0

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 over the canonical header (names, grid) and the float64 values."""
        header = {"kind": "tariffs", "households": self.households, "shape": list(self.buy.shape),
                  "start": None if self.start is None else format_time(self.start),
                  "slot_minutes": self.slot_minutes}
        arrays = [np.asarray(self.buy, "<f8"), np.asarray(self.sell, "<f8")]
        if self.series_of is not None:
            arrays.append(np.asarray(self.series_of, "<i8"))
        return _hasher(header, arrays)

    def aligned(self, labels, start: dt.datetime, slot_minutes: int, n_slots: int, *,
                exact: bool = False) -> TariffTable:
        """This table for the households ``labels`` (in that order) on ``n_slots`` slots of
        ``slot_minutes`` from ``start``: time-varying series are resampled (finer slots repeat a
        price, coarser ones average it, which for mean power is the energy-weighted price) and
        cut to the window.

        Raises :class:`InputError` naming a household without tariffs or the slots the table
        does not cover. With ``exact``, a household of the table that is not in ``labels`` is an
        error too (an import checks its files agree; a run may use part of a table).
        """
        labels = tuple(str(x) for x in labels)
        if self.households is None:
            rows = np.zeros(len(labels), dtype=np.int64)
        else:
            where = {name: k for k, name in enumerate(self.households)}
            missing = [x for x in labels if x not in where]
            if missing:
                more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                raise InputError(f"{self.source}: tariffs missing for household {missing[0]!r}{more}")
            if exact and len(where) != len(labels):
                wanted = set(labels)
                extra = next(name for name in self.households if name not in wanted)
                raise InputError(f"{self.source}: household {extra!r} has tariffs but no load profile")
            rows = np.array([where[x] for x in labels], dtype=np.int64)
        if not self.time_varying:
            return TariffTable(labels, self.buy[rows], self.sell[rows], source=self.source)
        if slot_minutes % self.slot_minutes and self.slot_minutes % slot_minutes:
            raise InputError(f"{self.source}: tariffs in {self.slot_minutes}-minute steps do not fit "
                             f"{slot_minutes}-minute slots (one must divide the other)")
        fine = min(self.slot_minutes, slot_minutes)
        step = np.timedelta64(self.slot_minutes, "m")
        have_end = np.datetime64(self.start, "m") + step * self.n_slots
        need = slot_times(start, slot_minutes, n_slots)
        offset = (np.datetime64(start, "m") - np.datetime64(self.start, "m")) / np.timedelta64(fine, "m")
        if offset != int(offset) or offset < 0 or need[-1] + np.timedelta64(slot_minutes, "m") > have_end:
            raise InputError(f"{self.source}: time-varying tariffs cover {format_time(self.start)} to "
                             f"{format_time(have_end - step)}, not every slot from {format_time(need[0])} "
                             f"to {format_time(need[-1])}")
        series, series_of = first_appearance(self.series_of[rows])
        span = slice(int(offset), int(offset) + n_slots * slot_minutes // fine)

        def cut(values: np.ndarray) -> np.ndarray:
            # to the finer grid, cut the window, then to the target slots
            finer = resample(values[series], self.slot_minutes, fine)[:, span]
            return np.ascontiguousarray(resample(finer, fine, slot_minutes), dtype=np.float64)

        return TariffTable(labels, cut(self.buy), cut(self.sell), series_of, start, slot_minutes, self.source)

    def per_household(self) -> tuple[np.ndarray, np.ndarray]:
        """``(buy, sell)`` per household row: ``[K]`` flat, ``[K, T]`` time-varying (a read-only
        broadcast view, no copy, when every household shares one series)."""
        if not self.time_varying:
            return self.buy, self.sell
        if self.buy.shape[0] == 1:
            shape = (len(self.series_of), self.n_slots)
            return np.broadcast_to(self.buy[0], shape), np.broadcast_to(self.sell[0], shape)
        return self.buy[self.series_of], self.sell[self.series_of]

    def for_households(self, labels, start: dt.datetime, slot_minutes: int, n_slots: int, *,
                       exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Tariffs of households ``labels`` on the given slots: ``[N]`` arrays (flat) or
        ``[N, H]`` (time-varying); see :meth:`aligned` and :meth:`per_household`."""
        return self.aligned(labels, start, slot_minutes, n_slots, exact=exact).per_household()

    def warnings(self) -> list[str]:
        """Odd but legal: households whose sell tariff exceeds their buy tariff."""
        above = np.asarray(self.sell > self.buy)
        if not above.any():
            return []
        if self.time_varying:
            above = above.any(axis=1)[self.series_of]
        names = self.households or ("every household",)
        first = names[int(np.flatnonzero(above)[0])]
        count = int(above.sum())
        return [f"{self.source}: sell tariff above the buy tariff for {count} household(s) (first: {first!r}); "
                "exporting then pays more than importing costs"]


def first_appearance(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(distinct, inverse)``: the distinct values of ``ids`` in order of first appearance, and
    for each element its position in ``distinct`` (a canonical numbering)."""
    distinct, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return distinct[order], rank[inverse.reshape(-1)].astype(np.int64)


@dataclasses.dataclass(frozen=True)
class SetShape:
    """The households and slot grid of a profile set, without its values: enough to choose the
    window and the households of a run before reading any data."""

    names: tuple[str, ...]
    start: dt.datetime
    slot_minutes: int
    n_slots: int
    label: str = "profile set"  # how messages name the set, e.g. "profile set 'ausgrid'"

    @property
    def n_households(self) -> int:
        return len(self.names)

    @property
    def periods_per_day(self) -> int:
        return 1440 // self.slot_minutes

    @property
    def end(self) -> dt.datetime:
        """Start of the last slot."""
        return self.start + dt.timedelta(minutes=self.slot_minutes * (self.n_slots - 1))

    def describe_range(self) -> str:
        days = self.n_slots / self.periods_per_day
        return (f"{format_time(self.start)} to {format_time(self.end)} "
                f"({days:g} days of {self.slot_minutes}-minute slots)")

    def window(self, start: str | None, days: int | None) -> tuple[int, int]:
        """``(first slot, number of slots)`` of ``days`` whole days from midnight of ``start``
        (an ISO date); unset values mean the set's first slot and its last. An error names the
        set's range when the window does not fit inside it."""
        step = dt.timedelta(minutes=self.slot_minutes)
        first = 0
        if start is not None:
            offset = dt.datetime.combine(dt.date.fromisoformat(start), dt.time()) - self.start
            first = offset // step if not offset % step else -1  # off the grid: outside
        n = self.n_slots - max(first, 0) if days is None else days * self.periods_per_day
        if first < 0 or n <= 0 or first + n > self.n_slots:
            size = f"{days} day(s)" if days is not None else "the days"
            since = f"from {start}" if start is not None else "from its start"
            raise InputError(f"{size} {since} do not fit in {self.label}, which covers {self.describe_range()}")
        return int(first), int(n)

    def selection(self, households: int | None, seed: int, start: str | None,
                  days: int | None) -> tuple[np.ndarray, int, int]:
        """``(rows, first slot, number of slots)`` of a run: ``households`` drawn with ``seed``
        (:func:`draw_households`; None = all, file order) over :meth:`window`."""
        first, n = self.window(start, days)
        if households is not None and households > self.n_households:
            raise InputError(f"cannot draw {households} households from {self.label}, "
                             f"which has {self.n_households}")
        return draw_households(self.n_households, households, seed), first, n


@dataclasses.dataclass(frozen=True, eq=False)
class ProfileSet:
    """Measured households on one regular slot grid.

    ``names`` [N] household names (file order); ``load_kw`` / ``pv_kw`` [N, H] mean power per
    slot, kW; ``p2p_allowed`` [H] bool; slot 0 starts at ``start`` (local wall clock in
    ``timezone``), slots are ``slot_minutes`` long. ``tariffs``: the set's own tariffs, a table
    for ``names`` on a grid covering the slots (or None: runs then need a tariff file).
    ``warnings`` lists odd but legal things noticed on import.
    """

    names: tuple[str, ...]
    load_kw: np.ndarray
    pv_kw: np.ndarray
    p2p_allowed: np.ndarray
    start: dt.datetime
    slot_minutes: int
    timezone: str = "UTC"
    tariffs: TariffTable | None = None
    source: str = ""
    warnings: tuple[str, ...] = ()
    kinds: np.ndarray | None = None  # [N] str; default: "prosumer" where any PV > 0, else "consumer"

    def __post_init__(self) -> None:
        if self.kinds is None:  # kinds belong to the whole set: a window keeps them (see subset)
            kinds = np.where((self.pv_kw > 0).any(axis=1), "prosumer", "consumer")
            object.__setattr__(self, "kinds", kinds)

    @classmethod
    def from_profiles(cls, profiles: Profiles, source: str = "", timezone: str = "UTC") -> ProfileSet:
        """The set holding every household and slot of ``profiles`` (a generated community),
        with its kinds and tariffs (flat ``[N]``, or ``[N, H]`` kept as distinct series).

        Its content hash is that of the same data imported from the files
        :func:`p2pstore.profiles.csv_export.write_profile_csvs` writes (naive timestamps, read in
        ``timezone`` UTC), so importing those files again is recognised as the same set.
        """
        names = tuple(str(x) for x in profiles.labels)
        minutes = round(profiles.slot_hours * 60)
        if profiles.time_varying_tariffs:
            tariffs = TariffTable.time_varying_from_rows(names, profiles.lambda_buy, profiles.lambda_sell,
                                                         profiles.start, minutes, source=source)
        else:
            tariffs = TariffTable(names, np.asarray(profiles.lambda_buy, np.float64),
                                  np.asarray(profiles.lambda_sell, np.float64), source=source)
        return cls(names=names, load_kw=profiles.load_kw, pv_kw=profiles.pv_kw, p2p_allowed=profiles.p2p_allowed,
                   start=profiles.start, slot_minutes=minutes, timezone=timezone, tariffs=tariffs, source=source,
                   kinds=np.asarray(profiles.kinds, dtype=str))

    @property
    def n_households(self) -> int:
        return len(self.names)

    @property
    def n_slots(self) -> int:
        return int(self.load_kw.shape[1])

    @property
    def shape(self) -> SetShape:
        return SetShape(self.names, self.start, self.slot_minutes, self.n_slots)

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 over names, grid, time zone, load, PV, the P2P calendar and the tariffs."""
        header = {"kind": "profiles", "names": list(self.names), "start": format_time(self.start),
                  "slot_minutes": self.slot_minutes, "timezone": self.timezone,
                  "shape": list(self.load_kw.shape),
                  "tariffs": None if self.tariffs is None else self.tariffs.content_hash}
        return _hasher(header, [np.asarray(self.load_kw, "<f8"), np.asarray(self.pv_kw, "<f8"),
                                np.asarray(self.p2p_allowed, "?")])

    def subset(self, rows: np.ndarray, first: int, n: int) -> ProfileSet:
        """The households ``rows`` over slots ``first .. first + n - 1`` (tariffs kept whole:
        :meth:`to_profiles` picks them by name and time)."""
        cols = slice(first, first + n)
        everyone = len(rows) == self.n_households
        load = self.load_kw[:, cols] if everyone else self.load_kw[rows, cols]
        pv = self.pv_kw[:, cols] if everyone else self.pv_kw[rows, cols]
        return dataclasses.replace(
            self, names=tuple(self.names[i] for i in rows), load_kw=load, pv_kw=pv,
            p2p_allowed=self.p2p_allowed[cols], kinds=self.kinds[rows],
            start=self.start + dt.timedelta(minutes=self.slot_minutes * first))

    def to_profiles(self, tariffs: TariffTable | None = None, label: str = "the profile set") -> Profiles:
        """Every household and slot as :class:`Profiles`, with ``tariffs`` (a table replacing
        the set's own) or the set's tariffs; :class:`InputError` if neither exists."""
        table = tariffs if tariffs is not None else self.tariffs
        if table is None:
            raise InputError(f"{label} has no tariffs: give a tariff file (--tariffs FILE)")
        buy, sell = table.for_households(self.names, self.start, self.slot_minutes, self.n_slots)
        return Profiles(
            labels=np.asarray(self.names, dtype=str),
            kinds=self.kinds,
            load_kw=np.ascontiguousarray(self.load_kw, dtype=np.float64),
            pv_kw=np.ascontiguousarray(self.pv_kw, dtype=np.float64),
            lambda_buy=buy,
            lambda_sell=sell,
            p2p_allowed=np.asarray(self.p2p_allowed, dtype=bool),
            start=self.start,
            slot_hours=self.slot_minutes / 60.0,
            periods_per_day=1440 // self.slot_minutes,
        )

    def community(self, *, households: int | None = None, seed: int = 0, start: str | None = None,
                  days: int | None = None, tariffs: TariffTable | None = None) -> Profiles:
        """The :class:`Profiles` of a run on this set: ``households`` drawn with ``seed`` over
        the window ``start`` / ``days`` (see :meth:`SetShape.selection`)."""
        rows, first, n = self.shape.selection(households, seed, start, days)
        return self.subset(rows, first, n).to_profiles(tariffs)


def with_tariffs(profiles: Profiles, table: TariffTable) -> Profiles:
    """``profiles`` with the tariffs of ``table`` (matched by household label and slot time)
    instead of its own; :class:`InputError` names a household or slot the table lacks."""
    minutes = round(profiles.slot_hours * 60)
    buy, sell = table.for_households(profiles.labels, profiles.start, minutes, profiles.n_slots)
    return dataclasses.replace(profiles, lambda_buy=buy, lambda_sell=sell)
