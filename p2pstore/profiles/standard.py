"""The ``standard`` generator: BDEW H25 household load (demandlib) and PVWatts PV (pvlib) on a
typical meteorological year (TMY3) shipped with pvlib.

Time base. Slot timestamps are the weather station's local standard time (TMY3 data are hourly,
hour-ending, in local standard time, without daylight saving), so the sun is up around noon and
PV is zero at night. Day ``d`` of the horizon takes the weather of the same calendar day of the
365-day typical year: 29 February takes 28 February's weather, and a horizon that runs past
31 December continues on 1 January of the typical year (:func:`weather_day_index`). The load
follows the horizon's own calendar (weekdays, Saturdays, Sundays and BDEW's day-of-year
dynamisation; no public holidays).

Households. Each household's annual consumption (kWh/year) is drawn from ``annual_load_kwh`` and
scales the H25 profile (normalised by BDEW to 1,000,000 kWh/year); each prosumer's peak power
(kWp) is drawn from ``pv_kwp`` and scales the PV of a 1 kWp PVWatts system. PVWatts is linear
in the array size (module and inverter scale together), so the two library models run once per
scenario, not once per household (the PV model's typical year is also cached per process and
weather/tilt/azimuth). Noise, all seeded from ``scenario.seed``:

- load: a day factor ``normal(1, load_day_noise)`` per household and day (floored at 0) and a
  slot factor per household and slot;
- PV: a slot factor per prosumer and slot (``pv_slot_noise``); the day-to-day variation is the
  weather's own, the same sky for the whole community, so ``pv_cloud_noise`` is not used.

Slot factors are uniform with mean 1 and standard deviation ``sd`` (``1 +- sqrt(3) sd``, on 65,536
levels): they stay positive for ``sd < 0.577`` (no clipping bias) and draw several times faster
than normal ones, which matters at 1,000 households x 35,040 slots.

Tariffs, inverter outages and P2P maintenance windows are drawn as in the notebook generator
(same ranges and meaning, from this generator's own seeded streams).
"""

from __future__ import annotations

import datetime as dt
import functools
import math

import numpy as np

from p2pstore.profiles.base import Profiles, generated_profiles
from p2pstore.profiles.pvwatts import TYPICAL_YEAR, library_warnings_silenced, pvwatts_year

#: BDEW standard load profiles are normalised to this annual energy (kWh/year).
BDEW_ANNUAL_KWH = 1_000_000.0
#: Households whose noise is drawn and applied together: a block of rows stays in the CPU cache
#: through the four array operations instead of streaming [N, H] arrays through memory four times.
_BLOCK_ROWS = 16


# -- calendar mapping ----------------------------------------------------------------------------
def weather_day_index(start: dt.date, days: int) -> np.ndarray:
    """[days] int: the day (0..364) of the 365-day typical year that each horizon day takes.

    The same calendar day; 29 February maps to 28 February (index 58), and a horizon past
    31 December continues on 1 January (index 0).
    """
    dates = np.datetime64(start, "D") + np.arange(days)
    year_start = dates.astype("datetime64[Y]")
    day_of_year = (dates - year_start).astype(np.int64)           # 0-based
    year = year_start.astype(np.int64) + 1970
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return day_of_year - (leap & (day_of_year >= 59))            # 59 = 29 February in a leap year


