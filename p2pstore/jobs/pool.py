"""The worker's settling processes: a pool it manages itself, one run per child at a time.

Unlike :class:`concurrent.futures.ProcessPoolExecutor`, where one dead child breaks the whole
pool and every run in it, each child here is on its own: the parent can stop one (a run past
``--max-run-time``, a run cancelled or reaped meanwhile, a shutdown past its grace) and the
others carry on.

- Children are spawned on demand up to ``capacity`` (an idle child costs ~70 MB), from the
  thread that calls :meth:`SettlerPool.step` (the worker's main thread): the Linux
  parent-death signal follows the thread that started a child.
- Children ignore SIGINT and SIGTERM: a signal sent to the worker's whole process group
  (systemd, ``timeout``, ``docker stop`` through a shell) reaches the parent only, which
  decides when its children stop. They die with the parent (``PR_SET_PDEATHSIG``).
- Protocol over a pipe (:class:`Msg`), parent to child: ``(run, run_id, token, owner)`` or
  ``(stop,)``; child to parent: ``(ready,)``, ``(log, level, text)``, ``(done, token, outcome,
  error)`` with ``outcome`` an :class:`~p2pstore.status.AttemptOutcome` (``committed``,
  ``lost`` or ``error``).
"""

from __future__ import annotations

import collections
import ctypes
import dataclasses
import enum
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing.connection import wait

from p2pstore.errors import UnsettleableError
from p2pstore.jobs.execute import error_text, execute_run
from p2pstore.status import AttemptOutcome, KillReason
from p2pstore.store import Store
from p2pstore.store.retry import call_with_retry, describe
from p2pstore.store.queue.runs import Claim

log = logging.getLogger("p2pstore.worker")

#: A settling process's SQLite statements wait this long for another writer's lock before its
#: write is retried (with a log line); a computed result is never dropped for a lock.
SETTLER_BUSY_TIMEOUT_S = 5.0
#: Memory set aside per settling process when capping ``--concurrency`` (an idle child takes
#: ~70 MB; a 100-household, one-year run a few hundred more).
CHILD_MEMORY_BYTES = 256 * 2**20


class Msg(enum.StrEnum):
    """The first item of every message between the worker and a settling process."""

    run = "run"  # parent -> child: settle this claimed run
    stop = "stop"  # parent -> child: exit
    ready = "ready"  # child -> parent: store open, waiting for a run
    log = "log"  # child -> parent: a log line for the worker's log
    done = "done"  # child -> parent: the run's outcome


