"""Pinning scenarios to stored data before they are stored (:func:`resolve`): a set's name is
pinned to its content hash and a tariff file is read, stored and pinned to its hash, so a run
always computes from exactly the data it was queued with, on any host.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np

from p2pstore.batteries import keys as battery_keys
from p2pstore.errors import InputError
from p2pstore.profiles.importer import read_tariffs
from p2pstore.profiles.sets import TariffTable
from p2pstore.store.profilesets.read import read_tariff_file, require_set, shape_of
from p2pstore.store.profilesets.storage import write_tariff_file
from p2pstore.store.schema import ScenarioProfileSet

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from p2pstore.scenario import Scenario


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A scenario ready to store: hashes pinned, its community's size, the data it uses."""

    scenario: Scenario
    consumers: int
    prosumers: int
    days: int
    links: dict[str, int]  # role ("profiles" | "tariffs") -> profile_sets.id


def resolve(conn: Connection, scenario: Scenario, cache: dict | None = None) -> Resolved:
    """Pin ``scenario`` to stored data (on ``conn``'s transaction).

    A profile set's name becomes its content hash (``profiles_hash``; a hash already given must
    match the set); a tariff file (``tariffs``) is read, validated, stored once and replaced by
    its content hash (``tariffs_hash``). The window, the draw of households and the tariffs'
    coverage of the community are checked here, so a bad scenario fails when it is queued, not
    when it runs. ``cache`` (shared by the scenarios of one sweep) reads each file and set once.
    """
    cache = {} if cache is None else cache
    links: dict[str, int] = {}
    changes: dict[str, Any] = {}
    table = None
    if scenario.tariffs is not None or scenario.tariffs_hash is not None:
        key = ("tariffs", scenario.tariffs, scenario.tariffs_hash)
        if key not in cache:
            if scenario.tariffs is not None:
                table = read_tariff_files([scenario], cache)[scenario.tariffs]
                cache[key] = (write_tariff_file(conn, table), table)
            else:
                cache[key] = (require_set(conn, content_hash=scenario.tariffs_hash)["id"],
                              read_tariff_file(conn, scenario.tariffs_hash))
        links["tariffs"], table = cache[key]
        changes.update(tariffs=None, tariffs_hash=table.content_hash)
    if not scenario.imported:
        labels = [f"C{k + 1}" for k in range(scenario.consumers)] + [f"P{k + 1}" for k in range(scenario.prosumers)]
        scenario = battery_keys.pin(scenario, lambda: labels)  # a battery file, read and checked
        if table is not None:  # the generated community's labels and slots
            start = dt.datetime.combine(scenario.start_date, dt.time())
            table.aligned(labels, start, scenario.slot_minutes, scenario.slots)
        resolved = scenario.replace(**changes) if changes else scenario
        return Resolved(resolved, scenario.consumers, scenario.prosumers, scenario.days, links)
    key = ("set", scenario.profiles)
    if key not in cache:
        meta = require_set(conn, name=scenario.profiles)
        cache[key] = (meta, *shape_of(conn, meta))
    meta, shape, kinds = cache[key]
    if scenario.profiles_hash is not None and scenario.profiles_hash != meta["content_hash"]:
        raise InputError(f"profile set {scenario.profiles!r} has content hash {meta['content_hash'][:12]}, "
                         f"not the pinned {scenario.profiles_hash[:12]} (it was replaced)")
    if meta["tariffs"] == "none" and table is None:
        raise InputError(f"profile set {scenario.profiles!r} has no tariffs: give a tariff file (--tariffs FILE)")
    rows, first, n = shape.selection(scenario.households, scenario.seed, scenario.start, scenario.days)
    scenario = battery_keys.pin(scenario, lambda: shape.names)  # batteries of households not drawn stay unused
    if table is not None:
        start = shape.start + dt.timedelta(minutes=shape.slot_minutes * first)
        table.aligned([shape.names[i] for i in rows], start, shape.slot_minutes, n)
    links["profiles"] = meta["id"]
    changes["profiles_hash"] = meta["content_hash"]
    prosumers = int(np.count_nonzero(kinds[rows] == "prosumer"))
    return Resolved(scenario.replace(**changes), len(rows) - prosumers, prosumers,
                    -(-n // shape.periods_per_day), links)


def read_tariff_files(scenarios, cache: dict) -> dict[str, TariffTable]:
    """Read and validate the tariff files the ``scenarios`` name (each once, kept in ``cache``
    for :func:`resolve`); ``{path: table}``. Called before the write transaction opens, so a
    large file never holds the database's write lock while it is parsed."""
    files = cache.setdefault("files", {})
    for scenario in scenarios:
        path = scenario.tariffs
        if path is not None and path not in files:
            files[path] = read_tariffs(path)
    return files


def link(conn: Connection, scenario_id: int, links: dict[str, int], insert) -> None:
    """Record (idempotently) which stored data scenario ``scenario_id`` uses."""
    for role, set_id in links.items():
        conn.execute(insert(ScenarioProfileSet).values(scenario_id=scenario_id, role=role, profile_set_id=set_id)
                     .on_conflict_do_nothing(index_elements=["scenario_id", "role"]))
