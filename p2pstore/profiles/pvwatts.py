"""The PV model the ``standard`` generator runs on any weather: a 1 kWp PVWatts system (pvlib).

PVWatts is linear in the array size (module and inverter scale together), so one 1 kWp system
per weather year and orientation serves every prosumer, scaled by its kWp.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

#: PVWatts module temperature coefficient of power (1/degC): NREL PVWatts v5, "standard" module.
GAMMA_PDC = -0.0047
#: DC/AC ratio of the PVWatts inverter (PVWatts' default).
DC_AC_RATIO = 1.2
#: Any non-leap year: the calendar the typical year's solar positions are computed in.
TYPICAL_YEAR = 2019


@contextlib.contextmanager
def library_warnings_silenced():
    """demandlib 0.2.2 and pvlib 0.16 still use pandas APIs that pandas 3.1 deprecates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def pvwatts_year(frame, location, tilt: float, azimuth: float) -> np.ndarray:
    """[365, 24] read-only AC power of a 1 kWp PVWatts system, kW per kWp, for ``frame`` (an
    hourly DataFrame of ``ghi, dni, dhi, temp_air, wind_speed[, albedo]`` over the 8,760 hours
    of the typical year, indexed at mid-hour) at ``location`` (a ``pvlib.location.Location``);
    ``tilt`` degrees from horizontal, ``azimuth`` degrees clockwise from north."""
    with library_warnings_silenced():
        # pvlib loads only when a PV year is computed (once per process and weather)
        from pvlib.modelchain import ModelChain
        from pvlib.pvsystem import PVSystem  # (same reason)
        from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS  # (same reason)

        system = PVSystem(
            surface_tilt=tilt, surface_azimuth=azimuth,
            module_parameters={"pdc0": 1000.0, "gamma_pdc": GAMMA_PDC},
            inverter_parameters={"pdc0": 1000.0 / DC_AC_RATIO},
            temperature_model_parameters=TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"],
        )
        chain = ModelChain.with_pvwatts(system, location)
        chain.run_model(frame)
    ac_kw = np.nan_to_num(chain.results.ac.to_numpy(dtype=float) / 1000.0)
    np.clip(ac_kw, 0.0, None, out=ac_kw)
    ac_kw = ac_kw.reshape(365, 24)
    ac_kw.flags.writeable = False
    return ac_kw
