"""The EMF sink writes documents that are valid against the CloudWatch Embedded Metric Format
specification, aggregated per (service, operation), flushed periodically and at close."""

from __future__ import annotations

import io
import json
import logging
import random
import time
from typing import Any

import pytest
from recordkit import attempt, call

from boto_resilience.metrics.emf import EmfSink
from boto_resilience.metrics.records import StateChange
from boto_resilience.taxonomy import Category

# From the specification's JSON schema (MetricDefinition.Unit).
UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
}


def validate_emf(doc: dict[str, Any]) -> None:
    """Asserts the rules of the EMF specification on one document."""
    meta = doc["_aws"]
    assert set(meta) <= {"Timestamp", "CloudWatchMetrics"}
    assert isinstance(meta["Timestamp"], int) and meta["Timestamp"] > 1_500_000_000_000
    directives = meta["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    for directive in directives:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        assert isinstance(directive["Namespace"], str) and 1 <= len(directive["Namespace"]) <= 255
        dims = directive["Dimensions"]
        assert isinstance(dims, list) and len(dims) >= 1
        for dim_set in dims:
            assert isinstance(dim_set, list) and len(dim_set) <= 9  # strictest version: 9
            for key in dim_set:
                assert isinstance(doc[key], str) and 1 <= len(doc[key]) <= 1024
        metrics = directive["Metrics"]
        assert 1 <= len(metrics) <= 100
        names = [m["Name"] for m in metrics]
        assert len(set(names)) == len(names)
        for metric in metrics:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"}
            assert metric.get("Unit", "None") in UNITS
            value = doc[metric["Name"]]
            if isinstance(value, list):
                assert 1 <= len(value) <= 100
                assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            else:
                assert isinstance(value, (int, float)) and not isinstance(value, bool)
    assert len(json.dumps(doc)) < 256 * 1024


def docs_of(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_aggregated_documents_are_valid_and_add_up() -> None:
    out = io.StringIO()
    sink = EmfSink(stream=out, namespace="MyApp", flush_interval=3600, clock=lambda: 1.7e9)
    for _ in range(3):
        sink.on_attempt(attempt())
    sink.on_attempt(attempt(category=Category.Unavailable, throttled=False, backoff=0.05,
                            error_code="InternalError", http_status=500))
    for _ in range(4):
        sink.on_attempt(attempt(outcome="success", category=None, error_code=None,
                                throttled=False, will_retry=False, backoff=0.0))
    for _ in range(3):
        sink.on_call(call(attempts=2, retries=1, latency=0.2))
    sink.on_call(call(outcome="error", category=Category.NotFound,
                      error_code="ResourceNotFoundException", latency=0.01))
    sink.on_call(call(service="s3", operation="GetObject", region=None))
    sink.on_state_change(StateChange("circuit_breaker", "dynamodb/us-east-1", "closed", "open"))
    assert out.getvalue() == ""  # nothing written on the hot path
    sink.close()
    docs = docs_of(out)
    for doc in docs:
        validate_emf(doc)
        assert doc["_aws"]["Timestamp"] == 1_700_000_000_000
        assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "MyApp"
    main = [d for d in docs if "Calls" in d]
    ddb = next(d for d in main if d["Service"] == "DynamoDB")
    assert ddb["Operation"] == "GetItem" and ddb["Region"] == "us-east-1"
    assert (ddb["Calls"], ddb["Errors"], ddb["Attempts"], ddb["Retries"], ddb["Throttles"]) == \
        (4, 1, 8, 4, 3)
    assert ddb["BackoffTime"] == pytest.approx(350.0)
    assert sorted(ddb["CallLatency"]) == [10.0, 200.0, 200.0, 200.0]
    assert len(ddb["AttemptLatency"]) == 8
    assert ddb["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Service", "Operation"]]
    units = {m["Name"]: m["Unit"] for m in ddb["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {"Calls": "Count", "Errors": "Count", "Attempts": "Count",
                     "Retries": "Count", "Throttles": "Count", "BackoffTime": "Milliseconds",
                     "CallLatency": "Milliseconds", "AttemptLatency": "Milliseconds"}
    s3 = next(d for d in main if d["Service"] == "S3")
    assert s3["Region"] == "unknown" and s3["Attempts"] == 0
    by_cat = {d["ErrorCategory"]: d for d in docs if "ErrorCategory" in d}
    assert by_cat["Throttled"]["Retries"] == 3 and by_cat["Throttled"]["Errors"] == 0
    assert by_cat["Unavailable"]["Retries"] == 1
    assert by_cat["NotFound"]["Errors"] == 1 and by_cat["NotFound"]["Retries"] == 0
    assert by_cat["NotFound"]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == \
        [["Service", "Operation", "ErrorCategory"]]
    change = next(d for d in docs if "StateChanges" in d)
    assert (change["Component"], change["State"], change["StateChanges"]) == \
        ("circuit_breaker", "open", 1)


def test_more_than_100_latencies_split_across_documents() -> None:
    out = io.StringIO()
    sink = EmfSink(stream=out, flush_interval=3600, max_values=250, rand=random.Random(3))
    for i in range(1000):
        sink.on_call(call(latency=i / 1000))
    sink.flush()
    docs = docs_of(out)
    for doc in docs:
        validate_emf(doc)
    assert sum(d.get("Calls", 0) for d in docs) == 1000  # counted once, exactly
    values = [v for d in docs for v in d.get("CallLatency", [])]
    assert len(values) == 250  # the reservoir, in chunks of at most 100
    assert [len(d["CallLatency"]) for d in docs] == [100, 100, 50]
    assert "Calls" in docs[0] and "Calls" not in docs[1]


def test_dimension_sets_are_configurable_and_validated() -> None:
    out = io.StringIO()
    sink = EmfSink(stream=out, flush_interval=3600, by_category=False,
                   dimensions=[["Service", "Operation", "Region"], ["Service"]])
    sink.on_attempt(attempt())
    sink.on_call(call())
    sink.close()
    docs = docs_of(out)
    assert len(docs) == 1
    validate_emf(docs[0])
    assert docs[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == \
        [["Service", "Operation", "Region"], ["Service"]]
    with pytest.raises(ValueError, match="unknown dimension"):
        EmfSink(dimensions=[["Bucket"]])
    with pytest.raises(ValueError, match="at least one"):
        EmfSink(dimensions=[])
    with pytest.raises(ValueError, match="reserved"):
        EmfSink(namespace="AWS/DynamoDB")


def test_background_flush_and_close_write_everything() -> None:
    out = io.StringIO()
    sink = EmfSink(stream=out, flush_interval=0.05)
    sink.on_call(call())
    deadline = time.monotonic() + 5
    while not out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert docs_of(out)[0]["Calls"] == 1  # written by the background thread
    sink.on_call(call())
    sink.close()
    assert sum(d.get("Calls", 0) for d in docs_of(out)) == 2
    sink.on_call(call())  # a call in flight after close: written at once
    assert sum(d.get("Calls", 0) for d in docs_of(out)) == 3


def test_flush_interval_zero_writes_a_document_per_call() -> None:
    out = io.StringIO()
    sink = EmfSink(stream=out, flush_interval=0, by_category=False)
    sink.on_attempt(attempt())
    assert out.getvalue() == ""  # the attempt waits for its call
    sink.on_attempt(attempt(attempt=2, outcome="success", category=None, throttled=False,
                            will_retry=False))
    sink.on_call(call(attempts=2, retries=1))
    (doc,) = docs_of(out)
    validate_emf(doc)
    assert (doc["Calls"], doc["Attempts"], doc["Retries"]) == (1, 2, 1)
    sink.close()


def test_lambda_defaults_to_a_document_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "my-function")
    assert EmfSink().flush_interval == 0
    assert EmfSink(flush_interval=5).flush_interval == 5
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    assert EmfSink().flush_interval == 10


def test_default_stream_is_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    sink = EmfSink(flush_interval=3600)
    sink.on_call(call())
    sink.close()
    doc = json.loads(capsys.readouterr().out.strip())
    validate_emf(doc)


def test_logger_output(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.emf")
    sink = EmfSink(logger=logger, flush_interval=3600)
    sink.on_call(call())
    with caplog.at_level(logging.INFO, logger="test.emf"):
        sink.close()
    docs = [json.loads(r.getMessage()) for r in caplog.records if r.name == "test.emf"]
    assert docs and docs[0]["Calls"] == 1


def test_a_broken_stream_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(io.StringIO):
        def write(self, s: str) -> int:
            raise OSError("disk full")

    sink = EmfSink(stream=Broken(), flush_interval=3600)
    sink.on_call(call())
    with caplog.at_level(logging.WARNING, logger="boto_resilience.metrics"):
        sink.flush()
        sink.close()
    assert sink.dropped == 1
    assert any("EMF sink could not write" in r.getMessage() for r in caplog.records)
