"""End to end: the reference notebook against ``p2pstore run --series none``, all-in.

Both are child processes timed from start to exit (interpreter start, imports, profile
generation, settlement; p2pstore also stores the run: prices, bills, daily bills, metrics) on
the same scenario (default 30 consumers + 70 prosumers x 365 days, seed 42). The repeats
alternate notebook and p2pstore so that a busy machine slows both alike. Printed: each
repeat, the median and spread (min..max) of each, and the ratio of the medians (target: the
notebook takes >= 15x as long), and the same for CPU time (user + system), which other jobs on a
shared machine disturb less. The community totals of both are compared (relative 1e-9).

The notebook is run through ``run_seed.py`` (it runs the notebook's code unchanged, with the
scenario's settings; it needs numpy, pandas and matplotlib): ``--notebook PATH``, else the
environment variable ``P2PSTORE_NOTEBOOK_RUNNER``, else ``/work/shared/seed/run_seed.py``.

p2pstore writes into a SQLite file (or, with ``--backend postgresql``, a database created and
dropped by this script) migrated *before* the clock starts: the first use of a database creates
its schema once, which is not what a run costs. p2pstore's bytecode is compiled first, as
``pip install`` does (an editable install under ``PYTHONDONTWRITEBYTECODE`` would otherwise
compile every module at every start; the notebook's libraries have theirs).

    python benchmarks/bench_end_to_end.py                       # 100 households x 365 days, 3 repeats
    python benchmarks/bench_end_to_end.py --repeats 5 --days 30
    python benchmarks/bench_end_to_end.py --notebook ~/seed/run_seed.py --backend postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_export import database  # noqa: E402  (a fresh SQLite file or PostgreSQL database)

DEFAULT_NOTEBOOK = "/work/shared/seed/run_seed.py"
NOTEBOOK_ENV = "P2PSTORE_NOTEBOOK_RUNNER"
CLI = "import sys; from p2pstore.cli import main; main(sys.argv[1:])"
#: The notebook's mechanisms, by p2pstore's names, in the runner's output keys.
MECHANISMS = ("conventional", "mmr", "bill_sharing")


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds (user + system, from ``os.wait4``), stdout) of a child process;
    exits with its stderr if it fails."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd[:4])} ... failed (exit {proc.returncode}):\n{err.read()}")
        return elapsed, usage.ru_utime + usage.ru_stime, out.read()


def summary(name: str, values: list[float]) -> str:
    return (f"{name:<28} median {statistics.median(values):7.2f} s   "
            f"min {min(values):7.2f}   max {max(values):7.2f}   (n={len(values)})")


def compile_bytecode() -> None:
    """Write the ``__pycache__`` of p2pstore and its migrations (what ``pip install`` does)."""
    import compileall
    from importlib.resources import files

    for package in ("p2pstore", "p2pstore.migrations"):
        compileall.compile_dir(str(files(package)), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default=os.environ.get(NOTEBOOK_ENV, DEFAULT_NOTEBOOK),
                        help=f"run_seed.py of the reference notebook (env {NOTEBOOK_ENV}; "
                             f"default {DEFAULT_NOTEBOOK})")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--consumers", type=int, default=30)
    parser.add_argument("--prosumers", type=int, default=70)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    opts = parser.parse_args()
    if not Path(opts.notebook).is_file():
        raise SystemExit(f"the notebook runner {opts.notebook!r} does not exist: give its path with --notebook "
                         f"PATH or {NOTEBOOK_ENV}=PATH (run_seed.py, beside the reference notebook)")
    if opts.repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    scenario = ["--seed", str(opts.seed), "--consumers", str(opts.consumers), "--prosumers", str(opts.prosumers),
                "--days", str(opts.days)]
    compile_bytecode()
    notebook_s, p2p_s = [], []
    with tempfile.TemporaryDirectory(prefix="p2pstore-bench-e2e-") as tmp, database(opts.backend, tmp) as url:
        timed([sys.executable, "-c", CLI, "--db", url, "db", "upgrade"])
        notebook_cpu, p2p_cpu = [], []
        out_json = str(Path(tmp) / "notebook.json")
        for k in range(opts.repeats):
            secs, cpu, _ = timed([sys.executable, opts.notebook, str(opts.seed), str(opts.consumers),
                                  str(opts.prosumers), str(opts.days), out_json])
            notebook_s.append(secs)
            notebook_cpu.append(cpu)
            secs, cpu, stdout = timed([sys.executable, "-c", CLI, "--db", url, "run", *scenario, "--series", "none",
                                       "--json"])
            p2p_s.append(secs)
            p2p_cpu.append(cpu)
            print(f"repeat {k + 1}: notebook {notebook_s[-1]:6.2f} s   p2pstore run --series none {secs:6.2f} s   "
                  f"ratio {notebook_s[-1] / secs:5.1f}x", flush=True)
        totals = json.loads(stdout)["totals"]
        bills = json.load(open(out_json))["bills"]
    worst = max(abs(totals[m] - sum(bills[m])) / abs(sum(bills[m])) for m in MECHANISMS)
    print(f"\n{opts.consumers} consumers + {opts.prosumers} prosumers x {opts.days} days, seed {opts.seed}, "
          f"{opts.backend}, {opts.repeats} repeat(s), python {sys.version.split()[0]}")
    print(summary("notebook (run_seed.py)", notebook_s))
    print(summary("p2pstore run --series none", p2p_s))
    ratios = [n / p for n, p in zip(notebook_s, p2p_s)]
    print(f"ratio notebook / p2pstore: {statistics.median(notebook_s) / statistics.median(p2p_s):.1f}x "
          f"(of the medians; per repeat min {min(ratios):.1f}x, max {max(ratios):.1f}x; target >= 15x)")
    print(f"CPU time (user + system): notebook median {statistics.median(notebook_cpu):.2f} s, p2pstore "
          f"median {statistics.median(p2p_cpu):.2f} s, ratio {statistics.median(notebook_cpu) / statistics.median(p2p_cpu):.1f}x "
          "(less sensitive to other jobs on the machine than wall time)")
    print(f"community totals agree with the notebook's: max relative difference {worst:.1e} "
          f"({'ok' if worst <= 1e-9 else 'MISMATCH'})")


if __name__ == "__main__":
    main()
