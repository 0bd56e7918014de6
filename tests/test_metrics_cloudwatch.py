"""The CloudWatch sink against moto: statistic sets published from the background thread and at
close, read back with get_metric_statistics; bounded queue; failures never raise; its own
client is never covered by the plugin."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from recordkit import attempt, call

import boto_resilience
from boto_resilience.metrics.cloudwatch import CloudWatchSink
from boto_resilience.metrics.records import StateChange
from boto_resilience.taxonomy import Category
from boto_resilience.testing import RecordingSink

DIMS = [{"Name": "Service", "Value": "DynamoDB"}, {"Name": "Operation", "Value": "GetItem"}]


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def stats(metric: str, dims: list[dict[str, str]] = DIMS, namespace: str = "Test") -> Any:
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    now = datetime.datetime.now(datetime.timezone.utc)
    got = cw.get_metric_statistics(
        Namespace=namespace, MetricName=metric, Dimensions=dims,
        StartTime=now - datetime.timedelta(minutes=10), EndTime=now + datetime.timedelta(minutes=5),
        Period=60, Statistics=["Sum", "SampleCount", "Average", "Minimum", "Maximum"])
    points = got["Datapoints"]
    assert points, f"no data for {metric} {dims}"
    return {
        "Sum": sum(p["Sum"] for p in points),
        "SampleCount": sum(p["SampleCount"] for p in points),
        "Minimum": min(p["Minimum"] for p in points),
        "Maximum": max(p["Maximum"] for p in points),
        "Unit": points[0].get("Unit"),
    }


def feed(sink: CloudWatchSink) -> None:
    for _ in range(3):
        sink.on_attempt(attempt())
    for _ in range(5):
        sink.on_attempt(attempt(outcome="success", category=None, error_code=None,
                                throttled=False, will_retry=False, backoff=0.0, latency=0.02))
    for latency in (0.1, 0.2, 0.3, 0.4):
        sink.on_call(call(latency=latency))
    sink.on_call(call(outcome="error", category=Category.NotFound,
                      error_code="ResourceNotFoundException", latency=0.05))
    sink.on_state_change(StateChange("circuit_breaker", "dynamodb/us-east-1", "closed", "open"))


def test_statistic_sets_published_at_close(aws: None) -> None:
    # by_category off here: moto's get_metric_statistics also matches data whose dimensions are
    # a superset of the query's (CloudWatch matches exactly), which would add those up.
    sink = CloudWatchSink(namespace="Test", flush_interval=3600, region_name="us-east-1",
                          by_category=False)
    feed(sink)
    sink.close()
    assert sink.dropped == 0 and sink.published > 0

    calls = stats("Calls")
    assert calls["Sum"] == 5 and calls["SampleCount"] == 5
    errors = stats("Errors")
    assert errors["Sum"] == 1 and errors["SampleCount"] == 5  # Average = error rate
    latency = stats("CallLatency")
    assert latency["SampleCount"] == 5 and latency["Sum"] == pytest.approx(1050.0)
    assert latency["Minimum"] == pytest.approx(50.0) and latency["Maximum"] == pytest.approx(400)
    assert stats("Attempts")["Sum"] == 8
    assert stats("Retries")["Sum"] == 3
    assert stats("Throttles")["Sum"] == 3
    assert stats("BackoffTime")["Sum"] == pytest.approx(300.0)
    assert stats("StateChanges", [{"Name": "Component", "Value": "circuit_breaker"},
                                  {"Name": "State", "Value": "open"}])["Sum"] == 1


def test_per_category_data(aws: None) -> None:
    sink = CloudWatchSink(namespace="Test", flush_interval=3600, region_name="us-east-1")
    feed(sink)
    sink.close()
    assert stats("Retries", DIMS + [{"Name": "ErrorCategory", "Value": "Throttled"}])["Sum"] == 3
    assert stats("Errors", DIMS + [{"Name": "ErrorCategory", "Value": "NotFound"}])["Sum"] == 1


def test_background_thread_publishes_periodically(aws: None) -> None:
    sink = CloudWatchSink(namespace="Test", flush_interval=0.2, region_name="us-east-1")
    sink.on_call(call())
    deadline = time.monotonic() + 10
    while sink.published == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sink.published > 0
    assert stats("Calls")["Sum"] == 1
    sink.close()


def test_the_queue_is_bounded(aws: None) -> None:
    sink = CloudWatchSink(namespace="Test", flush_interval=3600, max_queue=10,
                          region_name="us-east-1")
    sink._worker.ensure_started = lambda: None  # type: ignore[method-assign]  # worker asleep
    for _ in range(25):
        sink.on_call(call())
    assert sink.dropped == 15
    sink.close()
    assert stats("Calls")["Sum"] == 10


def test_publish_failures_never_raise(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def put_metric_data(self, **kwargs: Any) -> None:
            raise RuntimeError("endpoint unreachable")

    client = Broken()
    sink = CloudWatchSink(namespace="Test", client=client, flush_interval=3600)
    assert client._boto_resilience_skip is True  # type: ignore[attr-defined]
    sink.on_call(call())
    with caplog.at_level(logging.WARNING, logger="boto_resilience.metrics"):
        sink.flush()
        sink.close()
    assert sink.dropped > 0 and sink.published == 0
    assert any("PutMetricData failed" in r.getMessage() for r in caplog.records)


def test_validation() -> None:
    with pytest.raises(ValueError, match="reserved"):
        CloudWatchSink(namespace="AWS/Lambda")
    with pytest.raises(ValueError, match="flush_interval"):
        CloudWatchSink(flush_interval=0)
    with pytest.raises(ValueError, match="storage_resolution"):
        CloudWatchSink(storage_resolution=5)


def test_own_client_is_never_covered(aws: None, sleeps: Any) -> None:
    """With the plugin installed process-wide and this sink configured, the sink's PutMetricData
    calls produce no records: only the user's calls are measured."""
    recording = RecordingSink()
    sink = CloudWatchSink(namespace="Test", flush_interval=3600, region_name="us-east-1")
    handle = boto_resilience.install(metrics=[recording, sink])
    try:
        ddb = boto3.session.Session().client("dynamodb", region_name="us-east-1")
        ddb.list_tables()
        sink.flush()  # creates the sink's client (a new session) and publishes
        assert sink.published > 0
        ddb.list_tables()
        sink.flush()
        assert {(c.service, c.operation) for c in recording.calls} == {("dynamodb", "ListTables")}
        assert len(recording.calls) == 2
        assert getattr(sink._client, "_boto_resilience_skip", False) is True
        assert not hasattr(sink._client, "_boto_resilience_engine")
    finally:
        handle.close()
        sink.close()
    assert stats("Calls", [{"Name": "Service", "Value": "DynamoDB"},
                           {"Name": "Operation", "Value": "ListTables"}])["Sum"] == 2


def test_region_falls_back_to_the_measured_calls(aws: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    sink = CloudWatchSink(namespace="Test", flush_interval=3600)
    sink.on_call(call(region="eu-west-1"))
    sink.close()
    assert sink.published > 0 and sink._client.meta.region_name == "eu-west-1"
