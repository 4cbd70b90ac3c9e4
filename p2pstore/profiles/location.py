"""PV for any place on Earth, offline: clear-sky irradiance from pvlib's shipped maps and a
stochastic cloud model, through the same 1 kWp PVWatts system as the TMY3 stations.

For a place (``latitude``, ``longitude``, ``altitude``) the generator builds one synthetic
typical year (8,760 hours, at mid-hour, in the place's local standard time, ``utc_offset`` hours
from UTC), cached per process:

1. **Clear sky**: Ineichen-Perez clear-sky GHI, DNI and DHI (``pvlib.location.Location.get_clearsky``)
   with the monthly Linke turbidity of the place from pvlib's shipped climatology
   (``pvlib.clearsky.lookup_linke_turbidity``, Remund et al. 2003) and, unless given, its
   altitude from pvlib's shipped map (``pvlib.location.lookup_altitude``).
2. **Clouds**: a clear-sky index ``k`` scales GHI. Each day draws ``K_d`` from a Beta
   distribution of mean :data:`CLOUD_MEAN` and standard deviation :data:`CLOUD_SD`, with
   day-to-day persistence: a Gaussian AR(1) of lag-one correlation :data:`CLOUD_PERSISTENCE`
   mapped through the Beta quantile function (a Gaussian copula). Each hour varies around its
   day by a factor ``1 + N(0, HOURLY_SD)``; ``k`` is kept in [0.03, 1.1]. The draws are seeded from
   the place, so one place always has the same typical year, like a TMY3 station.
3. **Diffuse and direct**: the cloudy GHI is split into DNI and DHI by the Erbs et al. (1982)
   correlation (``pvlib.irradiance.erbs``).
4. **Air temperature** (for module temperature only): ``10 + 8 cos(2 pi (day - 196) / 365)`` degC in
   the northern hemisphere, half a year later in the southern; wind 1 m/s.

Limits: the cloud statistics are the same everywhere (no cloud climatology ships offline), so
the seasonal and geographic shape comes from the sun's geometry and the turbidity, while the
annual yield is only roughly the place's (Berlin: about 1,000 kWh/kWp, against about 950-1,000
measured; sunny climates are underestimated). Daylight saving is not applied (as in TMY data).
For measured weather use a TMY3 station (``weather``) or import measured PV.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np

from p2pstore.profiles.pvwatts import TYPICAL_YEAR, library_warnings_silenced, pvwatts_year

#: Mean and standard deviation of the daily clear-sky index (Beta distribution).
CLOUD_MEAN = 0.62
CLOUD_SD = 0.24
#: Lag-one correlation of the daily clear-sky index (weather persists for days).
CLOUD_PERSISTENCE = 0.5
#: Relative standard deviation of an hour's clear-sky index around its day's.
HOURLY_SD = 0.1


def timezone_label(utc_offset: float) -> str:
    """``UTC+10:00`` for 10 hours (the local standard time a place's horizon runs in)."""
    minutes = round(utc_offset * 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def daily_clear_sky_index(rng: np.random.Generator, days: int = 365) -> np.ndarray:
    """[days] daily clear-sky index: Beta marginal, Gaussian AR(1) persistence (module docstring)."""
    from scipy import stats  # scipy only for a location's typical year (once per place and process)

    z = np.empty(days)
    eps = rng.standard_normal(days)
    z[0] = eps[0]
    rho = CLOUD_PERSISTENCE
    for d in range(1, days):
        z[d] = rho * z[d - 1] + np.sqrt(1 - rho * rho) * eps[d]
    common = CLOUD_MEAN * (1 - CLOUD_MEAN) / CLOUD_SD**2 - 1
    return stats.beta.ppf(stats.norm.cdf(z), CLOUD_MEAN * common, (1 - CLOUD_MEAN) * common)


@functools.lru_cache(maxsize=8)
def location_year_pv(latitude: float, longitude: float, altitude: float | None, utc_offset: float,
                     tilt: float, azimuth: float) -> np.ndarray:
    """[365, 24] read-only AC power of a 1 kWp PVWatts system, kW per kWp, over the synthetic
    typical year of the place (module docstring); hour ``h`` of a day is local standard time
    ``[h:00, h+1:00)``."""
    import pandas as pd  # pandas and pvlib only when a location's year is computed

    with library_warnings_silenced():
        from pvlib.clearsky import lookup_linke_turbidity  # (same reason)
        from pvlib.irradiance import erbs  # (same reason)
        from pvlib.location import Location, lookup_altitude  # (same reason)

        tz = dt.timezone(dt.timedelta(hours=utc_offset))
        times = pd.date_range(dt.datetime(TYPICAL_YEAR, 1, 1, 0, 30), periods=365 * 24, freq="h", tz=tz)
        height = float(lookup_altitude(latitude, longitude)) if altitude is None else altitude
        location = Location(latitude, longitude, tz=utc_offset, altitude=height)
        clear = location.get_clearsky(times, model="ineichen",
                                      linke_turbidity=lookup_linke_turbidity(times, latitude, longitude))
        seed = [round((latitude + 90) * 100), round((longitude + 180) * 100), TYPICAL_YEAR]
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        k = np.repeat(daily_clear_sky_index(rng), 24) * (1 + HOURLY_SD * rng.standard_normal(365 * 24))
        ghi = clear["ghi"].to_numpy() * np.clip(k, 0.03, 1.1)
        zenith = location.get_solarposition(times)["apparent_zenith"]
        split = erbs(pd.Series(ghi, index=times), zenith, times)
    day = np.arange(365 * 24) // 24
    season = 196 if latitude >= 0 else 196 - 182.5
    frame = pd.DataFrame({"ghi": ghi, "dni": split["dni"].to_numpy(), "dhi": split["dhi"].to_numpy(),
                          "temp_air": 10 + 8 * np.cos(2 * np.pi * (day - season) / 365),
                          "wind_speed": np.ones(365 * 24)}, index=times)
    return pvwatts_year(frame, location, tilt, azimuth)
