#!/usr/bin/env python3
"""Write the small example community of docs/profiles.md (run from anywhere; overwrites).

12 households over one summer week (2025-06-01 .. 2025-06-07) in 15-minute slots: load.csv and
pv.csv (wide, kW), tariffs.csv (flat, per household, Rs/kWh), tou_tariffs.csv (one hourly
time-of-use tariff for every household) and p2p_allowed.csv (P2P off for a maintenance window).
The values are synthetic: a morning and an evening peak with day-to-day and slot noise, and
clear-sky PV with cloudy days for 7 of the 12 households.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
rng = np.random.default_rng(2025)
times = pd.date_range("2025-06-01", periods=7 * 96, freq="15min")
hours = times.hour + times.minute / 60
names = [f"house-{i:02d}" for i in range(1, 13)]
with_pv = {"house-02", "house-03", "house-05", "house-06", "house-08", "house-10", "house-12"}

shape = 0.2 + 0.7 * np.exp(-0.5 * ((hours - 7.5) / 1.5) ** 2) + 1.1 * np.exp(-0.5 * ((hours - 19.5) / 2) ** 2)
sun = np.clip(np.sin(np.pi * (hours - 5.5) / 14), 0, None)
cloud = np.repeat(rng.uniform(0.35, 1.0, 7), 96)
load, pv = {}, {}
for name in names:
    daily = np.repeat(rng.normal(1, 0.08, 7), 96)
    load[name] = np.round(shape * rng.uniform(0.6, 1.0) * daily * rng.normal(1, 0.08, len(times)).clip(0.5), 3)
    size = rng.uniform(0.6, 1.6) if name in with_pv else 0.0  # kWp
    pv[name] = np.round(size * sun * cloud * rng.normal(1, 0.05, len(times)).clip(0), 3)

pd.DataFrame({"timestamp": times, **load}).to_csv(HERE / "load.csv", index=False, date_format="%Y-%m-%d %H:%M")
pd.DataFrame({"timestamp": times, **pv}).to_csv(HERE / "pv.csv", index=False, date_format="%Y-%m-%d %H:%M")
buy = np.round(np.where([n in with_pv for n in names], rng.uniform(5, 6, 12), rng.uniform(6, 7, 12)), 2)
sell = np.round(np.where([n in with_pv for n in names], rng.uniform(3, 3.8, 12), 0.0), 2)
pd.DataFrame({"household": names, "buy": buy, "sell": sell}).to_csv(HERE / "tariffs.csv", index=False)

hourly = pd.date_range("2025-06-01", periods=7 * 24, freq="60min")
peak = (hourly.hour >= 17) & (hourly.hour < 21)
night = (hourly.hour < 6) | (hourly.hour >= 22)
tou = pd.DataFrame({"timestamp": hourly, "buy": np.select([peak, night], [9.0, 4.5], 6.5),
                    "sell": np.where((hourly.hour >= 11) & (hourly.hour < 15), 2.5, 3.5)})
tou.to_csv(HERE / "tou_tariffs.csv", index=False, date_format="%Y-%m-%d %H:%M")

off = (times >= "2025-06-04 10:00") & (times < "2025-06-04 12:00")
pd.DataFrame({"timestamp": times, "p2p_allowed": np.where(off, "false", "true")}).to_csv(
    HERE / "p2p_allowed.csv", index=False, date_format="%Y-%m-%d %H:%M")
