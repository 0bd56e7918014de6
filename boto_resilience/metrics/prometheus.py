"""Prometheus counters and histograms through ``prometheus_client`` (extra ``prometheus``).

Metrics (``<namespace>_`` prefix, ``boto_resilience`` by default; names from
:mod:`boto_resilience.metrics.names`):

=====================================  =========  ==============================================
name                                   type       labels
=====================================  =========  ==============================================
``calls_total``                        counter    rpc_service, rpc_method, cloud_region, outcome,
                                                  error_category, error_type
``attempts_total``                     counter    same as calls_total
``retries_total``                      counter    rpc_service, rpc_method, cloud_region,
                                                  error_category
``throttles_total``                    counter    rpc_service, rpc_method, cloud_region
``backoff_seconds_total``              counter    rpc_service, rpc_method, cloud_region
``call_duration_seconds``              histogram  rpc_service, rpc_method, cloud_region, outcome
``attempt_duration_seconds``           histogram  rpc_service, rpc_method, cloud_region, outcome
``state_changes_total``                counter    component, scope, state
=====================================  =========  ==============================================

Histograms carry fewer labels than counters on purpose: each label set of a histogram is a dozen
series. ``error_category``/``error_type`` are empty strings on success.

The caller's thread only queues the record (see
:class:`~boto_resilience.metrics._support.QueuedSink`): ``inc()``/``observe()`` take a lock and
loop in Python, and four of them per AWS call measured ~17-20 µs when made on the caller's
thread, against ~11 µs of CPU in total, most of it off the caller's thread, when the records are
queued and aggregated in batches. A background thread, or a scrape (a hook
collected ahead of the families drains the queue first), aggregates: label children are bound
once per distinct label set (``.labels()`` hashes and validates every value; a cached child is a
dict lookup), then ``inc()``/``observe()``. Past ``max_series`` distinct label sets the error
code is reported as ``_OTHER``, so a misbehaving service cannot explode the series count.

The metric families live in the given ``CollectorRegistry`` (the default registry if none). Building
a second sink on the same registry and namespace reuses the families already registered there
instead of failing with "Duplicated timeseries", so ``register()`` can be called for several
sessions.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any, Optional

from boto_resilience.metrics import names
from boto_resilience.metrics._support import QueuedSink
from boto_resilience.metrics.records import AttemptRecord, CallRecord, StateChange

#: Histogram buckets (seconds) for AWS API latency: 5 ms to 60 s.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)

_LABELS = (names.SERVICE.prometheus, names.METHOD.prometheus, names.REGION.prometheus)
_CALL_LABELS = (*_LABELS, names.OUTCOME.prometheus, names.CATEGORY.prometheus,
                names.ERROR_TYPE.prometheus)
_HIST_LABELS = (*_LABELS, names.OUTCOME.prometheus)
_RETRY_LABELS = (*_LABELS, names.CATEGORY.prometheus)
_CHANGE_LABELS = (names.COMPONENT.prometheus, names.SCOPE.prometheus, names.STATE.prometheus)


class _DrainHook:
    """A collector that yields nothing. Registered ahead of the families, it is collected first
    at every scrape and makes each live sink on the registry aggregate what it has queued, so a
    scrape (``generate_latest``, ``get_sample_value``) sees every record handed over before it."""

    def __init__(self) -> None:
        self.sinks: weakref.WeakSet[PrometheusSink] = weakref.WeakSet()

    def collect(self) -> list[Any]:
        for sink in list(self.sinks):
            sink.drain()
        return []


class _Families:
    """The metric families of one (registry, namespace)."""

    def __init__(self, registry: Any, namespace: str, buckets: Sequence[float]) -> None:
        from prometheus_client import Counter, Histogram

        self.hook = _DrainHook()
        registry.register(self.hook)

        def counter(spec: names.MetricName, labels: Sequence[str]) -> Any:
            return Counter(
                f"{namespace}_{spec.prometheus}", spec.description, labelnames=labels,
                registry=registry,
            )

        def histogram(spec: names.MetricName) -> Any:
            return Histogram(
                f"{namespace}_{spec.prometheus}", spec.description, labelnames=_HIST_LABELS,
                buckets=tuple(buckets), registry=registry,
            )

        self.calls = counter(names.CALLS, _CALL_LABELS)
        self.attempts = counter(names.ATTEMPTS, _CALL_LABELS)
        self.retries = counter(names.RETRIES, _RETRY_LABELS)
        self.throttles = counter(names.THROTTLES, _LABELS)
        self.backoff = counter(names.BACKOFF, _LABELS)
        self.call_duration = histogram(names.CALL_DURATION)
        self.attempt_duration = histogram(names.ATTEMPT_DURATION)
        self.state_changes = counter(names.STATE_CHANGES, _CHANGE_LABELS)
        self.buckets = tuple(buckets)


_families_lock = threading.Lock()
# registry -> {namespace: families}; weak so that a test's throw-away registry is freed.
_families: weakref.WeakKeyDictionary[Any, dict[str, _Families]] = weakref.WeakKeyDictionary()


def _families_for(registry: Any, namespace: str, buckets: Sequence[float]) -> _Families:
    with _families_lock:
        per_registry = _families.setdefault(registry, {})
        fams = per_registry.get(namespace)
        if fams is None:
            fams = per_registry[namespace] = _Families(registry, namespace, buckets)
        elif fams.buckets != tuple(buckets):
            raise ValueError(
                f"Prometheus metrics for namespace {namespace!r} already exist in this registry "
                f"with buckets {fams.buckets}; a second sink cannot use {tuple(buckets)}"
            )
        return fams


def _label(value: Optional[str]) -> str:
    return names.clean_value(value)


# Record fields forming the cache keys.
_CallKey = tuple[str, str, Optional[str], str, Any, Optional[str]]
_AttemptKey = tuple[str, str, Optional[str], str, Any, Optional[str], bool, bool]


class PrometheusSink(QueuedSink):
    """Records to ``prometheus_client`` metrics (module docstring for names and labels)."""

    def __init__(
        self,
        registry: Any = None,
        namespace: str = "boto_resilience",
        *,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        max_series: int = 2000,
        max_queue: int = 100_000,
    ) -> None:
        try:
            import prometheus_client
        except ImportError as exc:  # pragma: no cover - exercised through build_sink
            from boto_resilience.metrics import MissingDependency

            raise MissingDependency("prometheus", "prometheus_client") from exc
        super().__init__("boto_resilience-prometheus", 0.5, max_queue)
        self.registry = registry if registry is not None else prometheus_client.REGISTRY
        self.namespace = names.snake_case(namespace)
        self.max_series = max_series
        self._m = _families_for(self.registry, self.namespace, buckets)
        self._m.hook.sinks.add(self)
        self._calls: dict[_CallKey, tuple[Any, Any]] = {}
        self._attempts: dict[_AttemptKey, tuple[Any, Any, Any, Any, Any]] = {}
        self._lock = threading.Lock()

    def _base(self, service: str, operation: str, region: Optional[str]) -> tuple[str, str, str]:
        return (names.service_id(service), _label(operation), _label(region))

    def _error_type(self, code: Optional[str], cache_size: int) -> str:
        return names.OTHER if code and cache_size >= self.max_series else _label(code)

    def _bind_call(self, key: _CallKey) -> tuple[Any, Any]:
        service, operation, region, outcome, category, code = key
        base = self._base(service, operation, region)
        cat = str(category) if category is not None else ""
        with self._lock:
            error_type = self._error_type(code, len(self._calls))
            children = (
                self._m.calls.labels(*base, outcome, cat, error_type),
                self._m.call_duration.labels(*base, outcome),
            )
            if error_type != names.OTHER:
                self._calls[key] = children
        return children

    def _bind_attempt(self, key: _AttemptKey) -> tuple[Any, Any, Any, Any, Any]:
        service, operation, region, outcome, category, code, throttled, will_retry = key
        base = self._base(service, operation, region)
        cat = str(category) if category is not None else ""
        with self._lock:
            error_type = self._error_type(code, len(self._attempts))
            children = (
                self._m.attempts.labels(*base, outcome, cat, error_type),
                self._m.attempt_duration.labels(*base, outcome),
                self._m.retries.labels(*base, cat or "Other") if will_retry else None,
                self._m.backoff.labels(*base) if will_retry else None,
                self._m.throttles.labels(*base) if throttled else None,
            )
            if error_type != names.OTHER:
                self._attempts[key] = children
        return children

    # The caller's side is QueuedSink._put; the worker (or a scrape) aggregates.

    def _ingest(self, record: Any) -> None:
        if isinstance(record, CallRecord):
            self._ingest_call(record)
        elif isinstance(record, AttemptRecord):
            self._ingest_attempt(record)
        else:
            self._ingest_change(record)

    def _ingest_call(self, record: CallRecord) -> None:
        key = (record.service, record.operation, record.region, record.outcome,
               record.category, record.error_code)
        children = self._calls.get(key)
        if children is None:
            children = self._bind_call(key)
        children[0].inc()
        children[1].observe(record.latency)

    def _ingest_attempt(self, record: AttemptRecord) -> None:
        key = (record.service, record.operation, record.region, record.outcome,
               record.category, record.error_code, record.throttled, record.will_retry)
        children = self._attempts.get(key)
        if children is None:
            children = self._bind_attempt(key)
        children[0].inc()
        children[1].observe(record.latency)
        if children[2] is not None:
            children[2].inc()
            if record.backoff > 0:
                children[3].inc(record.backoff)
        if children[4] is not None:
            children[4].inc()

    def _ingest_change(self, change: StateChange) -> None:
        self._m.state_changes.labels(
            _label(change.component), _label(change.scope), _label(change.new)
        ).inc()

    def flush(self) -> None:
        """Aggregate what is queued into the metrics now."""
        self.drain()

    def close(self) -> None:
        """Stop the worker after it aggregated what is queued. The metrics stay in the
        registry (Prometheus pulls them)."""
        self._worker.stop(timeout=5.0, final_tick=True)

    def __repr__(self) -> str:
        return f"PrometheusSink(namespace={self.namespace!r})"
