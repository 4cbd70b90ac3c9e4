"""Limits that keep hostile or careless input from hurting the host: names, memory, query time.

Light on purpose (standard library only): the CLI shows these numbers in ``--help`` without
importing the heavy layers, and every layer may use them.
"""

from __future__ import annotations

import os
import unicodedata

from p2pstore.errors import InputError

#: Seconds ``p2pstore query`` may run before it is ended (``--timeout``; 0 = no limit).
DEFAULT_QUERY_TIMEOUT_S = 300.0

#: Longest batch or schedule name, characters.
MAX_NAME_LENGTH = 200


def check_name(what: str, name: str | None, *, max_length: int = MAX_NAME_LENGTH) -> None:
    """:class:`InputError` unless ``name`` is 1 to ``max_length`` characters of printable text.

    Control and format characters (newline, tab, escape, zero-width and bidirectional marks,
    line separators) are refused: names are printed in tables and logs, one per line.
    """
    problem = printable_problem(name, max_length)
    if problem:
        raise InputError(f"{what} {problem}")


def printable_problem(text: str | None, max_length: int) -> str | None:
    """Why ``text`` is not 1 to ``max_length`` characters of printable text without surrounding
    spaces (a phrase: "must be ..."), or None."""
    if text is None or not text.strip() or len(text) > max_length:
        return f"must be 1 to {max_length} characters, got {_shown(text)}"
    if text != text.strip():
        return f"must not start or end with spaces, got {_shown(text)}"
    bad = sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in _UNPRINTABLE})
    if bad:
        return f"must be printable text: {_shown(text)} contains {', '.join(bad)}"
    return None


#: Unicode categories refused in names: controls, format marks, surrogates, private use,
#: unassigned, line and paragraph separators.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _shown(name: str | None) -> str:
    """``name`` as a one-line Python literal, cut to 60 characters."""
    text = repr(name)
    return text if len(text) <= 60 else text[:57] + "..."


def available_memory_bytes() -> int | None:
    """Memory this process may still use, bytes: ``MemAvailable`` (Linux), capped by a cgroup v2
    limit (containers); the physical memory elsewhere; None when unknown."""
    found: list[int] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except OSError:
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            limit = f.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
                found.append(int(limit) - int(f.read().strip()))
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return max(0, min(found))


def format_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover
