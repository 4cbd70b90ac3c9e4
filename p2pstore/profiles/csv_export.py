"""Write :class:`Profiles` as the wide CSV files a profile-set import reads.

One directory, four files (timestamps are the profiles' own naive local times, ISO
``YYYY-MM-DD HH:MM:SS``, the start of each slot):

- ``load.csv``: ``timestamp`` then one column per household (its label), mean power in kW;
- ``pv.csv``: ``timestamp`` then one column per household, kW (zero for consumers: an import
  makes a household with any PV a prosumer, the others consumers);
- ``tariffs.csv``: flat tariffs as ``household, buy, sell`` (currency/kWh; ``sell`` 0 for
  consumers); time-varying ones as ``timestamp, household, buy, sell``, one row per slot and
  household;
- ``p2p_allowed.csv``: ``timestamp, p2p_allowed`` (``True``/``False``).

Floats are written with Python's shortest round-trip representation, so reading the files back
(pandas' default CSV parser) gives the same float64 arrays bit for bit, and ``p2pstore profiles
import NAME --load load.csv --pv pv.csv --tariffs tariffs.csv --p2p-allowed p2p_allowed.csv``
stores the same data (the same content hash) as the community itself. Like every CSV p2pstore
writes, a text cell a spreadsheet would evaluate (a label starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return) is written with a leading ``'`` (:mod:`p2pstore.csv_cells`); the
generators' labels (``C1``, ``P3``) never need it.
"""

from __future__ import annotations

from pathlib import Path

from p2pstore.csv_cells import safe_frame
from p2pstore.profiles.base import Profiles

FILES = ("load.csv", "pv.csv", "tariffs.csv", "p2p_allowed.csv")


def import_arguments(paths: dict[str, Path]) -> list[str]:
    """The ``p2pstore profiles import`` options that read the files ``paths`` (as returned by
    :func:`write_profile_csvs`)."""
    flags = {"load.csv": "--load", "pv.csv": "--pv", "tariffs.csv": "--tariffs", "p2p_allowed.csv": "--p2p-allowed"}
    return [part for name in FILES for part in (flags[name], str(paths[name]))]


def write_profile_csvs(profiles: Profiles, directory: str | Path) -> dict[str, Path]:
    """Write the four CSV files of ``profiles`` into ``directory`` (created if missing).

    Returns ``{file name: path}``.
    """
    import numpy as np  # numpy and pandas only when files are written
    import pandas as pd  # (same reason)

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    index = pd.DatetimeIndex(profiles.timestamps(), name="timestamp")
    labels = [str(x) for x in profiles.labels]
    if profiles.time_varying_tariffs:  # long: slot by slot, households in order within a slot
        n, h = profiles.load_kw.shape
        tariffs = pd.DataFrame({"timestamp": np.repeat(index, n), "household": np.tile(labels, h),
                                "buy": profiles.lambda_buy.T.ravel(), "sell": profiles.lambda_sell.T.ravel()})
        tariffs = tariffs.set_index("timestamp")
    else:
        tariffs = pd.DataFrame({"buy": profiles.lambda_buy, "sell": profiles.lambda_sell},
                               index=pd.Index(labels, name="household"))
    frames = {
        "load.csv": pd.DataFrame(profiles.load_kw.T, index=index, columns=labels),
        "pv.csv": pd.DataFrame(profiles.pv_kw.T, index=index, columns=labels),
        "tariffs.csv": tariffs,
        "p2p_allowed.csv": pd.DataFrame({"p2p_allowed": profiles.p2p_allowed}, index=index),
    }
    paths = {}
    for name, frame in frames.items():
        paths[name] = directory / name
        safe_frame(frame.reset_index()).to_csv(paths[name], index=False, date_format="%Y-%m-%d %H:%M:%S")
    return paths
