"""Fails open: an exception inside any of our components never breaks or changes the user's
call; it is logged once (rate-limited) and botocore's own behaviour stands."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError

import boto_resilience
from boto_resilience import errors, handlers, policy, taxonomy
from boto_resilience.testing import RecordingSink

FAST = {"base_delay": 0.001, "throttle_base_delay": 0.001, "max_delay": 0.002}


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected failure")


@pytest.fixture(autouse=True)
def fresh_failure_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "FAILURES", handlers._Throttle())


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "boto_resilience" and r.levelno == logging.WARNING]


@pytest.mark.parametrize("target,attr", [
    (taxonomy, "classify_code"),
    (policy.RetryPolicy, "decide"),
    (handlers.Engine, "outcome_of"),
])
def test_retry_decision_failure_falls_back_to_botocore(
        srv: Any, sleeps: Any, client_factory: Any, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, target: Any, attr: str) -> None:
    client = client_factory("dynamodb", retries={"mode": "standard", "total_max_attempts": 3})
    boto_resilience.attach(client, max_attempts=6, **FAST)
    monkeypatch.setattr(target, attr, boom)
    srv.always(503, "ServiceUnavailable")
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            client.list_tables()
        assert info.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert srv.stats()["total"] == 6  # botocore's standard policy: 3 attempts per call
    logged = warnings_of(caplog)
    assert len(logged) == 1 and "needs-retry" in logged[0]  # once, not per attempt


@pytest.mark.parametrize("mode", ["legacy", "standard", "adaptive"])
def test_request_created_failure(srv: Any, sleeps: Any, client_factory: Any,
                                 monkeypatch: pytest.MonkeyPatch,
                                 caplog: pytest.LogCaptureFixture, mode: str) -> None:
    client = client_factory("dynamodb", retries={"mode": mode, "total_max_attempts": 2})
    boto_resilience.attach(client, max_attempts=6, **FAST)
    monkeypatch.setattr(handlers.Engine, "operation", boom)
    srv.script([(503, "ServiceUnavailable"), (200, None)])
    assert client.list_tables()["TableNames"] == []
    srv.reset()
    srv.always(503, "ServiceUnavailable")
    with pytest.raises(ClientError):
        client.list_tables()
    assert srv.stats()["total"] == 2  # botocore's own policy with the user's 2 attempts
    assert any("request-created" in m for m in warnings_of(caplog))


def test_enrichment_failure_keeps_the_error(srv: Any, sleeps: Any, client_factory: Any,
                                            monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    client = client_factory("dynamodb")
    boto_resilience.attach(client, **FAST)
    monkeypatch.setattr(errors, "enrich_error", boom)
    srv.always(400, "ResourceNotFoundException")
    with pytest.raises(client.exceptions.ResourceNotFoundException) as info:
        client.describe_table(TableName="t")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert any("after-call" in m for m in warnings_of(caplog))


def test_sink_failure_never_reaches_the_call(srv: Any, sleeps: Any,
                                             client_factory: Any) -> None:
    class Broken(RecordingSink):
        def on_call(self, record: Any) -> None:
            raise RuntimeError("sink down")

        def on_attempt(self, record: Any) -> None:
            raise RuntimeError("sink down")

    good = RecordingSink()
    client = client_factory("dynamodb")
    boto_resilience.attach(client, metrics=[Broken(), good], **FAST)
    srv.script([(503, "ServiceUnavailable"), (200, None)])
    assert client.list_tables()["TableNames"] == []
    assert [c.attempts for c in good.calls] == [2]


def test_emit_failure_on_success_path(srv: Any, client_factory: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_factory("dynamodb")
    boto_resilience.attach(client, metrics=[RecordingSink()])
    monkeypatch.setattr(handlers.Engine, "_emit_call", boom)
    monkeypatch.setattr(handlers.Engine, "_emit_attempt", boom)
    assert client.list_tables()["TableNames"] == []


def test_exception_classes_failure(srv: Any, client_factory: Any,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_factory("dynamodb")
    boto_resilience.attach(client)
    monkeypatch.setattr(errors, "classify_code", boom, raising=False)
    monkeypatch.setattr(taxonomy, "classify_code", boom)
    srv.always(400, "ResourceNotFoundException")
    with pytest.raises(client.exceptions.ResourceNotFoundException) as info:
        client.describe_table(TableName="t")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize("method", ["before_attempt", "on_failure", "allow_retry",
                                    "on_final_failure", "on_success"])
def test_guard_failure(srv: Any, sleeps: Any, client_factory: Any,
                       monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    from boto_resilience import guards

    client = client_factory("dynamodb")
    boto_resilience.attach(client, max_attempts=3, **FAST)
    monkeypatch.setattr(guards.Guards, method, boom)
    assert client.list_tables()["TableNames"] == []
    srv.always(400, "ValidationException")
    with pytest.raises(ClientError) as info:
        client.list_tables()
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_failure_log_is_rate_limited() -> None:
    throttle = handlers._Throttle(interval=60)
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda r: records.append(r.getMessage())  # type: ignore[method-assign]
    handlers.logger.addHandler(handler)
    try:
        for _ in range(100):
            throttle.report("x", RuntimeError("a"))
        throttle.report("y", RuntimeError("b"))
    finally:
        handlers.logger.removeHandler(handler)
    assert len(records) == 2
