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


def draw_tariffs(rng: np.random.RandomState, s) -> tuple[np.ndarray, np.ndarray]:
    """``(lambda_buy, lambda_sell)`` ``[N]`` currency/kWh, the stream's first draws: consumers one
    value each, then prosumers an interleaved (buy, sell) pair."""
    nc, npro = s.consumers, s.prosumers
    lambda_buy = np.zeros(nc + npro)
    lambda_sell = np.zeros(nc + npro)
    lambda_buy[:nc] = rng.uniform(*s.consumer_buy_tariff, size=nc)
    pairs = rng.uniform((s.prosumer_buy_tariff[0], s.prosumer_sell_tariff[0]),
                        (s.prosumer_buy_tariff[1], s.prosumer_sell_tariff[1]), size=(npro, 2))
    lambda_buy[nc:] = pairs[:, 0]
    lambda_sell[nc:] = pairs[:, 1]
    return lambda_buy, lambda_sell


def draw_load_rows(rng: np.random.RandomState, s, first: int, out: np.ndarray) -> np.ndarray:
    """Fill ``out`` ``[k, H]`` kW with the loads of households ``first .. first + k - 1``, drawn
    from ``rng`` positioned at household ``first``'s load draws (its daily energy target, then
    its days); the stream ends at the next household's."""
    periods, slot_hours = s.periods_per_day, s.slot_hours
    load_shape = daily_load_shape(periods, slot_hours)
    load_shape_kwh = np.sum(load_shape * slot_hours)
    for row, i in enumerate(range(first, first + out.shape[0])):
        lo, hi = s.prosumer_daily_kwh if i >= s.consumers else s.consumer_daily_kwh
        target_kwh_day = rng.uniform(lo, hi)
        base = load_shape * (target_kwh_day / load_shape_kwh)
        _noisy_days(rng, base, s.days, s.load_day_noise, s.load_slot_noise, 0.05, out=out[row])
    return out


def draw_pv_rows(rng: np.random.RandomState, s, load: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Fill ``out`` ``[k, H]`` kW with the PV of ``k`` consecutive prosumers whose loads are
    ``load`` ``[k, H]``, from ``rng`` positioned at the first one's PV draws (sizing factor, yield
    per kWp, then its days); each system is sized on its household's own average daily load."""
    periods, slot_hours, days = s.periods_per_day, s.slot_hours, s.days
    pv_shape = daily_pv_shape(periods, slot_hours)
    pv_shape_kwh_per_kwp = np.sum(pv_shape * slot_hours)
    for row in range(out.shape[0]):
        avg_daily_load_kwh = np.sum(load[row, :] * slot_hours) / days
        sizing_factor = rng.uniform(*s.pv_sizing_factor)
        yield_per_kwp = rng.uniform(*s.pv_yield_kwh_per_kwp)
        capacity_kwp = sizing_factor * avg_daily_load_kwh / yield_per_kwp
        base = pv_shape * capacity_kwp * (yield_per_kwp / pv_shape_kwh_per_kwp)
        _noisy_days(rng, base, days, s.pv_cloud_noise, s.pv_slot_noise, 0.0, out=out[row])
    return out


def draw_events(rng: np.random.RandomState, s) -> tuple[list[tuple[int, int]], list[int]]:
    """``(outages, maintenance)``, the stream's last draws: ``(household index, day)`` per inverter
    outage (a repeat is allowed) and the first slot of each P2P maintenance window."""
    nc, npro = s.consumers, s.prosumers
    outages = []
    for _ in range(s.inverter_outages):
        i = nc + int(rng.randint(0, npro))
        day = int(rng.randint(0, s.days))
        outages.append((i, day))
    maintenance = [int(rng.randint(0, s.slots - s.maintenance_slots)) for _ in range(s.maintenance_windows)]
    return outages, maintenance


def apply_outages(pv: np.ndarray, outages, periods: int, first: int = 0) -> None:
    """Zero, in ``pv`` ``[k, H]`` (households ``first ..``), each outage's day of PV."""
    for i, day in outages:
        if first <= i < first + pv.shape[0]:
            pv[i - first, day * periods:(day + 1) * periods] = 0.0


def generate_notebook(scenario) -> Profiles:
    """Profiles of ``scenario`` exactly as the reference notebook generates them.

    Returns loads and PV ``[N, H]`` in kW (mean power per slot), tariffs ``[N]`` in currency/kWh,
    ``p2p_allowed`` ``[H]``, the outage events ``(household index, day)`` and the first slot of
    each maintenance window. :mod:`p2pstore.profiles.notebook_chunks` makes the same households
    a chunk at a time.
    """
    s = scenario
    nc, n = s.consumers, s.consumers + s.prosumers
    rng = np.random.RandomState(s.seed)
    lambda_buy, lambda_sell = draw_tariffs(rng, s)
    load = draw_load_rows(rng, s, 0, np.empty((n, s.slots)))
    pv = np.zeros((n, s.slots))
    draw_pv_rows(rng, s, load[nc:], pv[nc:])
    outages, maintenance = draw_events(rng, s)
    apply_outages(pv, outages, s.periods_per_day)
    return generated_profiles(s, load, pv, lambda_buy, lambda_sell, outages, maintenance)
