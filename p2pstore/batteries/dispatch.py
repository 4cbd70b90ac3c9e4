"""The slot-by-slot dispatch: a loop over slots (the state of charge carries over), numpy over
batteries in each slot. docs/batteries.md has the rules; the names follow it.

Headrooms (kW) from the energy ``E`` (kWh) at the start of a slot of ``dt`` hours:
``hc = min(P, (E_max - E) / (eta dt))`` and ``hd = min(P, (E - E_min) eta / dt)``; at its end
``E <- E + eta c dt - d dt / eta``, kept inside ``[E_min, E_max]`` against rounding.

The loop keeps energies only. In storage terms a slot moves ``g = eta c dt`` in or ``d dt / eta``
out, and the headrooms are ``min(eta P dt, E_max - E)`` and ``min(P dt / eta, E - E_min)``, so:

* self-consumption is ``E <- clip(E + delta, E_min, E_max)`` with ``delta = eta dt min(n, P)``
  (``n > 0``) or ``-dt/eta min(-n, P)`` (``n < 0``), fixed in advance: a blocked scan over
  slots (:func:`clamped_cumsum`), elementwise over batteries;
* the community rule moves ``r g`` in every battery with one ratio ``r = min(|s|, sum of
  headrooms) / sum of headrooms`` a slot.

Charge and discharge follow from the change of energy in each slot, ``c = dE / (eta dt)`` when
it rises and ``d = -dE eta / dt`` when it falls: the same values to rounding, conserving energy
by construction, never both at once.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from p2pstore.errors import InputError


@dataclasses.dataclass(frozen=True, eq=False)
class Fleet:
    """Parameters of ``B`` batteries, each a ``[B]`` float64 array: ``capacity_kwh`` (kWh),
    ``power_kw`` (kW), one-way ``efficiency``, ``soc_min`` / ``soc_max`` / ``soc_initial``
    (fractions of the capacity)."""

    capacity_kwh: np.ndarray
    power_kw: np.ndarray
    efficiency: np.ndarray
    soc_min: np.ndarray
    soc_max: np.ndarray
    soc_initial: np.ndarray

    @classmethod
    def of(cls, rows) -> Fleet:
        """A fleet from rows ``(capacity_kwh, power_kw, efficiency, soc_min, soc_max, soc_initial)``."""
        a = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
        return cls(*(np.ascontiguousarray(a[:, k]) for k in range(6)))

    @classmethod
    def joined(cls, fleets) -> Fleet:
        return cls(*(np.concatenate([getattr(f, k.name) for f in fleets]) for k in dataclasses.fields(cls)))

    def __len__(self) -> int:
        return len(self.capacity_kwh)

    @property
    def e_min(self) -> np.ndarray:
        return self.soc_min * self.capacity_kwh

    @property
    def e_max(self) -> np.ndarray:
        return self.soc_max * self.capacity_kwh

    @property
    def e_initial(self) -> np.ndarray:
        return np.minimum(np.maximum(self.soc_initial * self.capacity_kwh, self.e_min), self.e_max)


class Slot:
    """What a dispatch rule sees in slot ``index`` (read it, never modify it): ``net_kw`` ``[B]``
    (``PV - L`` of each home battery's household), ``surplus_kw`` (the community's surplus before
    batteries, ``sum max(n, 0) - sum max(-n, 0)`` over every household), ``charge_room_kw`` and
    ``discharge_room_kw`` ``[B]`` (the headrooms ``hc``, ``hd``), ``zeros`` ``[B]``."""

    __slots__ = ("index", "net_kw", "surplus_kw", "charge_room_kw", "discharge_room_kw", "zeros")


def self_consumption_steps(net_kw: np.ndarray, fleet: Fleet, slot_hours: float) -> np.ndarray:
    """``[H, B]`` kWh: each battery's change of energy under self-consumption when it has room,
    ``eta dt min(n, P)`` or ``-dt/eta min(-n, P)`` (``net_kw`` ``[H, B]``)."""
    dt, eta, power = float(slot_hours), fleet.efficiency, fleet.power_kw
    step = np.minimum(np.maximum(net_kw, 0.0), power)
    step *= eta * dt
    out = np.minimum(np.maximum(-net_kw, 0.0), power)
    out *= dt / eta
    step -= out
    return step


#: Slots per chunk of the passes over ``[H, B]`` arrays (their temporaries stay in cache).
CHUNK_SLOTS = 256


def net_rows(load_kw: np.ndarray, pv_kw: np.ndarray, rows: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``[stop - start, B]``: ``PV - L`` of households ``rows`` in slots ``start:stop`` (time-major)."""
    return np.subtract(pv_kw[rows, start:stop], load_kw[rows, start:stop]).T


