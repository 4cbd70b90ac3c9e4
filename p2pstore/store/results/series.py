"""The ``household_series`` view's derived rows, computed with numpy.

The view (migration 0006, docs/schema.md) computes each household's flows and cost from its
load, PV and tariffs (``household_slots``, ``households``) and the mechanism's per-slot factors
(``mechanism_slots``). :func:`derive` performs the same IEEE double operations in the same order,
so it returns the view's values bit for bit: the writer checks a mechanism's declared cost form
with it, and the export stream builds derived rows with it instead of joining row by row.
"""

from __future__ import annotations

import numpy as np

#: Per-slot factors of ``mechanism_slots``, in table order.
FACTORS = ("grid_import_h", "grid_export_h", "p2p_import_h", "p2p_export_h",
           "import_tariff_h", "import_price_h", "export_tariff_h", "export_price_h")
#: The factors of the four flows (``imp * f`` or ``exp * f``); the rest are the cost's.
FLOW_FACTORS = FACTORS[:4]


def derive(load_kw: np.ndarray, pv_kw: np.ndarray, buy: np.ndarray, sell: np.ndarray,
           factors: dict[str, np.ndarray], *, flows: bool = True, scale: bool = True) -> dict[str, np.ndarray]:
    """The view's derived columns: ``grid_import_kwh``, ``grid_export_kwh``, ``p2p_import_kwh``,
    ``p2p_export_kwh`` (unless ``flows`` is False) and ``cost``, as arrays of the broadcast shape
    of the arguments (``[H]`` for one household, ``[N, H]`` for a run). Also ``scale``: the size of
    the cost form's terms, ``import·(|buy·a_im| + |b_im|) + export·(|sell·a_ex| + |b_ex|)``, for
    checking a form against a settlement's costs (unless ``scale`` is False)."""
    f = factors
    imp = np.maximum(np.subtract(load_kw, pv_kw), 0.0)  # the view's CASE; L - PV is never -0.0
    exp = np.maximum(np.subtract(pv_kw, load_kw), 0.0)
    out = {}
    if flows:
        out = {"grid_import_kwh": imp * f["grid_import_h"], "grid_export_kwh": exp * f["grid_export_h"],
               "p2p_import_kwh": imp * f["p2p_import_h"], "p2p_export_kwh": exp * f["p2p_export_h"]}
    side_im = buy * f["import_tariff_h"]
    if scale:
        scale_im = np.abs(side_im)
    side_im += f["import_price_h"]
    side_ex = sell * f["export_tariff_h"]
    if scale:
        scale_ex = np.abs(side_ex)
    side_ex += f["export_price_h"]
    cost = imp * side_im
    cost -= exp * side_ex
    out["cost"] = cost
    if scale:
        scale_im += np.abs(f["import_price_h"])
        scale_ex += np.abs(f["export_price_h"])
        scale_im *= imp
        scale_ex *= exp
        scale_im += scale_ex
        out["scale"] = scale_im
    return out
