"""The circuit breaker: fail fast while an endpoint is persistently unavailable.

One breaker per ``(service, region, endpoint host)`` (:class:`BreakerRegistry`). It sees only
*health* outcomes: the caller reports ``record_failure()`` for an attempt that ended in the
``Unavailable`` category (5xx, connection errors, timeouts) and ``record_success()`` for
everything else, including client errors (a 404 or a validation error proves the endpoint is
up and answering). Throttling is not unavailability either: it is the rate limiter's business.

States
======
``closed``
    Calls flow. The breaker opens when, in the sliding window (``window`` s, in ``buckets``
    buckets), at least ``min_calls`` outcomes were seen and ``failure_ratio`` of them failed,
    or when ``consecutive_failures`` failures arrive with no success in between (which opens a
    hard outage within a few milliseconds, long before a ratio has enough samples).
``open``
    ``allow()`` is False (the plugin fails the call with ``errors.CircuitOpenError`` without
    sending anything) until ``probe_at``.
``half_open``
    From ``probe_at``, ``allow()`` lets ``half_open_probes`` calls through at a time; the
    others still fail fast. ``probes_to_close`` successes close the circuit; a failure opens it
    again, with the wait before the next probe doubled (``backoff``) up to ``max_open_for``.

The waits are short on purpose (0.25 s, at most 0.5 s by default): a probe is one request, so
probing a dead endpoint costs a few requests per second, while the first success after an
outage ends is found within half a second; callers see calls succeed again within ~0.5 s of the
endpoint's recovery. A probe whose outcome is never reported (the caller crashed, or an outcome
that is neither success nor failure) frees its slot after ``probe_timeout``.

Cost on the success path
========================
In the closed state ``allow()`` is one attribute read and ``record_success()`` one lock-free
counter increment (:class:`~boto_resilience.budget.AtomicCounter`). Failures take the lock,
and they are what the window accounting is built on: each bucket stores its failures and the
success count as of its first failure, so the successes in the window are "successes now minus
successes at the oldest live bucket". This counts no success older than the window, and misses
only the successes between the start of the oldest bucket and its first failure (the ratio is
slightly pessimistic right after a long failure-free run, which ``min_calls`` guards against).
Consecutive failures are exact: a streak remembers the success count it started at.

``on_change(old, new)`` is called outside the lock on every transition (metrics, logging);
its exceptions are logged, never raised into a call.
"""

from __future__ import annotations

import collections
import enum
import threading
import time
from typing import Callable, Optional

from boto_resilience.budget import AtomicCounter, KeyedRegistry, notify_change

__all__ = ["BreakerRegistry", "BreakerState", "CircuitBreaker"]



