"""The dispatcher and sink construction: fail open, never block, cost nothing without sinks;
build_sink by name, with errors that say what to do; the naming table."""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any

import pytest
from recordkit import attempt, call

from boto_resilience import metrics
from boto_resilience.metrics import (
    SINK_NAMES,
    BackgroundSink,
    Dispatcher,
    MissingDependency,
    build_sink,
    names,
)
from boto_resilience.metrics._support import RateLimitedLog
from boto_resilience.metrics.records import AttemptRecord, CallRecord, StateChange
from boto_resilience.testing import FakeClock, RecordingSink

CHANGE = StateChange("circuit_breaker", "dynamodb/us-east-1", "closed", "open")


class Exploding:
    inline = True

    def __init__(self) -> None:
        self.calls = 0

    def on_attempt(self, record: AttemptRecord) -> None:
        raise RuntimeError("sink bug")

    def on_call(self, record: CallRecord) -> None:
        self.calls += 1
        raise RuntimeError("sink bug")

    def on_state_change(self, change: StateChange) -> None:
        raise RuntimeError("sink bug")

    def close(self) -> None:
        raise RuntimeError("close bug")


class Slow:
    """A foreign sink (no ``inline``) that blocks until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls: list[CallRecord] = []
        self.closed = False

    def on_call(self, record: CallRecord) -> None:
        self.release.wait(10)
        self.calls.append(record)

    def close(self) -> None:
        self.closed = True


def test_no_sinks_is_inactive_and_free() -> None:
    d = Dispatcher([])
    assert d.active is False
    d.on_call(call())
    d.on_attempt(attempt())
    d.on_state_change(CHANGE)
    d.close()
    assert d.dropped == 0


def test_every_sink_gets_every_record() -> None:
    a, b = RecordingSink(), RecordingSink()
    d = Dispatcher([a, b])
    assert d.active is True
    d.on_attempt(attempt())
    d.on_call(call())
    d.on_state_change(CHANGE)
    for sink in (a, b):
        assert len(sink.attempts) == len(sink.calls) == len(sink.changes) == 1
    d.close()
    assert d.active is False
    assert not a.closed and not b.closed  # the dispatcher does not own the sinks


def test_close_flushes_sinks_and_drains_background_queues() -> None:
    class Buffering:
        inline = True

        def __init__(self) -> None:
            self.flushed = 0
            self.closed = False

        def on_call(self, record: CallRecord) -> None: ...

        def flush(self) -> None:
            self.flushed += 1

        def close(self) -> None:
            self.closed = True

    buffering, slow = Buffering(), Slow()
    slow.release.set()
    d = Dispatcher([buffering, slow])
    for _ in range(5):
        d.on_call(call())
    d.close()
    d.close()  # idempotent
    assert buffering.flushed == 1 and not buffering.closed
    assert len(slow.calls) == 5 and not slow.closed


def test_a_raising_sink_is_isolated_counted_and_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    bad, good = Exploding(), RecordingSink()
    d = Dispatcher([bad, good])
    with caplog.at_level(logging.WARNING, logger="boto_resilience.metrics"):
        for _ in range(50):
            d.on_call(call())
            d.on_attempt(attempt())
        d.on_state_change(CHANGE)
        d.close()
    assert len(good.calls) == 50 and len(good.attempts) == 50
    assert d.dropped == 50 + 50 + 1
    warnings = [r for r in caplog.records if r.name == "boto_resilience.metrics"]
    assert len(warnings) == 1  # rate-limited: once per sink per minute
    assert "Exploding" in warnings[0].getMessage()
    assert warnings[0].exc_info is not None  # the first one carries the traceback


def test_rate_limited_log_reports_suppressed_count(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    log = RateLimitedLog(logging.getLogger("boto_resilience.metrics"), interval=60, clock=clock)
    with caplog.at_level(logging.WARNING, logger="boto_resilience.metrics"):
        for _ in range(5):
            log.warning("k", "trouble", RuntimeError("x"))
        clock.advance(61)
        log.warning("k", "trouble", RuntimeError("x"))
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "4 similar messages suppressed" in messages[1]


def test_foreign_sink_runs_in_background_and_never_blocks_the_caller() -> None:
    slow = Slow()
    d = Dispatcher([slow], max_queue=100)
    assert isinstance(d.sinks[0], BackgroundSink)
    start = time.perf_counter()
    for _ in range(150):
        d.on_call(call())
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5  # the sink is blocked, the caller is not
    assert d.dropped >= 49  # queue bounded at 100 (one record may be in the sink's hands)
    slow.release.set()
    d.flush()
    assert 100 <= len(slow.calls) <= 101
    d.close()


def test_inline_attribute_opts_out_of_the_background_queue() -> None:
    class Cheap:
        inline = True

        def __init__(self) -> None:
            self.n = 0

        def on_call(self, record: CallRecord) -> None:
            self.n += 1

    sink = Cheap()
    d = Dispatcher([sink])
    d.on_call(call())
    assert sink.n == 1  # synchronous
    assert d.sinks[0] is sink


def test_partial_sinks_are_accepted_and_non_sinks_rejected() -> None:
    class OnlyCalls:
        inline = True

        def __init__(self) -> None:
            self.calls: list[CallRecord] = []

        def on_call(self, record: CallRecord) -> None:
            self.calls.append(record)

    sink = OnlyCalls()
    d = Dispatcher([sink])
    d.on_attempt(attempt())
    d.on_state_change(CHANGE)
    d.on_call(call())
    d.close()
    assert len(sink.calls) == 1
    with pytest.raises(TypeError, match="not a metrics sink"):
        Dispatcher([object()])


def test_background_sink_errors_are_counted() -> None:
    class Bad:
        def on_call(self, record: CallRecord) -> None:
            raise ValueError("nope")

    d = Dispatcher([Bad()])
    for _ in range(3):
        d.on_call(call())
    d.flush()
    assert d.dropped == 3
    d.close()


def test_sink_names_and_build_sink() -> None:
    assert SINK_NAMES == ("memory", "logging", "emf", "prometheus", "otel", "statsd",
                          "cloudwatch")
    for name in ("memory", "logging", "emf"):
        sink = build_sink(name, "MyApp")
        assert isinstance(sink, metrics.Sink)
        sink.close()
    with pytest.raises(ValueError) as info:
        build_sink("datadog", "MyApp")
    for name in SINK_NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize("sink,module,extra", [
    ("prometheus", "prometheus_client", "boto_resilience[prometheus]"),
    ("otel", "opentelemetry.metrics", "boto_resilience[otel]"),
])
def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch, sink: str, module: str,
                                     extra: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes "import module" raise ImportError
    with pytest.raises(MissingDependency) as info:
        build_sink(sink, "MyApp")
    assert isinstance(info.value, ImportError)
    assert extra in str(info.value)


def test_optional_sdks_are_not_imported_by_the_metrics_package() -> None:
    import subprocess

    code = ("import sys, boto_resilience.metrics as m; "
            "m.build_sink('memory', 'X'); m.build_sink('emf', 'X').close(); "
            "print(sorted(k for k in sys.modules "
            "if k.startswith(('prometheus', 'opentelemetry'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_naming_table_is_consistent() -> None:
    for spec in names.ALL_METRICS:
        assert spec.key and spec.unit and spec.cloudwatch and spec.statsd
        assert spec.cloudwatch_unit in ("Count", "Milliseconds", "Seconds")
        assert spec.prometheus == spec.prometheus.lower()
        assert spec.prometheus.endswith(("_total", "_seconds"))
    assert names.CALL_DURATION.key == "rpc.client.call.duration"  # OTel RPC convention
    assert names.CALL_DURATION.unit == "s"


@pytest.mark.parametrize("raw,clean", [
    ("ThrottlingException", "ThrottlingException"),
    ("dynamodb/us-east-1", "dynamodb/us-east-1"),
    ("a b|c,d#e", "a_b_c_d_e"),
    ("x" * 100, "x" * 64),
    (None, ""),
])
def test_clean_value(raw: Any, clean: str) -> None:
    assert names.clean_value(raw) == clean


@pytest.mark.parametrize("raw,snake", [
    ("BotoResilience", "boto_resilience"),
    ("boto_resilience", "boto_resilience"),
    ("My-App/AWS", "my_app_aws"),
    ("9lives", "_9lives"),
])
def test_snake_case(raw: str, snake: str) -> None:
    assert names.snake_case(raw) == snake


@pytest.mark.parametrize("client,service_id", [
    ("dynamodb", "DynamoDB"), ("s3", "S3"), ("stepfunctions", "SFN"), ("sqs", "SQS"),
    ("no-such-service", "no-such-service"),
])
def test_service_id_from_the_model(client: str, service_id: str) -> None:
    assert names.service_id(client) == service_id


def test_background_sink_after_close_drops_without_waiting() -> None:
    sink = RecordingSink()
    background = BackgroundSink(sink)
    background.on_call(call())
    background.close()
    assert len(sink.calls) == 1 and sink.closed
    background.on_call(call())
    start = time.perf_counter()
    background.flush()
    assert time.perf_counter() - start < 0.5
    assert background.dropped == 1


def test_public_names_are_pinned() -> None:
    assert sorted(metrics.__all__) == sorted([
        "SINK_NAMES", "AttemptRecord", "BackgroundSink", "CallRecord", "Dispatcher", "ERROR",
        "MissingDependency", "SUCCESS", "Sink", "StateChange", "build_sink", "is_inline",
    ])
    for name in metrics.__all__:
        assert hasattr(metrics, name)
