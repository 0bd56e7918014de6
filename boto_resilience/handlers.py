"""The adapter: the only code that reads botocore's event kwargs.

One :class:`Engine` per covered client owns four handlers, registered by
:mod:`boto_resilience.plugin`:

``request-created`` (per attempt, right after botocore signs the request)
    Starts the call's state on the first attempt and stores it in botocore's per-call
    ``context`` dict, which every later event of the same call carries; stamps the attempt's
    start time. Here the circuit breaker and the rate limiter may fail the call fast, by raising
    (the only place our code raises on purpose).
``needs-retry`` (per attempt, after the response or exception)
    Our retry policy, in the slot botocore's own retry handler would take. Contract: return
    ``None`` for "do not retry", or a number of seconds that botocore sleeps before retrying.
``after-call`` (once, with the final HTTP response, before botocore raises a ClientError)
    Enriches an error response with its category; records the call.
``after-call-error`` (once, when the last attempt ended in a connection-level exception)
    Records the call and tags the exception with what we did.

We use ``request-created`` rather than ``before-send`` for the attempt start because it carries
the call's context directly (``before-send``'s prepared request has none, so it would need a
side table keyed by the invocation id). Our handler is registered after botocore's signer on
the same event, so it runs after signing: a rate-limiter wait happens between signing and
sending (well inside SigV4's validity window).

Every handler fails open: an exception inside it is logged once (rate-limited) and the call
proceeds as botocore alone would have run it (for ``needs-retry``, botocore's own retry handler
for the client's mode decides).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
import zlib
from typing import Any, Callable, Optional

from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from boto_resilience import errors, taxonomy
from boto_resilience.config import Config
from boto_resilience.metrics.records import ERROR, SUCCESS, AttemptRecord, CallRecord
from boto_resilience.policy import Outcome, RetryPolicy, is_idempotent
from boto_resilience.taxonomy import Category

logger = logging.getLogger("boto_resilience")

#: Key of our per-call state in botocore's request context.
CONTEXT_KEY = "boto_resilience"
#: What we add to ``ResponseMetadata`` (and to a raised exception's ``boto_resilience``).
METADATA_KEY = "BotoResilience"

# Connection errors raised before any byte of the request could reach the server: always safe.
_NOT_SENT = (EndpointConnectionError, ConnectTimeoutError)
# Failures after the request was (or may have been) sent: the operation may have taken effect.
_AMBIGUOUS = (ReadTimeoutError, ConnectionClosedError)
# Our own fail-fast errors (open circuit, rate limit past the deadline): never retried.
_FAIL_FAST = (errors.CircuitOpenError, errors.RateLimitedError, errors.DeadlineExceededError)


class _Throttle:
    """Logs a failure in our own code at most once per ``interval`` seconds per component."""

    def __init__(self, interval: float = 60.0) -> None:
        self._interval = interval
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def report(self, component: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(component)
            if last is not None and now - last < self._interval:
                return
            self._last[component] = now
        logger.warning("boto_resilience: internal error in %s (the call continues as botocore "
                       "alone would run it): %r", component, exc, exc_info=exc)


FAILURES = _Throttle()


class CallState:
    """Mutable state of one API call, kept in botocore's per-call context dict."""

    __slots__ = ("op", "start", "attempt_start", "attempts", "throttles", "backoff",
                 "last_delay", "clock_skew_retried", "spent")

    def __init__(self, op: OperationState, now: float) -> None:
        self.op = op
        self.start = now
        self.attempt_start = now
        self.attempts = 0
        self.throttles = 0
        self.backoff = 0.0
        self.last_delay = 0.0
        self.clock_skew_retried = False
        self.spent = 0  # retry-budget tokens this call's retries took

    def summary(self) -> dict[str, Any]:
        return {"Attempts": self.attempts, "BackoffSeconds": round(self.backoff, 6)}


