"""Adaptive client-side rate limiting, driven by throttling responses.

The problem
===========
When many threads share a client and the service's capacity is lower than their demand, every
request beyond the capacity is throttled. Retrying with backoff alone is a poor fix: each
throttled request still costs a round trip and a share of the service's admission work, calls
wait through randomised backoffs far longer than necessary (a poor p99), and with a bounded
number of attempts some calls fail although the service was up all along. The fix is to send
no faster than the service accepts, so that almost every request is accepted and a waiting
call waits in an orderly queue instead of in a random backoff.

The algorithm: accept-rate tracking
===================================
When throttled, the service is running at its capacity, so the rate at which it *accepts* our
requests measures that capacity directly. The limiter sends at ``headroom`` (default 1.03)
times the accept rate it measures over short windows (``window``, 0.25 s, extended until it
holds ``min_window_events`` responses, at most ``max_window``):

* a window with throttles: ``rate = headroom x accepted/elapsed``. The service stays saturated
  (goodput ~ capacity) while at most ``1 - 1/headroom`` (~3 %) of requests are throttled:
  about 1.03 requests per successful call;
* a window without throttles in which callers had to wait for the limiter and the sends
  reached 90 % of the limit (the limit was what held them back): grow the rate, from the second
  such window in a row, faster the longer throttles stay away (x1.1, 1.2, 1.4, 1.8, then x2 per
  window), so a service whose capacity comes back is found again within a few windows;
* ``quiet_period`` (5 s) without any throttle, and the limit no longer holding callers back:
  disengage. A client that is throttled continuously never disengages (it sees ~3 % throttles
  by design), one whose demand fell below the capacity does, and costs nothing again.

Why not CUBIC (botocore's adaptive mode, ``botocore/retries/throttling.py``)? CUBIC cuts the
rate to 0.7x on each throttle and probes upward along a cubic curve; the sawtooth spends much of
its time well below capacity (lost goodput) or above it (throttles), and it multiplies the rate
down on every throttle response rather than once per measurement (in the storm benchmark,
botocore's adaptive mode kept goodput at ~55 % of capacity). Google's client-side
throttling (SRE book, ch. 21: reject locally with probability
``(requests - K*accepts)/(requests + 1)``) tracks accepts like this limiter does, but answers
excess demand by *failing* calls locally; we want to delay them instead (no failed calls), so
we turn the same accepts measure into a send rate. Accept-rate tracking converges in one window
after the first throttle, stays within a few percent of capacity, and needs no tuning for the
capacity's magnitude.

Engaging
--------
Until the first throttle the limiter is *disengaged* and costs one attribute check per call
(``acquire`` and ``on_response(False)`` return at once). On the first throttle it *probes*: for
``probe_window`` (0.1 s; until ``probe_accepts`` accepts if sooner, and until at least 3 if
that takes longer, up to 5 probe windows) it does not limit and counts accepts, which, the
service being saturated, gives the capacity to within a few requests; then it limits.
Probing unlimited for a tenth of a second costs a handful of extra throttles once per overload
episode, and avoids both the slow ramp-up of starting from a guess and the cost of measuring
before anyone is throttled.

Pacing
------
Sending is paced by *tickets*: each ``acquire`` takes the next ticket under the lock; ticket
``k``'s send slot is ``anchor + (k - anchor_ticket) / rate``, with up to ``burst_seconds`` of
unused slots saved while idle (like Guava's ``RateLimiter``). The caller sleeps outside the
lock until its slot. Waiters are served in arrival order, which keeps the tail latency close to
the median, and nobody busy-waits or wakes a herd. When the rate changes, the queue is
re-anchored at the current time, so every waiting ticket's slot moves to the new spacing at
once; sleepers sleep at most ``recheck`` (0.05 s) at a time and look again (a queue of slots
fixed at the old rate would keep sending at that rate for as long as the queue is deep: with
64 threads at 20 requests/s, three seconds).

A caller with a deadline passes ``timeout``: if its slot is further away than that, nothing is
taken and :class:`WouldExceedDeadline` is raised at once (the plugin maps it to
``errors.RateLimitedError``) rather than blocking past the deadline; if a rate cut later pushes
the slot past it, the ticket is abandoned and the same is raised.

Every response (first attempt or retry, success or error) is reported with
``on_response(throttled)``; accepts are counted lock-free, a lock is taken only on throttles and
at window boundaries.
"""

from __future__ import annotations

import enum
import threading
import time
from typing import Callable, NamedTuple, Optional

