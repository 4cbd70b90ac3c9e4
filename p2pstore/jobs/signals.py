"""How a worker is told to stop: the first SIGTERM/SIGINT (or :meth:`StopControl.stop`) stops
claiming and lets held runs finish within the grace period; a second one, or a fatal database
error, releases them at once. SIGUSR1 prints every thread's stack (what a stuck worker waits
for)."""

from __future__ import annotations

import faulthandler
import io
import logging
import signal
import threading
from collections.abc import Callable

from p2pstore.store.retry import describe

log = logging.getLogger("p2pstore.worker")


class StopControl:
    """The events a worker's threads watch.

    - ``stop_event``: stop claiming and shut down;
    - ``hurry_event``: release held runs now (second signal, or a fatal error);
    - ``give_up``: the release budget is spent: stop retrying the database.
    """

    def __init__(self, name: str):
        self.name = name
        self.stop_event = threading.Event()
        self.hurry_event = threading.Event()
        self.give_up = threading.Event()
        self.fatal: str | None = None  # the permanent database error that ended a burst worker

    def stop(self) -> None:
        """First call: stop claiming; second call: release held runs at once."""
        if self.stop_event.is_set():
            self.hurry_event.set()
        self.stop_event.set()

    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def fail(self, where: str, exc: BaseException) -> None:
        """A permanent database error in burst mode: remember it (raised when the worker exits)
        and stop now."""
        if self.fatal is None:
            self.fatal = f"database {where!r}: {describe(exc)}"
            log.error("worker %s: permanent database error (%s); stopping", self.name, describe(exc))
        self.stop_event.set()
        self.hurry_event.set()

    def install(self, held: Callable[[], int], grace: float) -> None:
        """Handle SIGTERM/SIGINT (and SIGUSR1) from the main thread; ``held()``: runs held now
        (for the log line)."""
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum, _frame):
            name = signal.Signals(signum).name
            if self.stop_event.is_set():
                log.warning("worker %s: %s again: stopping held runs now (back to the queue)", self.name, name)
            else:
                log.info("worker %s: %s: no new claims; finishing %d held run(s) (grace %g s)",
                         self.name, name, held(), grace)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        try:
            faulthandler.register(signal.SIGUSR1, all_threads=True)
        except (AttributeError, ValueError, io.UnsupportedOperation):  # stderr is no file (embedded, tests)
            pass
