"""The memory sink (counts, retries by category, percentiles, table) and the logging sink
(levels, structure, rate limiting)."""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

import pytest
from recordkit import attempt, call

from boto_resilience.metrics.logging import LoggingSink
from boto_resilience.metrics.memory import MemorySink, format_table, percentile
from boto_resilience.metrics.records import StateChange
from boto_resilience.taxonomy import Category
from boto_resilience.testing import FakeClock


def test_percentile_interpolates() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 100.0
    assert percentile([], 50) == 0.0
    assert percentile([3.0], 99) == 3.0


def test_memory_counts_retries_by_category_and_errors() -> None:
    sink = MemorySink()
    sink.on_attempt(attempt())
    sink.on_attempt(attempt(attempt=2, category=Category.Unavailable, error_code="InternalError",
                            http_status=500, throttled=False, backoff=0.05))
    sink.on_attempt(attempt(attempt=3, outcome="success", category=None, error_code=None,
                            http_status=200, throttled=False, will_retry=False, backoff=0.0))
    sink.on_call(call(attempts=3, retries=2, throttles=1, backoff=0.15, latency=0.3))
    sink.on_call(call(outcome="error", category=Category.NotFound,
                      error_code="ResourceNotFoundException", http_status=400, latency=0.02))
    sink.on_call(call(service="s3", operation="GetObject", latency=0.05))
    sink.on_state_change(StateChange("circuit_breaker", "dynamodb/us-east-1", "closed", "open"))
    snap = sink.snapshot()
    ddb = snap.get("dynamodb", "GetItem")
    assert ddb is not None
    assert (ddb.calls, ddb.errors, ddb.attempts, ddb.retries, ddb.throttles) == (2, 1, 3, 2, 1)
    assert ddb.retries_by_category == {"Throttled": 1, "Unavailable": 1}
    assert ddb.errors_by_category == {"NotFound": 1}
    assert ddb.error_codes == {"ResourceNotFoundException": 1}
    assert ddb.backoff == pytest.approx(0.15)
    assert ddb.latency.count == 2 and ddb.latency.max == pytest.approx(0.3)
    assert ddb.attempt_latency.count == 3
    assert snap.calls == 3 and snap.retries == 2 and snap.errors == 1
    assert snap.state_changes == {("circuit_breaker", "dynamodb/us-east-1", "open"): 1}
    sink.reset()
    assert sink.snapshot().calls == 0


def test_memory_percentiles_are_exact_below_the_cap_and_sampled_above() -> None:
    sink = MemorySink(max_samples=1000, rand=random.Random(1))
    for i in range(1, 1001):
        sink.on_call(call(latency=i / 1000))
    lat = sink.snapshot().get("dynamodb", "GetItem").latency  # type: ignore[union-attr]
    assert lat.p50 == pytest.approx(0.5005)
    assert lat.p99 == pytest.approx(0.99001)
    for i in range(1001, 10001):  # 10x more than kept: reservoir sampling
        sink.on_call(call(latency=i / 1000))
    lat = sink.snapshot().get("dynamodb", "GetItem").latency  # type: ignore[union-attr]
    assert lat.count == 10000 and lat.max == pytest.approx(10.0)
    assert lat.mean == pytest.approx(5.0005)
    assert lat.p50 == pytest.approx(5.0, rel=0.1)  # uniform sample of 1..10 s
    assert lat.p99 == pytest.approx(9.9, rel=0.03)


def test_memory_is_thread_safe() -> None:
    sink = MemorySink()

    def worker() -> None:
        for _ in range(2000):
            sink.on_call(call())
            sink.on_attempt(attempt())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = sink.snapshot().get("dynamodb", "GetItem")
    assert stats is not None and stats.calls == 8000 and stats.retries == 8000


def test_format_table() -> None:
    sink = MemorySink()
    sink.on_attempt(attempt())
    sink.on_call(call(latency=0.012))
    sink.on_call(call(service="s3", operation="PutObject", latency=0.004))
    table = format_table(sink.snapshot())
    lines = table.splitlines()
    assert lines[0].split() == ["operation", "calls", "attempts", "retries", "retry:Throttled",
                                "throttles", "errors", "p50", "ms", "p99", "ms"]
    assert any(line.startswith("dynamodb.GetItem") and "12.0" in line for line in lines)
    assert any(line.startswith("s3.PutObject") for line in lines)
    assert lines[-1].split()[:2] == ["total", "2"]


# --- logging ----------------------------------------------------------------------------


def records_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "boto_resilience.metrics"]


def test_logging_levels_and_structure(caplog: pytest.LogCaptureFixture) -> None:
    sink = LoggingSink(clock=FakeClock())
    with caplog.at_level(logging.DEBUG, logger="boto_resilience.metrics"):
        sink.on_attempt(attempt())  # throttled: WARNING
        sink.on_attempt(attempt(category=Category.Unavailable, throttled=False,
                                error_code="InternalError", http_status=500))  # retry: INFO
        sink.on_attempt(attempt(outcome="success", category=None, error_code=None,
                                throttled=False, will_retry=False))  # nothing
        sink.on_call(call(attempts=3, retries=2, latency=0.25))  # DEBUG
        sink.on_state_change(StateChange("circuit_breaker", "dynamodb/us-east-1", "closed",
                                         "open"))
    recs = records_of(caplog)
    assert [r.levelno for r in recs] == [logging.WARNING, logging.INFO, logging.DEBUG,
                                         logging.WARNING]
    assert recs[0].getMessage().startswith("aws.throttle service=dynamodb operation=GetItem")
    assert "backoff_ms=100.0" in recs[0].getMessage()
    assert recs[1].getMessage().startswith("aws.retry ")
    assert "category=Unavailable" in recs[1].getMessage()
    line = recs[2].getMessage()
    assert line.startswith("aws.call ") and "outcome=success" in line
    assert "attempts=3" in line and "latency_ms=250.0" in line
    assert "error_code" not in line
    assert recs[2].aws["attempts"] == 3  # type: ignore[attr-defined]  # structured copy
    assert "new=open" in recs[3].getMessage()


def test_logging_formats_nothing_when_disabled(caplog: pytest.LogCaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import boto_resilience.metrics.logging as logmod

    def fail(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("formatted although disabled")

    monkeypatch.setattr(logmod, "_logfmt", fail)
    sink = LoggingSink()
    with caplog.at_level(logging.ERROR, logger="boto_resilience.metrics"):
        sink.on_call(call())
        sink.on_attempt(attempt())
    assert records_of(caplog) == []


def test_logging_rate_limits_retry_lines(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    sink = LoggingSink(interval=1.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="boto_resilience.metrics"):
        for _ in range(100):
            sink.on_attempt(attempt())
        sink.on_attempt(attempt(service="s3", operation="GetObject"))  # another key: logged
        clock.advance(1.5)
        sink.on_attempt(attempt())
    msgs = [r.getMessage() for r in records_of(caplog)]
    assert len(msgs) == 3
    assert "suppressed" not in msgs[0]
    assert "suppressed=99" in msgs[2]
