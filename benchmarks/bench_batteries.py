"""Speed goals of the battery stage, each a ratio measured in one run (repeats alternate the two
sides; medians and spreads printed):

* (a) ``p2pstore run --series none`` of a 100-household year (30 consumers + 70 prosumers, the
  notebook generator, the three default mechanisms, SQLite) with a home battery on every
  prosumer and a shared battery, against the same run without batteries; all-in (a subprocess:
  imports, generation, dispatch, settlement, store). Goal: <= 1.5x. Measured for each rule.
* (b) for 1,000 households (300 consumers + 700 prosumers) over a year: the dispatch alone
  (community rule, a battery on every prosumer and a shared battery: every battery's charge,
  discharge and state of charge) against the settlement of the three default mechanisms of the
  same community, in one process. Goal: <= 1x. The whole stage (the dispatch and the
  post-battery community the mechanisms settle) is printed beside it.

Wall and CPU times are printed: on a machine shared with other work, CPU time is the steadier.

    python benchmarks/bench_batteries.py                  # both goals, 3 repeats
    python benchmarks/bench_batteries.py --repeat 5 --only b
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BATTERIES = ["--battery-share", "1", "--shared-battery-kwh", "100"]
#: CPU seconds (user + system) of each ``cli_run``, in order.
CPU: list[float] = []


def _stats(values: list[float]) -> str:
    return f"median {statistics.median(values):6.2f}s (spread {min(values):.2f}-{max(values):.2f}s)"


def cli_run(tmp: Path, extra: list[str]) -> float:
    """Wall time of ``p2pstore run --series none`` of a 100-household year on a fresh SQLite file
    (migrated beforehand, outside the timing)."""
    url = f"sqlite:///{tmp / uuid.uuid4().hex}.db"
    subprocess.run([sys.executable, "-m", "p2pstore", "--db", url, "db", "upgrade"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cmd = [sys.executable, "-m", "p2pstore", "--db", url, "run", "--consumers", "30", "--prosumers", "70",
           "--days", "365", "--series", "none", "--json", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return wall


def goal_a(repeat: int) -> bool:
    print("(a) p2pstore run --series none, 100 households x 365 days, 3 default mechanisms, SQLite")
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench_batteries_") as tmp:
        for rule in ("self_consumption", "community"):
            plain, batt, plain_cpu, batt_cpu = [], [], [], []
            for k in range(repeat):
                order = (False, True) if k % 2 == 0 else (True, False)
                for with_batteries in order:
                    extra = [*BATTERIES, "--battery-dispatch", rule] if with_batteries else []
                    (batt if with_batteries else plain).append(cli_run(Path(tmp), extra))
                    (batt_cpu if with_batteries else plain_cpu).append(CPU[-1])
            ratio = statistics.median(batt) / statistics.median(plain)
            on_cpu = statistics.median(batt_cpu) / statistics.median(plain_cpu)
            ok &= ratio <= 1.5
            print(f"    without batteries             wall {_stats(plain)}; CPU {_stats(plain_cpu)}")
            print(f"    with batteries ({rule:16s}) wall {_stats(batt)}; CPU {_stats(batt_cpu)}")
            print(f"    ratio: wall {ratio:.2f}x, CPU {on_cpu:.2f}x (goal <= 1.5x)  {'met' if ratio <= 1.5 else 'NOT met'}")
    return ok


def goal_b(repeat: int) -> bool:
    import numpy as np

    from p2pstore.batteries.stage import apply_batteries, dispatch
    from p2pstore.profiles import generate
    from p2pstore.scenario import Scenario
    from p2pstore.settlement import settle

    print("(b) 1,000 households x 365 days: battery stage (community rule, shared battery) vs settlement "
          "of the 3 default mechanisms")
    base = Scenario(consumers=300, prosumers=700, days=365)
    with np.errstate(all="ignore"):
        profiles = generate(base)
    scenario = base.replace(battery_share=1.0, shared_battery_kwh=1000.0, battery_dispatch="community")
    times: dict[str, list[float]] = {"dispatch": [], "stage": [], "settle": []}
    cpu: dict[str, list[float]] = {k: [] for k in times}
    work = {"dispatch": lambda: dispatch(scenario, profiles), "stage": lambda: apply_batteries(scenario, profiles),
            "settle": lambda: settle(profiles, base.mechanisms)}
    for k in range(repeat):
        for which in (list(work) if k % 2 == 0 else list(reversed(work))):
            t0, c0 = time.perf_counter(), time.process_time()
            out = work[which]()
            times[which].append(time.perf_counter() - t0)
            cpu[which].append(time.process_time() - c0)
            del out
    labels = {"dispatch": "dispatch alone (charge, discharge, SoC)",
              "stage": "whole stage (+ post-battery community)", "settle": "settlement of 3 mechanisms"}
    for which, label in labels.items():
        print(f"    {label:42s} wall {_stats(times[which])}; CPU {_stats(cpu[which])}")
    ok = True
    for which in ("dispatch", "stage"):
        wall = statistics.median(times[which]) / statistics.median(times["settle"])
        on_cpu = statistics.median(cpu[which]) / statistics.median(cpu["settle"])
        print(f"    {which} / settlement: wall {wall:.2f}x, CPU {on_cpu:.2f}x (goal <= 1x for the dispatch alone)")
        ok &= which != "dispatch" or wall <= 1.0
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("a", "b"))
    args = parser.parse_args()
    ok = True
    if args.only in (None, "a"):
        ok &= goal_a(args.repeat)
    if args.only in (None, "b"):
        ok &= goal_b(args.repeat)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
