"""The retry budget: a token bucket that limits *retries*, never first attempts.

Why a budget
============
Per-call retry limits (``max_attempts``) bound the work one call can cause, but not what a fleet
of callers does to a struggling service: with 3 attempts each, every caller triples its load
exactly when the service can least afford it. A budget shared by many calls caps the
*proportion* of retries: each retry spends tokens, each success earns some back, so while most
calls succeed retries are free, and when most fail the budget drains and further failures are
returned to the caller at once instead of being amplified. This is botocore's "retry quota"
(``botocore/retries/quota.py``: capacity 500, 5 per retry, 10 per timeout retry, +1 per
success) with two changes:

* a retry after a *throttle* costs 1, not 5: pacing a throttled client is the rate limiter's job
  (:mod:`boto_resilience.ratelimit`), and a throttle proves the service is up and answering;
  draining the budget on throttles would turn a rate problem into failed calls;
* an optional time-based trickle (``refill_per_second``), off by default, so that a client
  whose every call fails for a long time regains a few retries without needing a success.

Costs are decided by :class:`RetryCosts` (a small frozen strategy), so the policy asks
``budget.try_acquire(budget.costs.cost(throttled=..., timeout=...))`` and, when the retried call
finally succeeds, ``budget.release(total_cost_spent)``; a first-attempt success calls
``budget.on_success()``.

The success path is lock-free
=============================
``on_success()`` runs on every successful call, so it takes no lock: it bumps an
:class:`AtomicCounter` (``itertools.count``, whose ``next()`` is a single C call and therefore
atomic under the GIL). The slow paths (``try_acquire``, ``release``, reading ``available``)
take the lock and first *fold* the successes counted since the last fold into the balance.
Because credits only ever add, folding them in a batch gives exactly the balance that adding
them one at a time would (``min(cap, a + k)``), and every success that happened before an
acquisition is folded before it: 32 threads x 1000 successes refill exactly 32 000 tokens.

Scopes
======
:class:`BudgetRegistry` hands out one budget per ``(scope key, service, region)``. The scope key
is what the retry budget is shared by: a client object (``scope='client'``), a session
(``'session'``) or ``None`` for the whole process (``'process'``). Objects that support weak
references are held weakly, so a client's budgets disappear with the client.
:class:`KeyedRegistry` and :class:`AtomicCounter` are shared with the rate limiter and the
circuit breaker.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
import weakref
from collections.abc import Hashable
from typing import Any, Callable, Generic, Optional, TypeVar

__all__ = [
    "AtomicCounter",
    "BudgetRegistry",
    "KeyedRegistry",
    "RetryBudget",
    "RetryCosts",
]

V = TypeVar("V")


class AtomicCounter:
    """A counter whose increment is lock-free and atomic under the GIL.

    ``incr()`` is one ``next()`` on an ``itertools.count`` (a C call: no bytecode boundary for
    another thread to interleave at, unlike ``self.n += 1``). ``read()`` also advances the
    underlying count, so it keeps its own reads out of the value; call ``read()`` under the
    owner's lock (concurrent *readers* would race on that bookkeeping, writers never do).

    On a free-threaded (no-GIL) build ``itertools.count`` is not documented as atomic; the
    owners' results would then be approximate, not corrupt.
    """

    __slots__ = ("_count", "_reads")

    def __init__(self) -> None:
        self._count = itertools.count()
        self._reads = 0

    def incr(self) -> None:
        next(self._count)

    def read(self) -> int:
        """The number of ``incr()`` calls so far. Caller holds the owner's lock."""
        value = next(self._count) - self._reads
        self._reads += 1
        return value

    def __repr__(self) -> str:
        return f"AtomicCounter({self._count!r}, reads={self._reads})"


@dataclasses.dataclass(frozen=True)
class RetryCosts:
    """How many tokens a retry costs, and what a success earns back.

    ``transient``: a retry after a 5xx / connection error (botocore: 5); ``timeout``: after a
    read/connect timeout, which held a connection for the whole timeout (botocore: 10);
    ``throttle``: after a throttling error, cheap because the rate limiter paces throttled
    clients; ``success``: earned by a call that succeeded on its first attempt.
    """

    transient: int = 5
    timeout: int = 10
    throttle: int = 1
    success: int = 1

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"RetryCosts.{f.name} must be >= 0")

    def cost(self, throttled: bool = False, timeout: bool = False) -> int:
        if throttled:
            return self.throttle
        return self.timeout if timeout else self.transient


