"""Scenario values from a flat TOML file and from text (flags, sweep values)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from p2pstore.errors import ScenarioError
from p2pstore.scenario.rules import number_rule
from p2pstore.scenario.spec import FIELDS, Scenario, from_mapping


def load(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load a scenario from a flat TOML file (optional), then apply ``overrides`` (None = unset)."""
    return from_mapping(load_values(path, overrides), source=str(path) if path else "scenario")


def load_values(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The values :func:`load` builds a scenario from, not yet validated: a sweep applies its
    values first (``--sweep profiles=a,b`` with ``--households 3`` is valid only once
    ``profiles`` is set)."""
    values: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            values = tomllib.loads(p.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            raise ScenarioError("file", f"{p} does not exist") from None
        except OSError as exc:
            raise ScenarioError("file", f"cannot read {p}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise ScenarioError("file", f"{p} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                                        f"offset {exc.start}); TOML files are UTF-8") from None
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError("file", f"{p} is not valid TOML: {exc}") from None
        for key, value in values.items():
            if isinstance(value, dict):
                raise ScenarioError(key, f"tables are not used in {p}; write keys at top level")
        for key in ("tariffs", "battery_file"):  # a tariff or battery file is relative to the TOML file
            if isinstance(values.get(key), str):
                values[key] = str(p.parent / Path(values[key]).expanduser())
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return values


def parse_value(key: str, text: str) -> Any:
    """Parse a flag or sweep value given as text (``"5"``, ``"3.0:3.8"``, ``"mmr+bill_sharing"``)
    into the field's type; :func:`from_mapping` validates it."""
    if key not in FIELDS:
        raise ScenarioError(key, f"unknown key (known: {', '.join(FIELDS)})")
    if key == "mechanisms":
        return tuple(t.strip() for t in text.split("+") if t.strip())
    rule = number_rule(key, FIELDS[key].default)
    if rule is None:
        return text
    parts = text.replace(":", " ").split() if rule.pair else [text.strip()]
    try:
        values = tuple(rule.kind(v) for v in parts)
    except ValueError:
        kind = "a LOW:HIGH range of numbers" if rule.pair else ("an integer" if rule.kind is int else "a number")
        raise ScenarioError(key, f"expected {kind}, got {text!r}") from None
    return values if rule.pair else values[0]
