"""SIGTERM and SIGHUP end ``p2pstore run`` the way Ctrl-C (SIGINT) does.

A process manager stopping ``p2pstore run`` (``kill``, ``timeout``, systemd, a closed terminal)
sends SIGTERM or SIGHUP, whose default action kills the process at once: its run would stay
``running`` until its lease expired and then be failed by a reaper. While
:func:`signals_interrupt` is active they raise :class:`SignalInterrupt`, a
:class:`KeyboardInterrupt`, instead, so the code that cancels the run on Ctrl-C cancels it for
them too (:func:`p2pstore.jobs.execute.run_now`), and the command exits with ``128 + signal``.
"""

from __future__ import annotations

import contextlib
import signal
import threading

#: Signals that interrupt ``p2pstore run`` like Ctrl-C.
INTERRUPTING = (signal.SIGTERM, signal.SIGHUP)


class SignalInterrupt(KeyboardInterrupt):
    """SIGTERM or SIGHUP received while :func:`signals_interrupt` was active."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum, frame):
    raise SignalInterrupt(signum)


@contextlib.contextmanager
def signals_interrupt():
    """While the block runs, :data:`INTERRUPTING` signals raise :class:`SignalInterrupt` in the
    main thread (outside it, where handlers cannot be set, nothing changes); the previous
    handlers are restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise) for sig in INTERRUPTING}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def interrupt_name(exc: KeyboardInterrupt) -> str:
    """``"SIGTERM"``/``"SIGHUP"`` for a :class:`SignalInterrupt`, ``"Ctrl-C"`` for SIGINT."""
    return signal.Signals(exc.signum).name if isinstance(exc, SignalInterrupt) else "Ctrl-C"


def interrupt_exit_code(exc: KeyboardInterrupt) -> int:
    """The shell's code for a process ended by the signal: ``128 + signal number`` (130 for SIGINT)."""
    return 128 + (exc.signum if isinstance(exc, SignalInterrupt) else signal.SIGINT)
