"""Plausibility of imported households: warnings for values that look like a unit mistake.

A household's annual consumption is its mean load (kW) times 8,760 hours, whatever the
length of the file; its peak is its largest mean power over one slot. Plausible ranges for a
home (:data:`PLAUSIBLE_ANNUAL_KWH`, :data:`PLAUSIBLE_PEAK_KW`) cover a small flat (about
1,000 kWh/year) to a large all-electric house with heat pump and car (about 30,000 kWh/year;
German households average 3,000-4,000, BDEW Stromspiegel) and a peak of at most about 50 kW
(a 3 x 63 A connection is 43 kW). Outside them, and when a unit mistake explains the numbers,
the warning says which:

* **kWh per slot imported as kW** (the default ``--unit kW``): consumption about
  ``60 / slot_minutes`` times too low (4x with 15-minute slots) and plausible once multiplied:
  ``--unit kWh``, said when the community's median home is below :data:`KWH_AS_KW_MEDIAN` (and
  then for every home below it): a small home exists, a whole community of them rarely; a single
  home below the range gets the generic advice to check the unit;
* **kW imported with** ``--unit kWh``: as many times too high: drop ``--unit kWh``;
* **W as kW**: about 1,000 times too high: divide the values by 1,000 (``--unit`` takes kW or
  kWh).

Warnings never refuse the data (a community hall or a vacant flat can be outside the ranges):
:mod:`p2pstore.profiles.values` refuses what is physically impossible.
"""

from __future__ import annotations

import numpy as np

#: Plausible annual consumption of one home, kWh/year (module docstring).
PLAUSIBLE_ANNUAL_KWH = (1_000.0, 30_000.0)
#: Plausible peak of one home's mean power over a slot, kW.
PLAUSIBLE_PEAK_KW = 50.0
HOURS_PER_YEAR = 8760.0
#: A community whose median home uses less than this (kWh/year, read as kW) is warned about as a
#: whole when ``60 / slot_minutes`` times it is plausible (German one-person homes use about 1,500).
KWH_AS_KW_MEDIAN = 1_500.0


def _first(names, mask: np.ndarray) -> str:
    count = int(mask.sum())
    more = f" and {count - 1} other(s)" if count > 1 else ""
    return f"household {names[int(np.flatnonzero(mask)[0])]!r}{more}"


def unit_warnings(names, load_kw: np.ndarray, slot_minutes: int, unit: str | None) -> list[str]:
    """Warnings (module docstring) for ``load_kw`` ``[N, H]`` mean power per slot, kW, of
    households ``names`` on ``slot_minutes`` slots, read with ``unit`` (None = kW)."""
    if load_kw.size == 0:
        return []
    annual = load_kw.mean(axis=1) * HOURS_PER_YEAR
    peak = load_kw.max(axis=1)
    low, high = PLAUSIBLE_ANNUAL_KWH
    factor = 60.0 / slot_minutes
    out = []
    active = annual > 0
    too_low = active & (annual < low)
    too_high = annual > high
    median = float(np.median(annual[active])) if active.any() else 0.0
    kwh_likely = unit != "kWh" and factor > 1 and median < KWH_AS_KW_MEDIAN and low <= median * factor <= high
    if kwh_likely:
        # most of the community is small: energies per slot read as power, more likely than tiny homes
        too_low = active & (annual < KWH_AS_KW_MEDIAN)
    if too_low.any():
        k = int(np.flatnonzero(too_low)[0])
        if kwh_likely:
            out.append(f"{_first(names, too_low)}: {annual[k]:,.0f} kWh/year read as kW is implausibly low for "
                       f"a home (plausible {low:,.0f}-{high:,.0f}; community median {median:,.0f}); "
                       f"{annual[k] * factor:,.0f} kWh/year if the values are kWh per {slot_minutes}-minute slot: "
                       "import with --unit kWh")
        else:
            out.append(f"{_first(names, too_low)}: {annual[k]:,.0f} kWh/year, below the plausible "
                       f"{low:,.0f}-{high:,.0f} kWh/year of a home (check the unit: --unit kW or kWh)")
    if too_high.any():
        k = int(np.flatnonzero(too_high)[0])
        if unit == "kWh" and factor > 1 and low <= annual[k] / factor <= high:
            advice = (f"{annual[k] / factor:,.0f} kWh/year if the values are mean power: drop --unit kWh "
                      "(kW is the default)")
        elif low <= annual[k] / 1000 <= high:
            advice = ("the values look like W: divide them by 1,000 (--unit takes kW, mean power, or kWh "
                      "per slot)")
        else:
            advice = "check the unit (--unit kW or kWh)"
        out.append(f"{_first(names, too_high)}: {annual[k]:,.0f} kWh/year, above the plausible "
                   f"{low:,.0f}-{high:,.0f} kWh/year of a home; {advice}")
    peaky = (peak > PLAUSIBLE_PEAK_KW) & ~too_high
    if peaky.any():
        k = int(np.flatnonzero(peaky)[0])
        out.append(f"{_first(names, peaky)}: a peak of {peak[k]:,.1f} kW, above the {PLAUSIBLE_PEAK_KW:g} kW a "
                   "home's connection carries (check the unit: --unit kW or kWh)")
    return out
