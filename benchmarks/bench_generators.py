#!/usr/bin/env python3
"""Time the ``standard`` generator against the library calls it cannot avoid.

Usage: python benchmarks/bench_generators.py [--households 1000] [--days 365] [--repeats 7]
       [--notebook]   (also time the notebook generator on the same community)
       [--individual] (also time load_model = "individual" against the H25 path, alternately)

Reference, written here with direct library calls: pvlib reads the TMY3 file and runs one
PVWatts ``ModelChain`` (1 kWp), demandlib builds one H25 profile for the horizon, and numpy
scales them to every household (``[N, H]`` load and PV, one outer product each). The generator
(model caches cleared before each call, so it pays for both models every time) adds the calendar
mapping, seeded noise, tariffs and events. Both are timed alternately in one process; the script
prints the median and spread (min-max) of the per-repeat ratio generator / reference, and the
peak memory (tracemalloc) of each against the size of the two output arrays.
Target: ratio <= 2 at 1,000 households x 365 days. With ``--individual``, the generator with the
occupancy-driven individual load model is timed against the same generator with H25 loads (both
cold, alternately): wall and CPU time, median and spread; target <= 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from p2pstore.profiles import standard
from p2pstore.scenario import Scenario


def reference(s: Scenario, annual_kwh: np.ndarray, kwp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One pvlib system and one demandlib profile, scaled to every household: ([N, H], [N, H]) kW."""
    from demandlib.bdew import H25
    from pvlib.iotools import read_tmy3
    from pvlib.location import Location
    from pvlib.modelchain import ModelChain
    from pvlib.pvsystem import PVSystem
    from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

    data, meta = read_tmy3(standard.weather_path(s.weather), map_variables=True)
    tz = dt.timezone(dt.timedelta(hours=float(meta["TZ"])))
    data.index = pd.date_range("2019-01-01 00:30", periods=len(data), freq="h", tz=tz)
    system = PVSystem(surface_tilt=s.pv_tilt, surface_azimuth=s.pv_azimuth,
                      module_parameters={"pdc0": 1000.0, "gamma_pdc": -0.0047},
                      inverter_parameters={"pdc0": 1000.0 / 1.2},
                      temperature_model_parameters=TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"])
    chain = ModelChain.with_pvwatts(system, Location(meta["latitude"], meta["longitude"], tz=float(meta["TZ"])))
    chain.run_model(data[["ghi", "dni", "dhi", "temp_air", "wind_speed"]])
    hourly = chain.results.ac.to_numpy()[: 365 * 24] / 1000.0
    pv_kw_per_kwp = np.repeat(np.resize(hourly, s.days * 24), 4)          # the horizon, 15-minute slots
    index = pd.date_range(s.start, periods=s.slots, freq="15min")
    load_per_kwh = H25(index).to_numpy() / 1e6
    n, nc = s.n_households, s.consumers
    load = np.multiply(annual_kwh[:, None], load_per_kwh[None, :])
    pv = np.zeros((n, s.slots))
    np.multiply(kwp[:, None], pv_kw_per_kwp[None, :], out=pv[nc:])
    return load, pv


def generator(s: Scenario):
    standard.typical_year_pv.cache_clear()
    standard.h25_per_annual_kwh.cache_clear()
    return standard.generate_standard(s)


def timed_cpu(fn, *args) -> tuple[float, float]:
    """(wall, CPU) seconds of ``fn(*args)``: CPU time is steadier on a shared machine."""
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    del out
    return wall, cpu


def compare_individual(s: Scenario, repeats: int) -> None:
    individual = s.replace(load_model="individual")
    generator(individual)
    pairs = [(timed_cpu(generator, s), timed_cpu(generator, individual)) for _ in range(repeats)]
    med = statistics.median
    for k, what in ((0, "wall"), (1, "CPU")):
        h25 = [p[0][k] for p in pairs]
        ind = [p[1][k] for p in pairs]
        ratios = [b / a for a, b in zip(h25, ind)]
        print(f"{what:>4}: H25 path median {med(h25):.3f} s [{min(h25):.3f}-{max(h25):.3f}], individual "
              f"median {med(ind):.3f} s [{min(ind):.3f}-{max(ind):.3f}]; ratio individual / H25 median "
              f"{med(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]  (target <= 2)")


def timed(fn, *args) -> float:
    gc.collect()
    t0 = time.perf_counter()
    out = fn(*args)
    elapsed = time.perf_counter() - t0
    del out
    return elapsed


def peak_mb(fn, *args) -> float:
    gc.collect()
    tracemalloc.start()
    out = fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del out
    return peak / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--notebook", action="store_true", help="also time the notebook generator")
    ap.add_argument("--individual", action="store_true", help="time the individual load model against H25")
    args = ap.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)

    nc = round(args.households * 0.3)
    s = Scenario(generator="standard", consumers=nc, prosumers=args.households - nc, days=args.days)
    rng = np.random.default_rng(0)
    annual_kwh = rng.uniform(*s.annual_load_kwh, s.n_households)
    kwp = rng.uniform(*s.pv_kwp, s.prosumers)
    out_mb = 2 * s.n_households * s.slots * 8 / 1e6
    print(f"community: {s.consumers} consumers + {s.prosumers} prosumers, {s.days} days = {s.slots} slots; "
          f"load + PV arrays {out_mb:.0f} MB; weather {s.weather}")

    if args.individual:
        compare_individual(s, args.repeats)
        return
    # warm-up: imports, page faults of the first large allocations
    reference(s, annual_kwh, kwp)
    generator(s)
    ref_t, gen_t = [], []
    for _ in range(args.repeats):
        ref_t.append(timed(reference, s, annual_kwh, kwp))
        gen_t.append(timed(generator, s))
    warm_t = [timed(standard.generate_standard, s) for _ in range(args.repeats)]
    ratios = [g / r for g, r in zip(gen_t, ref_t)]
    med = statistics.median
    print(f"reference (pvlib + demandlib once, outer-product scaling): median {med(ref_t):.3f} s "
          f"[{min(ref_t):.3f}-{max(ref_t):.3f}]")
    print(f"standard generator, models cold:                         median {med(gen_t):.3f} s "
          f"[{min(gen_t):.3f}-{max(gen_t):.3f}]")
    print(f"standard generator, models cached (a worker's next run):  median {med(warm_t):.3f} s "
          f"[{min(warm_t):.3f}-{max(warm_t):.3f}]")
    print(f"ratio generator / reference over {args.repeats} repeats: median {med(ratios):.2f} "
          f"[{min(ratios):.2f}-{max(ratios):.2f}]; ratio of the medians {med(gen_t) / med(ref_t):.2f}  (target <= 2)")
    if args.notebook:
        from p2pstore.profiles.notebook import generate_notebook

        nb = Scenario(consumers=s.consumers, prosumers=s.prosumers, days=s.days)
        print(f"notebook generator, same community: {timed(generate_notebook, nb):.3f} s")
    print(f"peak memory (tracemalloc): reference {peak_mb(reference, s, annual_kwh, kwp):.0f} MB, "
          f"generator {peak_mb(generator, s):.0f} MB; outputs {out_mb:.0f} MB")


if __name__ == "__main__":
    main()