class OperationState:
    """What is fixed for one operation of one client: its resolved config and policy."""

    __slots__ = ("name", "config", "policy")

    def __init__(self, name: str, config: Config, policy: RetryPolicy) -> None:
        self.name = name
        self.config = config
        self.policy = policy


def _crc32_mismatch(http: Any) -> bool:
    expected = http.headers.get("x-amz-crc32")
    if expected is None:
        return False
    try:
        return (zlib.crc32(http.content) & 0xFFFFFFFF) != int(expected)
    except (TypeError, ValueError):
        return False


def _retry_after_seconds(headers: Any, now_wall: Callable[[], float]) -> Optional[float]:
    """``x-amz-retry-after`` (milliseconds) or ``Retry-After`` (seconds or an HTTP date)."""
    value = headers.get("x-amz-retry-after")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - now_wall())


class Engine:
    """The hooks of one covered client. Configuration can be swapped (``reconfigure``)."""

    def __init__(self, client: Any, config: Config, dispatcher: Any, *,
                 clock: Callable[[], float] = time.perf_counter,
                 rand: Callable[[], float] = random.random,
                 fallback: Optional[Callable[..., Any]] = None) -> None:
        self.client = client
        meta = client.meta
        self.service: str = meta.service_model.service_name
        self.region: Optional[str] = meta.region_name
        self.service_event = meta.service_model.service_id.hyphenize()
        self._user_attempts = (meta.config.retries or {}).get("total_max_attempts")
        # botocore's retry handlers retry a DynamoDB response whose body fails its CRC32 header;
        # owning retries, we must too.
        self._check_crc32 = self.service in ("dynamodb", "dynamodbstreams")
        self._clock = clock
        self._rand = rand
        self._fallback = fallback  # botocore's own retry handler, built lazily by the plugin
        self.config = config
        self.dispatcher = dispatcher
        self._ops: dict[str, OperationState] = {}
        self.guards: Any = None  # budget / rate limiter / breaker, set by the plugin
        #: one-off set-up the plugin wants done on the first call (e.g. after botocore has
        #: finished building the client); None afterwards.
        self.pending_setup: Optional[Callable[[], None]] = None

    # -- configuration -------------------------------------------------------------------

    def reconfigure(self, config: Config, dispatcher: Any) -> None:
        self.config = config
        self.dispatcher = dispatcher
        self._ops = {}

    def max_attempts(self, op_config: Config) -> int:
        if op_config.max_attempts is not None:
            return op_config.max_attempts
        if self._user_attempts is not None:
            return max(1, int(self._user_attempts))
        from botocore.retries import standard

        defaults: dict[str, int] = getattr(standard, "_SERVICE_MAX_ATTEMPTS", {})
        return defaults.get(self.service_event, 3)

    def operation(self, name: str) -> OperationState:
        op = self._ops.get(name)
        if op is None:
            op_config = self.config.for_operation(self.service, name)
            model = self.client.meta.service_model.operation_model(name)
            policy = RetryPolicy.from_config(op_config, self.max_attempts(op_config),
                                             is_idempotent(model), self._rand)
            op = OperationState(name, op_config, policy)
            self._ops[name] = op
        return op

    # -- request-created -----------------------------------------------------------------

    def on_request_created(self, request: Any, operation_name: str = "", **kwargs: Any) -> None:
        """Contract: the return value is ignored; raising aborts the call (fail-fast only)."""
        setup = self.pending_setup
        if setup is not None:
            self.pending_setup = None  # racing threads may both run it: it is idempotent
            try:
                setup()
            except Exception as exc:  # fail open, and still cover this call
                FAILURES.report("client-setup", exc)
        try:
            context = request.context
            state = context.get(CONTEXT_KEY)
            now = self._clock()
            if state is None:
                state = CallState(self.operation(operation_name), now)
                context[CONTEXT_KEY] = state
                retries = context.get("retries")
                if retries is not None:
                    retries["max"] = state.op.policy.max_attempts
            guards = self.guards
            if guards is None:
                state.attempt_start = now
                state.attempts += 1
                return
        except Exception as exc:  # fail open
            FAILURES.report("request-created", exc)
            return
        # A fail-fast error from the guards is deliberate and must propagate (botocore reports
        # it through after-call-error, where we record the call); anything else fails open.
        try:
            guards.before_attempt(self, state, request)
        except _FAIL_FAST:
            raise
        except Exception as exc:
            FAILURES.report("guards", exc)
        state.attempt_start = self._clock()  # after any rate-limiter wait
        state.attempts += 1

    def now(self) -> float:
        return self._clock()

    # -- needs-retry ---------------------------------------------------------------------

    def on_needs_retry(self, response: Any = None, attempts: int = 1,
                       caught_exception: Optional[BaseException] = None,
                       request_dict: Any = None, **kwargs: Any) -> Optional[float]:
        """Contract: None = do not retry; a number = botocore sleeps that long, then retries."""
        try:
            # The success path: no classification, no allocation.
            if caught_exception is None and response is not None \
                    and response[0].status_code < 300 \
                    and not (self._check_crc32 and _crc32_mismatch(response[0])):
                if self.dispatcher.active:
                    state = request_dict["context"].get(CONTEXT_KEY)
                    if state is not None:
                        self._emit_attempt(state, None, response[0].status_code, None, None)
                return None
            return self._decide(response, attempts, caught_exception, request_dict, kwargs)
        except Exception as exc:  # fail open: botocore's own policy decides
            FAILURES.report("needs-retry", exc)
            return self._fallback_decision(response=response, attempts=attempts,
                                           caught_exception=caught_exception,
                                           request_dict=request_dict, **kwargs)

    def _fallback_decision(self, **kwargs: Any) -> Optional[float]:
        try:
            handler = self._fallback() if self._fallback is not None else None
            if handler is None:
                return None
            result = handler(**kwargs)
            return None if result is None or result is False else float(result)
        except Exception as exc:
            FAILURES.report("needs-retry-fallback", exc)
            return None

    def outcome_of(self, response: Any, caught_exception: Optional[BaseException]) -> Outcome:
        if caught_exception is not None:
            if isinstance(caught_exception, _FAIL_FAST):
                return Outcome(_category_of(caught_exception), _code_of(caught_exception),
                               None, final=True)
            info = taxonomy.classify(caught_exception)
            ambiguous = not isinstance(caught_exception, _NOT_SENT) and (
                isinstance(caught_exception, _AMBIGUOUS)
                or info.category is Category.Unavailable)
            return Outcome(info.category, info.code, info.status, ambiguous=ambiguous)
        http, parsed = response
        status = http.status_code
        if status < 300:  # a 2xx that failed its integrity check (DynamoDB x-amz-crc32)
            return Outcome(Category.Unavailable, "CRC32MismatchError", status)
        error = parsed.get("Error") or {}
        code = error.get("QueryErrorCode") or error.get("Code")
        category = taxonomy.classify_code(code, status, self.service)
        retry_after = None
        if category in (Category.Throttled, Category.Unavailable):
            retry_after = _retry_after_seconds(http.headers, time.time)
        return Outcome(category, code, status, retry_after=retry_after)

    def _decide(self, response: Any, attempts: int, caught_exception: Optional[BaseException],
                request_dict: Any, event_kwargs: dict[str, Any]) -> Optional[float]:
        state: Optional[CallState] = request_dict["context"].get(CONTEXT_KEY)
        if state is None:  # our request-created handler did not run: let botocore decide
            return self._fallback_decision(response=response, attempts=attempts,
                                           caught_exception=caught_exception,
                                           request_dict=request_dict, **event_kwargs)
        outcome = self.outcome_of(response, caught_exception)
        if outcome.throttled:
            state.throttles += 1
        guards = self.guards
        if guards is not None:
            guards.on_failure(self, state, outcome)
        now = self._clock()
        policy = state.op.policy
        delay = policy.decide(outcome, attempts, now - state.start, state.last_delay,
                              state.clock_skew_retried)
        if delay is not None and guards is not None:
            delay = guards.allow_retry(self, state, outcome, delay)
        if delay is not None:
            if outcome.category is Category.ClockSkew:
                state.clock_skew_retried = True
            state.last_delay = delay
            state.backoff += delay
        elif guards is not None:
            guards.on_final_failure(self, state, outcome)
        if self.dispatcher.active:
            self._emit_attempt(state, outcome, outcome.status, outcome.code, delay)
        return delay

    # -- after-call / after-call-error ---------------------------------------------------

    def on_after_call(self, http_response: Any = None, parsed: Any = None,
                      model: Any = None, context: Any = None, **kwargs: Any) -> None:
        """Contract: return value ignored; runs before botocore raises for status >= 300."""
        try:
            state: Optional[CallState] = context.get(CONTEXT_KEY) if context else None
            status = http_response.status_code
            metadata = parsed.get("ResponseMetadata") if isinstance(parsed, dict) else None
            if state is not None and metadata is not None:
                metadata[METADATA_KEY] = state.summary()
            if status < 300:
                if state is not None:
                    if self.guards is not None:
                        self.guards.on_success(self, state)
                    if self.dispatcher.active:
                        self._emit_call(state, SUCCESS, None, None, status)
                return
            category = errors.enrich_error(parsed, status, self.service,
                                           getattr(model, "name", ""), context)
            if state is not None and self.dispatcher.active:
                error = parsed.get("Error") or {}
                self._emit_call(state, ERROR, category,
                                error.get("QueryErrorCode") or error.get("Code"), status)
        except Exception as exc:  # fail open
            FAILURES.report("after-call", exc)

    def on_after_call_error(self, exception: Optional[BaseException] = None,
                            context: Any = None, **kwargs: Any) -> None:
        """Contract: return value ignored; botocore re-raises ``exception`` afterwards."""
        try:
            state: Optional[CallState] = context.get(CONTEXT_KEY) if context else None
            if state is None or exception is None:
                return
            try:
                exception.boto_resilience = state.summary()  # type: ignore[attr-defined]
            except AttributeError:
                pass
            if self.dispatcher.active:
                outcome = self.outcome_of(None, exception)
                self._emit_call(state, ERROR, outcome.category, outcome.code, outcome.status)
        except Exception as exc:  # fail open
            FAILURES.report("after-call-error", exc)

    # -- records -------------------------------------------------------------------------

    # Records are built positionally, in field order: keyword arguments cost twice as much on
    # this path, which runs once per attempt and once per call.

    def _emit_attempt(self, state: CallState, outcome: Optional[Outcome], status: Optional[int],
                      code: Optional[str], delay: Optional[float]) -> None:
        latency = self._clock() - state.attempt_start
        if outcome is None:
            record = AttemptRecord(self.service, state.op.name, self.region, state.attempts,
                                   SUCCESS, None, None, status, latency, False, False, 0.0)
        else:
            record = AttemptRecord(self.service, state.op.name, self.region, state.attempts,
                                   ERROR, outcome.category, code, status, latency,
                                   outcome.throttled, delay is not None, delay or 0.0)
        self.dispatcher.on_attempt(record)

    def _emit_call(self, state: CallState, outcome: str, category: Optional[Category],
                   code: Optional[str], status: Optional[int]) -> None:
        attempts = state.attempts
        self.dispatcher.on_call(CallRecord(
            self.service, state.op.name, self.region, outcome, category, code, status,
            attempts, attempts - 1 if attempts > 1 else 0, state.throttles, state.backoff,
            self._clock() - state.start))


def _category_of(exc: BaseException) -> Category:
    for category in Category:
        if isinstance(exc, errors.class_for(category)):
            return category
    return Category.Other


def _code_of(exc: BaseException) -> Optional[str]:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        return str(code) if code is not None else None
    return type(exc).__name__
