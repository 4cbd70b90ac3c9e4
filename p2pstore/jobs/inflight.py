"""The runs a worker holds, by claim token (never by run id or worker name), shared by its
threads: the claim tick adds, the lease renewal and the time limit mark a run being stopped,
the outcome recorder removes."""

from __future__ import annotations

import dataclasses
import threading

from p2pstore.store.queue.runs import Claim


@dataclasses.dataclass
class Attempt:
    """One held run: its claim, and what is being done to it."""

    claim: Claim
    recording: bool = False  # its outcome is being recorded
    killing: bool = False  # its settling process is being stopped


class Inflight:
    """Thread-safe set of :class:`Attempt` by claim token."""

    def __init__(self):
        self._by_token: dict[str, Attempt] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_token)

    def add(self, claim: Claim) -> None:
        with self._lock:
            self._by_token[claim.token] = Attempt(claim)

    def claims(self) -> list[Claim]:
        with self._lock:
            return [a.claim for a in self._by_token.values()]

    def start_killing(self, token: str) -> bool:
        """Mark the run of ``token`` as being stopped; False if it is unknown, being recorded, or
        already being stopped (then leave it alone)."""
        with self._lock:
            attempt = self._by_token.get(token)
            if attempt is None or attempt.recording or attempt.killing:
                return False
            attempt.killing = True
            return True

    def start_recording(self, token: str) -> Attempt | None:
        """Mark the run of ``token`` as having its outcome recorded; None if unknown or already so."""
        with self._lock:
            attempt = self._by_token.get(token)
            if attempt is None or attempt.recording:
                return None
            attempt.recording = True
            return attempt

    def remove(self, token: str) -> None:
        with self._lock:
            self._by_token.pop(token, None)

    def run_ids(self) -> list[int]:
        with self._lock:
            return [a.claim.run_id for a in self._by_token.values()]
