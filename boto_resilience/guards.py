"""Load protection around the retry engine: retry budget, rate limiter, circuit breaker.

:class:`Guards` connects one client's :class:`~boto_resilience.handlers.Engine` to the shared
state machines (:mod:`.budget`, :mod:`.ratelimit`, :mod:`.breaker`), which are looked up once
per client by ``(scope key, service, region)`` (the breaker also by endpoint): the scope key is
the client, the registration handle (one per session) or ``None`` for the whole process. The
lookups happen when the client is covered, so a call does no dictionary work for them.

The engine calls, per call:

``before_attempt``  (``request-created``) may raise :class:`~.errors.CircuitOpenError` while
    the circuit is open, or :class:`~.errors.RateLimitedError` when the limiter's wait would end
    past the call's deadline; otherwise it may sleep for the limiter's slot.
``on_failure``      after each failed attempt: feeds the limiter (throttled or not).
``on_final_failure`` when a call fails for good: feeds the breaker (``Unavailable`` is a
    failure; any other HTTP answer shows the service is up).
``allow_retry``     when the policy wants to retry: takes the retry's cost from the budget or
    refuses the retry.
``on_success``      when the call succeeded: credits the budget, the limiter and the breaker.

A call that succeeds at the first attempt costs one lock-free counter increment (budget) and
two attribute checks (limiter, breaker when closed).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from boto_resilience import breaker as breaker_mod
from boto_resilience import errors
from boto_resilience.budget import BudgetRegistry, RetryBudget
from boto_resilience.config import Config
from boto_resilience.metrics.records import StateChange
from boto_resilience.policy import Outcome
from boto_resilience.ratelimit import AdaptiveRateLimiter, RateLimiterRegistry, WouldExceedDeadline
from boto_resilience.taxonomy import Category

logger = logging.getLogger("boto_resilience")

_TIMEOUT_CODES = frozenset({"ReadTimeoutError", "ConnectTimeoutError"})


class _Registries:
    """The process's registries, created on first use (no import-time state)."""

    def __init__(self) -> None:
        self.budgets = BudgetRegistry()
        self.limiters = RateLimiterRegistry()
        self.breakers = breaker_mod.BreakerRegistry()


_registries: Optional[_Registries] = None
_registries_lock = threading.Lock()


def registries() -> _Registries:
    global _registries
    if _registries is None:
        with _registries_lock:
            if _registries is None:
                _registries = _Registries()
    return _registries


def reset_registries() -> None:
    """Forget all shared state (tests, or after a fork)."""
    global _registries
    with _registries_lock:
        _registries = None


class _Fanout:
    """The ``on_change`` callback of one shared breaker or limiter: logs each transition once
    and reports it to every (live) dispatcher of the clients sharing it."""

    def __init__(self, component: str, scope: str) -> None:
        self.component = component
        self.scope = scope
        self._dispatchers: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()

    def add(self, dispatcher: Any) -> None:
        try:
            self._dispatchers[id(dispatcher)] = dispatcher
        except TypeError:  # not weak-referenceable: nothing to report to
            pass

    def __call__(self, old: Any, new: Any) -> None:
        level = logging.WARNING if str(new) == "open" else logging.INFO
        logger.log(level, "boto_resilience: %s %s: %s -> %s", self.component, self.scope,
                   old, new)
        change = StateChange(self.component, self.scope, str(old), str(new))
        for dispatcher in list(self._dispatchers.values()):
            dispatcher.on_state_change(change)


def _fanout(component_obj: Any, component: str, scope: str) -> _Fanout:
    with _registries_lock:
        fan = getattr(component_obj, "_on_change", None)
        if not isinstance(fan, _Fanout):
            fan = _Fanout(component, scope)
            component_obj._on_change = fan
        return fan


