"""Helpers for users' own tests (and ours): a controllable clock and a recording sink.

``FakeClock`` is what every time-dependent component (backoff sleeps, deadlines, the retry
budget, the rate limiter, the circuit breaker) accepts as its clock, so their behaviour can be
tested exactly and instantly: ``sleep`` advances time instead of waiting.
"""

from __future__ import annotations

import threading

from boto_resilience.metrics.records import AttemptRecord, CallRecord, StateChange


class FakeClock:
    """A monotonic clock that only moves when told to. Thread-safe.

    ``clock.monotonic()`` reads it, ``clock.sleep(s)`` and ``clock.advance(s)`` move it forward;
    ``clock.sleeps`` lists every requested sleep, in order.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._now

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(0.0, seconds)

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r})"


class RecordingSink:
    """A metrics sink that keeps every record, for assertions in tests."""

    def __init__(self) -> None:
        self.attempts: list[AttemptRecord] = []
        self.calls: list[CallRecord] = []
        self.changes: list[StateChange] = []
        self.closed = False

    def on_attempt(self, record: AttemptRecord) -> None:
        self.attempts.append(record)

    def on_call(self, record: CallRecord) -> None:
        self.calls.append(record)

    def on_state_change(self, change: StateChange) -> None:
        self.changes.append(change)

    def close(self) -> None:
        self.closed = True