class BreakerState(str, enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __str__(self) -> str:
        return self.value


class _Bucket:
    __slots__ = ("index", "successes_at", "failures")

    def __init__(self, index: int, successes_at: int) -> None:
        self.index = index
        self.successes_at = successes_at
        self.failures = 0


class CircuitBreaker:
    """A closed / open / half-open circuit breaker with an injected clock. Thread-safe."""

    def __init__(
        self,
        name: str = "",
        *,
        failure_ratio: float = 0.5,
        min_calls: int = 10,
        window: float = 10.0,
        buckets: int = 10,
        consecutive_failures: int = 5,
        open_for: float = 0.25,
        max_open_for: float = 0.5,
        backoff: float = 2.0,
        half_open_probes: int = 1,
        probes_to_close: int = 1,
        probe_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Optional[Callable[[BreakerState, BreakerState], None]] = None,
    ) -> None:
        if not 0.0 < failure_ratio <= 1.0:
            raise ValueError("failure_ratio must be in (0, 1]")
        if min(min_calls, buckets, half_open_probes, probes_to_close) < 1:
            raise ValueError("min_calls, buckets, half_open_probes, probes_to_close must be >= 1")
        if consecutive_failures < 0:
            raise ValueError("consecutive_failures must be >= 0 (0: no consecutive rule)")
        if window <= 0 or open_for <= 0 or max_open_for < open_for or backoff < 1:
            raise ValueError("need window > 0, 0 < open_for <= max_open_for, backoff >= 1")
        if probe_timeout <= 0:
            raise ValueError("probe_timeout must be > 0")
        self.name = name
        self.failure_ratio = failure_ratio
        self.min_calls = min_calls
        self.window = window
        self.buckets = buckets
        self.consecutive_failures = consecutive_failures
        self.open_for = open_for
        self.max_open_for = max_open_for
        self.backoff = backoff
        self.half_open_probes = half_open_probes
        self.probes_to_close = probes_to_close
        self.probe_timeout = probe_timeout
        self._clock = clock
        self._on_change = on_change
        self._bucket_len = window / buckets
        self._lock = threading.Lock()
        self.state = BreakerState.CLOSED
        self.probe_at: Optional[float] = None  # OPEN: when the next probe may go
        self._successes = AtomicCounter()
        self._window: collections.deque[_Bucket] = collections.deque()
        self._window_failures = 0
        self._streak = 0
        self._streak_base = -1
        self._failed_probes = 0
        self._probes: list[float] = []  # grant times of probes in flight (HALF_OPEN)
        self._probe_successes = 0
        self.opened = 0  # times opened (for metrics / repr)

    # -- the per-call API -------------------------------------------------------------------
    def allow(self) -> bool:
        """May a call be sent now? Lock-free while closed, and while open before ``probe_at``."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            probe_at = self.probe_at
            if probe_at is not None and self._clock() < probe_at:
                return False
        with self._lock:
            old = self.state
            allowed = self._allow_locked(self._clock())
        self._notify(old)
        return allowed

    def record_success(self) -> None:
        """A call (or attempt) completed in a way that proves the endpoint healthy."""
        if self.state is BreakerState.CLOSED:
            self._successes.incr()
            return
        with self._lock:
            old = self.state
            self._success_locked()
        self._notify(old)

    def record_failure(self) -> None:
        """A call (or attempt) ended ``Unavailable``: 5xx, connection error, timeout."""
        with self._lock:
            old = self.state
            now = self._clock()
            if old is BreakerState.CLOSED:
                if self._count_failure(now):
                    self._failed_probes = 0
                    self._open(now)
            elif old is BreakerState.HALF_OPEN:
                self._failed_probes += 1
                self._open(now)
        self._notify(old)

    def reset(self) -> None:
        """Close the circuit and forget the window."""
        with self._lock:
            old = self.state
            self._close()
        self._notify(old)

    # -- state machine (all under the lock) ---------------------------------------------------
    def _allow_locked(self, now: float) -> bool:
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            if self.probe_at is not None and now < self.probe_at:
                return False
            self.state = BreakerState.HALF_OPEN
            self.probe_at = None
            self._probes = []
            self._probe_successes = 0
        # HALF_OPEN: a probe slot, if one is free (slots of unreported probes expire)
        expired_before = now - self.probe_timeout
        self._probes = [t for t in self._probes if t > expired_before]
        if len(self._probes) < self.half_open_probes:
            self._probes.append(now)
            return True
        return False

    def _success_locked(self) -> None:
        if self.state is BreakerState.CLOSED:  # closed since the caller looked
            self._successes.incr()
        elif self.state is BreakerState.HALF_OPEN:
            if self._probes:
                self._probes.pop(0)
            self._probe_successes += 1
            if self._probe_successes >= self.probes_to_close:
                self._close()
        # OPEN: a straggler sent before the circuit opened; the probe decides.

    def _count_failure(self, now: float) -> bool:
        """Add a failure to the window; True if the circuit should open."""
        seen = self._successes.read()
        # consecutive: a streak holds while no success has been counted since it started
        if seen != self._streak_base:
            self._streak = 0
            self._streak_base = seen
        self._streak += 1
        index = int(now / self._bucket_len)
        window = self._window
        while window and window[0].index <= index - self.buckets:
            self._window_failures -= window.popleft().failures
        if not window or window[-1].index != index:
            window.append(_Bucket(index, seen))
        window[-1].failures += 1
        self._window_failures += 1
        if self.consecutive_failures and self._streak >= self.consecutive_failures:
            return True
        total = self._window_failures + (seen - window[0].successes_at)
        return total >= self.min_calls and self._window_failures >= self.failure_ratio * total

    def _open(self, now: float) -> None:
        wait = min(self.max_open_for, self.open_for * self.backoff ** self._failed_probes)
        self.state = BreakerState.OPEN
        self.probe_at = now + wait
        self._probes = []
        self.opened += 1

    def _close(self) -> None:
        self.state = BreakerState.CLOSED
        self.probe_at = None
        self._probes = []
        self._failed_probes = 0
        self._window.clear()
        self._window_failures = 0
        self._streak = 0
        self._streak_base = -1

    def _notify(self, old: BreakerState) -> None:
        notify_change(self._on_change, old, self.state, "circuit breaker")

    def __repr__(self) -> str:
        extra = f", probe_at={self.probe_at:.3f}" if self.probe_at is not None else ""
        name = f"{self.name!r}, " if self.name else ""
        return (
            f"CircuitBreaker({name}state={self.state.value}{extra}, "
            f"window_failures={self._window_failures}, opened={self.opened})"
        )


class BreakerRegistry(KeyedRegistry[CircuitBreaker]):
    """One :class:`CircuitBreaker` per ``(scope key, service, region, endpoint host)``.

    Endpoint health is usually shared process-wide (scope key ``None``). Keyword arguments are
    passed to every breaker it creates; each is named ``service/region/host``.
    """

    def __init__(self, **breaker_kwargs: object) -> None:
        def make(service: str, region: Optional[str], host: str) -> CircuitBreaker:
            name = f"{service}/{region or '-'}/{host}"
            return CircuitBreaker(name, **breaker_kwargs)  # type: ignore[arg-type]

        super().__init__(make)

    def breaker(
        self, scope_key: object, service: str, region: Optional[str], host: str
    ) -> CircuitBreaker:
        return self.get(scope_key, service, region, host)
