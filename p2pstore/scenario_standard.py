"""Scenario keys of the ``standard`` generator's load model and location: defaults and checks.

* ``load_model``: ``"h25"`` (unset: every household the BDEW H25 shape, scaled) or
  ``"individual"`` (each household its own occupancy-driven stochastic load,
  :mod:`p2pstore.profiles.occupancy`);
* ``latitude`` / ``longitude`` (degrees, north and east positive), optionally ``altitude``
  (metres; unset: pvlib's altitude map): PV from clear-sky irradiance at that place with a
  stochastic cloud model instead of a TMY3 station (``weather``); the PV array then faces the
  equator unless ``pv_azimuth`` is given (180 = south in the northern hemisphere, 0 = north in
  the southern), and the horizon runs in the place's local standard time, ``utc_offset`` hours
  from UTC (unset: ``round(longitude / 15)``, the nautical time zone, which is recorded in the
  spec of every run).

Kept apart from :mod:`p2pstore.scenario` so that the generator's keys live in one place; like it,
this module touches neither numpy's RNG nor the database.
"""

from __future__ import annotations

from p2pstore.errors import ScenarioError

#: Load models of the ``standard`` generator (unset = the first).
LOAD_MODELS: tuple[str, ...] = ("h25", "individual")

#: The keys below, for messages.
LOCATION_KEYS = ("latitude", "longitude", "altitude", "utc_offset")


def fill_location_defaults(s) -> None:
    """Defaults that follow from a location: PV facing the equator, the nautical time zone.
    Called before the generator's own defaults fill the rest (``weather`` stays unset)."""
    if s.latitude is None or s.longitude is None:
        return
    if s.pv_azimuth is None:
        object.__setattr__(s, "pv_azimuth", 180.0 if s.latitude >= 0 else 0.0)
    if s.utc_offset is None:
        object.__setattr__(s, "utc_offset", float(round(s.longitude / 15.0)))


def validate_standard_keys(s) -> None:
    """:class:`ScenarioError` for generator keys that do not fit together (bounds are checked
    with every numeric key in :data:`p2pstore.scenario.NUMBERS`)."""
    standard = s.generator == "standard" and not s.imported
    if s.load_model is not None:
        if s.load_model not in LOAD_MODELS:
            raise ScenarioError("load_model", f"unknown load model {s.load_model!r} (known: {', '.join(LOAD_MODELS)})")
        if not standard:
            raise ScenarioError("load_model", "only with the standard generator (--generator standard)")
    given = [k for k in LOCATION_KEYS if getattr(s, k) is not None]
    if not given:
        return
    if not standard:
        raise ScenarioError(given[0], "a location is only used by the standard generator (--generator standard)")
    if s.latitude is None or s.longitude is None:
        raise ScenarioError("latitude" if s.latitude is None else "longitude",
                            "a location needs both latitude and longitude")
    if s.weather is not None:
        raise ScenarioError("weather", "give a TMY3 weather file or a location (latitude, longitude), not both")