def available_memory() -> int | None:
    """Bytes of memory available to new processes (Linux ``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def concurrency_cap(requested: int, available: int | None = None,
                    per_child: int = CHILD_MEMORY_BYTES) -> tuple[int, str | None]:
    """``(allowed, warning)``: ``requested`` capped so that ``allowed`` children of ``per_child``
    bytes fit in ``available`` memory (default: measured now); at least 1."""
    available = available_memory() if available is None else available
    if available is None:
        return requested, None
    allowed = max(1, available // per_child)
    if requested <= allowed:
        return requested, None
    return allowed, (f"--concurrency {requested} capped to {allowed}: each settling process needs about "
                     f"{per_child / 2**20:.0f} MiB and {available / 2**30:.1f} GiB is available")


# -- child ---------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: orphans finish, their write stays guarded
        pass


def child_main(url: str, parent_pid: int, conn) -> None:
    """A settling process: take runs from the pipe until told to stop (or the pipe closes)."""
    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # warm-up, in the child only (the parent never settles): numpy, the settlement and the
    # writer loaded before the child says ready, so that a run's time is its own
    import p2pstore.simulate  # noqa: F401  (start-up cost moved before the first run)
    import p2pstore.store.results.writer  # noqa: F401  (start-up cost moved before the first run)

    def open_store():
        return Store(url, migrate=False, sqlite_busy_timeout_s=SETTLER_BUSY_TIMEOUT_S)

    try:  # open the store before saying ready, so that a run's time is its own
        store = open_store()
    except Exception:  # noqa: BLE001 - the database is away: the first run retries
        store = None
    conn.send((Msg.ready,))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] != Msg.run:
            return
        _, run_id, token, owner = msg

        def on_retry(exc, delay, run_id=run_id):
            conn.send((Msg.log, logging.WARNING,
                       f"run {run_id}: waiting for the database ({describe(exc)}); retrying in {delay:g} s"))

        try:
            if store is None:
                store = call_with_retry(open_store, on_retry=on_retry)
            committed, _ = execute_run(store, Claim(run_id, token, owner), on_retry=on_retry)
            conn.send((Msg.done, token, AttemptOutcome.committed if committed else AttemptOutcome.lost, None))
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the run by the parent
            outcome = AttemptOutcome.unsettleable if isinstance(exc, UnsettleableError) else AttemptOutcome.error
            conn.send((Msg.done, token, outcome, error_text(exc)))


# -- parent --------------------------------------------------------------------------------------
@dataclasses.dataclass
class Job:
    claim: Claim
    submitted: float  # time.monotonic()
    child: _Child | None = None
    started: float | None = None  # time.monotonic() when a child took it


class _Child:
    def __init__(self, ctx, url: str):
        self.conn, child_conn = ctx.Pipe()
        self.proc = ctx.Process(target=child_main, args=(url, os.getpid(), child_conn),
                                name="p2pstore-settler")
        self.proc.start()
        child_conn.close()
        self.ready = False
        self.job: Job | None = None
        self.kill_reason: KillReason | None = None

    def kill(self, reason: KillReason) -> None:
        self.kill_reason = self.kill_reason or reason
        try:
            self.proc.kill()
        except (OSError, ValueError):  # already gone
            pass


#: Outcome events returned by :meth:`SettlerPool.step`: ``(claim, outcome, detail)`` where
#: outcome (an :class:`~p2pstore.status.AttemptOutcome`) is ``committed``, ``lost``, ``error``
#: (detail: the error text), ``died`` (detail: why) or ``killed`` (detail: the
#: :class:`~p2pstore.status.KillReason` given to :meth:`SettlerPool.kill`).
Event = tuple[Claim, AttemptOutcome, "str | None"]


class SettlerPool:
    """Up to ``capacity`` settling processes for the database at ``url``."""

    def __init__(self, url: str, capacity: int):
        self.url = url
        self.capacity = capacity
        self._ctx = multiprocessing.get_context("spawn")
        self._children: list[_Child] = []
        self._pending: collections.deque[Job] = collections.deque()
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._spawn_failures = 0
        self._next_spawn = 0.0
        # a byte on this socket pair wakes step() when a run is submitted from another thread
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    # -- any thread ------------------------------------------------------------------------
    def submit(self, claim: Claim) -> None:
        """Queue ``claim``'s run for the next free child (started by :meth:`step`)."""
        with self._lock:
            self._pending.append(Job(claim, time.monotonic()))
        try:
            self._wake_w.send(b"x")
        except OSError:  # full (a wake-up is pending anyway) or closed
            pass

    def jobs(self) -> list[Job]:
        """Every run submitted and not finished: waiting for a child or being settled."""
        with self._lock:
            return list(self._pending) + [c.job for c in self._children if c.job is not None]

    def overdue(self, limit: float) -> list[Claim]:
        """Runs a child has been settling for longer than ``limit`` seconds."""
        now = time.monotonic()
        with self._lock:
            return [c.job.claim for c in self._children
                    if c.job is not None and c.job.started is not None and now - c.job.started > limit]

    def kill(self, token: str, reason: KillReason) -> bool:
        """Stop the run of claim ``token`` (kill its child, or drop it if not started); its event
        is ``("killed", reason)``. False if no such run is in the pool."""
        with self._lock:
            for job in self._pending:
                if job.claim.token == token:
                    self._pending.remove(job)
                    self._events.append((job.claim, AttemptOutcome.killed, reason))
                    return True
            for c in self._children:
                if c.job is not None and c.job.claim.token == token:
                    c.kill(reason)
                    return True
        return False

    # -- the owning thread -----------------------------------------------------------------
    def warm_up(self) -> None:
        """Start one child now, so that the first run does not wait for numpy to import."""
        with self._lock:
            if not self._children:
                self._children.append(_Child(self._ctx, self.url))

    def step(self, timeout: float) -> list[Event]:
        """Start children and hand them runs as needed, then wait up to ``timeout`` seconds for
        messages and deaths; return the outcome events that arrived."""
        self._dispatch()
        with self._lock:
            children = list(self._children)
        waitables = [self._wake_r] + [c.conn for c in children] + [c.proc.sentinel for c in children]
        ready = set(wait(waitables, timeout))
        if self._wake_r in ready:
            try:
                while self._wake_r.recv(4096):
                    pass
            except OSError:  # drained
                pass
            self._dispatch()
        for c in children:
            if c.conn in ready:
                self._receive(c)
        for c in children:
            if c.proc.sentinel in ready:
                self._receive(c)  # a last message sent just before exiting
                self._buried(c)
        with self._lock:
            events, self._events = self._events, []
        return events

    def _dispatch(self) -> None:
        with self._lock:
            for c in self._children:
                if c.ready and c.job is None and self._pending and c.proc.is_alive():
                    job = self._pending.popleft()
                    try:
                        c.conn.send((Msg.run, job.claim.run_id, job.claim.token, job.claim.owner))
                        c.job, job.child, job.started = job, c, time.monotonic()
                    except OSError:  # died meanwhile: its sentinel fires next
                        self._pending.appendleft(job)
            starting = sum(1 for c in self._children if not c.ready)
            wanted = min(len(self._pending) - starting, self.capacity - len(self._children))
            if wanted > 0 and time.monotonic() >= self._next_spawn:
                for _ in range(wanted):
                    self._children.append(_Child(self._ctx, self.url))

    def _receive(self, c: _Child) -> None:
        while True:
            try:
                if not c.conn.poll():
                    return
                msg = c.conn.recv()
            except (EOFError, OSError):
                return
            if msg[0] == Msg.ready:
                c.ready = True
                self._spawn_failures = 0
            elif msg[0] == Msg.log:
                log.log(msg[1], msg[2])
            elif msg[0] == Msg.done and c.job is not None and msg[1] == c.job.claim.token:
                with self._lock:
                    self._events.append((c.job.claim, msg[2], msg[3]))
                    c.job = None

    def _buried(self, c: _Child) -> None:
        c.proc.join(timeout=1)
        with self._lock:
            if c in self._children:
                self._children.remove(c)
            if c.job is not None:
                why = c.kill_reason
                self._events.append((c.job.claim, AttemptOutcome.killed, why) if why else
                                    (c.job.claim, AttemptOutcome.died, _exit_text(c.proc.exitcode)))
            elif not c.ready:  # died while starting: back off before starting another
                self._spawn_failures += 1
                self._next_spawn = time.monotonic() + min(30.0, 0.5 * 2 ** self._spawn_failures)
                log.error("a settling process exited while starting (%s)", _exit_text(c.proc.exitcode))
        c.conn.close()

    def close(self, timeout: float = 5.0) -> None:
        """Stop every child: idle ones are asked to exit, busy ones are killed."""
        with self._lock:
            children = list(self._children)
            self._children.clear()
        for c in children:
            if c.job is None:
                try:
                    c.conn.send((Msg.stop,))
                except OSError:
                    pass
            else:
                c.kill(KillReason.shutdown)
        deadline = time.monotonic() + timeout
        for c in children:
            c.proc.join(max(0.0, deadline - time.monotonic()))
            if c.proc.is_alive():
                c.kill(KillReason.shutdown)
                c.proc.join(1)
            c.conn.close()
        self._wake_r.close()
        self._wake_w.close()


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if -code == signal.SIGKILL else ""
        return f"the settling process was killed by {name}{hint}"
    return f"the settling process exited with status {code}"
