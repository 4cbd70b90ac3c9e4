"""Individual household loads: an occupancy-driven stochastic model (``load_model = "individual"``).

Every household gets its own load, drawn from its own occupants' days, following the structure
of the CREST demand model (Richardson, Thomson, Infield and Clifford, "Domestic electricity use:
a high-resolution energy demand model", Energy and Buildings 42 (2010) 1878-1887; occupancy:
Richardson, Thomson and Infield, Energy and Buildings 40 (2008) 1560-1566): **active occupancy**
(occupants at home and awake) drives **appliance switch-on events** and **lighting**; a base load
runs regardless. It is written for numpy (whole household blocks at once) rather than CREST's
minute-by-minute Markov chains, with these simplifications:

* household size: 1-5 persons with the shares of German households (Destatis, Mikrozensus 2023:
  41 %, 34 %, 12 %, 9 %, 4 % for 5 or more);
* occupancy: each occupant is employed or in education (55 %) or at home; each day they wake,
  may leave for a block of hours (work or school on weekdays: most days; otherwise errands:
  every other day) and go to sleep at times drawn around typical values (:data:`SCHEDULE`);
  the whole household is away on 3 % of days. Active occupancy is the count of occupants awake
  and at home in each slot;
* appliances (:data:`APPLIANCES`): switch-on events per day drawn from a Poisson distribution
  (rate scaled by household size to the power 0.7, by ownership, and by the household's drawn
  consumption over its size's median, so heavy users use appliances more often rather than
  more powerfully), at a time drawn from the
  appliance's time-of-day profile, kept only when someone is active then (CREST's rule), each
  lasting its cycle length (+-30 %) at its mean cycle power;
* continuous use by active occupants (television, computing, small loads) with CREST's
  diminishing return for shared use, lighting when active and the sun is down (sunrise and
  sunset from the latitude and the day of the year), and a base load per household (fridge,
  freezer, standby);
* seasonal level: each day is weighted by BDEW's dynamisation function of the H0 profile
  (VDEW, "Repräsentative VDEW-Lastprofile", 1999: ``-3.92e-10 t^4 + 3.2e-7 t^3 - 7.02e-5 t^2 +
  2.1e-3 t + 1.24`` for day of year ``t``);
* annual consumption per household: lognormal around a median by household size
  (:data:`MEDIAN_ANNUAL_KWH`, co2online / BDEW Stromspiegel für Deutschland 2023, homes without
  electric hot water) with ``sigma`` :data:`ANNUAL_SIGMA`, kept inside the plausible range of
  an imported home (:data:`~p2pstore.profiles.plausibility.PLAUSIBLE_ANNUAL_KWH`, 1,000-30,000
  kWh/year: about 9 % of one-person households sit at its floor); each household's load is scaled so
  that the horizon holds its share of that year (the dynamisation weights of its days).

The result is deterministic for a seeded :class:`numpy.random.Generator` and independent of how
households are grouped into blocks only through that generator's stream (blocks are fixed).
Slot times are local standard time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np

from p2pstore.profiles.plausibility import PLAUSIBLE_ANNUAL_KWH

#: Shares of households of 1, 2, 3, 4 and 5 (or more) persons (Destatis, Mikrozensus 2023).
HOUSEHOLD_SIZE_SHARES = (0.41, 0.34, 0.12, 0.09, 0.04)
#: Median annual consumption by household size, kWh/year (Stromspiegel 2023, no electric hot water).
MEDIAN_ANNUAL_KWH = (1500.0, 2500.0, 3200.0, 3800.0, 4500.0)
#: Standard deviation of the log of annual consumption around the median.
ANNUAL_SIGMA = 0.3
#: Share of occupants employed or in education (away most weekdays).
SHARE_AWAY_WEEKDAYS = 0.55
#: Probability that the whole household is away for a day (holidays, visits).
AWAY_DAY_PROBABILITY = 0.03
#: Households generated together: a block's [B, days, periods] arrays stay a few MB.
BLOCK_HOUSEHOLDS = 64

#: Hours (mean, standard deviation) of an occupant's day: wake-up on working days (employed),
#: wake-up otherwise, going to sleep, leaving for work after waking, hours away at work,
#: leaving for errands, hours away on errands.
SCHEDULE = {"wake_work": (6.6, 0.7), "wake_free": (8.0, 1.0), "sleep": (23.0, 0.8),
            "leave_work": (0.9, 0.3), "away_work": (8.8, 1.2), "leave_errand": (10.5, 2.0),
            "away_errand": (2.5, 1.0), "p_errand": 0.5, "p_work": 0.92}


@dataclasses.dataclass(frozen=True)
class Appliance:
    """One kind of appliance: ``kw`` mean power over a cycle of ``minutes``, ``per_day``
    switch-on events per day in a two-person household that owns one (``owned``: share of
    households that do), at times weighted by ``hours`` (24 hourly weights, local time)."""

    name: str
    kw: float
    minutes: float
    per_day: float
    owned: float
    hours: tuple[float, ...]


def _hours(*peaks: tuple[int, int, float], floor: float = 0.05) -> tuple[float, ...]:
    """24 hourly weights: ``floor`` everywhere, plus ``weight`` over each ``[first, last)`` hour."""
    w = [floor] * 24
    for first, last, weight in peaks:
        for h in range(first, last):
            w[h] += weight
    return tuple(w)


#: Appliances and their use (cycle powers and lengths after the CREST appliance table).
APPLIANCES: tuple[Appliance, ...] = (
    Appliance("kettle", 2.0, 4, 2.5, 0.95, _hours((6, 9, 1.0), (12, 14, 0.6), (15, 17, 0.6), (18, 22, 0.6))),
    Appliance("hob", 1.8, 30, 0.8, 0.98, _hours((11, 13, 0.8), (17, 20, 1.2))),
    Appliance("oven", 2.2, 45, 0.3, 0.9, _hours((11, 13, 0.5), (17, 20, 1.0))),
    Appliance("microwave", 1.0, 5, 0.7, 0.8, _hours((7, 9, 0.5), (12, 14, 0.8), (18, 21, 0.8))),
    Appliance("washing machine", 0.6, 100, 0.5, 0.95, _hours((8, 20, 1.0))),
    Appliance("tumble dryer", 2.2, 70, 0.3, 0.4, _hours((10, 21, 1.0))),
    Appliance("dishwasher", 1.2, 90, 0.6, 0.7, _hours((13, 15, 0.5), (19, 23, 1.0))),
    Appliance("vacuum cleaner", 1.0, 25, 0.15, 0.95, _hours((9, 18, 1.0))),
    Appliance("iron", 1.1, 30, 0.1, 0.85, _hours((9, 21, 1.0))),
    Appliance("hair dryer", 1.5, 6, 0.5, 0.7, _hours((6, 9, 1.0), (19, 23, 0.5))),
)

#: Continuous use per active occupant, kW, and CREST's effective occupancy for 0..5 active
#: occupants (shared use: two people watching one television).
ACTIVE_KW = 0.09
EFFECTIVE_OCCUPANCY = np.array([0.0, 1.0, 1.528, 1.694, 1.983, 2.094])
#: Lighting per effective active occupant when the sun is down, kW (range over households).
LIGHTING_KW = (0.06, 0.16)
#: Base load (fridge, freezer, standby) per household, kW (range).
BASE_KW = (0.04, 0.12)
#: Latitude used for daylight when the scenario gives none (central Germany), degrees north.
DEFAULT_LATITUDE = 51.0


#: Quantiles of a switch-on time's distribution looked up instead of searched (4,096 levels: the
#: probability of a slot is off by at most 1/4,096 of a day's events).
INVERSE_CDF_STEPS = 4096


def start_quantiles(appliance: Appliance, periods: int) -> np.ndarray:
    """[INVERSE_CDF_STEPS] int64: the slot of each quantile ``(k + 1/2) / steps`` of the
    switch-on time of ``appliance`` over a day of ``periods`` slots."""
    weights = np.asarray(appliance.hours)[((np.arange(periods) + 0.5) * 24 / periods).astype(np.int64)]
    cdf = np.cumsum(weights) / weights.sum()
    quantiles = (np.arange(INVERSE_CDF_STEPS) + 0.5) / INVERSE_CDF_STEPS
    return np.minimum(np.searchsorted(cdf, quantiles), periods - 1)


def dynamisation(day_of_year: np.ndarray) -> np.ndarray:
    """BDEW/VDEW H0 dynamisation factor of each day of the year (1-based), dimensionless."""
    t = np.asarray(day_of_year, dtype=np.float64)
    return -3.92e-10 * t**4 + 3.2e-7 * t**3 - 7.02e-5 * t**2 + 2.1e-3 * t + 1.24


def dark_slots(start: dt.date, days: int, periods: int, latitude: float) -> np.ndarray:
    """[days, periods] bool: the sun is below the horizon at the slot's middle (local solar time;
    declination after Cooper 1969)."""
    doy = (np.datetime64(start, "D") + np.arange(days) - np.datetime64(start, "Y")).astype(np.int64) + 1
    decl = np.radians(23.45) * np.sin(2 * np.pi * (284 + doy) / 365.0)
    cos_h = np.clip(-math.tan(math.radians(latitude)) * np.tan(decl), -1.0, 1.0)
    half_day = np.degrees(np.arccos(cos_h)) / 15.0                        # hours from noon to sunset
    hours = (np.arange(periods) + 0.5) * 24.0 / periods
    return np.abs(hours[None, :] - 12.0) > half_day[:, None]


def household_sizes_and_annual_kwh(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``([n] persons 1..5, [n] kWh/year)`` drawn as the module docstring says."""
    sizes = rng.choice(5, size=n, p=HOUSEHOLD_SIZE_SHARES) + 1
    medians = np.asarray(MEDIAN_ANNUAL_KWH)[sizes - 1]
    annual = medians * np.exp(rng.normal(0.0, ANNUAL_SIGMA, size=n))
    return sizes, np.clip(annual, *PLAUSIBLE_ANNUAL_KWH)