class Guards:
    """The budget, limiter and breaker one client uses, and the logic between them."""

    def __init__(self, engine: Any, config: Config, scope_key: Any,
                 dispatcher: Any, clock: Callable[[], float] = time.monotonic) -> None:
        regs = registries()
        service, region = engine.service, engine.region
        self.budget: Optional[RetryBudget] = (
            regs.budgets.budget(scope_key, service, region) if config.retry_budget else None)
        self.limiter: Optional[AdaptiveRateLimiter] = (
            regs.limiters.limiter(scope_key, service, region) if config.rate_limit else None)
        host = urlsplit(getattr(engine.client.meta, "endpoint_url", "") or "").netloc
        self.breaker_name = f"{service}/{region or '-'}/{host}"
        self.breaker: Optional[breaker_mod.CircuitBreaker] = (
            regs.breakers.breaker(scope_key, service, region, host)
            if config.circuit_breaker else None)
        if self.breaker is not None:
            _fanout(self.breaker, "circuit_breaker", self.breaker_name).add(dispatcher)
        if self.limiter is not None:
            _fanout(self.limiter, "rate_limiter", self.breaker_name).add(dispatcher)
        self.dispatcher = dispatcher
        self._clock = clock

    # -- the engine's calls --------------------------------------------------------------

    def before_attempt(self, engine: Any, state: Any, request: Any) -> None:
        """May raise a fail-fast error (deliberately); may sleep for the rate limiter."""
        breaker = self.breaker
        # The breaker admits *calls*: a call it let through (perhaps as a half-open probe) keeps
        # going through its retries, so that a probe is never refused halfway and left holding
        # its probe slot.
        if breaker is not None and state.attempts == 0 and not breaker.allow():
            probe_in = max(0.0, (breaker.probe_at or 0.0) - self._clock())
            raise errors.CircuitOpenError(
                service=engine.service, operation=state.op.name,
                message=f"circuit {self.breaker_name} is open after repeated unavailability; "
                        f"next probe in {probe_in:.3f} s",
                circuit=self.breaker_name, probe_in=probe_in)
        limiter = self.limiter
        if limiter is not None and limiter.engaged:
            timeout = None
            deadline = state.op.policy.deadline
            if deadline is not None:
                timeout = deadline - (engine.now() - state.start)
            try:
                limiter.acquire(timeout)
            except WouldExceedDeadline as exc:
                raise errors.RateLimitedError(
                    service=engine.service, operation=state.op.name,
                    message=f"client-side rate limit for {engine.service}: the next send slot "
                            f"is {exc.wait:.3f} s away, past the call's deadline",
                    wait=exc.wait) from None

    def on_failure(self, engine: Any, state: Any, outcome: Outcome) -> None:
        """After each failed attempt: the limiter learns from every response."""
        if self.limiter is not None and outcome.status is not None and not outcome.final:
            self.limiter.on_response(outcome.throttled)

    def on_final_failure(self, engine: Any, state: Any, outcome: Outcome) -> None:
        """The call failed for good. The breaker counts *calls*, not attempts: a call's own
        retries always reach the service (up to ``max_attempts``); what opens the circuit is
        calls that still fail after their retries."""
        if self.breaker is None or outcome.final:
            return
        if outcome.category is Category.Unavailable:
            self.breaker.record_failure()
        else:  # the service answered: it is up, whatever it said
            self.breaker.record_success()

    def allow_retry(self, engine: Any, state: Any, outcome: Outcome,
                    delay: float) -> Optional[float]:
        breaker = self.breaker
        if breaker is not None and breaker.state is not breaker_mod.BreakerState.CLOSED \
                and outcome.category is Category.Unavailable:
            # A probe (half-open) or a call overtaken by an opening circuit: its outcome is the
            # answer, and retrying it would only add load to a service known to be down.
            return None
        limiter = self.limiter
        deadline = state.op.policy.deadline
        if limiter is not None and deadline is not None and limiter.engaged:
            # Queueing behind the rate limiter past the deadline would only end in our own
            # RateLimitedError; stop now and let the service's real error reach the caller.
            if engine.now() - state.start + delay + limiter.expected_wait() >= deadline:
                return None
        budget = self.budget
        if budget is None:
            return delay
        cost = budget.costs.cost(throttled=outcome.throttled,
                                 timeout=outcome.code in _TIMEOUT_CODES)
        if not budget.try_acquire(cost):
            return None
        state.spent += cost
        return delay

    def on_success(self, engine: Any, state: Any) -> None:
        budget = self.budget
        if budget is not None:
            if state.spent:
                budget.release(state.spent)
            elif state.attempts <= 1:
                budget.on_success()
        if self.limiter is not None:
            self.limiter.on_response(False)
        if self.breaker is not None:
            self.breaker.record_success()


def factory(config: Config, handle: Any) -> Optional[Callable[[Any], Guards]]:
    """What the plugin calls per covered client; None when every guard is off."""
    if not (config.retry_budget or config.rate_limit or config.circuit_breaker):
        return None

    def make(engine: Any) -> Guards:
        scope_key = (engine.client if config.scope == "client"
                     else handle if config.scope == "session" else None)
        return Guards(engine, config, scope_key, handle.dispatcher)

    return make
