"""The mechanism registry: every settlement mechanism by name, built in or installed as a plugin.

One table serves the whole product: scenario validation, ``--mechanism`` help, the order of
mechanisms in result frames, comparison tables and reports, and :func:`p2pstore.settlement.settle`.

* **Built-ins** are listed in :data:`BUILTINS` as ``name -> "module:function"``.
* **Plugins** are entry points of the group ``p2pstore.mechanisms`` (``name = "module:function"``
  in the plugin package's ``pyproject.toml``), or functions registered in this process with
  :func:`register` (a notebook, a test). docs/mechanisms.md, "Writing a mechanism", has the
  calling convention.

Listing names never imports a plugin's module (entry points are read from the installed
packages' metadata), and this module imports only the standard library, so ``p2pstore --help``
and scenario validation stay free of numpy. A plugin is imported when a run settles with it.

Example::

    from p2pstore import registry
    registry.names()          # ('conventional', 'mmr', ..., 'flat_p2p')
    registry.get("sdr").label # 'SDR (Liu 2017)'
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import re
import warnings
from collections.abc import Callable, Iterable

from p2pstore.errors import MechanismError, UnknownMechanismError

#: Entry-point group third-party packages register their mechanisms in.
ENTRY_POINT_GROUP = "p2pstore.mechanisms"

#: Mechanism names are stored in VARCHAR(32) columns, joined with ``,`` in ``runs.mechanisms``
#: and with ``+`` in sweep values: letters, digits and ``_``, starting with a letter.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")


@dataclasses.dataclass(frozen=True)
class Mechanism:
    """One registered mechanism.

    ``target`` is ``"module:function"``. Built-ins are called ``function(profiles, flows)`` and
    return a :class:`~p2pstore.settlement.result.MechanismResult`; plugins are called
    ``function(community)`` with a :class:`~p2pstore.settlement.plugin.Community` and return
    costs (see docs/mechanisms.md). ``origin`` says where a plugin comes from (its distribution
    and version, or ``"registered in this process"``); None for built-ins.
    """

    name: str
    target: str
    label: str
    summary: str = ""
    origin: str | None = None
    function: Callable | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def builtin(self) -> bool:
        return self.origin is None

    def describe(self) -> str:
        """``"sdr"`` for a built-in; ``"plugin flat_p2p (p2pstore-flat-p2p 0.1.0, module:function)"``."""
        if self.builtin:
            return repr(self.name)
        return f"plugin {self.name!r} ({self.origin}, {self.target})"


_S = "p2pstore.settlement"

#: Built-in mechanisms, in the order results are reported. docs/mechanisms.md has each formula.
BUILTINS: tuple[Mechanism, ...] = (
    Mechanism("conventional", f"{_S}.conventional:settle_conventional", "Conventional",
              "no P2P: each household trades with the grid at its own tariffs"),
    Mechanism("mmr", f"{_S}.mmr:settle_mmr", "MMR",
              "the notebook's mid-market rate (dynamic price, gross weights)"),
    Mechanism("bill_sharing", f"{_S}.bill_sharing:settle_bill_sharing", "Bill-sharing",
              "the notebook's bill sharing (P2P at the dynamic price, residual at own tariffs)"),
    Mechanism("sdr", f"{_S}.literature:settle_sdr", "SDR (Liu 2017)",
              "supply-demand ratio pricing, Liu et al. 2017"),
    Mechanism("mmr_lit", f"{_S}.literature:settle_mmr_lit", "MMR (Long 2017)",
              "mid-market rate as published, Long et al. 2017 (static mid price, net weights)"),
    Mechanism("bs_lit", f"{_S}.literature:settle_bs_lit", "Bill sharing (Long 2017)",
              "bill sharing as published, Long et al. 2017: the community's grid bill shared over the run"),
    Mechanism("bs_lit_slot", f"{_S}.literature:settle_bs_lit_slot", "Bill sharing per slot",
              "bill sharing of Long et al. 2017 with a billing horizon of one slot"),
)

#: Mechanisms a scenario settles when it names none: the reference notebook's three.
DEFAULT: tuple[str, ...] = ("conventional", "mmr", "bill_sharing")

_BUILTIN_NAMES = frozenset(m.name for m in BUILTINS)
_BUILTIN_BY_NAME = {m.name: m for m in BUILTINS}
#: Functions registered in this process with :func:`register`, by name.
_registered: dict[str, Mechanism] = {}


class PluginWarning(UserWarning):
    """An installed plugin that cannot be used under its name (invalid, or taken by a built-in)."""


def _name_problem(name: str) -> str | None:
    if not NAME_PATTERN.fullmatch(name):
        return (f"mechanism name {name!r} must be 1-32 characters: lower-case letters, digits and '_', "
                "starting with a letter")
    if name in _BUILTIN_NAMES:
        return f"mechanism name {name!r} is a built-in mechanism's"
    return None


@functools.cache
def _entry_point_plugins() -> tuple[Mechanism, ...]:
    """Plugins installed as entry points, sorted by name (read from package metadata only)."""
    # lazy: importlib.metadata costs ~25 ms and the CLI loads this module for every --help
    from importlib.metadata import entry_points

    found: dict[str, Mechanism] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        origin = f"{dist.name} {dist.version}" if dist is not None else "entry point"
        problem = _name_problem(ep.name)
        if problem is None and ep.name in found:
            problem = f"mechanism {ep.name!r} is installed twice ({found[ep.name].origin} and {origin})"
        if problem:
            warnings.warn(f"plugin of {origin} ignored: {problem}", PluginWarning, stacklevel=3)
            continue
        found[ep.name] = Mechanism(ep.name, ep.value, ep.name, origin=origin)
    return tuple(found[n] for n in sorted(found))


def mechanisms() -> dict[str, Mechanism]:
    """Every known mechanism by name: built-ins in report order, then plugins by name."""
    plugins = {m.name: m for m in _entry_point_plugins()}
    plugins.update(_registered)  # a function registered here wins over an installed one
    return {**{m.name: m for m in BUILTINS}, **{n: plugins[n] for n in sorted(plugins)}}


def names() -> tuple[str, ...]:
    """Names of every known mechanism, in report order (see :func:`mechanisms`)."""
    return tuple(mechanisms())


def unknown_message(name: str) -> str:
    """The one line for an unknown mechanism: ``unknown mechanism 'x' (known: a, b, ...)``."""
    return f"unknown mechanism {name!r} (known: {', '.join(names())})"


def find(name: str) -> Mechanism | None:
    """The mechanism called ``name``, None if there is none. A built-in's name is never a
    plugin's (refused when installed, see :func:`register`), so a built-in is found without
    reading the installed packages' metadata: a run of built-ins only never scans entry points."""
    builtin = _BUILTIN_BY_NAME.get(name)
    return builtin if builtin is not None else mechanisms().get(name)


