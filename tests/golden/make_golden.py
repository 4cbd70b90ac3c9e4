#!/usr/bin/env python3
"""Make the golden data the seed-exactness tests compare against (a dev tool, not a test).

Runs the reference notebook itself (through ``run_seed.load_source`` of the seed's runner) for
each parameter set and saves one compressed ``.npz`` per set beside this file:

    python tests/golden/make_golden.py [--run-seed /work/shared/seed/run_seed.py]
                                       [--set SEED,CONSUMERS,PROSUMERS,DAYS ...]

Arrays saved (units as in the notebook: kW, currency/kWh, currency):
``params`` [4]; ``load_kw``, ``pv_kw`` [N, H]; ``lambda_buy``, ``lambda_sell`` [N];
``lambda_buy_ref``, ``lambda_sell_ref`` []; ``p2p_allowed`` [H];
``bills_<m>`` [N] and ``cost_<m>`` [N, H] for m in conventional, mmr, bill_sharing;
``c_im``, ``c_ex``, ``cp2p`` (MMR) and ``cp2p_bs`` (bill sharing) [H];
``daily_day``, ``daily_avg_load_kwh_per_house``, ``daily_avg_pv_kwh_per_prosumer``,
``daily_bill_<m>`` [D].
The tests need only these files, never the notebook.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_RUN_SEED = os.environ.get("P2PSTORE_RUN_SEED", "/work/shared/seed/run_seed.py")
#: (seed, consumers, prosumers, days): the notebook's default, then seed/size/horizon variations.
DEFAULT_SETS = [(42, 3, 7, 30), (7, 5, 12, 14), (2024, 1, 1, 3), (99, 20, 30, 7)]
MECH_NAMES = {"conventional": "conv", "mmr": "mmr", "bill_sharing": "bs"}


def golden_path(seed: int, consumers: int, prosumers: int, days: int) -> Path:
    return HERE / f"notebook_s{seed}_c{consumers}_p{prosumers}_d{days}.npz"


def run_notebook(run_seed_path: str, seed: int, consumers: int, prosumers: int, days: int) -> dict:
    spec = importlib.util.spec_from_file_location("run_seed", run_seed_path)
    run_seed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_seed)
    g: dict = {}
    exec(compile(run_seed.load_source(seed, consumers, prosumers, days), "seed", "exec"), g)
    return g


def golden_arrays(g: dict, params: tuple[int, int, int, int]) -> dict[str, np.ndarray]:
    df = g["daily_df"]
    out = {
        "params": np.array(params),
        "load_kw": g["L"],
        "pv_kw": g["PV"],
        "lambda_buy": g["lambda_buy_individual"],
        "lambda_sell": g["lambda_sell_individual"],
        "lambda_buy_ref": np.float64(g["LAMBDA_BUY_REF"]),
        "lambda_sell_ref": np.float64(g["LAMBDA_SELL_REF"]),
        "p2p_allowed": g["p2p_allowed"],
        "c_im": g["c_im_mmr"],
        "c_ex": g["c_ex_mmr"],
        "cp2p": g["cp2p_ts"],
        "cp2p_bs": g["cp2p_bs_ts"],
        "daily_day": df["day"].to_numpy(),
        "daily_avg_load_kwh_per_house": df["avg_load_kWh_per_house"].to_numpy(),
        "daily_avg_pv_kwh_per_prosumer": df["avg_pv_kWh_per_prosumer"].to_numpy(),
    }
    for mech, short in MECH_NAMES.items():
        out[f"bills_{mech}"] = g[f"bills_{short}"]
        out[f"cost_{mech}"] = g[f"cost_ts_{short}"]
        out[f"daily_bill_{mech}"] = df[f"bill_{short}_Rs"].to_numpy()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-seed", default=DEFAULT_RUN_SEED, help="path of the seed's run_seed.py")
    ap.add_argument("--set", action="append", default=None, metavar="SEED,C,P,DAYS")
    args = ap.parse_args()
    sets = [tuple(int(v) for v in s.split(",")) for s in args.set] if args.set else DEFAULT_SETS
    for params in sets:
        g = run_notebook(args.run_seed, *params)
        path = golden_path(*params)
        np.savez_compressed(path, **golden_arrays(g, params))
        totals = {m: round(float(g[f"bills_{s}"].sum()), 2) for m, s in MECH_NAMES.items()}
        print(f"{path.name}: {path.stat().st_size / 1e3:.0f} kB, totals {totals}")


if __name__ == "__main__":
    main()
