"""Write :class:`Profiles` as the wide CSV files a profile-set import reads.

One directory, four files (timestamps are the profiles' own naive local times, ISO
``YYYY-MM-DD HH:MM:SS``, the start of each slot):

- ``load.csv``: ``timestamp`` then one column per household (its label), mean power in kW;
- ``pv.csv``: ``timestamp`` then one column per prosumer (households without PV are left out:
  a household with a PV column is a prosumer), kW;
- ``tariffs.csv``: ``household, buy, sell`` (currency/kWh; ``sell`` 0 for consumers);
- ``p2p_allowed.csv``: ``timestamp, p2p_allowed`` (``True``/``False``).

Floats are written with Python's shortest round-trip representation, so reading the files back
(pandas' default CSV parser) gives the same float64 arrays bit for bit.
"""

from __future__ import annotations

from pathlib import Path

from p2pstore.profiles.base import Profiles

FILES = ("load.csv", "pv.csv", "tariffs.csv", "p2p_allowed.csv")


def write_profile_csvs(profiles: Profiles, directory: str | Path) -> dict[str, Path]:
    """Write the four CSV files of ``profiles`` into ``directory`` (created if missing).

    Returns ``{file name: path}``.
    """
    import pandas as pd

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    index = pd.DatetimeIndex(profiles.timestamps(), name="timestamp")
    labels = [str(x) for x in profiles.labels]
    prosumers = profiles.kinds == "prosumer"
    frames = {
        "load.csv": pd.DataFrame(profiles.load_kw.T, index=index, columns=labels),
        "pv.csv": pd.DataFrame(profiles.pv_kw[prosumers].T, index=index,
                               columns=[lab for lab, p in zip(labels, prosumers) if p]),
        "tariffs.csv": pd.DataFrame({"buy": profiles.lambda_buy, "sell": profiles.lambda_sell},
                                    index=pd.Index(labels, name="household")),
        "p2p_allowed.csv": pd.DataFrame({"p2p_allowed": profiles.p2p_allowed}, index=index),
    }
    paths = {}
    for name, frame in frames.items():
        paths[name] = directory / name
        frame.to_csv(paths[name], date_format="%Y-%m-%d %H:%M:%S")
    return paths
