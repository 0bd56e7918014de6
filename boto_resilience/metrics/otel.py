"""OpenTelemetry metrics through ``opentelemetry-api`` (extra ``otel``).

Instruments, on the meter ``boto_resilience`` of the global MeterProvider unless one is injected:

==============================  =========  ====  ==========================================
name                            kind       unit  attributes (besides the common ones)
==============================  =========  ====  ==========================================
``rpc.client.call.duration``    histogram  s     outcome, error.type, error.category on error
``aws.sdk.attempt.duration``    histogram  s     same
``aws.sdk.retries``             counter    1     error.category (why it was retried)
``aws.sdk.throttles``           counter    1
``aws.sdk.backoff``             counter    s
``aws.sdk.state_changes``       counter    1     component, scope, state (no common ones)
==============================  =========  ====  ==========================================

Calls and attempts are counted by the two histograms (every histogram point has a count, with
the same attributes), as OpenTelemetry's HTTP and RPC conventions do: no separate
``aws.sdk.calls`` / ``aws.sdk.attempts`` counters, which would double the SDK's per-call cost
(each measurement in the OpenTelemetry SDK costs several microseconds).

Common attributes follow the OpenTelemetry semantic conventions for the AWS SDK:
``rpc.system="aws-api"``, ``rpc.service`` (the AWS service id, ``DynamoDB``; see
:func:`boto_resilience.metrics.names.service_id`), ``rpc.method`` (``GetItem``), ``cloud.region``.
``error.type`` is the AWS error code (or botocore's exception class name for connection errors),
present only when the call or attempt failed, as the RPC conventions ask. The call duration is the
RPC convention's ``rpc.client.call.duration`` in seconds (the older ``rpc.client.duration`` in
milliseconds is deprecated); it gets the convention's recommended bucket boundaries as an advisory
where the API supports it (``opentelemetry-api`` >= 1.23).

The caller's thread only queues the record (see
:class:`~boto_resilience.metrics._support.QueuedSink`); each SDK measurement costs several
microseconds, more when interleaved with botocore's code. A background thread records them, and
so does every collection first (an observable gauge's callback, which the SDK runs before
collecting, drains the queue; it never reports a value), so a reader sees every record handed
over before it collects. The OpenTelemetry API has no bound instruments, so the sink caches one
attribute dict per distinct label set and passes the same object every time.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from boto_resilience.metrics import names
from boto_resilience.metrics._support import QueuedSink
from boto_resilience.metrics.records import SUCCESS, AttemptRecord, CallRecord, StateChange

#: Bucket boundaries (seconds) that OpenTelemetry's RPC/HTTP duration conventions recommend.
DURATION_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)

_Key = tuple[str, str, Optional[str], str, Any, Optional[str]]


class OtelSink(QueuedSink):
    """Records to OpenTelemetry instruments (module docstring for names and attributes)."""

    def __init__(
        self,
        meter_provider: Any = None,
        *,
        meter_name: str = "boto_resilience",
        max_series: int = 2000,
        max_queue: int = 100_000,
    ) -> None:
        try:
            from opentelemetry import metrics
        except ImportError as exc:  # pragma: no cover - exercised through build_sink
            from boto_resilience.metrics import MissingDependency

            raise MissingDependency("otel", "opentelemetry-api") from exc
        super().__init__("boto_resilience-otel", 0.5, max_queue)
        provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        try:
            from importlib.metadata import version

            lib_version: Optional[str] = version("boto_resilience")
        except Exception:
            lib_version = None
        meter = provider.get_meter(meter_name, lib_version)
        self.meter = meter
        self.max_series = max_series
        self._call_duration = _histogram(meter, names.CALL_DURATION)
        self._attempt_duration = _histogram(meter, names.ATTEMPT_DURATION)
        self._retries = _counter(meter, names.RETRIES)
        self._throttles = _counter(meter, names.THROTTLES)
        self._backoff = _counter(meter, names.BACKOFF)
        self._state_changes = _counter(meter, names.STATE_CHANGES)
        # Observable instruments' callbacks run at the start of each collection: this one never
        # reports a value, it aggregates what is queued so that the collection includes it.
        meter.create_observable_gauge(
            "aws.sdk.metrics.drain", callbacks=[self._drain_callback],
            description="internal: drains boto_resilience's queue at collection; no values")
        # key -> (attributes for the outcome, common attributes, retry attributes)
        self._attrs: dict[_Key, tuple[dict[str, str], dict[str, str], dict[str, str]]] = {}
        self._lock = threading.Lock()

    def _bind(self, key: _Key) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        service, operation, region, outcome, category, code = key
        common = {
            names.RPC_SYSTEM.key: names.RPC_SYSTEM_VALUE,
            names.SERVICE.key: names.service_id(service),
            names.METHOD.key: names.clean_value(operation),
        }
        if region:
            common[names.REGION.key] = names.clean_value(region)
        cat = str(category) if category is not None else "Other"
        with self._lock:
            full = dict(common)
            full[names.OUTCOME.key] = outcome
            if outcome != SUCCESS:
                too_many = len(self._attrs) >= self.max_series
                full[names.ERROR_TYPE.key] = (
                    names.OTHER if too_many else (names.clean_value(code) or names.OTHER)
                )
                full[names.CATEGORY.key] = cat
            retry = dict(common)
            retry[names.CATEGORY.key] = cat
            bound = (full, common, retry)
            if len(self._attrs) < self.max_series:
                self._attrs[key] = bound
        return bound

    def _drain_callback(self, options: Any) -> list[Any]:
        self.drain()
        return []

    # The caller's side is QueuedSink._put; the worker (or a collection) records.

    def _ingest(self, record: Any) -> None:
        if isinstance(record, CallRecord):
            self._record_call(record)
        elif isinstance(record, AttemptRecord):
            self._record_attempt(record)
        else:
            self._record_change(record)

    def _record_call(self, record: CallRecord) -> None:
        key = (record.service, record.operation, record.region, record.outcome,
               record.category, record.error_code)
        attrs = self._attrs.get(key) or self._bind(key)
        self._call_duration.record(record.latency, attrs[0])

    def _record_attempt(self, record: AttemptRecord) -> None:
        key = (record.service, record.operation, record.region, record.outcome,
               record.category, record.error_code)
        attrs = self._attrs.get(key) or self._bind(key)
        self._attempt_duration.record(record.latency, attrs[0])
        if record.will_retry:
            self._retries.add(1, attrs[2])
            if record.backoff > 0:
                self._backoff.add(record.backoff, attrs[1])
        if record.throttled:
            self._throttles.add(1, attrs[1])

    def _record_change(self, change: StateChange) -> None:
        self._state_changes.add(1, {
            names.COMPONENT.key: names.clean_value(change.component),
            names.SCOPE.key: names.clean_value(change.scope),
            names.STATE.key: names.clean_value(change.new),
        })

    def flush(self) -> None:
        """Record what is queued now (exporting belongs to the MeterProvider's readers)."""
        self.drain()

    def close(self) -> None:
        """Stop the worker after it recorded what is queued."""
        self._worker.stop(timeout=5.0, final_tick=True)

    def __repr__(self) -> str:
        return f"OtelSink(meter={getattr(self.meter, 'name', '?')!r})"


def _counter(meter: Any, spec: names.MetricName) -> Any:
    return meter.create_counter(spec.key, unit=spec.unit, description=spec.description)


def _histogram(meter: Any, spec: names.MetricName) -> Any:
    try:
        return meter.create_histogram(
            spec.key, unit=spec.unit, description=spec.description,
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
    except TypeError:  # opentelemetry-api < 1.23 has no advisory parameter
        return meter.create_histogram(spec.key, unit=spec.unit, description=spec.description)