def dispatch_homes(load_kw: np.ndarray, pv_kw: np.ndarray, rows: np.ndarray, surplus_kw: np.ndarray,
                   p2p_on: np.ndarray, fleet: Fleet, rule: str, slot_hours: float, soc: np.ndarray,
                   function=None, factors: list | None = None, replay: bool = False) -> None:
    """Dispatch the home batteries of households ``rows`` (``[B]`` indices into ``load_kw`` and
    ``pv_kw``, ``[N, H]`` kW) slot by slot, writing their energy at the end of each slot into
    ``soc`` ``[H, B]`` (kWh).

    ``surplus_kw`` ``[H]``: the community's surplus before batteries; ``p2p_on`` ``[H]`` bool;
    ``rule``: a built-in rule's name, or (with ``function``, a plugin) any name. In P2P-off slots
    every battery follows self-consumption whatever the rule. ``factors`` (the community rule, a
    list of ``H`` floats): each slot's headroom factor, written, or with ``replay`` read
    (:func:`community_loop`).

    A built-in rule's energies of a battery depend on its own household and on per-slot community
    values only (the surplus, the factors), so a subset of the batteries gets the same bits.
    """
    n_slots = soc.shape[0]
    if not len(fleet) or not n_slots:
        return
    dt = float(slot_hours)
    energy = fleet.e_initial.copy()
    on = np.asarray(p2p_on, dtype=bool).tolist()

    def steps(start: int, stop: int) -> np.ndarray:
        return self_consumption_steps(net_rows(load_kw, pv_kw, rows, start, stop), fleet, dt)

    if rule == "self_consumption" and function is None:
        every = np.empty((n_slots, len(fleet)))
        for start in range(0, n_slots, CHUNK_SLOTS):
            every[start:start + CHUNK_SLOTS] = steps(start, start + CHUNK_SLOTS)
        clamped_cumsum(every, energy, fleet.e_min, fleet.e_max, soc)
    elif function is None:
        community_loop(_slot_steps(steps), np.asarray(surplus_kw, dtype=np.float64).tolist(), on, fleet, dt, energy,
                       soc, [1.0] * n_slots if factors is None else factors, replay)
    else:
        net = np.empty((n_slots, len(fleet)))
        for start in range(0, n_slots, CHUNK_SLOTS):
            net[start:start + CHUNK_SLOTS] = net_rows(load_kw, pv_kw, rows, start, start + CHUNK_SLOTS)
        _plugin(net, steps, np.asarray(surplus_kw, dtype=np.float64).tolist(), on, fleet, dt, energy, soc, rule,
                function)


#: Slots per block of :func:`clamped_cumsum` (a day of 15-minute slots).
BLOCK_SLOTS = 96


