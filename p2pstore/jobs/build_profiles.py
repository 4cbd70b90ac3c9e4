"""Building a profile set and storing it: generated from a scenario (the generator a run of it
uses) or imported from files. Like :mod:`p2pstore.jobs.execute` for runs, this module only joins
two layers: the profiles layer makes the data, the store stores it
(:meth:`p2pstore.store.Store.save_profile_set`).

Example::

    from p2pstore import Store
    from p2pstore.jobs.build_profiles import import_profiles

    import_profiles(Store("sqlite:///p2pstore.db"), "demo", load="load.csv", pv="pv.csv")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from p2pstore.errors import InputError
from p2pstore.profiles import generated_community
from p2pstore.profiles.csv_export import write_profile_csvs
from p2pstore.profiles.importer import read_profile_set
from p2pstore.profiles.sets import ProfileSet
from p2pstore.scenario import check_name
from p2pstore.simulate import check_memory
from p2pstore.store.profilesets.storage import tariff_mode

if TYPE_CHECKING:
    from p2pstore.scenario import Scenario
    from p2pstore.store import Store


def import_profiles(store: Store, name: str, *, replace: bool = False, load=None, pv=None, long=None,
                    tariffs=None, p2p_allowed=None, unit: str | None = None, timezone: str | None = None,
                    slot_minutes: int | None = None, **read_options) -> dict[str, Any]:
    """Read, validate and store a profile set from files or pandas DataFrames.

    Arguments as :func:`p2pstore.profiles.importer.read_profile_set` (``read_options``: its
    ``sep``, ``decimal`` and ``date_format``); see
    :meth:`~p2pstore.store.Store.save_profile_set` for ``replace`` and the result (plus
    ``"warnings"``: odd but legal data noticed). Nothing is stored when any input is malformed.

    Example::

        import_profiles(store, "ausgrid", load="load.csv", pv="pv.csv", tariffs="tariffs.csv",
                        timezone="Australia/Brisbane", slot_minutes=15)
    """
    problem = check_name(name)
    if problem:  # before reading what may be large files
        raise InputError(problem)
    data = read_profile_set(load=load, pv=pv, long=long, tariffs=tariffs, p2p_allowed=p2p_allowed, unit=unit,
                            timezone=timezone, slot_minutes=slot_minutes, **read_options)
    return {**store.save_profile_set(name, data, replace=replace), "warnings": list(data.warnings),
            "households": data.n_households, "slots": data.n_slots}


def generate_profiles(store: Store, name: str, scenario: Scenario, *, replace: bool = False,
                      write_csv=None) -> dict[str, Any]:
    """Generate ``scenario``'s community, exactly as a run of it would (generator, seed,
    households, window, drawn tariffs or its tariff file), and store it as profile set
    ``name`` (see :meth:`~p2pstore.store.Store.save_profile_set` for ``replace`` and the
    status). A run on the set then settles the same households to the same bills.

    ``write_csv``: a directory to also write the set's ``profiles import`` files into
    (:func:`p2pstore.profiles.csv_export.write_profile_csvs`), once the set is stored.
    Returns the stored set's ``id``, ``name``, ``content_hash``, ``status``, its size and
    span, and ``files`` (paths written). Nothing is stored, or written, on bad input.
    """
    problem = check_name(name)
    if problem:
        raise InputError(problem)
    if write_csv is not None:
        _check_writable_directory(write_csv)
    check_memory(scenario, chunks=False)  # the set is stored whole
    with np.errstate(all="ignore"):
        profiles = generated_community(scenario)
    if not (np.isfinite(profiles.load_kw).all() and np.isfinite(profiles.pv_kw).all()):
        raise InputError("the scenario produces non-finite load or PV: its ranges overflow floating point")
    source = f"generator {scenario.generator}, seed {scenario.seed}" + (
        f", tariffs {scenario.tariffs}" if scenario.tariffs else "")
    data = ProfileSet.from_profiles(profiles, source=source)
    saved = store.save_profile_set(name, data, replace=replace)
    files = []
    if write_csv is not None:
        try:
            files = [str(p) for p in write_profile_csvs(profiles, write_csv).values()]
        except OSError as exc:
            raise InputError(f"profile set {name!r} stored, but cannot write CSV files into {write_csv}: "
                             f"{exc.strerror or exc}") from None
    n_pro = int(np.count_nonzero(data.kinds == "prosumer"))
    return {**saved, "households": data.n_households, "consumers": data.n_households - n_pro,
            "prosumers": n_pro, "slots": data.n_slots, "slot_minutes": data.slot_minutes,
            "start": data.start.isoformat(sep=" "), "days": profiles.days, "generator": scenario.generator,
            "seed": scenario.seed, "tariffs": tariff_mode(data.tariffs), "files": files}


def _check_writable_directory(directory) -> None:
    """:class:`InputError` unless ``directory`` is, or can be created as, a writable directory."""
    path = Path(directory)
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise InputError(f"cannot write CSV files into {directory}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"cannot write CSV files into {directory}: {existing} is not writable")

