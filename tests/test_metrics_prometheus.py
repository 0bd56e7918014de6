"""The Prometheus sink: names, labels, values in a CollectorRegistry; label children bound once;
series bounded; families shared between sinks on one registry."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from recordkit import attempt, call

from boto_resilience.metrics import build_sink
from boto_resilience.metrics.prometheus import PrometheusSink
from boto_resilience.metrics.records import StateChange
from boto_resilience.taxonomy import Category

BASE = {"rpc_service": "DynamoDB", "rpc_method": "GetItem", "cloud_region": "us-east-1"}


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    got = registry.get_sample_value(name, labels)
    return 0.0 if got is None else got


def test_counters_and_histograms() -> None:
    reg = CollectorRegistry()
    sink = PrometheusSink(registry=reg, namespace="BotoResilience")
    assert sink.namespace == "boto_resilience"
    sink.on_attempt(attempt())
    sink.on_attempt(attempt(outcome="success", category=None, error_code=None, http_status=200,
                            throttled=False, will_retry=False, backoff=0.0, latency=0.02))
    sink.on_call(call(attempts=2, retries=1, throttles=1, backoff=0.1, latency=0.13))
    sink.on_call(call(outcome="error", category=Category.NotFound,
                      error_code="ResourceNotFoundException", http_status=400, latency=0.004))
    sink.on_state_change(StateChange("circuit_breaker", "dynamodb/us-east-1", "closed", "open"))

    ok = {**BASE, "outcome": "success", "error_category": "", "error_type": ""}
    err = {**BASE, "outcome": "error", "error_category": "NotFound",
           "error_type": "ResourceNotFoundException"}
    assert value(reg, "boto_resilience_calls_total", **ok) == 1
    assert value(reg, "boto_resilience_calls_total", **err) == 1
    assert value(reg, "boto_resilience_attempts_total", **ok) == 1
    assert value(reg, "boto_resilience_attempts_total", **{
        **BASE, "outcome": "error", "error_category": "Throttled",
        "error_type": "ThrottlingException"}) == 1
    assert value(reg, "boto_resilience_retries_total", **BASE, error_category="Throttled") == 1
    assert value(reg, "boto_resilience_throttles_total", **BASE) == 1
    assert value(reg, "boto_resilience_backoff_seconds_total", **BASE) == pytest.approx(0.1)
    hist = {**BASE, "outcome": "success"}
    assert value(reg, "boto_resilience_call_duration_seconds_count", **hist) == 1
    assert value(reg, "boto_resilience_call_duration_seconds_sum", **hist) == pytest.approx(0.13)
    assert value(reg, "boto_resilience_call_duration_seconds_bucket", **hist, le="0.1") == 0
    assert value(reg, "boto_resilience_call_duration_seconds_bucket", **hist, le="0.25") == 1
    assert value(reg, "boto_resilience_attempt_duration_seconds_count", **hist) == 1
    assert value(reg, "boto_resilience_state_changes_total", component="circuit_breaker",
                 scope="dynamodb/us-east-1", state="open") == 1
    text = generate_latest(reg).decode()
    assert "# TYPE boto_resilience_call_duration_seconds histogram" in text
    assert "# TYPE boto_resilience_calls_total counter" in text


def test_label_children_are_bound_once(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = CollectorRegistry()
    sink = PrometheusSink(registry=reg)
    counted = {"n": 0}
    calls_family = sink._m.calls
    real_labels = calls_family.labels

    def counting_labels(*args: Any, **kwargs: Any) -> Any:
        counted["n"] += 1
        return real_labels(*args, **kwargs)

    monkeypatch.setattr(calls_family, "labels", counting_labels)
    for _ in range(100):
        sink.on_call(call())
    sink.flush()
    assert counted["n"] == 1
    assert value(reg, "boto_resilience_calls_total", **BASE, outcome="success",
                 error_category="", error_type="") == 100


def test_series_are_bounded() -> None:
    reg = CollectorRegistry()
    sink = PrometheusSink(registry=reg, max_series=5)
    for i in range(20):
        sink.on_call(call(outcome="error", category=Category.Other, error_code=f"Weird{i}"))
    samples = [s for m in reg.collect() if m.name == "boto_resilience_calls"
               for s in m.samples if s.name.endswith("_total")]
    assert len(samples) == 6  # five distinct codes, then everything else as _OTHER
    other = [s for s in samples if s.labels["error_type"] == "_OTHER"]
    assert other and other[0].value == 15


def test_second_sink_on_the_same_registry_shares_the_families() -> None:
    reg = CollectorRegistry()
    first = PrometheusSink(registry=reg)
    second = PrometheusSink(registry=reg)
    first.on_call(call())
    second.on_call(call())
    assert value(reg, "boto_resilience_calls_total", **BASE, outcome="success",
                 error_category="", error_type="") == 2
    other_ns = PrometheusSink(registry=reg, namespace="other")
    other_ns.on_call(call())
    assert value(reg, "other_calls_total", **BASE, outcome="success", error_category="",
                 error_type="") == 1
    with pytest.raises(ValueError, match="buckets"):
        PrometheusSink(registry=reg, buckets=(1.0, 2.0))


def test_build_sink_uses_the_default_registry() -> None:
    from prometheus_client import REGISTRY

    sink = build_sink("prometheus", "BuildSinkTest")
    sink.on_call(call())
    assert REGISTRY.get_sample_value("build_sink_test_calls_total", {
        **BASE, "outcome": "success", "error_category": "", "error_type": ""}) == 1


def test_the_caller_only_queues_and_a_scrape_sees_everything() -> None:
    reg = CollectorRegistry()
    sink = PrometheusSink(registry=reg)
    sink.on_call(call())
    assert len(sink._queue) == 1  # not aggregated on the caller's thread
    text = generate_latest(reg).decode()  # the drain hook runs first
    assert "boto_resilience_calls_total{" in text and len(sink._queue) == 0
    sink.on_call(call())
    sink.close()  # aggregates what is left
    assert value(reg, "boto_resilience_calls_total", **BASE, outcome="success",
                 error_category="", error_type="") == 2
