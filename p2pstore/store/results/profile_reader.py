"""Household profiles of a large run in a SQLite file, read by a helper process.

Streaming ``household_series`` (export, ``Store.series``) needs every household's load and PV
from ``household_slots``: 7 M values for a 100-household year. Python's ``sqlite3`` makes a float
object of each, seconds of the thread that also feeds the export's formatting threads, holding
the GIL. :class:`ProfileReader` has them read by a helper process (``python -m
p2pstore.store.results.profile_reader URI``) with ADBC's SQLite driver, which reads columns into Arrow in C, a
few households ahead of the stream; the arrays come back as raw float64 bytes over a pipe.

The helper is a second *process*: ADBC's driver carries its own copy of SQLite, and two copies of
SQLite in one process do not see each other's file locks (see "How To Corrupt An SQLite Database
File", section 2.2.1; an export test run that way saw "database disk image is malformed").
Between processes SQLite's locks work as for any other reader. The helper opens the file
read-only and imports only the standard library, numpy, the driver and p2pstore's errors.

Protocol: one request line per household, ``run_id position flat_buy flat_sell`` (floats as
``float.hex``); per request, in order, a header of five little-endian int64 ``(status, n,
first, has_slot, has_tariffs)`` then the float64 arrays ``slot`` (if ``has_slot``; else the slots
are ``first .. first + n - 1``), ``load``, ``pv``, ``buy``, ``sell`` (if ``has_tariffs``) of
``n`` values; status 1: the household has no slots; status 2: an error, ``n`` bytes of its
message follow.
"""

from __future__ import annotations

import signal
import struct
import subprocess
import sys
from collections.abc import Callable

import numpy as np

from p2pstore.errors import StoreError
from p2pstore.store.results.series import OVERRIDES, input_sql

#: ``household_slots`` rows a run must have for a helper process to pay off (it takes ~0.2 s to
#: start, hidden behind the stream's first steps).
MIN_ROWS = 1_000_000

#: Households asked for ahead of the stream (memory: that many profiles in the pipe and buffers).
AHEAD = 8

_HEADER = struct.Struct("<5q")

#: A household's reads of ``household_slots`` (``:r`` run id, ``:p`` position), its inputs as the
#: formula defines them (:mod:`p2pstore.store.results.series`), the view's rules
#: (docs/schema.md), used in this process (:mod:`p2pstore.store.results.streams`) and by the helper:
#: ``shape`` its first and last slot (two index lookups; 0 and -1 when it has none) and whether
#: a slot has a tariff of its own; ``profile`` load and PV; ``slot`` its slots (read when they are
#: not a range); ``tariffs`` the view's ``COALESCE`` with its flat tariffs ``:b``, ``:s``.
_HOUSEHOLD = "FROM household_slots WHERE run_id = :r AND position = :p"
SQL = {
    "shape": f"SELECT COALESCE((SELECT MIN(slot) {_HOUSEHOLD}), 0), COALESCE((SELECT MAX(slot) {_HOUSEHOLD}), -1), "
             f"EXISTS (SELECT 1 {_HOUSEHOLD} AND ({' OR '.join(f'{c} IS NOT NULL' for c in OVERRIDES)}))",
    "profile": f"SELECT {input_sql('load_kw')}, {input_sql('pv_kw')} {_HOUSEHOLD} ORDER BY slot",
    "slot": f"SELECT slot {_HOUSEHOLD} ORDER BY slot",
    "tariffs": f"SELECT {input_sql('buy')}, {input_sql('sell')} {_HOUSEHOLD} ORDER BY slot",
}
#: Columns each statement returns.
WIDTH = {"shape": 3, "profile": 2, "slot": 1, "tariffs": 2}

#: ``rows(name, params) -> WIDTH[name] float64 columns``: statement ``SQL[name]`` executed.
Rows = Callable[[str, dict], list]


def read_profile(rows: Rows, run_id: int, position: int, flat_buy: float, flat_sell: float) -> tuple | None:
    """One household's profile ``(slot, load, pv, buy, sell)`` (None when it has no slots):
    ``slot`` int64, ``load``/``pv`` float64 arrays (kW); ``buy``/``sell`` its per-slot tariffs
    (the view's ``COALESCE``), or its flat floats when no slot has one of its own (numpy
    broadcasts them). Only the columns that carry information are read (the driver's cost grows
    with each one): load and PV; the slots when they are not a range, the tariffs when a slot
    has one."""
    params = {"r": run_id, "p": position}
    first, last, tariffs = (int(column[0]) for column in rows("shape", params))
    if last < first:
        return None
    load, pv = rows("profile", params)
    if last - first == len(load) - 1:  # the primary key makes the slots unique: a range
        slot = np.arange(first, last + 1, dtype=np.int64)
    else:
        slot = rows("slot", params)[0].astype(np.int64)
    buy, sell = float(flat_buy), float(flat_sell)
    if tariffs:
        buy, sell = rows("tariffs", {**params, "b": buy, "s": sell})
    return slot, load, pv, buy, sell