def clamped_cumsum(steps: np.ndarray, start: np.ndarray, lo: np.ndarray, hi: np.ndarray, out: np.ndarray) -> None:
    """``out[h] = clamp(out[h - 1] + steps[h], lo, hi)`` from ``out[-1] = start`` (``[H, B]``,
    ``[B]``), without a loop over every slot.

    A step ``x -> clamp(x + a, l, u)`` composed with the next ``(a2, l2, u2)`` is again one:
    ``(a + a2, clamp(l + a2, l2, u2), clamp(u + a2, l2, u2))``. Each block of
    :data:`BLOCK_SLOTS` slots is composed into one step (a loop over the slots of a block,
    numpy over blocks and batteries), the blocks' starts follow one block at a time, and each
    block is then replayed from its start: the slot-by-slot recursion to rounding.
    """
    h, b = steps.shape
    k = min(BLOCK_SLOTS, max(h, 1))
    m = -(-h // k)
    if m * k != h:  # pad with zero steps: clamp(x + 0) = x inside the bounds
        padded = np.zeros((m * k, b))
        padded[:h] = steps
        steps = padded
    d = steps.reshape(m, k, b)
    total, low, high = np.zeros((m, b)), np.full((m, b), -np.inf), np.full((m, b), np.inf)
    for j in range(k):
        total += d[:, j]
        for bound in (low, high):
            bound += d[:, j]
            np.maximum(bound, lo, out=bound)
            np.minimum(bound, hi, out=bound)
    starts = np.empty((m, b))
    energy = start.copy()
    for i in range(m):
        starts[i] = energy
        energy += total[i]
        np.maximum(energy, low[i], out=energy)
        np.minimum(energy, high[i], out=energy)
    replay = np.empty((m, k, b))
    for j in range(k):
        starts += d[:, j]
        np.maximum(starts, lo, out=starts)
        np.minimum(starts, hi, out=starts)
        replay[:, j] = starts
    out[:] = replay.reshape(m * k, b)[:h]


def _slot_steps(steps):
    """``step(h)`` ``[B]``: row ``h`` of ``steps(start, stop)``, computed a block of
    :data:`CHUNK_SLOTS` slots at a time (the same values: every operation is elementwise)."""
    block, first = None, -CHUNK_SLOTS  # no block yet: slot 0 lies outside

    def step(h: int) -> np.ndarray:
        nonlocal block, first
        if not first <= h < first + CHUNK_SLOTS:
            first = h - h % CHUNK_SLOTS
            block = steps(first, first + CHUNK_SLOTS)
        return block[h - first]

    return step


def community_loop(step, surplus, on, fleet, dt, energy, soc, factors, replay=False, first=0) -> None:
    """The community rule's loop (docs/batteries.md) over ``len(surplus)`` slots from slot
    ``first`` (``on``: their P2P flags), in storage energies: each row of ``soc`` is the energy
    of the slot before plus what moved in the slot (``energy``: before the first); ``step(h)`` is
    slot ``h``'s self-consumption step (P2P-off slots; ``h`` counted from slot 0).

    A P2P-on slot ``h`` moves ``f g`` into (or out of) every battery, ``g`` its headroom and
    ``f`` the slot's factor ``min(|s|, sum of headrooms) / sum of headrooms``, written to
    ``factors[h]`` (a list over every slot); with ``replay`` it is read from there instead, so a
    subset of the batteries replays its part of a loop over all of them bit for bit (a factor of
    1 is never multiplied)."""
    eta, power = fleet.efficiency, fleet.power_kw
    e_min, e_max = fleet.e_min, fleet.e_max
    cap_in, cap_out = eta * power * dt, power * dt / eta      # kWh a slot at full power
    w_in, w_out = 1.0 / (eta * dt), eta / dt                  # storage kWh -> AC kW
    g = np.empty_like(energy)
    before = energy
    for j, s in enumerate(surplus):
        now = soc[j]
        if not on[j]:  # P2P off: self-consumption
            np.add(before, step(first + j), out=now)
            np.minimum(now, e_max, out=now)
            np.maximum(now, e_min, out=now)
        elif s > 0:
            np.subtract(e_max, before, out=g)
            np.minimum(g, cap_in, out=g)
            if replay:
                f = factors[first + j]
            else:
                room = float(g @ w_in)
                f = factors[first + j] = s / room if 0 < s < room else 1.0
            if f != 1.0:  # else nothing to scale (or nothing moves): g as it is
                g *= f
            np.add(before, g, out=now)
            np.minimum(now, e_max, out=now)
        elif s < 0:
            np.subtract(before, e_min, out=g)
            np.minimum(g, cap_out, out=g)
            if replay:
                f = factors[first + j]
            else:
                room = float(g @ w_out)
                f = factors[first + j] = -s / room if 0 < -s < room else 1.0
            if f != 1.0:  # (same reason)
                g *= f
            np.subtract(before, g, out=now)
            np.maximum(now, e_min, out=now)
        else:
            now[:] = before
        before = now


#: Slack a plugin rule's answer may exceed its headroom by (relative), for rounding.
ANSWER_RTOL = 1e-12


def _plugin(net, steps, surplus, on, fleet, dt, energy, soc, rule, function) -> None:
    """A plugin rule's loop: it is called with a :class:`Slot` in every P2P-on slot and its
    answer checked (:func:`_check_answer`)."""
    eta, power = fleet.efficiency, fleet.power_kw
    e_min, e_max = fleet.e_min, fleet.e_max
    slot = Slot()
    slot.zeros = np.zeros(len(energy))
    for h, s in enumerate(surplus):
        if not on[h]:
            energy += steps(h, h + 1)[0]
        else:
            hc = np.minimum(power, (e_max - energy) / (eta * dt))
            hd = np.minimum(power, (energy - e_min) * eta / dt)
            slot.index, slot.net_kw, slot.surplus_kw, slot.charge_room_kw, slot.discharge_room_kw = \
                h, net[h], s, hc, hd
            c, d = _check_answer(rule, h, *function(slot), hc, hd)
            energy += eta * c * dt - d * dt / eta
        np.minimum(energy, e_max, out=energy)
        np.maximum(energy, e_min, out=energy)
        soc[h] = energy


def _check_answer(name: str, h: int, c, d, hc: np.ndarray, hd: np.ndarray):
    """``(c, d)`` as arrays, or :class:`InputError` naming rule ``name`` and slot ``h`` unless
    ``0 <= c <= hc``, ``0 <= d <= hd`` and ``c * d = 0`` (finite, of the batteries' shape)."""
    c, d = np.asarray(c, dtype=np.float64), np.asarray(d, dtype=np.float64)
    problem = None
    if c.shape != hc.shape or d.shape != hd.shape:
        problem = f"returned shapes {c.shape} and {d.shape}, expected {hc.shape}"
    elif not (np.isfinite(c).all() and np.isfinite(d).all()):
        problem = "returned a value that is not finite"
    elif (c < 0).any() or (d < 0).any():
        problem = "returned a negative charge or discharge"
    elif (c > hc * (1 + ANSWER_RTOL)).any() or (d > hd * (1 + ANSWER_RTOL)).any():
        problem = "exceeded a battery's headroom"
    elif (c * d).any():
        problem = "charged and discharged a battery at once"
    if problem:
        raise InputError(f"dispatch rule {name!r} in slot {h}: {problem}")
    return np.minimum(c, hc), np.minimum(d, hd)


def dispatch_shared(left_kw: np.ndarray, p2p_on: np.ndarray, fleet: Fleet, slot_hours: float, soc: np.ndarray) -> None:
    """Dispatch the shared battery (``fleet`` of one) after the home batteries, writing its
    energy at the end of each slot into ``soc`` ``[H]``: in P2P-on slots it stores what is left
    of the community's surplus, ``left_kw = s + sum d - sum c`` (``[H]``), or covers what is
    left of its deficit; it idles in P2P-off slots. Python floats: one battery."""
    dt = float(slot_hours)
    eta, power = float(fleet.efficiency[0]), float(fleet.power_kw[0])
    e_min, e_max = float(fleet.e_min[0]), float(fleet.e_max[0])
    energy = float(fleet.e_initial[0])
    on = np.asarray(p2p_on, dtype=bool).tolist()
    k_in, k_out = eta * dt, dt / eta
    out = [0.0] * len(on)
    for h, s2 in enumerate(np.asarray(left_kw, dtype=np.float64).tolist()):
        if on[h] and s2 > 0:
            energy = min(energy + min(s2, power) * k_in, e_max)
        elif on[h] and s2 < 0:
            energy = max(energy - min(-s2, power) * k_out, e_min)
        out[h] = energy
    soc[:] = out


def finish(soc: np.ndarray, fleet: Fleet, slot_hours: float, charge: np.ndarray, discharge: np.ndarray,
           before: np.ndarray | None = None, each=None) -> None:
    """From the energies ``soc`` ``[H, B]`` at the end of each slot, write ``charge`` and
    ``discharge`` ``[H, B]`` (kW): ``c = dE / (eta dt)`` where the energy rose, ``d = -dE eta /
    dt`` where it fell (each at most ``P``, against rounding). ``before`` ``[B]``: the energies
    before the first row (default: the initial ones). A chunk of slots at a time, so the
    temporaries stay in cache; elementwise, so any block of slots or batteries gets the same bits.
    ``each(start, stop, charge, discharge)``: called on each chunk of slots while it is in cache."""
    n_slots = soc.shape[0]
    to_kw_in = 1.0 / (fleet.efficiency * slot_hours)
    to_kw_out = fleet.efficiency / slot_hours
    power = fleet.power_kw
    first = fleet.e_initial if before is None else before
    for start in range(0, n_slots, CHUNK_SLOTS):
        stop = min(start + CHUNK_SLOTS, n_slots)
        c, d = charge[start:stop], discharge[start:stop]
        now = soc[start:stop]
        previous = soc[start - 1:stop - 1] if start else np.vstack([first[None, :], soc[:stop - 1]])
        # two subtractions, not one and a negation: numpy 2.4's in-place np.negative is wrong on
        # strided views (these are column slices)
        np.subtract(now, previous, out=c)
        np.subtract(previous, now, out=d)
        np.maximum(c, 0.0, out=c)
        c *= to_kw_in
        np.minimum(c, power, out=c)
        np.maximum(d, 0.0, out=d)
        d *= to_kw_out
        np.minimum(d, power, out=d)
        if each is not None:
            each(start, stop, c, d)
