"""The records the adapter hands to metric sinks.

One frozen ``AttemptRecord`` per HTTP attempt (or connection-level failure) and one frozen
``CallRecord`` per API call, built by :mod:`boto_resilience.handlers` from botocore's
``before-send`` / ``needs-retry`` / ``after-call`` / ``after-call-error`` events. A
``StateChange`` reports a transition of a resilience component (circuit breaker opening,
rate limiter engaging) so sinks can count it.

Every field is low-cardinality by construction: service and operation names, region, the
error code and category, an HTTP status. Nothing from the request (bucket, key, ARN,
parameters) or the credentials is ever put in a record, so no sink can leak it.

Latencies and backoff are in seconds (floats), measured with ``time.perf_counter``.

Two records are built for every AWS call, so their construction is on the hot path: they are
typed named tuples (immutable, positional, about 0.5 µs for twelve fields, against 2.4 µs for a
frozen dataclass's ``__init__``). Use ``record._replace(...)`` to derive one.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Optional, Protocol, runtime_checkable

from boto_resilience.taxonomy import Category

#: ``outcome`` values.
SUCCESS = "success"  # a 2xx/3xx response that botocore returns to the caller
ERROR = "error"  # the call raised (ClientError, connection error, or our own fail-fast)


class AttemptRecord(NamedTuple):
    """One attempt: one request sent (or one connection-level failure)."""

    service: str  # boto3 client name, e.g. "s3", "dynamodb"
    operation: str  # API operation name, e.g. "GetObject"
    region: Optional[str]
    attempt: int  # 1-based attempt number within the call
    outcome: str  # SUCCESS or ERROR (ERROR: this attempt failed, whether or not it is retried)
    category: Optional[Category]  # None on success
    error_code: Optional[str]  # AWS error code, or the botocore exception class name
    http_status: Optional[int]  # None for connection-level failures
    latency: float  # seconds from send to response/exception of this attempt
    throttled: bool  # this attempt was throttled (Category.Throttled)
    will_retry: bool  # our policy decided to retry after this attempt
    backoff: float  # seconds we ask botocore to sleep before the next attempt (0 if none)


class CallRecord(NamedTuple):
    """One API call, across all of its attempts."""

    service: str
    operation: str
    region: Optional[str]
    outcome: str  # SUCCESS or ERROR
    category: Optional[Category]  # category of the final error; None on success
    error_code: Optional[str]
    http_status: Optional[int]
    attempts: int  # requests sent (0 if we failed fast before sending)
    retries: int  # attempts - 1, never negative
    throttles: int  # attempts that were throttled
    backoff: float  # total seconds of backoff asked for between attempts
    latency: float  # seconds from the call's first attempt to its end


@dataclasses.dataclass(frozen=True)
class StateChange:
    """A resilience component changed state (e.g. a circuit opened)."""

    component: str  # "circuit_breaker", "rate_limiter", "retry_budget"
    scope: str  # low-cardinality key, e.g. "dynamodb/us-east-1"
    old: str
    new: str


@runtime_checkable
class Sink(Protocol):
    """A metrics backend. Methods are called on the caller's thread: they must be fast and
    must not block (queue to a background thread for anything slow). Exceptions are caught
    by the dispatcher, logged once, and counted; they never reach the user's call."""

    def on_attempt(self, record: AttemptRecord) -> None: ...

    def on_call(self, record: CallRecord) -> None: ...

    def on_state_change(self, change: StateChange) -> None: ...

    def close(self) -> None: ...
