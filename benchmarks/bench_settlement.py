#!/usr/bin/env python3
"""Time the settlement core on a large community and compare it with one ``np.minimum`` pass.

Usage: python benchmarks/bench_settlement.py [--households 1000] [--days 365] [--repeats 5]
       [--generator]   (use the notebook generator instead of random arrays; slower to build)
       [--time-varying] (per-slot [N, H] tariffs: each household's flat tariff times a daily
                         time-of-use pattern, instead of the flat [N] tariffs)

Every case alternates with the floor, one ``np.minimum(L, PV)`` over the same ``[households,
slots]`` arrays, so a busy machine slows both alike. Printed per case: the median wall time, the
median of the per-repeat ratios case / floor (the figure the targets apply to), their spread
(min-max), and the ratio of the best times (the least disturbed repeat of each). Cases:

- ``shared flows``: the mechanism-independent arrays (imports, exports, community totals);
- ``<mechanism>``: one mechanism alone on flows already built (what it adds to a run);
  targets: the literature mechanisms (sdr, mmr_lit, bs_lit, bs_lit_slot) <= 2x each;
- ``<mechanism> (incl. flows)`` and ``settle(...)``: with the shared arrays built from scratch;
  target: ``settle(notebook three)`` <= 10x.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import time

import numpy as np

from p2pstore import registry
from p2pstore.profiles.base import Profiles
from p2pstore.settlement import Flows, settle, settle_one

LITERATURE = ("sdr", "mmr_lit", "bs_lit", "bs_lit_slot")


def random_profiles(households: int, days: int, seed: int = 0) -> Profiles:
    """Loads and PV with the notebook's shapes and spreads, drawn fast (not the notebook stream)."""
    rng = np.random.default_rng(seed)
    periods = 96
    h = days * periods
    hours = np.arange(periods) * 0.25
    shape = 0.2 + 0.7 * np.exp(-0.5 * ((hours - 8) / 1.5) ** 2) + 1.3 * np.exp(-0.5 * ((hours - 20) / 2.0) ** 2)
    sun = np.clip(np.sin(np.pi * (hours - 6) / 12.0), 0.0, None)
    nc = households // 3
    load = np.tile(shape, days)[None, :] * rng.uniform(0.15, 0.3, (households, 1))
    load *= rng.normal(1.0, 0.05, (households, h))
    pv = np.tile(sun, days)[None, :] * rng.uniform(0.5, 1.5, (households, 1))
    pv *= rng.normal(1.0, 0.15, (households, h))
    np.clip(pv, 0.0, None, out=pv)
    pv[:nc] = 0.0
    allowed = np.ones(h, dtype=bool)
    allowed[rng.integers(0, h - 8, 3 * days // 30 + 1)[:, None] + np.arange(8)] = False
    buy = np.where(np.arange(households) < nc, rng.uniform(6.0, 7.0, households), rng.uniform(5.0, 6.0, households))
    sell = np.where(np.arange(households) < nc, 0.0, rng.uniform(3.0, 3.8, households))
    labels = np.array([f"H{i}" for i in range(households)])
    kinds = np.where(np.arange(households) < nc, "consumer", "prosumer")
    return Profiles(labels, kinds, load, pv, buy, sell, allowed, dt.datetime(2025, 1, 1), 0.25, periods)


def paired(case, floor, repeats: int) -> tuple[float, list[float], float]:
    """(median seconds of ``case``, per-repeat ratios case / floor, best case / best floor), each
    pair run back to back."""
    times, ratios, floors = [], [], []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        out = floor()
        t_floor = time.perf_counter() - t0
        del out
        gc.collect()
        t0 = time.perf_counter()
        out = case()
        t_case = time.perf_counter() - t0
        del out
        times.append(t_case)
        floors.append(t_floor)
        ratios.append(t_case / t_floor)
    return float(np.median(times)), ratios, min(times) / min(floors)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--generator", action="store_true", help="build profiles with the notebook generator")
    ap.add_argument("--time-varying", action="store_true", help="per-slot [N, H] tariffs (time of use)")
    args = ap.parse_args()

    if args.generator:
        from p2pstore.profiles.notebook import generate_notebook
        from p2pstore.scenario import Scenario

        nc = args.households // 3
        t0 = time.perf_counter()
        profiles = generate_notebook(Scenario(consumers=nc, prosumers=args.households - nc, days=args.days))
        print(f"generator: {time.perf_counter() - t0:.2f} s")
    else:
        profiles = random_profiles(args.households, args.days)
    if args.time_varying:
        import dataclasses

        hours = np.arange(profiles.n_slots) % profiles.periods_per_day * profiles.slot_hours
        pattern = np.where((hours >= 17) & (hours < 21), 1.4, np.where(hours < 6, 0.7, 1.0))
        profiles = dataclasses.replace(profiles, lambda_buy=np.multiply.outer(profiles.lambda_buy, pattern),
                                       lambda_sell=np.multiply.outer(profiles.lambda_sell, pattern))
        print("tariffs: time-varying [N, H]")
    L, PV = profiles.load_kw, profiles.pv_kw
    print(f"arrays: {L.shape[0]} households x {L.shape[1]} slots ({L.nbytes / 1e6:.0f} MB each)")

    def floor():
        return np.minimum(L, PV)

    warm = _touch_flows(Flows(L, PV, profiles.slot_hours))

    def alone(name):
        # flows (and their scratch buffer) built once: the time is what the mechanism adds to a run
        return lambda: settle_one(name, profiles, warm)

    def including_flows(name):
        return lambda: settle_one(name, profiles, Flows(L, PV, profiles.slot_hours))

    builtins = [m.name for m in registry.BUILTINS]
    cases = [("shared flows", lambda: _touch_flows(Flows(L, PV, profiles.slot_hours)))]
    cases += [(name, alone(name)) for name in builtins]
    cases += [(f"{name} (incl. flows)", including_flows(name)) for name in builtins]
    cases += [("settle(notebook three)", lambda: settle(profiles, registry.DEFAULT)),
              ("settle(all seven)", lambda: settle(profiles, tuple(builtins)))]
    targets = {**{m: 2.0 for m in LITERATURE}, "settle(notebook three)": 10.0}
    print(f"{'case':28s} {'median':>9s} {'x floor':>8s}  spread (min-max)  best/best  target")
    floor_times = [paired(floor, floor, 1)[0] for _ in range(args.repeats)]
    print(f"{'np.minimum(L, PV) (floor)':28s} {np.median(floor_times) * 1e3:7.1f}ms {1:7.2f}x")
    for label, fn in cases:
        median, ratios, best = paired(fn, floor, args.repeats)
        target = targets.get(label)
        verdict = "" if target is None else f"<= {target:g}x " + ("ok" if np.median(ratios) <= target else "MISSED")
        print(f"{label:28s} {median * 1e3:7.1f}ms {np.median(ratios):7.2f}x  "
              f"{min(ratios):5.2f}-{max(ratios):5.2f}x     {best:6.2f}x  {verdict}")


def _touch_flows(f: Flows) -> Flows:
    for attr in ("import_kw", "export_kw", "load_total_kw", "pv_total_kw", "import_total_kw", "export_total_kw"):
        getattr(f, attr)
    return f


if __name__ == "__main__":
    main()