class RetryBudget:
    """A token bucket of retry capacity, shared by many calls. Thread-safe.

    ``try_acquire(cost)`` before each retry (False: don't retry, fail now);
    ``on_success()`` after a call that succeeded first time (lock-free);
    ``release(cost)`` after a retried call succeeded, giving back what its retries spent.
    """

    def __init__(
        self,
        capacity: int = 500,
        *,
        costs: RetryCosts = RetryCosts(),  # noqa: B008 - frozen, shared safely
        refill_per_second: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 0:
            raise ValueError("capacity must be >= 0")
        if refill_per_second < 0:
            raise ValueError("refill_per_second must be >= 0")
        self.capacity = int(capacity)
        self.costs = costs
        self.refill_per_second = float(refill_per_second)
        self._clock = clock
        self._lock = threading.Lock()
        self._available = float(capacity)
        self._successes = AtomicCounter()
        self._folded = 0
        self._last_trickle = clock()
        self.denied = 0  # retries refused since creation (for metrics and repr)

    def _fold(self) -> None:
        """Credit successes counted lock-free since the last fold, and the trickle. Locked."""
        seen = self._successes.read()
        credit = float((seen - self._folded) * self.costs.success)
        self._folded = seen
        if self.refill_per_second:
            now = self._clock()
            credit += (now - self._last_trickle) * self.refill_per_second
            self._last_trickle = now
        if credit:
            self._available = min(float(self.capacity), self._available + credit)

    def try_acquire(self, cost: int) -> bool:
        """Take ``cost`` tokens for one retry; False (and nothing taken) if there are fewer."""
        with self._lock:
            self._fold()
            if cost <= self._available:
                self._available -= cost
                return True
            self.denied += 1
            return False

    def on_success(self) -> None:
        """A call succeeded on its first attempt: earn ``costs.success``. Takes no lock."""
        self._successes.incr()

    def release(self, cost: int) -> None:
        """A retried call succeeded: give back what its retries spent (capped at capacity)."""
        if cost <= 0:
            return
        with self._lock:
            self._fold()
            self._available = min(float(self.capacity), self._available + cost)

    @property
    def available(self) -> float:
        with self._lock:
            self._fold()
            return self._available

    @property
    def exhausted(self) -> bool:
        """True if not even the cheapest retry (a throttle retry) can be afforded."""
        return self.available < max(1, self.costs.throttle)

    def __repr__(self) -> str:
        return (
            f"RetryBudget(available={self.available:g}/{self.capacity}, costs={self.costs!r}, "
            f"denied={self.denied})"
        )


def notify_change(callback: Optional[Callable[[Any, Any], None]], old: Any, new: Any,
                  what: str) -> None:
    """Call a state machine's ``on_change(old, new)`` if the state changed. A metrics or
    logging callback must never break a call: its errors are logged, not raised."""
    if new is old or callback is None:
        return
    try:
        callback(old, new)
    except Exception:
        logging.getLogger(__name__).warning("%s on_change callback failed", what, exc_info=True)


class KeyedRegistry(Generic[V]):
    """One value per ``(scope key, *rest)``, created on first use by ``factory``. Thread-safe.

    A scope key that supports weak references (a client, a session) is held weakly: its values
    go when it does. Other keys (``None``, strings) are held for the life of the registry. The
    lookup of an existing value in the strong map takes no lock.
    """

    def __init__(self, factory: Callable[..., V]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._strong: dict[tuple[Hashable, ...], V] = {}
        self._weak: weakref.WeakKeyDictionary[object, dict[tuple[Hashable, ...], V]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, scope_key: object, *rest: Hashable) -> V:
        """The value for this key, created by ``factory(*rest)`` if there is none yet."""
        try:
            weakref.ref(scope_key)
        except TypeError:
            key: tuple[Hashable, ...] = (scope_key, *rest)
            value = self._strong.get(key)
            if value is None:
                with self._lock:
                    value = self._strong.get(key)
                    if value is None:
                        value = self._strong[key] = self._factory(*rest)
            return value
        with self._lock:
            per_scope = self._weak.get(scope_key)
            if per_scope is None:
                per_scope = self._weak[scope_key] = {}
            value = per_scope.get(rest)
            if value is None:
                value = per_scope[rest] = self._factory(*rest)
            return value

    def discard(self, scope_key: object) -> None:
        """Forget every value of this scope key."""
        with self._lock:
            try:
                self._weak.pop(scope_key, None)
            except TypeError:
                pass
            for key in [k for k in self._strong if k[0] == scope_key]:
                del self._strong[key]

    def values(self) -> list[V]:
        with self._lock:
            out = list(self._strong.values())
            for per_scope in self._weak.values():
                out.extend(per_scope.values())
        return out

    def __len__(self) -> int:
        return len(self.values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} entries)"


class BudgetRegistry(KeyedRegistry[RetryBudget]):
    """One :class:`RetryBudget` per ``(scope key, service, region)``.

    ``scope key`` is the client for ``scope='client'``, the session for ``'session'``, ``None``
    for ``'process'``; :meth:`for_scope` picks it from a scope name.
    """

    SCOPES = ("client", "session", "process")

    def __init__(
        self,
        capacity: int = 500,
        *,
        costs: RetryCosts = RetryCosts(),  # noqa: B008 - frozen, shared safely
        refill_per_second: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        def make(service: str, region: Optional[str]) -> RetryBudget:
            return RetryBudget(
                capacity, costs=costs, refill_per_second=refill_per_second, clock=clock
            )

        super().__init__(make)

    def budget(self, scope_key: object, service: str, region: Optional[str]) -> RetryBudget:
        return self.get(scope_key, service, region)

    def for_scope(
        self,
        scope: str,
        client: object,
        session: object,
        service: str,
        region: Optional[str],
    ) -> RetryBudget:
        """The budget for ``scope`` ('client' | 'session' | 'process')."""
        if scope not in self.SCOPES:
            raise ValueError(f"scope must be one of {self.SCOPES}, got {scope!r}")
        key = client if scope == "client" else session if scope == "session" else None
        return self.get(key, service, region)
