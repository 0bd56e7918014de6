"""The one naming table: what every metric and attribute is called in each backend.

Every sink reads its names from here, so a metric has the same meaning under each name:

==========================  ===========================  ==============  ================  ====
canonical (OpenTelemetry)   Prometheus (``<ns>_`` + ..)  CloudWatch/EMF  StatsD (prefix +)  unit
==========================  ===========================  ==============  ================  ====
rpc.client.call.duration    call_duration_seconds        CallLatency     call.duration      s
aws.sdk.attempt.duration    attempt_duration_seconds     AttemptLatency  attempt.duration   s
aws.sdk.calls               calls_total                  Calls           calls              1
aws.sdk.errors              calls_total{outcome=error}   Errors          calls (tagged)     1
aws.sdk.attempts            attempts_total               Attempts        attempts           1
aws.sdk.retries             retries_total                Retries         retries            1
aws.sdk.throttles           throttles_total              Throttles       throttles          1
aws.sdk.backoff             backoff_seconds_total        BackoffTime     backoff            s
aws.sdk.state_changes       state_changes_total          StateChanges    state_changes      1
==========================  ===========================  ==============  ================  ====

(CloudWatch/EMF and StatsD express durations in milliseconds, as is usual there. OpenTelemetry
counts calls and attempts with the duration histograms' counts, as its HTTP/RPC conventions do,
rather than with separate ``aws.sdk.calls``/``aws.sdk.attempts`` counters.)

The call duration is OpenTelemetry's RPC convention ``rpc.client.call.duration`` (seconds; it
replaced the millisecond ``rpc.client.duration``). There is no convention for retries, throttles
or backoff, so those live under ``aws.sdk.*``.

Attributes follow the OpenTelemetry conventions for the AWS SDK (``rpc.system=aws-api``,
``rpc.service``, ``rpc.method``, ``cloud.region``, ``error.type``); Prometheus gets the same keys
with dots turned into underscores (what OTel's own Prometheus exporter does); CloudWatch gets the
PascalCase dimension names usual there. ``rpc.system`` is constant, so only OTel carries it.

``rpc.service`` is the AWS *service id* (``DynamoDB``, ``S3``, ``SFN``), as the AWS SDK convention
says, not the boto3 client name (``dynamodb``, ``stepfunctions``) that the records carry. Records
do not have it and botocore only knows it from the service model, so :func:`service_id` reads it
from the model file's header once per service and process (well under a millisecond, where the
full model load costs up to ~100 ms), falling back to the client name. This runs on a sink's
label-cache miss (or its background thread), never on the steady-state path.

Label values are cleaned once per label set (:func:`clean_value`): length-capped and restricted to
a safe alphabet. Records are low-cardinality by construction; this is defence in depth, so an odd
error code can neither explode a backend's series count nor carry arbitrary text into it.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import re
import threading
from typing import Any, Optional


@dataclasses.dataclass(frozen=True)
class MetricName:
    """One metric, named for every backend."""

    key: str  # canonical name (OpenTelemetry)
    unit: str  # UCUM unit for OpenTelemetry
    prometheus: str  # without the namespace prefix; suffixes per Prometheus conventions
    cloudwatch: str
    cloudwatch_unit: str
    statsd: str  # without the prefix
    description: str


CALL_DURATION = MetricName(
    "rpc.client.call.duration", "s", "call_duration_seconds", "CallLatency", "Milliseconds",
    "call.duration", "Duration of an AWS API call, from its first attempt to its end, "
    "including retries and backoff.",
)
ATTEMPT_DURATION = MetricName(
    "aws.sdk.attempt.duration", "s", "attempt_duration_seconds", "AttemptLatency", "Milliseconds",
    "attempt.duration", "Duration of one HTTP attempt of an AWS API call.",
)
CALLS = MetricName(
    "aws.sdk.calls", "{call}", "calls_total", "Calls", "Count", "calls",
    "AWS API calls, by outcome.",
)
ERRORS = MetricName(
    "aws.sdk.errors", "{call}", "calls_total", "Errors", "Count", "calls",
    "AWS API calls that raised (CloudWatch only: elsewhere calls with outcome=error).",
)
ATTEMPTS = MetricName(
    "aws.sdk.attempts", "{attempt}", "attempts_total", "Attempts", "Count", "attempts",
    "HTTP attempts (requests sent, or connection-level failures).",
)
RETRIES = MetricName(
    "aws.sdk.retries", "{retry}", "retries_total", "Retries", "Count", "retries",
    "Attempts that were retried, by the error category that caused the retry.",
)
THROTTLES = MetricName(
    "aws.sdk.throttles", "{throttle}", "throttles_total", "Throttles", "Count", "throttles",
    "Attempts that were throttled.",
)
BACKOFF = MetricName(
    "aws.sdk.backoff", "s", "backoff_seconds_total", "BackoffTime", "Milliseconds", "backoff",
    "Time spent backing off between attempts.",
)
STATE_CHANGES = MetricName(
    "aws.sdk.state_changes", "{change}", "state_changes_total", "StateChanges", "Count",
    "state_changes", "State changes of resilience components (circuit breaker, rate limiter).",
)

ALL_METRICS = (
    CALL_DURATION, ATTEMPT_DURATION, CALLS, ERRORS, ATTEMPTS, RETRIES, THROTTLES, BACKOFF,
    STATE_CHANGES,
)


@dataclasses.dataclass(frozen=True)
class AttributeName:
    """One attribute (label, tag, dimension), named for every backend."""

    key: str  # OpenTelemetry attribute / StatsD tag key
    prometheus: str
    cloudwatch: str


RPC_SYSTEM = AttributeName("rpc.system", "rpc_system", "RpcSystem")
SERVICE = AttributeName("rpc.service", "rpc_service", "Service")
METHOD = AttributeName("rpc.method", "rpc_method", "Operation")
REGION = AttributeName("cloud.region", "cloud_region", "Region")
OUTCOME = AttributeName("outcome", "outcome", "Outcome")
CATEGORY = AttributeName("error.category", "error_category", "ErrorCategory")
ERROR_TYPE = AttributeName("error.type", "error_type", "ErrorCode")
COMPONENT = AttributeName("component", "component", "Component")
SCOPE = AttributeName("scope", "scope", "Scope")
STATE = AttributeName("state", "state", "State")

#: ``rpc.system`` for every AWS SDK call (OpenTelemetry AWS SDK convention).
RPC_SYSTEM_VALUE = "aws-api"

#: Stand-in for a value past a sink's series limit (OpenTelemetry's spelling for "not recognized").
OTHER = "_OTHER"

_MAX_VALUE_LEN = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/\-]")


def clean_value(value: Optional[str]) -> str:
    """A label value safe for any backend: at most 64 characters of ``[A-Za-z0-9_.:/-]``.

    Called once per label set (on a cache miss), never per record."""
    if not value:
        return ""
    if len(value) > _MAX_VALUE_LEN:
        value = value[:_MAX_VALUE_LEN]
    return _UNSAFE.sub("_", value)


def snake_case(name: str) -> str:
    """``BotoResilience`` -> ``boto_resilience``; ``my-app/AWS`` -> ``my_app_aws``: a namespace as a
    Prometheus / StatsD prefix."""
    out = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    out = re.sub(r"[^A-Za-z0-9]+", "_", out).strip("_").lower()
    if not out:
        return "boto_resilience"
    if out[0].isdigit():
        out = "_" + out
    return out


# --- service id -----------------------------------------------------------------------------

_SERVICE_ID_HEAD = re.compile(rb'"serviceId"\s*:\s*"([^"]{1,64})"')
_service_ids: dict[str, str] = {}
_service_ids_lock = threading.Lock()
_loader_paths: Optional[tuple[Any, tuple[str, ...]]] = None


def service_id(service: str) -> str:
    """The AWS service id (``DynamoDB``) for a boto3 client name (``dynamodb``); cached.

    Falls back to the client name if the model cannot be read. Never raises."""
    cached = _service_ids.get(service)
    if cached is not None:
        return cached
    with _service_ids_lock:
        cached = _service_ids.get(service)
        if cached is None:
            try:
                cached = _read_service_id(service) or service
            except Exception:  # a metrics label is never worth an exception
                cached = service
            _service_ids[service] = clean_value(cached) or service
        return _service_ids[service]


def _read_service_id(service: str) -> Optional[str]:
    """Read ``metadata.serviceId`` from the head of the service model file that botocore would
    load (same search path and version choice), without parsing the whole model."""
    global _loader_paths
    if _loader_paths is None:
        import botocore.loaders

        loader = botocore.loaders.create_loader()
        _loader_paths = (loader, tuple(loader.search_paths))
    loader, paths = _loader_paths
    version = loader.determine_latest_version(service, "service-2")
    for base in paths:
        path = os.path.join(base, service, version, "service-2.json")
        for candidate, gzipped in ((path, False), (path + ".gz", True)):
            if not os.path.isfile(candidate):
                continue
            if gzipped:
                with gzip.open(candidate, "rb") as fh:
                    head = fh.read(8192)
            else:
                with open(candidate, "rb") as fh:
                    head = fh.read(8192)
            match = _SERVICE_ID_HEAD.search(head)
            if match:
                return match.group(1).decode("ascii", "replace")
            return None
    return None