def generate_individual_loads(start: dt.date, days: int, slot_minutes: int, n: int, rng: np.random.Generator,
                              latitude: float | None = None, out: np.ndarray | None = None
                              ) -> tuple[np.ndarray, np.ndarray]:
    """``([n, days * periods] kW mean power per slot, [n] kWh/year drawn)`` of ``n`` households.

    ``start`` the first day, ``slot_minutes`` the slot length, ``latitude`` (degrees, north
    positive) for daylight, ``out`` an array to fill (``[n, days * periods]`` float64).
    """
    model = IndividualLoads(start, days, slot_minutes, n, rng, latitude)
    load = np.empty((n, days * model.calendar.periods)) if out is None else out
    # fault the pages in before the blocks' temporaries come and go: measured 0.55-0.6 s of CPU for
    # the whole generator at 1,000 households x a year, against 0.75-0.8 s when faulted block by block
    load.fill(0.0)
    for first in range(0, n, BLOCK_HOUSEHOLDS):
        model.fill_block(first, load[first:first + BLOCK_HOUSEHOLDS])
    return load, model.annual_kwh


class IndividualLoads:
    """The individual loads of ``n`` households, block by block of :data:`BLOCK_HOUSEHOLDS`
    from ``rng``: sizes and annual consumption are drawn at once, then each block in turn.
    :meth:`block_states` and :meth:`rows` regenerate any rows alike (chunked settlement)."""

    def __init__(self, start: dt.date, days: int, slot_minutes: int, n: int, rng: np.random.Generator,
                 latitude: float | None = None):
        periods = 1440 // slot_minutes
        self.n, self.rng = n, rng
        self.sizes, self.annual_kwh = household_sizes_and_annual_kwh(n, rng)
        dates = np.datetime64(start, "D") + np.arange(days)
        self.weight = dynamisation((dates - dates.astype("datetime64[Y]")).astype(np.int64) + 1)
        self.share = self.weight.sum() / dynamisation(np.arange(1, 366)).sum()     # of a year's energy
        weekday = ((dates.astype(np.int64) + 3) % 7) < 5                            # 1970-01-01 was a Thursday
        dark = dark_slots(start, days, periods, DEFAULT_LATITUDE if latitude is None else latitude)
        self.calendar = _Calendar(days, periods, slot_minutes, weekday, (dark * 6).astype(np.int8),
                                  {a.name: start_quantiles(a, periods) for a in APPLIANCES})

    def fill_block(self, first: int, out: np.ndarray) -> None:
        """Fill ``out`` ``[B, days * periods]`` with households ``first .. first + B - 1`` (a
        block start), drawing from the generator where it stands."""
        cal, last = self.calendar, first + len(out)
        block = out.reshape(len(out), cal.days, cal.periods)
        sizes, annual = self.sizes[first:last], self.annual_kwh[first:last]
        _block(block, sizes, annual / np.asarray(MEDIAN_ANNUAL_KWH)[sizes - 1], cal, self.rng)
        daily = block.sum(axis=2) * self.weight                                 # [B, D] weighted kW sums
        energy = daily.sum(axis=1) * (cal.slot_minutes / 60.0)
        scale = annual * self.share / np.where(energy > 0, energy, 1.0)
        block *= (self.weight[None, :] * scale[:, None])[:, :, None]           # season and level at once

    def block_states(self) -> list[dict]:
        """The generator's state at the start of every block (each block drawn and dropped)."""
        states, scratch = [], np.empty((BLOCK_HOUSEHOLDS, self.calendar.days * self.calendar.periods))
        for first in range(0, self.n, BLOCK_HOUSEHOLDS):
            states.append(self.rng.bit_generator.state)
            self.fill_block(first, scratch[:min(self.n, first + BLOCK_HOUSEHOLDS) - first])
        return states

    def rows(self, states: list[dict], start: int, stop: int, out: np.ndarray) -> None:
        """Households ``start .. stop - 1`` into ``out`` ``[stop - start, days * periods]``,
        regenerated from ``states`` (:meth:`block_states`)."""
        scratch = np.empty((BLOCK_HOUSEHOLDS, out.shape[1]))
        for first in range(start // BLOCK_HOUSEHOLDS * BLOCK_HOUSEHOLDS, stop, BLOCK_HOUSEHOLDS):
            self.rng.bit_generator.state = states[first // BLOCK_HOUSEHOLDS]
            rows = scratch[:min(self.n, first + BLOCK_HOUSEHOLDS) - first]
            self.fill_block(first, rows)
            lo, hi = max(start, first), min(stop, first + len(rows))
            out[lo - start:hi - start] = rows[lo - first:hi - first]


@dataclasses.dataclass(frozen=True)
class _Calendar:
    days: int
    periods: int
    slot_minutes: int
    weekday: np.ndarray    # [days] bool
    dark_code: np.ndarray  # [days, periods] int8: 6 where the sun is down, else 0
    starts: dict           # appliance name -> [INVERSE_CDF_STEPS] slot of a quantile of its hours


def _block(out: np.ndarray, sizes: np.ndarray, intensity: np.ndarray, cal: _Calendar,
           rng: np.random.Generator) -> None:
    """Fill ``out`` [B, days, periods] with the unscaled load (kW) of households of ``sizes``
    whose appliances are used ``intensity`` times as often as their size's median household."""
    b = len(sizes)
    active = active_occupancy(sizes, cal, rng)                                   # [B, D, P] int8
    lighting = rng.uniform(*LIGHTING_KW, size=b)
    base = rng.uniform(*BASE_KW, size=b)
    # continuous part by lookup: code = occupancy + 6 * dark (one byte per slot) -> kW of the household
    eff = EFFECTIVE_OCCUPANCY
    table = base[:, None, None] + eff[None, None, :] * (ACTIVE_KW + lighting[:, None, None] * np.array([[0.0], [1.0]]))
    code = np.add(active, cal.dark_code[None, :, :], out=active)   # in place: code % 6 is the occupancy
    for row in range(b):  # codes are in range: "wrap" skips the bounds check
        np.take(table[row].reshape(-1), code[row], out=out[row], mode="wrap")
    add_appliance_events(out.reshape(-1), code, (sizes / 2.0) ** 0.7 * intensity, cal, rng)


def active_occupancy(sizes: np.ndarray, cal: _Calendar, rng: np.random.Generator) -> np.ndarray:
    """[B, days, periods] int8: occupants awake and at home in each slot (module docstring)."""
    b, d, p = len(sizes), cal.days, cal.periods
    household = np.repeat(np.arange(b), sizes)                                    # [M] occupants
    m = len(household)
    work_day = (rng.random(m) < SHARE_AWAY_WEEKDAYS)[:, None] & cal.weekday[None, :]   # [M, D]
    s = SCHEDULE
    z = rng.standard_normal((4, m, d), dtype=np.float32)         # one draw per quantity, float32: fast
    u = rng.random((2, m, d), dtype=np.float32)

    def drawn(key, zi, condition=None, other=None):
        mean, sd = s[key]
        if condition is None:
            return mean + sd * zi
        mean2, sd2 = s[other]
        return np.where(condition, mean + sd * zi, mean2 + sd2 * zi)

    wake = drawn("wake_work", z[0], work_day, "wake_free")
    sleep = np.maximum(drawn("sleep", z[1]) + np.where(cal.weekday, 0.0, 0.5)[None, :], wake + 4.0)
    goes_to_work = work_day & (u[0] < s["p_work"])
    gone = goes_to_work | (u[1] < s["p_errand"])
    leave = np.where(goes_to_work, wake + np.abs(drawn("leave_work", z[2])), drawn("leave_errand", z[2]))
    back = leave + np.abs(drawn("away_work", z[3], goes_to_work, "away_errand"))
    leave = np.clip(leave, wake, sleep)
    back = np.clip(back, leave, sleep)
    per_hour = p / 24.0
    cell = household[:, None] * d + np.arange(d)[None, :]                       # [M, D] household-day

    def at(hours, mask=None):  # slot-major: index slot * (B * D) + household-day
        slots = np.clip(np.rint(hours * per_hour), 0, p).astype(np.int64) * (b * d) + cell
        return slots.reshape(-1) if mask is None else slots[mask]

    index = np.concatenate([at(wake), at(sleep), at(leave, gone), at(back, gone)])
    n_gone = int(gone.sum())
    step = np.repeat(np.array([1, -1, -1, 1], np.int8), [m * d, m * d, n_gone, n_gone])
    diff = np.zeros(b * d * (p + 1), np.int8)
    np.add.at(diff, index, step)  # unbuffered: bincount would allocate and add a float64 array
    # each occupant adds 1 over [wake, leave) and [back, sleep), ordered: 0..5 without clipping.
    # A running sum slot by slot over all household-days at once (contiguous rows of the
    # slot-major array), then one transposition: several times faster than cumsum along each day.
    rows = diff.reshape(p + 1, b * d)
    for j in range(1, p):
        np.add(rows[j], rows[j - 1], out=rows[j])
    active = np.ascontiguousarray(rows[:p].reshape(p, b, d).transpose(1, 2, 0))
    active[rng.random((b, d)) < AWAY_DAY_PROBABILITY] = 0
    return active


def add_appliance_events(out: np.ndarray, code: np.ndarray, use: np.ndarray, cal: _Calendar,
                         rng: np.random.Generator) -> None:
    """Add to ``out`` [B * days * periods] the kW of every appliance's switch-on events
    (module docstring) in households with ``code % 6`` [B, days, periods] active occupants that
    use appliances ``use`` [B] times as often as a two-person household."""
    b, d, p = code.shape
    flat_code = code.reshape(-1)
    slot_hours = cal.slot_minutes / 60.0
    for appliance in APPLIANCES:
        # a Poisson process: the events of a household over the horizon, each on a uniform day
        rate = appliance.per_day * use * (rng.random(b) < appliance.owned)
        counts = rng.poisson(rate * d)
        total = int(counts.sum())
        if total == 0:
            continue
        household = np.repeat(np.arange(b), counts)
        quantile = rng.integers(0, INVERSE_CDF_STEPS, size=total)
        first = (household * d + rng.integers(0, d, size=total)) * p + cal.starts[appliance.name][quantile]
        first = first[flat_code[first] % 6 > 0]      # switched on only when someone is active (CREST)
        length = rng.uniform(0.7, 1.3, size=first.size) * (appliance.minutes / 60.0 / slot_hours)  # in slots
        span = int(math.ceil(appliance.minutes * 1.3 / cal.slot_minutes))
        fill = np.clip(length[:, None] - np.arange(span)[None, :], 0.0, 1.0)        # share of each slot in use
        last_of_household = (first // (d * p) + 1) * (d * p) - 1
        where = np.minimum(first[:, None] + np.arange(span)[None, :], last_of_household[:, None])
        np.add.at(out, where.reshape(-1), (fill * appliance.kw).reshape(-1))