class ProfileReader:
    """A helper process reading the profiles of run ``run_id`` in the SQLite file ``uri`` (a
    read-only ``file:`` URI). ``members``: ``(position, flat_buy, flat_sell)`` in the order the
    profiles will be asked for. :meth:`get` returns what
    :meth:`p2pstore.store.results.streams._HouseholdSlots.read` returns. Close it: the helper ends."""

    def __init__(self, uri: str, run_id: int, members: list[tuple]):
        self.run_id = run_id
        self.order = [m[0] for m in members]
        self.flat = {m[0]: (float(m[1]), float(m[2])) for m in members}
        self.index = {position: k for k, position in enumerate(self.order)}
        self.asked: list[int] = []  # positions asked for, answers not yet read, in order
        self.proc = subprocess.Popen([sys.executable, "-m", "p2pstore.store.results.profile_reader", uri],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def get(self, position: int, wanted=lambda position: True) -> tuple | None:
        """The profile of ``position``; the next :data:`AHEAD` households that ``wanted``
        accepts are asked for too."""
        start = self.index[position]
        ask = [p for p in self.order[start:start + AHEAD] if p not in self.asked and (p == position or wanted(p))]
        try:
            if ask:
                self.proc.stdin.write("".join(f"{self.run_id} {p} {self.flat[p][0].hex()} {self.flat[p][1].hex()}\n"
                                              for p in ask).encode())
                self.proc.stdin.flush()
            self.asked.extend(ask)
            while True:
                answered = self.asked.pop(0)
                profile = self._answer(answered)
                if answered == position:
                    return profile
        except (BrokenPipeError, EOFError):
            raise StoreError(f"the profile reader stopped: {self._stderr()}") from None

    def _answer(self, position: int) -> tuple | None:
        status, n, first, has_slot, has_tariffs = _HEADER.unpack(_read(self.proc.stdout, _HEADER.size))
        if status == 1:
            return None
        if status == 2:
            raise StoreError(f"the profile reader failed: {_read(self.proc.stdout, n).decode('utf-8', 'replace')}")
        count = 2 + bool(has_slot) + 2 * bool(has_tariffs)
        arrays = list(np.frombuffer(_read(self.proc.stdout, 8 * n * count), dtype=np.float64).reshape(count, n))
        slot = arrays.pop(0).astype(np.int64) if has_slot else np.arange(first, first + n, dtype=np.int64)
        buy, sell = arrays[2:] if has_tariffs else self.flat[position]
        return slot, arrays[0], arrays[1], buy, sell

    def _stderr(self) -> str:
        self.close()
        text = self.proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
        return text[-1] if text else f"exit status {self.proc.returncode}"

    def close(self) -> None:
        """End the helper: its input ends (it stops), its output is closed (a helper still
        writing answers nobody reads stops too)."""
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _read(stream, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError
    return data


def _serve(uri: str) -> None:
    """The helper: answer requests from stdin on stdout until stdin ends."""
    import adbc_driver_sqlite.dbapi as adbc  # the driver: loaded by the helper process only

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's; it closes our stdin
    out = sys.stdout.buffer
    # the statements with numbered parameters, bound in the order r, p, b, s
    numbered = {name: sql.replace(":r", "?1").replace(":p", "?2").replace(":b", "?3").replace(":s", "?4")
                for name, sql in SQL.items()}
    with adbc.connect(uri) as conn, conn.cursor() as cursor:
        def rows(name: str, params: dict) -> list:
            cursor.execute(numbered[name], tuple(params.values()))
            table = cursor.fetch_arrow_table()
            return [np.asarray(column.to_numpy(), dtype=np.float64) for column in table.columns]

        for line in sys.stdin:
            run_id, position, buy, sell = line.split()
            try:
                profile = read_profile(rows, int(run_id), int(position), float.fromhex(buy), float.fromhex(sell))
                if profile is None:
                    out.write(_HEADER.pack(1, 0, 0, 0, 0))
                else:
                    slot, load, pv, buy_, sell_ = profile
                    has_slot = bool(slot[-1] - slot[0] != len(slot) - 1)  # not a range: the slots themselves
                    has_tariffs = isinstance(buy_, np.ndarray)
                    arrays = [slot] * has_slot + [load, pv] + [buy_, sell_] * has_tariffs
                    body = b"".join(np.ascontiguousarray(a, dtype=np.float64).tobytes() for a in arrays)
                    out.write(_HEADER.pack(0, len(load), int(slot[0]), int(has_slot), int(has_tariffs)) + body)
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
                message = f"{type(exc).__name__}: {exc}".encode()
                out.write(_HEADER.pack(2, len(message), 0, 0, 0) + message)
            out.flush()


if __name__ == "__main__":
    _serve(sys.argv[1])
