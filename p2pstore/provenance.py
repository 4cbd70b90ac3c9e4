"""Provenance of a run: the software that settled it, stored with its results.

Each run records the versions of p2pstore, Python, numpy, pandas, scipy, pvlib and demandlib,
of every plugin that settled one of its mechanisms (``plugin:<name>``: its distribution and
version) and, when p2pstore runs from a git checkout, the commit (``+dirty`` when tracked files
differ from it). ``p2pstore runs show`` and reports print them; ``p2pstore runs verify`` settles
the run again and names the versions that changed when its results differ.

Versions are read from the installed packages' metadata: nothing is imported to learn them.
"""

from __future__ import annotations

import functools
import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

from p2pstore import registry

#: Distributions whose version every run records, in order (``python`` is the interpreter's).
PACKAGES = ("p2pstore", "numpy", "pandas", "scipy", "pvlib", "demandlib")
#: Component name of the git commit of a checkout.
GIT_COMMIT = "git_commit"
PLUGIN_PREFIX = "plugin:"
NOT_INSTALLED = "(not installed)"


def package_version(name: str) -> str:
    """The installed version of distribution ``name`` (:data:`NOT_INSTALLED` when absent)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


@functools.cache
def git_commit() -> str | None:
    """The commit of the git checkout p2pstore runs from (``+dirty`` when tracked files were
    changed), None when it is installed from a package or git is unavailable."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "") if head else None


def collect(mechanisms: Iterable[str]) -> dict[str, str]:
    """``{component: version}`` of this process for a run settling ``mechanisms``: the
    :data:`PACKAGES`, ``python``, each plugin among ``mechanisms`` and the git commit."""
    found = {"p2pstore": package_version("p2pstore"), "python": platform.python_version()}
    found.update({name: package_version(name) for name in PACKAGES if name != "p2pstore"})
    for name in mechanisms:
        mechanism = registry.find(name)
        if mechanism is not None and not mechanism.builtin:
            found[f"{PLUGIN_PREFIX}{name}"] = mechanism.origin or "unknown"
    commit = git_commit()
    if commit:
        found[GIT_COMMIT] = commit
    return found


def changed(stored: Mapping[str, str], current: Mapping[str, str]) -> dict[str, tuple[str | None, str | None]]:
    """``{component: (stored, current)}`` of the components whose versions differ (or that one
    side lacks)."""
    return {name: (stored.get(name), current.get(name)) for name in dict.fromkeys([*stored, *current])
            if stored.get(name) != current.get(name)}