def to_slots(per_day: np.ndarray, slot_minutes: int) -> np.ndarray:
    """[D, K] mean power in K equal steps per day -> [D, 1440 // slot_minutes] mean power per slot.

    Energy is kept: each slot is the mean of the steps it overlaps, weighted by minutes.
    """
    days, steps = per_day.shape
    step_minutes = 1440 // steps
    if step_minutes % slot_minutes == 0:
        return np.repeat(per_day, step_minutes // slot_minutes, axis=1)
    minutes = np.repeat(per_day, step_minutes, axis=1)
    return minutes.reshape(days, 1440 // slot_minutes, slot_minutes).mean(axis=2)


# -- the two library models ----------------------------------------------------------------------
def weather_path(weather: str):
    """Path of a TMY3 file shipped in pvlib's data directory."""
    from pathlib import Path  # pvlib only when its data are used

    import pvlib  # (same reason)

    return Path(pvlib.__file__).parent / "data" / weather


@functools.lru_cache(maxsize=8)
def typical_year_pv(weather: str, tilt: float, azimuth: float) -> tuple[np.ndarray, dict]:
    """AC power of a 1 kWp PVWatts system over the TMY3 year of ``weather``.

    Returns ``([365, 24] kW per kWp, read-only; hour h of a day is local standard time
    [h:00, h+1:00), the mean of TMY3's hour-ending record h+1), metadata of the file)``.
    Solar positions are taken at mid-hour. ``tilt`` degrees from horizontal, ``azimuth`` degrees
    clockwise from north.
    """
    import pandas as pd  # pandas and pvlib load only when the model runs (once per process)

    with library_warnings_silenced():
        from pvlib.iotools import read_tmy3  # (same reason)
        from pvlib.location import Location  # (same reason)

        data, meta = read_tmy3(weather_path(weather), map_variables=True)
        tz = dt.timezone(dt.timedelta(hours=float(meta["TZ"])))
        # TMY3 records are in file order Jan 1 01:00 ... Dec 31 24:00 (hour-ending): record k covers
        # hour k of the year, labelled here at its middle for the solar position.
        times = pd.date_range(dt.datetime(TYPICAL_YEAR, 1, 1, 0, 30), periods=365 * 24, freq="h", tz=tz)
        columns = ["ghi", "dni", "dhi", "temp_air", "wind_speed", "albedo"]
        frame = pd.DataFrame({c: data[c].to_numpy(dtype=float) for c in columns if c in data}, index=times)
        location = Location(meta["latitude"], meta["longitude"], tz=float(meta["TZ"]), altitude=meta["altitude"])
    ac_kw = pvwatts_year(frame, location, tilt, azimuth)
    return ac_kw, dict(meta)


@functools.lru_cache(maxsize=8)
def h25_per_annual_kwh(start: dt.date, days: int) -> np.ndarray:
    """[days, 96] BDEW H25 load (demandlib) for the horizon, kW per kWh/year of consumption.

    Read-only. 15-minute values from ``start`` 00:00 on the horizon's own calendar, no holidays.
    """
    import pandas as pd  # pandas and demandlib load only when the model runs (once per process)

    index = pd.date_range(dt.datetime.combine(start, dt.time()), periods=days * 96, freq="15min")
    with library_warnings_silenced():
        from demandlib.bdew import H25  # (same reason)

        profile = H25(index)
    per_kwh = profile.to_numpy(dtype=float).reshape(days, 96) / BDEW_ANNUAL_KWH
    per_kwh.flags.writeable = False
    return per_kwh


# -- the generator -------------------------------------------------------------------------------
def scaled_with_slot_noise(base: np.ndarray, scale: np.ndarray, slot_sd: float,
                           rng: np.random.Generator, out: np.ndarray) -> np.ndarray:
    """Fill ``out`` [R, D * P] with ``base[d, p] * scale[r, d] * factor[r, d, p]``, clipped at 0.

    ``base`` [D, P] (kW per unit), ``scale`` [R, D] or [R, 1] (units). ``factor`` is uniform with
    mean 1 and standard deviation ``slot_sd``: ``1 - w + (k + 1/2) * 2w / 65536`` with
    ``w = sqrt(3) * slot_sd`` and ``k`` a uniform 16-bit integer from ``rng`` (twice as fast to draw
    as a float, and a step of ``2w / 65536`` is far below any noise level), row block by row block.
    """
    rows = out.shape[0]
    days, periods = base.shape
    half_width = math.sqrt(3.0) * slot_sd
    step = 2.0 * half_width / 65536
    for first in range(0, rows, _BLOCK_ROWS):
        last = min(rows, first + _BLOCK_ROWS)
        k = rng.integers(0, 65536, size=(last - first, days, periods), dtype=np.uint16)
        block = out[first:last].reshape(last - first, days, periods)
        np.multiply(k, step, out=block)
        block += 1.0 - half_width + 0.5 * step
        block *= base
        block *= scale[first:last, :, None]
    if half_width > 1.0:
        np.maximum(out, 0.0, out=out)
    return out


def horizon_pv_per_kwp(scenario) -> np.ndarray:
    """[days, periods_per_day] PV of a 1 kWp system over the scenario's horizon, kW per kWp:
    from the TMY3 station ``weather``, or the place ``latitude``, ``longitude`` (synthetic
    typical year, :mod:`p2pstore.profiles.location`)."""
    s = scenario
    if s.latitude is not None:
        from p2pstore.profiles.location import location_year_pv  # pvlib's maps only for a place

        hourly = location_year_pv(float(s.latitude), float(s.longitude), s.altitude, float(s.utc_offset),
                                  float(s.pv_tilt), float(s.pv_azimuth))
    else:
        hourly, _ = typical_year_pv(s.weather, float(s.pv_tilt), float(s.pv_azimuth))
    return to_slots(hourly[weather_day_index(s.start_date, s.days)], s.slot_minutes)


def horizon_load_per_annual_kwh(scenario) -> np.ndarray:
    """[days, periods_per_day] H25 load over the scenario's horizon, kW per kWh/year."""
    return to_slots(h25_per_annual_kwh(scenario.start_date, scenario.days), scenario.slot_minutes)


def generate_standard(scenario) -> Profiles:
    """Profiles of ``scenario`` from BDEW H25 load and PVWatts PV on a TMY3 year (module docstring).

    Returns loads and PV ``[N, H]`` in kW (mean power per slot), tariffs ``[N]`` in currency/kWh,
    ``p2p_allowed`` ``[H]``, the outage events ``(household index, day)`` and the first slot of
    each maintenance window. The same scenario gives the same arrays (seeded numpy Generators).
    """
    s = scenario
    nc, npro, days = s.consumers, s.prosumers, s.days
    n, periods, h = nc + npro, s.periods_per_day, s.slots
    # Independent streams: a change of horizon leaves tariffs and sizes as they were.
    tariff_rng, size_rng, load_rng, pv_rng, event_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(s.seed).spawn(5))

    lambda_buy = np.zeros(n)
    lambda_sell = np.zeros(n)
    lambda_buy[:nc] = tariff_rng.uniform(*s.consumer_buy_tariff, size=nc)
    lambda_buy[nc:] = tariff_rng.uniform(*s.prosumer_buy_tariff, size=npro)
    lambda_sell[nc:] = tariff_rng.uniform(*s.prosumer_sell_tariff, size=npro)
    annual_kwh = size_rng.uniform(*s.annual_load_kwh, size=n)
    kwp = size_rng.uniform(*s.pv_kwp, size=npro)

    # PV first (its own stream: the order changes no value): the individual load model's many
    # block-sized temporaries leave the allocator slower for a large array filled after them
    pv = np.zeros((n, h))
    scaled_with_slot_noise(horizon_pv_per_kwp(s), kwp[:, None], s.pv_slot_noise, pv_rng, pv[nc:])
    load = np.empty((n, h))
    if s.load_model == "individual":
        from p2pstore.profiles.occupancy import generate_individual_loads  # only for this model

        generate_individual_loads(s.start_date, days, s.slot_minutes, n, load_rng, latitude=s.latitude, out=load)
    else:
        day_factor = np.maximum(load_rng.normal(1.0, s.load_day_noise, size=(n, days)), 0.0)
        scaled_with_slot_noise(horizon_load_per_annual_kwh(s), annual_kwh[:, None] * day_factor,
                               s.load_slot_noise, load_rng, load)

    # Inverter outages: a prosumer's PV is off for a whole day (repeats allowed, as in the notebook).
    out_households = nc + event_rng.integers(0, npro, size=s.inverter_outages)
    out_days = event_rng.integers(0, days, size=s.inverter_outages)
    pv.reshape(n, days, periods)[out_households, out_days] = 0.0
    maintenance = event_rng.integers(0, h - s.maintenance_slots, size=s.maintenance_windows) \
        if s.maintenance_windows else ()
    return generated_profiles(s, load, pv, lambda_buy, lambda_sell, zip(out_households, out_days), maintenance)