from boto_resilience.budget import AtomicCounter, KeyedRegistry, notify_change

__all__ = [
    "AdaptiveRateLimiter",
    "LimiterState",
    "RateLimiterRegistry",
    "Ticket",
    "WouldExceedDeadline",
]



class WouldExceedDeadline(Exception):
    """The next send slot is further away than the caller can wait: nothing was reserved."""

    def __init__(self, wait: float, timeout: float) -> None:
        super().__init__(f"rate limit: next slot in {wait:.3f}s, caller can wait {timeout:.3f}s")
        self.wait = wait
        self.timeout = timeout


class Ticket(NamedTuple):
    """A place in the send queue: ``number``, and ``wait``, the seconds to its slot when taken
    (the slot moves if the rate changes: ask :meth:`AdaptiveRateLimiter.remaining`)."""

    number: int
    wait: float


class LimiterState(str, enum.Enum):
    DISENGAGED = "disengaged"  # no throttle seen (recently): no limit, no cost
    PROBING = "probing"  # just throttled: measuring the accept rate, not limiting yet
    LIMITING = "limiting"  # sending at headroom x the measured accept rate

    def __str__(self) -> str:
        return self.value


class AdaptiveRateLimiter:
    """A client-side send-rate limit that engages on throttling and tracks the accept rate.

    ``acquire(timeout)`` before sending each request (returns the seconds it waited, or raises
    :class:`WouldExceedDeadline`); ``on_response(throttled)`` after each response. Thread-safe.
    ``on_change(old, new)`` is called (outside the lock) on every state change.
    """

    def __init__(
        self,
        *,
        headroom: float = 1.03,
        window: float = 0.25,
        min_window_events: int = 20,
        max_window: float = 2.0,
        probe_window: float = 0.1,
        probe_accepts: int = 10,
        idle_gap: float = 1.0,
        quiet_period: float = 5.0,
        burst_seconds: float = 0.05,
        min_rate: float = 0.5,
        max_rate: float = 100_000.0,
        recheck: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_change: Optional[Callable[[LimiterState, LimiterState], None]] = None,
    ) -> None:
        if headroom < 1.0:
            raise ValueError("headroom must be >= 1")
        if min(window, probe_window, idle_gap, quiet_period) <= 0 or max_window < window:
            raise ValueError("windows and periods must be > 0, and max_window >= window")
        if not 0 < min_rate <= max_rate:
            raise ValueError("need 0 < min_rate <= max_rate")
        if recheck <= 0:
            raise ValueError("recheck must be > 0")
        if burst_seconds < 0 or min_window_events < 0 or probe_accepts < 1:
            raise ValueError("need burst_seconds >= 0, min_window_events >= 0, "
                             "probe_accepts >= 1")
        self.headroom = headroom
        self.window = window
        self.min_window_events = min_window_events
        self.max_window = max_window
        self.probe_window = probe_window
        self.probe_accepts = probe_accepts
        self.idle_gap = idle_gap
        self.quiet_period = quiet_period
        self.burst_seconds = burst_seconds
        self.min_rate = min_rate
        self.max_rate = max_rate
        self.recheck = recheck
        self._clock = clock
        self._sleep = sleep
        self._on_change = on_change
        self._lock = threading.Lock()
        # The two flags read without the lock on the fast paths (both False: zero cost).
        self._engaged = False
        self._limiting = False
        self.state = LimiterState.DISENGAGED
        self.rate: Optional[float] = None  # sends/s while LIMITING
        self._accepts = AtomicCounter()
        self._last_event = 0.0  # time of the last response (stored without the lock)
        self._win_start = 0.0
        self._win_end = float("inf")
        self._win_accepts_base = 0
        self._win_throttles = 0
        self._win_waited = False
        self._streak = 0  # consecutive throttle-free windows
        self._last_throttle = 0.0
        # the send queue: ticket k's slot is _anchor_time + (k - _anchor_ticket) / rate
        self._next_ticket = 0
        self._anchor_ticket = 0
        self._anchor_time = 0.0
        # counters for metrics / repr
        self.throttles = 0
        self.engagements = 0
        self.rejected = 0

    # -- the per-request API ------------------------------------------------------------------
    def acquire(self, timeout: Optional[float] = None) -> float:
        """Wait for a send slot; return the seconds waited (0.0 when not limiting).

        Raises :class:`WouldExceedDeadline` if the slot is more than ``timeout`` seconds away
        (at once, having taken nothing; or later, if a rate cut moved the slot past it).
        """
        if not self._limiting:
            return 0.0
        ticket = self.reserve(timeout)
        if ticket is None:
            return 0.0
        waited, wait = 0.0, ticket.wait
        while wait > 0.0:
            if timeout is not None and waited + wait > timeout + 1e-9:
                with self._lock:
                    self.rejected += 1
                raise WouldExceedDeadline(waited + wait, timeout)
            step = min(wait, self.recheck)
            self._sleep(step)
            waited += step
            wait = self.remaining(ticket)
        return waited

    def reserve(self, timeout: Optional[float] = None) -> Optional[Ticket]:
        """Take a place in the send queue without sleeping; None when not limiting (send now).

        For callers that do their own waiting (and the simulation in the tests): sleep until
        :meth:`remaining` returns 0.
        """
        if not self._limiting:
            return None
        with self._lock:
            old = self.state
            now = self._clock()
            if now >= self._win_end:
                self._roll(now, self._last_event)
            ticket = None
            rate = self.rate
            if self._limiting and rate is not None:
                number = self._next_ticket
                slot = self._slot(number, rate)
                # up to `burst` unused slots are saved (the bucket holds `burst` tokens)
                earliest = now - (max(1.0, rate * self.burst_seconds) - 1.0) / rate
                if slot < earliest:
                    self._anchor_time, self._anchor_ticket, slot = earliest, number, earliest
                wait = slot - now if slot > now else 0.0
                if timeout is not None and wait > timeout + 1e-9:
                    self.rejected += 1
                    self._notify(old)
                    raise WouldExceedDeadline(wait, max(0.0, timeout))
                self._next_ticket = number + 1
                if wait > 0.0:
                    self._win_waited = True
                ticket = Ticket(number, wait)
        self._notify(old)
        return ticket

    def expected_wait(self) -> float:
        """Seconds the next :meth:`acquire` would wait now (0 when not limiting). Reserves
        nothing: for deciding whether a retry is worth queueing for at all."""
        if not self._limiting:
            return 0.0
        with self._lock:
            rate = self.rate
            if not self._limiting or rate is None:
                return 0.0
            now = self._clock()
            wait = self._slot(self._next_ticket, rate) - now
        return wait if wait > 0.0 else 0.0

    def remaining(self, ticket: Ticket) -> float:
        """Seconds until this ticket's slot, at the current rate (0: send now)."""
        with self._lock:
            rate = self.rate
            if not self._limiting or rate is None:
                return 0.0
            wait = self._slot(ticket.number, rate) - self._clock()
        return wait if wait > 0.0 else 0.0

    def _slot(self, number: int, rate: float) -> float:
        return self._anchor_time + (number - self._anchor_ticket) / rate

    def on_response(self, throttled: bool) -> None:
        """Report one response (throttled or not). Accepts are counted without a lock."""
        if not throttled:
            if not self._engaged:
                return
            self._accepts.incr()
            now = self._clock()
            prev, self._last_event = self._last_event, now
            if now < self._win_end and self._limiting:
                return
            with self._lock:
                old = self.state
                if self._engaged:
                    self._roll(now, prev)
            self._notify(old)
            return
        with self._lock:
            old = self.state
            now = self._clock()
            prev, self._last_event = self._last_event, now
            self.throttles += 1
            if self._engaged:
                self._roll(now, prev)  # may disengage: then this throttle engages again
            self._last_throttle = now
            if self._engaged:
                self._win_throttles += 1
            else:
                self._engage(now)
        self._notify(old)

    # -- state machine (all under the lock) ---------------------------------------------------
    def _set_state(self, new: LimiterState) -> None:
        self.state = new
        self._engaged = new is not LimiterState.DISENGAGED
        self._limiting = new is LimiterState.LIMITING

    def _start_window(self, now: float, length: float) -> None:
        self._win_start = now
        self._win_end = now + length
        self._win_accepts_base = self._accepts.read()
        self._win_throttles = 0
        self._win_waited = False

    def _engage(self, now: float) -> None:
        self.engagements += 1
        self.rate = None
        self._streak = 0
        self._start_window(now, self.probe_window)
        self._win_throttles = 1
        self._set_state(LimiterState.PROBING)

    def _disengage(self) -> None:
        self.rate = None
        self._win_end = float("inf")
        self._set_state(LimiterState.DISENGAGED)

    def _roll(self, now: float, prev: float) -> None:
        """Close the current window if it is complete, and adjust the rate from what it saw.

        ``prev`` is the time of the response before this one. Windows only close when
        something happens, so a window that contains a long silence (``idle_gap``) mixes
        activity with idleness: its accept rate measures nothing, and it is discarded.
        """
        idle = now - prev > self.idle_gap
        accepts = self._accepts.read() - self._win_accepts_base
        elapsed = max(now - self._win_start, 1e-9)
        if self.state is LimiterState.PROBING:
            if idle:
                self._disengage()  # one throttle, then silence: not an overload
            elif (
                accepts >= self.probe_accepts
                or (now >= self._win_end and accepts >= 3)
                or elapsed >= 5.0 * self.probe_window
            ):
                self.rate = self._clamp(accepts / elapsed * self.headroom)
                self._anchor_time, self._anchor_ticket = now, self._next_ticket
                self._set_state(LimiterState.LIMITING)
                self._start_window(now, self.window)
            return
        if now < self._win_end:
            return
        if now - self._last_throttle >= self.quiet_period and (idle or not self._win_waited):
            # Neither throttled nor holding anyone back for a while: stand down. (While the
            # limit still holds callers back, releasing them would throttle them again; the
            # rate grows instead, until it either finds the capacity or stops binding.)
            self._disengage()
            return
        if idle:
            self._start_window(now, self.window)
            return
        if accepts + self._win_throttles < self.min_window_events and elapsed < self.max_window:
            self._win_end = now + self.window / 4  # too few events to judge yet: extend
            return
        if self._win_throttles:
            # Saturated: the accept rate is the capacity.
            self._streak = 0
            self._set_rate(now, accepts / elapsed * self.headroom)
        else:
            # No throttle: if the limit held callers back, probe upwards, faster and faster.
            # Only when the sends actually reached the limit: slots are reserved ahead, so after
            # a raise the queue still drains at the old pace for a while, and growing on its
            # throttle-free windows would overshoot. And not on the first throttle-free window:
            # at ~3 % throttles, a window of 20 requests has none by chance half the time.
            self._streak += 1
            reached = (accepts / elapsed) >= 0.9 * (self.rate or 0.0)
            if self._win_waited and reached and self.rate is not None and self._streak >= 2:
                growth = min(1.0, 0.05 * 2.0 ** (self._streak - 1))
                self._set_rate(now, self.rate * (1.0 + growth))
        self._start_window(now, self.window)

    def _set_rate(self, now: float, rate: float) -> None:
        """Change the rate and re-space the waiting queue from now: tickets whose slot has
        passed keep it, the first ticket still waiting keeps its slot, and each one after it
        follows at the new spacing."""
        old = self.rate
        new = self._clamp(rate)
        if old is not None and new != old:
            passed = int((now - self._anchor_time) * old) + 1 if now >= self._anchor_time else 0
            first = min(self._anchor_ticket + passed, self._next_ticket)
            self._anchor_time = self._slot(first, old)
            self._anchor_ticket = first
        self.rate = new

    def _clamp(self, rate: float) -> float:
        return min(self.max_rate, max(self.min_rate, rate))

    def _notify(self, old: LimiterState) -> None:
        notify_change(self._on_change, old, self.state, "rate limiter")

    def reset(self) -> None:
        """Back to disengaged, forgetting everything measured."""
        with self._lock:
            old = self.state
            self._disengage()
        self._notify(old)

    @property
    def engaged(self) -> bool:
        return self._engaged

    def __repr__(self) -> str:
        rate = "none" if self.rate is None else f"{self.rate:.1f}/s"
        return (
            f"AdaptiveRateLimiter(state={self.state.value}, rate={rate}, "
            f"headroom={self.headroom}, throttles={self.throttles}, rejected={self.rejected})"
        )


class RateLimiterRegistry(KeyedRegistry[AdaptiveRateLimiter]):
    """One :class:`AdaptiveRateLimiter` per ``(scope key, service, region)``.

    The scope key is a client, a session, or ``None`` (process), as for
    :class:`~boto_resilience.budget.BudgetRegistry`. Keyword arguments are passed to every
    limiter it creates (share a ``clock``/``sleep`` here in tests)."""

    def __init__(self, **limiter_kwargs: object) -> None:
        def make(service: str, region: Optional[str]) -> AdaptiveRateLimiter:
            return AdaptiveRateLimiter(**limiter_kwargs)  # type: ignore[arg-type]

        super().__init__(make)

    def limiter(
        self, scope_key: object, service: str, region: Optional[str]
    ) -> AdaptiveRateLimiter:
        return self.get(scope_key, service, region)
