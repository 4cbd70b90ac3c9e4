"""Battery parameters, their checks, and the battery file.

A battery has a usable capacity ``capacity_kwh`` (kWh), a charge and discharge limit
``power_kw`` (kW, AC side), a one-way ``efficiency`` (charge and discharge each; round trip its
square) and state-of-charge bounds ``soc_min``, ``soc_max`` and start ``soc_initial`` (fractions
of the capacity). The battery file is a CSV ``household,capacity_kwh,power_kw,efficiency,
soc_min,soc_max,soc_initial``, one row per household that has a battery.

Standard library only (the scenario validates pinned rows with it, without numpy).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from p2pstore.errors import InputError

#: Columns of the battery file, in order; a pinned row of a scenario is these values.
COLUMNS: tuple[str, ...] = ("household", "capacity_kwh", "power_kw", "efficiency", "soc_min", "soc_max",
                            "soc_initial")
NUMERIC: tuple[str, ...] = COLUMNS[1:]

#: Name of the shared battery as a member of the community (bills, series, reports).
COMMUNITY_BATTERY = "community_battery"

#: Largest capacity (kWh) and power (kW) of one battery: far above any real one, small enough
#: that energies stay exact in floating point over a century of slots.
MAX_KWH = 1e7
MAX_KW = 1e7


def value_problem(column: str, value: float, *, zero_capacity: bool = False) -> str | None:
    """Why ``value`` is not a valid ``column`` of a battery (None if it is). ``zero_capacity``:
    accept a capacity of 0 (a generated battery sized by a factor of 0: no effect)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"expected a number, got {value!r}"
    if not math.isfinite(value):
        return f"must be finite, got {value!r}"
    if column == "capacity_kwh":
        if value < 0 or (value == 0 and not zero_capacity):
            return f"must be {'>= 0' if zero_capacity else 'positive'}, got {value!r}"
        if value > MAX_KWH:
            return f"must be at most {MAX_KWH:g} kWh, got {value!r}"
    elif column == "power_kw":
        if value <= 0:
            return f"must be positive, got {value!r}"
        if value > MAX_KW:
            return f"must be at most {MAX_KW:g} kW, got {value!r}"
    elif column == "efficiency":
        if not 0 < value <= 1:
            return f"must be in (0, 1], got {value!r}"
    elif not 0 <= value <= 1:
        return f"must be a fraction in [0, 1], got {value!r}"
    return None


def row_problem(values: dict[str, float], *, zero_capacity: bool = False) -> tuple[str, str] | None:
    """``(column, problem)`` of the first invalid value of one battery (the numeric columns of
    :data:`COLUMNS`), or of its bounds ``soc_min < soc_max`` and ``soc_min <= soc_initial <=
    soc_max``; None if the battery is valid."""
    for column in NUMERIC:
        problem = value_problem(column, values[column], zero_capacity=zero_capacity)
        if problem:
            return column, problem
    lo, hi, start = values["soc_min"], values["soc_max"], values["soc_initial"]
    if not lo < hi:
        return "soc_max", f"must be above soc_min ({lo!r}), got {hi!r}"
    if not lo <= start <= hi:
        return "soc_initial", f"must lie between soc_min ({lo!r}) and soc_max ({hi!r}), got {start!r}"
    return None


def read_battery_file(path: str | Path, households=None) -> tuple[tuple, ...]:
    """The batteries of the CSV file at ``path``: a tuple of rows ``(household, capacity_kwh,
    power_kw, efficiency, soc_min, soc_max, soc_initial)`` in file order.

    ``households``: the community's household names (None: not checked here). Anything wrong
    raises :class:`~p2pstore.errors.InputError` with one line naming the file, the line
    (the header is line 1) and the column: a missing or unknown column, a value that is not a
    number or out of its range, a household listed twice or not in the community."""
    name = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"battery file {name} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read battery file {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"battery file {name} is not UTF-8 text") from None
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(f"{name}: line 1, column {missing[0]!r}: missing (columns: {', '.join(COLUMNS)})")
    extra = [h for h in header if h not in COLUMNS]
    if extra or len(set(header)) != len(header):
        bad = extra[0] if extra else next(h for h in header if header.count(h) > 1)
        raise InputError(f"{name}: line 1, column {bad!r}: unknown or repeated (columns: {', '.join(COLUMNS)})")
    known = None if households is None else set(households)
    rows, seen = [], {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        rows.append(_row(name, line, dict(zip(header, cells)), len(cells) == len(header), known, seen))
    if not rows:
        raise InputError(f"{name}: no batteries (a header and no rows)")
    return tuple(rows)


def _row(name: str, line: int, cells: dict[str, str], complete: bool, known, seen: dict) -> tuple:
    """One validated row of the battery file (see :func:`read_battery_file`)."""
    def fail(column: str, problem: str):
        raise InputError(f"{name}: line {line}, column {column!r}: {problem}")

    if not complete:
        fail(COLUMNS[0], f"expected {len(cells)} cells, the header's count")
    household = cells["household"].strip()
    if not household:
        fail("household", "empty household name")
    if household in seen:
        fail("household", f"{household!r} has a battery already (line {seen[household]})")
    if known is not None and household not in known:
        fail("household", f"no household {household!r} in the community")
    seen[household] = line
    values = {}
    for column in NUMERIC:
        try:
            values[column] = float(cells[column])
        except ValueError:
            fail(column, f"expected a number, got {cells[column]!r}")
    problem = row_problem(values)
    if problem:
        fail(*problem)
    return (household, *(values[c] for c in NUMERIC))


def check_households(rows, households, source: str = "battery file") -> None:
    """:class:`~p2pstore.errors.InputError` naming the first battery of ``rows`` whose household
    is not in ``households`` (the community's names)."""
    known = set(households)
    for k, row in enumerate(rows or ()):
        if row[0] not in known:
            raise InputError(f"{source}: row {k + 1}, column 'household': no household {row[0]!r} in the community")