def get(name: str) -> Mechanism:
    """The mechanism called ``name``; :class:`UnknownMechanismError` (one line listing every
    known name) if there is none."""
    found = find(name)
    if found is None:
        raise UnknownMechanismError(unknown_message(name))
    return found


def ordered(names_: Iterable[str]) -> list[str]:
    """Distinct ``names_`` in report order; names no longer known (an uninstalled plugin's
    stored results) last, sorted."""
    rank = {n: i for i, n in enumerate(names())}
    return sorted(dict.fromkeys(names_), key=lambda n: (rank.get(n, len(rank)), n))


def load(mechanism: Mechanism) -> Callable:
    """Import and return the function of ``mechanism``; :class:`MechanismError` naming the
    plugin if it cannot be imported."""
    if mechanism.function is not None:
        return mechanism.function
    module_name, _, attr = mechanism.target.partition(":")
    try:
        obj = importlib.import_module(module_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
        if not callable(obj):
            raise TypeError(f"{mechanism.target} is not a function")
    except Exception as exc:
        if mechanism.builtin:
            raise
        raise MechanismError(f"mechanism {mechanism.describe()} could not be loaded: "
                             f"{type(exc).__name__}: {exc}") from None
    return obj


def register(name: str, function: Callable, label: str | None = None) -> Mechanism:
    """Register ``function`` (the plugin convention: ``function(community) -> costs``) as
    mechanism ``name`` in this process, e.g. from a notebook. Runs settled in this process
    (``p2pstore.run_scenario``) can use it; workers in other processes need an installed
    entry point. Registering a name again replaces the function."""
    problem = _name_problem(name)
    if problem:
        raise MechanismError(problem)
    target = f"{getattr(function, '__module__', '?')}:{getattr(function, '__qualname__', repr(function))}"
    mechanism = Mechanism(name, target, label or name, origin="registered in this process", function=function)
    _registered[name] = mechanism
    return mechanism


def unregister(name: str) -> None:
    """Forget a mechanism registered with :func:`register` (no-op for other names)."""
    _registered.pop(name, None)


def refresh() -> None:
    """Re-read the installed entry points (after installing a plugin in a running process)."""
    _entry_point_plugins.cache_clear()
