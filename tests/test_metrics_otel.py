"""The OpenTelemetry sink: instrument names, units and attributes per the semantic conventions,
read back through the SDK's InMemoryMetricReader."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from recordkit import attempt, call

from boto_resilience.metrics.otel import DURATION_BUCKETS, OtelSink
from boto_resilience.metrics.records import StateChange
from boto_resilience.taxonomy import Category

COMMON = {"rpc.system": "aws-api", "rpc.service": "DynamoDB", "rpc.method": "GetItem",
          "cloud.region": "us-east-1"}


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


def metrics_by_name(reader: InMemoryMetricReader) -> dict[str, Any]:
    data = reader.get_metrics_data()
    assert data is not None
    out: dict[str, Any] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            assert sm.scope.name == "boto_resilience"
            for metric in sm.metrics:
                out[metric.name] = metric
    return out


def points(metric: Any) -> dict[frozenset[Any], Any]:
    return {frozenset(dp.attributes.items()): dp for dp in metric.data.data_points}


def test_instruments_follow_the_conventions(reader: InMemoryMetricReader) -> None:
    sink = OtelSink(meter_provider=MeterProvider(metric_readers=[reader]))
    sink.on_attempt(attempt())
    sink.on_attempt(attempt(attempt=2, outcome="success", category=None, error_code=None,
                            http_status=200, throttled=False, will_retry=False, backoff=0.0))
    sink.on_call(call(attempts=2, retries=1, throttles=1, backoff=0.1, latency=0.12))
    sink.on_call(call(outcome="error", category=Category.AccessDenied,
                      error_code="AccessDeniedException", http_status=400, latency=0.003))
    sink.on_state_change(StateChange("circuit_breaker", "dynamodb/us-east-1", "closed", "open"))
    m = metrics_by_name(reader)

    duration = m["rpc.client.call.duration"]
    assert duration.unit == "s"
    pts = points(duration)
    ok = pts[frozenset({**COMMON, "outcome": "success"}.items())]
    assert ok.count == 1 and ok.sum == pytest.approx(0.12)
    assert tuple(ok.explicit_bounds) == DURATION_BUCKETS  # the advisory was honoured
    failed = pts[frozenset({**COMMON, "outcome": "error", "error.type": "AccessDeniedException",
                            "error.category": "AccessDenied"}.items())]
    assert failed.count == 1

    assert "aws.sdk.calls" not in m and "aws.sdk.attempts" not in m  # the histograms count
    assert sum(p.count for p in pts.values()) == 2
    attempts = points(m["aws.sdk.attempt.duration"])
    assert attempts[frozenset({**COMMON, "outcome": "error", "error.type": "ThrottlingException",
                               "error.category": "Throttled"}.items())].count == 1
    assert m["aws.sdk.attempt.duration"].unit == "s"
    retries = points(m["aws.sdk.retries"])
    assert retries[frozenset({**COMMON, "error.category": "Throttled"}.items())].value == 1
    assert points(m["aws.sdk.throttles"])[frozenset(COMMON.items())].value == 1
    backoff = points(m["aws.sdk.backoff"])[frozenset(COMMON.items())]
    assert backoff.value == pytest.approx(0.1) and m["aws.sdk.backoff"].unit == "s"
    changes = points(m["aws.sdk.state_changes"])
    assert changes[frozenset({"component": "circuit_breaker", "scope": "dynamodb/us-east-1",
                              "state": "open"}.items())].value == 1


def test_success_has_no_error_type_and_region_is_optional(reader: InMemoryMetricReader) -> None:
    sink = OtelSink(meter_provider=MeterProvider(metric_readers=[reader]))
    sink.on_call(call(service="s3", operation="ListBuckets", region=None))
    (attrs,) = points(metrics_by_name(reader)["rpc.client.call.duration"]).keys()
    assert dict(attrs) == {"rpc.system": "aws-api", "rpc.service": "S3",
                           "rpc.method": "ListBuckets", "outcome": "success"}


def test_attribute_dicts_are_cached(reader: InMemoryMetricReader) -> None:
    sink = OtelSink(meter_provider=MeterProvider(metric_readers=[reader]))
    sink.on_call(call())
    sink.on_call(call())
    assert len(sink._queue) == 2  # the caller's thread only queues
    sink.flush()
    assert len(sink._attrs) == 1
    assert points(metrics_by_name(reader)["rpc.client.call.duration"])[
        frozenset({**COMMON, "outcome": "success"}.items())].count == 2


def test_global_meter_provider_is_the_default(monkeypatch: pytest.MonkeyPatch,
                                              reader: InMemoryMetricReader) -> None:
    from opentelemetry import metrics

    provider = MeterProvider(metric_readers=[reader])
    monkeypatch.setattr(metrics, "get_meter_provider", lambda: provider)
    sink = OtelSink()
    sink.on_call(call())
    assert "rpc.client.call.duration" in metrics_by_name(reader)


def test_a_collection_includes_what_is_queued(reader: InMemoryMetricReader) -> None:
    sink = OtelSink(meter_provider=MeterProvider(metric_readers=[reader]))
    sink.on_call(call())
    m = metrics_by_name(reader)  # no flush: the drain callback runs first
    assert "aws.sdk.metrics.drain" not in m  # the hook never reports a value
    assert sum(p.count for p in points(m["rpc.client.call.duration"]).values()) == 1
    sink.close()
