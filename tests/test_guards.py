"""Load protection through real clients against the local fault server: the circuit breaker
fails fast during an outage and closes when it ends; the retry budget stops retry storms."""

from __future__ import annotations

import pickle
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

import boto_resilience
from boto_resilience import errors, guards
from boto_resilience.testing import RecordingSink

FAST = {"base_delay": 0.001, "throttle_base_delay": 0.001, "max_delay": 0.002}


@pytest.fixture(autouse=True)
def fresh_registries() -> Any:
    guards.reset_registries()
    yield
    guards.reset_registries()


def test_circuit_opens_fails_fast_and_recovers(srv: Any, sleeps: Any,
                                               client_factory: Any) -> None:
    client = client_factory("dynamodb")
    sink = RecordingSink()
    boto_resilience.attach(client, max_attempts=2, scope="client", retry_budget=False,
                           metrics=[sink], **FAST)
    srv.always(503, "ServiceUnavailable")
    fast_failures = 0
    for _ in range(30):
        try:
            client.list_tables()
        except errors.CircuitOpenError as exc:
            fast_failures += 1
            assert isinstance(exc, ClientError) and isinstance(exc, errors.Unavailable)
            assert exc.response["Error"]["Code"] == "CircuitOpen"
            assert "dynamodb/us-east-1/127.0.0.1" in str(exc)
            copy = pickle.loads(pickle.dumps(exc))
            assert type(copy) is errors.CircuitOpenError
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ServiceUnavailable"
    received = srv.stats()["total"]
    assert fast_failures >= 20
    assert received <= 2 * 10  # the breaker opened after at most ~10 failed calls
    assert any(c.component == "circuit_breaker" and c.new == "open" for c in sink.changes)
    srv.clear()
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:  # bounded: the breaker probes again within 0.5 s
        try:
            client.list_tables()
            break
        except errors.CircuitOpenError:
            time.sleep(0.02)
    else:
        pytest.fail("circuit did not close within 2 s of the outage's end")
    client.list_tables()
    assert sink.changes[-1].new == "closed"


def test_client_errors_never_open_the_circuit(srv: Any, sleeps: Any,
                                              client_factory: Any) -> None:
    client = client_factory("dynamodb")
    boto_resilience.attach(client, scope="client", **FAST)
    srv.always(400, "ValidationException")
    for _ in range(40):
        with pytest.raises(ClientError) as info:
            client.list_tables()
        assert info.value.response["Error"]["Code"] == "ValidationException"
    assert srv.stats()["total"] == 40


def test_retry_budget_stops_retry_storm(srv: Any, sleeps: Any, client_factory: Any) -> None:
    client = client_factory("dynamodb")
    boto_resilience.attach(client, max_attempts=3, scope="client", circuit_breaker=False,
                           rate_limit=False, **FAST)
    srv.always(500, "InternalServerError")
    for _ in range(120):
        with pytest.raises(ClientError):
            client.list_tables()
    # capacity 500, 5 tokens per transient retry: exactly 100 retries, then first attempts only
    assert srv.stats()["total"] == 120 + 100


def test_budget_shared_per_scope(srv: Any, sleeps: Any, client_factory: Any) -> None:
    a, b = client_factory("dynamodb"), client_factory("dynamodb")
    for c in (a, b):
        boto_resilience.attach(c, max_attempts=2, scope="process", circuit_breaker=False,
                               rate_limit=False, **FAST)
    srv.always(500, "InternalServerError")
    for _ in range(60):
        for c in (a, b):
            with pytest.raises(ClientError):
                c.list_tables()
    assert srv.stats()["total"] == 120 + 100  # one budget of 100 retries for both clients


def test_throttled_probe_is_not_refused_halfway(srv: Any, sleeps: Any,
                                                client_factory: Any) -> None:
    client = client_factory("dynamodb")
    boto_resilience.attach(client, max_attempts=3, scope="client", retry_budget=False,
                           rate_limit=False, **FAST)
    srv.always(503, "ServiceUnavailable")
    for _ in range(12):
        with pytest.raises(ClientError):
            client.list_tables()
    breaker = guards.registries().breakers.values()[0]
    assert str(breaker.state) == "open"
    time.sleep(0.55)  # past the longest open period: the next call is a probe
    srv.clear()
    srv.script([(400, "ThrottlingException")])  # the probe is throttled once, then succeeds
    assert client.list_tables()["ResponseMetadata"]["RetryAttempts"] == 1
    assert str(breaker.state) == "closed"
