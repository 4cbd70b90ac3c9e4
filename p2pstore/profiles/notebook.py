"""The reference notebook's generator, reproduced draw for draw.

The notebook seeds the legacy global stream (``np.random.seed(seed)``) and then draws, in order:

1. tariffs, household by household (consumers first): a consumer draws its import tariff only,
   a prosumer its import tariff and then its export tariff;
2. loads, household by household: the daily energy target, then per day one day factor
   ``normal(1, load_day_noise)`` followed by ``periods_per_day`` slot noises
   ``normal(0, load_slot_noise)``;
3. PV, prosumer by prosumer: sizing factor, yield per kWp, then per day one cloud factor
   ``normal(1, pv_cloud_noise)`` followed by ``periods_per_day`` slot noises;
4. inverter outages: per event ``randint(0, prosumers)`` then ``randint(0, days)``;
5. P2P maintenance windows: per event ``randint(0, H - maintenance_slots)``.

We use a private :class:`numpy.random.RandomState` (the same legacy Mersenne Twister and Gauss
stream the global functions use) so concurrent scenarios never share state. One household's days
are drawn with a single ``standard_normal`` call: the legacy Gauss generator yields the same
sequence whether asked for scalars or arrays, and ``loc + scale * z`` is exactly the operation
``RandomState.normal`` performs, so every value is bit-identical to the notebook's.
"""

from __future__ import annotations


import numpy as np

from p2pstore.profiles.base import Profiles, generated_profiles


def daily_load_shape(periods_per_day: int, slot_hours: float) -> np.ndarray:
    """[periods_per_day] relative load shape (unitless kW): background, 8:00 and 20:00 peaks."""
    hours = np.arange(periods_per_day) * slot_hours
    morning_peak = np.exp(-0.5 * ((hours - 8) / 1.5) ** 2)
    evening_peak = 1.3 * np.exp(-0.5 * ((hours - 20) / 2.0) ** 2)
    shape = 0.2 + 0.7 * morning_peak + 1.0 * evening_peak
    return np.maximum(shape, 0.05)


def daily_pv_shape(periods_per_day: int, slot_hours: float) -> np.ndarray:
    """[periods_per_day] clear-sky PV power, kW per kWp: a sine between 6:00 and 18:00."""
    hours = np.arange(periods_per_day) * slot_hours
    irradiance = np.sin(np.pi * (hours - 6) / 12.0)
    irradiance[irradiance < 0] = 0.0
    return irradiance


def _noisy_days(rng: np.random.RandomState, base: np.ndarray, days: int,
                day_sd: float, slot_sd: float, floor: float, out: np.ndarray | None = None) -> np.ndarray:
    """[days * P] kW: ``base * day_factor * (1 + slot_noise)`` per day, clipped below at ``floor``.

    Draws the notebook's per-day sequence (one day factor, then P slot noises) in one call.
    ``out``: a ``[days * P]`` array to write into (a row of the ``[N, H]`` profiles), else a new one.
    """
    periods = base.shape[0]
    z = rng.standard_normal(days * (periods + 1)).reshape(days, periods + 1)
    # Same float expressions as legacy_normal: loc + scale * gauss. The slot noise's "0.0 + x"
    # is left out: it is x bit for bit but for x = -0.0, and 1.0 + 0.0 == 1.0 + -0.0.
    day_factor = 1.0 + day_sd * z[:, :1]
    profile = (np.empty(days * periods) if out is None else out).reshape(days, periods)
    np.multiply(z[:, 1:], slot_sd, out=profile)
    profile += 1.0                                   # 1.0 + slot_noise (addition commutes exactly)
    profile *= np.multiply(base, day_factor, out=z[:, 1:])  # (base * day_factor) * (1.0 + slot_noise)
    np.clip(profile, floor, None, out=profile)
    return profile.reshape(-1)


def generate_notebook(scenario) -> Profiles:
    """Profiles of ``scenario`` exactly as the reference notebook generates them.

    Returns loads and PV ``[N, H]`` in kW (mean power per slot), tariffs ``[N]`` in currency/kWh,
    ``p2p_allowed`` ``[H]``, the outage events ``(household index, day)`` and the first slot of
    each maintenance window.
    """
    s = scenario
    nc, npro, days = s.consumers, s.prosumers, s.days
    n = nc + npro
    periods = s.periods_per_day
    slot_hours = s.slot_hours
    h = days * periods
    rng = np.random.RandomState(s.seed)

    # 1. tariffs: consumers draw one value each, prosumers an interleaved (buy, sell) pair.
    lambda_buy = np.zeros(n)
    lambda_sell = np.zeros(n)
    lambda_buy[:nc] = rng.uniform(*s.consumer_buy_tariff, size=nc)
    pairs = rng.uniform((s.prosumer_buy_tariff[0], s.prosumer_sell_tariff[0]),
                        (s.prosumer_buy_tariff[1], s.prosumer_sell_tariff[1]), size=(npro, 2))
    lambda_buy[nc:] = pairs[:, 0]
    lambda_sell[nc:] = pairs[:, 1]

    # 2. loads
    load_shape = daily_load_shape(periods, slot_hours)
    load_shape_kwh = np.sum(load_shape * slot_hours)
    load = np.empty((n, h))
    for i in range(n):
        lo, hi = s.prosumer_daily_kwh if i >= nc else s.consumer_daily_kwh
        target_kwh_day = rng.uniform(lo, hi)
        base = load_shape * (target_kwh_day / load_shape_kwh)
        _noisy_days(rng, base, days, s.load_day_noise, s.load_slot_noise, 0.05, out=load[i])

    # 3. PV, sized on each prosumer's own average daily load
    pv_shape = daily_pv_shape(periods, slot_hours)
    pv_shape_kwh_per_kwp = np.sum(pv_shape * slot_hours)
    pv = np.zeros((n, h))
    for i in range(nc, n):
        avg_daily_load_kwh = np.sum(load[i, :] * slot_hours) / days
        sizing_factor = rng.uniform(*s.pv_sizing_factor)
        yield_per_kwp = rng.uniform(*s.pv_yield_kwh_per_kwp)
        capacity_kwp = sizing_factor * avg_daily_load_kwh / yield_per_kwp
        base = pv_shape * capacity_kwp * (yield_per_kwp / pv_shape_kwh_per_kwp)
        _noisy_days(rng, base, days, s.pv_cloud_noise, s.pv_slot_noise, 0.0, out=pv[i])

    # 4. inverter outages: the prosumer is drawn from all prosumers, a repeat is allowed.
    outages = []
    for _ in range(s.inverter_outages):
        i = nc + int(rng.randint(0, npro))
        day = int(rng.randint(0, days))
        pv[i, day * periods:(day + 1) * periods] = 0.0
        outages.append((i, day))

    # 5. P2P maintenance windows (may overlap)
    maintenance = [int(rng.randint(0, h - s.maintenance_slots)) for _ in range(s.maintenance_windows)]
    return generated_profiles(s, load, pv, lambda_buy, lambda_sell, outages, maintenance)
