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

#: Households whose per-slot sums a chunked settlement takes together; chunks hold whole blocks.
HOUSEHOLD_BLOCK = 64

#: Environment variable holding the default ``--memory-limit`` (a worker sets it for the
#: processes that settle its runs).
MEMORY_LIMIT_ENV = "P2PSTORE_MEMORY_LIMIT"

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


_SIZE_UNITS = {"": 1, "B": 1, "K": 2**10, "KIB": 2**10, "KB": 10**3, "M": 2**20, "MIB": 2**20, "MB": 10**6,
               "G": 2**30, "GIB": 2**30, "GB": 10**9, "T": 2**40, "TIB": 2**40, "TB": 10**12}


def parse_size(text: str, what: str = "--memory-limit") -> int:
    """Bytes of a size such as ``300MB`` (10^6), ``2GiB`` or ``2G`` (2^30), ``1500000``;
    :class:`InputError` naming ``what`` otherwise."""
    import re  # lazy: keeps start-up light

    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([A-Za-z]*)\s*", str(text))
    unit = m.group(2).upper() if m else None
    if m is None or unit not in _SIZE_UNITS or float(m.group(1)) <= 0:
        raise InputError(f"{what} must be a positive size such as 300MB, 2GiB or 4G, got {text!r}")
    return int(float(m.group(1)) * _SIZE_UNITS[unit])


def memory_limit_bytes(limit: int | None = None) -> int | None:
    """The memory a run may use, bytes: ``limit`` if given, else :data:`MEMORY_LIMIT_ENV` if set,
    else what this machine has available now (:func:`available_memory_bytes`)."""
    if limit is not None:
        return limit
    env = os.environ.get(MEMORY_LIMIT_ENV)
    if env:
        return parse_size(env, MEMORY_LIMIT_ENV)
    return available_memory_bytes()


def format_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover
