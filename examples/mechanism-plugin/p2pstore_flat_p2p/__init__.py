"""An example p2pstore mechanism: peers trade at the static mid price, residuals at own tariffs."""

import numpy as np


def flat_p2p(community):
    """Match ``min(I, E)`` between peers at ``(buy_ref + sell_ref) / 2``; the rest of each
    household's import need and export offer goes to the grid at its own tariffs. In P2P-off
    slots nothing is matched, so every household settles conventionally.

    ``community``: p2pstore's view of the flows and tariffs (docs/mechanisms.md, "Writing a
    mechanism"). Returns the ``[N, H]`` costs (currency, positive = the household pays) and the
    optional per-slot outputs p2pstore stores with them.
    """
    c = community
    mid = (c.buy_ref + c.sell_ref) / 2                 # [H] static mid price, currency/kWh
    f_im, f_ex = c.p2p_fractions()                     # [H] shares matched by peers (0 when off)
    dt = c.slot_hours
    cost = (c.import_kw * dt * (f_im * mid + (1 - f_im) * c.buy)
            - c.export_kw * dt * (f_ex * mid + (1 - f_ex) * c.sell))
    return {
        "cost": cost,
        "p2p_price": np.where(c.p2p_allowed, mid, np.nan),  # NaN: no P2P price (stored as NULL)
        "p2p_import_share": f_im,
        "p2p_export_share": f_ex,
    }


# Each household's cost needs only its own flows and tariffs and the community's per-slot totals,
# so a large community may be settled a chunk of households at a time (docs/scale.md).
flat_p2p.settles_in_chunks = True
