"""What a plugin mechanism sees and returns (docs/mechanisms.md, "Writing a mechanism").

A plugin is one function ``mechanism(community) -> costs``: it gets a :class:`Community` (the
community's flows and tariffs as read-only numpy arrays) and returns either the ``[N, H]`` cost
array (currency per household and slot, positive = the household pays) or a mapping with that
array under ``"cost"`` and any of the optional per-slot ``[H]`` arrays of :data:`OPTIONAL_OUTPUTS`.
:func:`settle_plugin` checks the output and turns it into a
:class:`~p2pstore.settlement.result.MechanismResult`, so a plugin's results are stored, compared
and reported exactly like a built-in's. Anything wrong (an exception, a wrong shape, NaN costs)
becomes one :class:`~p2pstore.errors.MechanismError` line naming the plugin.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import cached_property

import numpy as np

from p2pstore.errors import MechanismError
from p2pstore.profiles.base import Profiles
from p2pstore.settlement.prices import grid_shares, p2p_fractions
from p2pstore.settlement.result import Flows, MechanismResult

#: Optional ``[H]`` outputs of a plugin: per-slot prices (currency/kWh; NaN = undefined, stored as
#: NULL) and the shares of import needs / export offers met by peers (in [0, 1]; they give the
#: P2P and grid volumes; 0 in every slot when omitted).
OPTIONAL_OUTPUTS = ("import_price", "export_price", "p2p_price", "p2p_import_share", "p2p_export_share")


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


@dataclasses.dataclass(frozen=True, eq=False)
class Community:
    """The community a plugin settles: ``N`` households, ``H`` slots; every array is read-only.

    Per household and slot, ``[N, H]`` kW: ``load_kw``, ``pv_kw``, ``import_kw`` (``L - min(L, PV)``,
    what the household needs from outside) and ``export_kw`` (``PV - min(L, PV)``, what it offers).
    Per slot, ``[H]`` kW: ``import_total_kw`` (``I``), ``export_total_kw`` (``E``). Tariffs,
    currency/kWh: ``buy`` / ``sell`` are each household's own, ``[N, 1]`` (flat) or ``[N, H]``
    (time-varying), so ``import_kw * buy`` works either way; ``buy_ref`` / ``sell_ref`` are the
    community's reference tariffs per slot ``[H]`` (mean buy tariff, mean positive sell tariff).
    ``p2p_allowed`` ``[H]`` is False in P2P maintenance slots; ``slot_hours`` is the slot length
    in hours (``dt``: kW x dt = kWh).
    """

    profiles: Profiles
    flows: Flows

    @property
    def n_households(self) -> int:
        return self.profiles.n_households

    @property
    def n_slots(self) -> int:
        return self.profiles.n_slots

    @property
    def slot_hours(self) -> float:
        return self.flows.slot_hours

    @property
    def labels(self) -> np.ndarray:
        """[N] household names."""
        return _read_only(self.profiles.labels)

    @property
    def kinds(self) -> np.ndarray:
        """[N] ``"consumer"`` or ``"prosumer"``."""
        return _read_only(self.profiles.kinds)

    @property
    def load_kw(self) -> np.ndarray:
        return _read_only(self.flows.load_kw)

    @property
    def pv_kw(self) -> np.ndarray:
        return _read_only(self.flows.pv_kw)

    @property
    def import_kw(self) -> np.ndarray:
        return _read_only(self.flows.import_kw)

    @property
    def export_kw(self) -> np.ndarray:
        return _read_only(self.flows.export_kw)

    @property
    def import_total_kw(self) -> np.ndarray:
        return _read_only(self.flows.import_total_kw)

    @property
    def export_total_kw(self) -> np.ndarray:
        return _read_only(self.flows.export_total_kw)

    @cached_property
    def buy(self) -> np.ndarray:
        return _read_only(self._household_tariff(self.profiles.lambda_buy))

    @cached_property
    def sell(self) -> np.ndarray:
        return _read_only(self._household_tariff(self.profiles.lambda_sell))

    @staticmethod
    def _household_tariff(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        return t[:, None] if t.ndim == 1 else t

    @cached_property
    def buy_ref(self) -> np.ndarray:
        return self.profiles.reference_tariffs()[0]

    @cached_property
    def sell_ref(self) -> np.ndarray:
        return self.profiles.reference_tariffs()[1]

    @property
    def p2p_allowed(self) -> np.ndarray:
        return _read_only(np.asarray(self.profiles.p2p_allowed, dtype=bool))

    def p2p_fractions(self) -> tuple[np.ndarray, np.ndarray]:
        """``(f_im, f_ex)`` ``[H]``: the shares of import needs and export offers that peers can
        match, ``min(I, E) / I`` and ``min(I, E) / E`` (0 where the side is empty or P2P is off)."""
        return p2p_fractions(self.flows.import_total_kw, self.flows.export_total_kw, self.profiles.p2p_allowed)

    def grid_shares(self) -> tuple[np.ndarray, np.ndarray]:
        """``(1 - f_im, 1 - f_ex)`` ``[H]`` computed without cancellation (1 where P2P is off)."""
        return grid_shares(self.flows.import_total_kw, self.flows.export_total_kw, self.profiles.p2p_allowed)


def settle_plugin(name: str, describe: str, function, profiles: Profiles, flows: Flows) -> MechanismResult:
    """Call plugin ``function`` on the community and check what it returns.

    ``describe`` names the plugin in errors (``"plugin 'x' (dist 1.0, module:function)"``).
    Raises :class:`MechanismError` (one line) when the plugin raises, returns something that is
    not an ``[N, H]`` cost array (or a mapping holding one under ``"cost"``), returns NaN or
    infinite costs, or optional outputs of the wrong shape or range.
    """
    n, h = profiles.n_households, profiles.n_slots

    def fail(problem: str):
        raise MechanismError(f"mechanism {describe} {problem}; the run's results are not stored")

    try:
        out = function(Community(profiles, flows))
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else ""
        fail(f"raised {type(exc).__name__}" + (f": {text}" if text else ""))
    extras: dict = {}
    if isinstance(out, Mapping):
        unknown = [k for k in out if k != "cost" and k not in OPTIONAL_OUTPUTS]
        if unknown:
            fail(f"returned unknown key {unknown[0]!r} (known: cost, {', '.join(OPTIONAL_OUTPUTS)})")
        if "cost" not in out:
            fail("returned a mapping without 'cost'")
        extras = {k: v for k, v in out.items() if k != "cost" and v is not None}
        out = out["cost"]
    cost = _float_array(out, fail, "costs")
    if cost.shape != (n, h):
        fail(f"returned costs of shape {cost.shape}, expected [N, H] = ({n}, {h})")
    bad = ~np.isfinite(cost)
    if bad.any():
        i, k = np.unravel_index(int(np.flatnonzero(bad)[0]), cost.shape)
        fail(f"returned a non-finite cost ({cost[i, k]}) for household {str(profiles.labels[i])!r} in slot {k}")
    arrays = {}
    for key, value in extras.items():
        a = _float_array(value, fail, key)
        if a.shape != (h,):
            fail(f"returned {key} of shape {a.shape}, expected [H] = ({h},)")
        if key.endswith("_share"):
            if not (np.isfinite(a).all() and (a >= 0).all() and (a <= 1).all()):
                fail(f"returned {key} outside [0, 1] or NaN")
        elif np.isinf(a).any():
            fail(f"returned an infinite {key} (use NaN for an undefined price)")
        arrays[key] = a
    if not (cost.flags.owndata and cost.flags.writeable):  # a view of the community's arrays
        cost = cost.copy()
    return MechanismResult.from_cost(name, flows, cost, **arrays)


def _float_array(value, fail, what: str) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        fail(f"returned {what} as {type(value).__name__}, expected a numpy array")
    if value.dtype.kind not in "fiub":
        fail(f"returned {what} of dtype {value.dtype}, expected numbers")
    return np.asarray(value, dtype=np.float64)
