"""Sums over batteries and over slots, each defined so that a community settled in household
chunks gets the same bits as the whole community at once (docs/scale.md).

* Per slot, over batteries (the shared battery's ``s2``): the batteries of each block of
  :data:`~p2pstore.limits.HOUSEHOLD_BLOCK` households are summed together (``np.add.reduceat``),
  and the blocks' sums added in household order, as every community total is
  (:func:`~p2pstore.profiles.base.column_sums`). Chunks hold whole blocks.
* Per battery, over slots (its throughput): one slot after the other, whatever the number of
  batteries in the array (numpy sums a single column pairwise, several columns one row at a time).
"""

from __future__ import annotations

import numpy as np

from p2pstore.limits import HOUSEHOLD_BLOCK


class OrderedTotal:
    """``[H]`` sums added in the order they come: the first copied, the others added in place."""

    def __init__(self):
        self.total: np.ndarray | None = None

    def add(self, rows) -> None:
        for row in rows:
            if self.total is None:
                self.total = np.array(row, dtype=np.float64)
            else:
                self.total += row

    def value(self, empty=0.0):
        """The total, or ``empty`` when nothing was added."""
        return empty if self.total is None else self.total


def block_rows(values: np.ndarray, households: np.ndarray) -> list[np.ndarray]:
    """``[H]`` sums over the batteries (columns of ``values`` ``[H, B]``) of each household block,
    in order; ``households`` ``[B]``: each battery's household index in the community, ascending.
    One ``np.add.reduceat`` over the blocks' columns: each block's sum is the same bits whatever
    other columns or rows the array holds (a chunk's, a block of slots)."""
    if not len(households):
        return []
    block = np.asarray(households) // HOUSEHOLD_BLOCK
    sums = np.add.reduceat(values, [0, *(np.flatnonzero(np.diff(block)) + 1).tolist()], axis=1)
    return [sums[:, j] for j in range(sums.shape[1])]


def battery_total(values: np.ndarray, households: np.ndarray):
    """``[H]``: the sum over every battery per slot (:func:`block_rows` added in order), or the
    float 0.0 without batteries."""
    acc = OrderedTotal()
    acc.add(block_rows(values, households))
    return acc.value()


def slot_sums(values: np.ndarray) -> np.ndarray:
    """``[B]``: each column of ``values`` ``[H, B]`` summed over the slots, one after the other."""
    if values.shape[1] == 1 and values.shape[0]:
        return np.cumsum(values[:, 0])[-1:]
    return np.sum(values, axis=0)


def pre_battery_surplus(load_kw: np.ndarray, pv_kw: np.ndarray) -> np.ndarray:
    """``[H]`` kW: ``sum_i max(n_i, 0) - sum_i max(-n_i, 0)``, ``n = PV - L`` (``[N, H]``): the
    community's export offers minus its import needs, each summed per household block as the
    settlement sums them, a block at a time."""
    offers, needs = OrderedTotal(), OrderedTotal()
    for i in range(0, load_kw.shape[0], HOUSEHOLD_BLOCK):
        side = np.subtract(load_kw[i:i + HOUSEHOLD_BLOCK], pv_kw[i:i + HOUSEHOLD_BLOCK])
        np.maximum(side, 0.0, out=side)
        needs.add([np.sum(side, axis=0)])
        np.subtract(pv_kw[i:i + HOUSEHOLD_BLOCK], load_kw[i:i + HOUSEHOLD_BLOCK], out=side)
        np.maximum(side, 0.0, out=side)
        offers.add([np.sum(side, axis=0)])
    zeros = np.zeros(load_kw.shape[1])
    return offers.value(zeros) - needs.value(zeros)
