"""Load the notebook golden files of tests/golden/ (made by tests/golden/make_golden.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from p2pstore.profiles.base import Profiles

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
GOLDEN_FILES = sorted(GOLDEN_DIR.glob("notebook_*.npz"))
MECHANISMS = ("conventional", "mmr", "bill_sharing")


def load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def ids(paths) -> list[str]:
    return [p.stem.removeprefix("notebook_") for p in paths]


def profiles_from(g: dict) -> Profiles:
    """The notebook's own profiles as :class:`Profiles` (tests settlement without the generator)."""
    _, nc, npro, _ = (int(v) for v in g["params"])
    return Profiles(
        labels=np.array([f"C{i + 1}" for i in range(nc)] + [f"P{i + 1}" for i in range(npro)]),
        kinds=np.array(["consumer"] * nc + ["prosumer"] * npro),
        load_kw=g["load_kw"],
        pv_kw=g["pv_kw"],
        lambda_buy=g["lambda_buy"],
        lambda_sell=g["lambda_sell"],
        p2p_allowed=g["p2p_allowed"],
        start=dt.datetime(2025, 1, 1),
        slot_hours=0.25,
        periods_per_day=96,
    )


def assert_close(actual, expected, what: str = "") -> None:
    """The seed-exactness bar: 1e-9 relative, 1e-9 absolute near zero."""
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9, err_msg=what)
