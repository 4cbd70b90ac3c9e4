"""Dispatch rules by name: the built-ins and the plugins of the entry-point group
``p2pstore.battery_dispatch``.

A rule is one function ``rule(slot) -> (charge_kw, discharge_kw)`` called once per slot with a
:class:`~p2pstore.batteries.dispatch.Slot` (every home battery's household net position, the
community's surplus and each battery's headrooms, as ``[B]`` arrays and floats) and returning
two ``[B]`` arrays in kW. docs/batteries.md, "Writing a dispatch rule", has an example. The
stage checks a plugin's answer (within the headrooms, never charging and discharging at once)
and refuses it with one line naming the rule otherwise. In P2P-off slots every home battery
follows ``self_consumption`` whatever the rule.

Listing names reads installed packages' metadata only, and this module imports only the
standard library, so scenario validation stays free of numpy.

Example (a notebook)::

    from p2pstore.batteries import rules
    rules.register("charge_only", lambda slot: (slot.charge_room_kw, 0 * slot.charge_room_kw))
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable

from p2pstore.errors import InputError

#: Entry-point group of third-party dispatch rules (``name = "module:function"``).
ENTRY_POINT_GROUP = "p2pstore.battery_dispatch"

#: The rule of a scenario that names none.
DEFAULT = "self_consumption"

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")


@dataclasses.dataclass(frozen=True)
class Rule:
    """One dispatch rule: ``target`` is ``"module:function"``; ``origin`` says where a plugin
    comes from (None for a built-in)."""

    name: str
    target: str
    summary: str = ""
    origin: str | None = None
    function: Callable | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def builtin(self) -> bool:
        return self.origin is None


_M = "p2pstore.batteries.builtin_rules"

#: Built-in rules (docs/batteries.md has each one slot by slot).
BUILTINS: tuple[Rule, ...] = (
    Rule("self_consumption", f"{_M}:self_consumption",
         "every home battery stores its own surplus and covers its own deficit"),
    Rule("community", f"{_M}:community",
         "home batteries follow the community's net position, pro rata to their headroom"),
)
_BUILTIN = {r.name: r for r in BUILTINS}
_registered: dict[str, Rule] = {}


@functools.cache
def _plugins() -> tuple[Rule, ...]:
    from importlib.metadata import entry_points  # read only when a name is not a built-in's

    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if NAME_PATTERN.fullmatch(ep.name) and ep.name not in _BUILTIN and ep.name not in found:
            dist = getattr(ep, "dist", None)
            found[ep.name] = Rule(ep.name, ep.value, origin=f"{dist.name} {dist.version}" if dist else "entry point")
    return tuple(found[n] for n in sorted(found))


def rules() -> dict[str, Rule]:
    """Every known rule by name: built-ins first, then plugins by name."""
    plugins = {r.name: r for r in _plugins()}
    plugins.update(_registered)
    return {**_BUILTIN, **{n: plugins[n] for n in sorted(plugins)}}


def names() -> tuple[str, ...]:
    return tuple(rules())


def find(name: str) -> Rule | None:
    """The rule called ``name`` (None if unknown); a built-in is found without reading metadata."""
    return _BUILTIN.get(name) or rules().get(name)


def unknown_message(name: str) -> str:
    return f"unknown dispatch rule {name!r} (known: {', '.join(names())})"


def load(name: str) -> tuple[Rule, Callable]:
    """``(rule, function)`` of ``name``; :class:`InputError` naming it if unknown or unloadable."""
    rule = find(name)
    if rule is None:
        raise InputError(unknown_message(name))
    if rule.function is not None:
        return rule, rule.function
    module_name, _, attr = rule.target.partition(":")
    try:
        import importlib  # a rule's module is imported when a run dispatches with it

        obj = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as exc:
        if rule.builtin:
            raise
        raise InputError(f"dispatch rule {name!r} ({rule.origin}) could not be loaded: "
                         f"{type(exc).__name__}: {exc}") from None
    return rule, obj


def register(name: str, function: Callable, summary: str = "") -> Rule:
    """Register ``function`` as dispatch rule ``name`` in this process (a notebook, a test)."""
    if not NAME_PATTERN.fullmatch(name) or name in _BUILTIN:
        raise InputError(f"dispatch rule name {name!r} must be 1-32 characters: lower-case letters, digits and "
                         "'_', starting with a letter, and not a built-in rule's")
    rule = Rule(name, f"{getattr(function, '__module__', '?')}:{getattr(function, '__qualname__', '?')}",
                summary, origin="registered in this process", function=function)
    _registered[name] = rule
    return rule


def unregister(name: str) -> None:
    _registered.pop(name, None)
