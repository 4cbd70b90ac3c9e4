"""A test-only plugin distribution with broken mechanisms, made on the fly: a module and a
``.dist-info`` directory (METADATA, entry_points.txt) in a directory that goes on ``sys.path`` or
``PYTHONPATH``. That is exactly what an installed package looks like to importlib.metadata, so
p2pstore finds these mechanisms through the real ``p2pstore.mechanisms`` entry-point group.
"""

from __future__ import annotations

from pathlib import Path

MODULE = '''
import numpy as np


def raises(community):
    raise ValueError("no market today\\nsecond line")


def wrong_shape(community):
    return np.zeros(community.n_households)


def nan_cost(community):
    cost = np.zeros((community.n_households, community.n_slots))
    cost[1, 2] = np.nan
    return cost


def fine(community):
    return community.import_kw * community.slot_hours * community.buy
'''

#: entry-point name -> what it does
ENTRY_POINTS = {
    "broken_raises": "broken_mechanisms:raises",
    "broken_shape": "broken_mechanisms:wrong_shape",
    "broken_nan": "broken_mechanisms:nan_cost",
    "broken_missing": "no_such_module_anywhere:settle",
    "import_only": "broken_mechanisms:fine",
    "Bad-Name": "broken_mechanisms:fine",
    "conventional": "broken_mechanisms:fine",
}
DIST = "broken-mechanisms 0.1"


def make_broken_plugin(directory: Path) -> Path:
    """Write the distribution into ``directory``; returns it (put it on the import path)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "broken_mechanisms.py").write_text(MODULE)
    info = directory / "broken_mechanisms-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-mechanisms\nVersion: 0.1\n")
    lines = ["[p2pstore.mechanisms]", *(f"{name} = {target}" for name, target in ENTRY_POINTS.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return directory
