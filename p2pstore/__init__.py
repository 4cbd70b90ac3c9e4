"""p2pstore: peer-to-peer energy sharing scenarios, settled exactly and kept in a database.

Lazy top-level API (nothing heavy is imported until used):

- :class:`Store`: the results store (readers, profile sets);
- :class:`Scenario`: a scenario spec;
- :func:`run_scenario`: settle a scenario now and store it as a run (what ``p2pstore run`` does).
"""

import importlib

__version__ = "0.1.0"

__all__ = ["Store", "Scenario", "run_scenario", "__version__"]

_LAZY = {
    "Store": ("p2pstore.store", "Store"),
    "Scenario": ("p2pstore.scenario", "Scenario"),
    "run_scenario": ("p2pstore.jobs.execute", "run_scenario"),
}


def __getattr__(name):  # lazy: `import p2pstore` must stay cheap for the CLI
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(name)
