"""The notebook's own profiles as files, in every format the importer reads.

``tests/profiles/data/notebook_s*/`` hold what ``run_seed.py SEED C P DAYS out.json
--dump-profiles DIR`` wrote (load.csv, pv.csv, p2p_allowed.csv), plus tariffs.csv and the
notebook's bills (notebook.json), both made from out.json. :func:`dump_from_golden` writes the
same files from a tests/golden/*.npz exactly as run_seed.py does (pandas ``to_csv``), and
:func:`as_parquet` / :func:`as_long` convert a dump to the other formats.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent / "data"
DUMPS = sorted(DATA.glob("notebook_s*"))
MECHANISMS = ("conventional", "mmr", "bill_sharing")


def expected_bills(directory: Path) -> dict[str, dict[str, float]]:
    """``{mechanism: {household: bill}}`` the notebook computed for a dump."""
    out = json.loads((directory / "notebook.json").read_text())
    return {m: dict(zip(out["household_ids"], out["bills"][m])) for m in MECHANISMS}


def dump_from_golden(npz: Path, directory: Path) -> Path:
    """Write load/pv/p2p_allowed/tariffs CSVs and notebook.json of a golden file into ``directory``."""
    with np.load(npz) as z:
        g = {k: z[k] for k in z.files}
    seed, nc, npro, days = (int(v) for v in g["params"])
    ids = [f"C{i + 1}" for i in range(nc)] + [f"P{i + 1}" for i in range(npro)]
    index = pd.date_range("2025-01-01", periods=g["load_kw"].shape[1], freq="15min")
    directory.mkdir(parents=True, exist_ok=True)
    for name, arr in (("load", g["load_kw"]), ("pv", g["pv_kw"])):
        pd.DataFrame(arr.T, index=index, columns=ids).to_csv(directory / f"{name}.csv", index_label="timestamp")
    pd.DataFrame({"p2p_allowed": g["p2p_allowed"]}, index=index).to_csv(directory / "p2p_allowed.csv",
                                                                        index_label="timestamp")
    pd.DataFrame({"household": ids, "buy": g["lambda_buy"], "sell": g["lambda_sell"]}).to_csv(
        directory / "tariffs.csv", index=False)
    bills = {m: g[f"bills_{m}"].tolist() for m in MECHANISMS}
    (directory / "notebook.json").write_text(json.dumps({"household_ids": ids, "bills": bills}))
    return directory


def as_parquet(directory: Path, out: Path) -> dict[str, Path]:
    """Wide Parquet copies of a dump (timestamps as datetimes, flags as booleans)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("load", "pv", "p2p_allowed", "tariffs"):
        df = pd.read_csv(directory / f"{name}.csv")
        if "timestamp" in df:
            df["timestamp"] = pd.to_datetime(df["timestamp"])
        paths[name] = out / f"{name}.parquet"
        df.to_parquet(paths[name], index=False)
    return paths


def as_long(directory: Path, out: Path) -> Path:
    """One long CSV (timestamp, household, load_kw, pv_kw) of a dump's wide files."""
    load = pd.read_csv(directory / "load.csv").melt(id_vars="timestamp", var_name="household", value_name="load_kw")
    pv = pd.read_csv(directory / "pv.csv").melt(id_vars="timestamp", var_name="household", value_name="pv_kw")
    long = load.merge(pv, on=["timestamp", "household"])
    out.parent.mkdir(parents=True, exist_ok=True)
    long.to_csv(out, index=False)
    return out


def import_args(directory: Path, fmt: str, tmp: Path) -> list[str]:
    """``profiles import`` options of a dump in format ``wide-csv``, ``wide-parquet`` or ``long-csv``."""
    if fmt == "wide-csv":
        return ["--load", str(directory / "load.csv"), "--pv", str(directory / "pv.csv"),
                "--tariffs", str(directory / "tariffs.csv"), "--p2p-allowed", str(directory / "p2p_allowed.csv")]
    if fmt == "wide-parquet":
        p = as_parquet(directory, tmp / "parquet")
        return ["--load", str(p["load"]), "--pv", str(p["pv"]), "--tariffs", str(p["tariffs"]),
                "--p2p-allowed", str(p["p2p_allowed"])]
    assert fmt == "long-csv"
    return ["--long", str(as_long(directory, tmp / "long.csv")), "--tariffs", str(directory / "tariffs.csv"),
            "--p2p-allowed", str(directory / "p2p_allowed.csv")]
