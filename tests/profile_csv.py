"""Write a small community as the CSV files of a profile set (the hidden-case format): a wide
``timestamp`` + one column per household file for load and for PV (kW), ``household,buy,sell``
tariffs, and optionally a ``timestamp,p2p_allowed`` calendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np


def write_community(directory: Path, load, pv, buy, sell, *, allowed=None, names=None,
                    slot_minutes: int = 15, start=dt.datetime(2025, 1, 1)) -> dict[str, Path]:
    """Files for ``p2pstore profiles import NAME --load ... --pv ... --tariffs ... [--p2p-allowed ...]``.

    ``load``, ``pv``: ``[N, H]`` kW; ``buy``, ``sell``: ``[N]`` flat tariffs; ``allowed``: ``[H]``.
    Returns ``{"load": path, "pv": path, "tariffs": path[, "p2p_allowed": path]}``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    load, pv = np.asarray(load, float), np.asarray(pv, float)
    n, h = load.shape
    names = names or [f"H{i + 1}" for i in range(n)]
    stamps = [(start + dt.timedelta(minutes=slot_minutes * k)).strftime("%Y-%m-%d %H:%M") for k in range(h)]
    files = {}
    for what, values in (("load", load), ("pv", pv)):
        rows = ["timestamp," + ",".join(names)]
        rows += [stamps[k] + "," + ",".join(repr(float(v)) for v in values[:, k]) for k in range(h)]
        files[what] = directory / f"{what}.csv"
        files[what].write_text("\n".join(rows) + "\n")
    files["tariffs"] = directory / "tariffs.csv"
    files["tariffs"].write_text("household,buy,sell\n" + "".join(
        f"{name},{float(b)!r},{float(s)!r}\n" for name, b, s in zip(names, buy, sell)))
    if allowed is not None:
        files["p2p_allowed"] = directory / "p2p_allowed.csv"
        files["p2p_allowed"].write_text("timestamp,p2p_allowed\n" + "".join(
            f"{stamp},{'true' if a else 'false'}\n" for stamp, a in zip(stamps, allowed)))
    return files


def import_args(name: str, files: dict[str, Path]) -> list[str]:
    """``profiles import NAME --load ... --pv ... --tariffs ... [--p2p-allowed ...]`` arguments."""
    args = ["profiles", "import", name]
    for key, path in files.items():
        args += [f"--{key.replace('_', '-')}", str(path)]
    return args
