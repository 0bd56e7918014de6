"""What the retry engine does on real botocore clients against the local fault server:
bare 429s, Retry-After, deadlines, every connection-level error, and what the caller learns."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

import boto_resilience
from boto_resilience import errors

FAST = {"base_delay": 0.001, "throttle_base_delay": 0.001, "max_delay": 0.002}


def test_bare_429_is_retried(srv: Any, sleeps: Any, client_factory: Any) -> None:
    client = client_factory("lambda", retries={"mode": "standard", "total_max_attempts": 5})
    srv.script([(429, "TooManyRequestsException")] * 3 + [(200, None)])
    boto_resilience.attach(client, **FAST)
    response = client.list_functions()
    assert response["ResponseMetadata"]["RetryAttempts"] == 3
    assert response["ResponseMetadata"]["BotoResilience"]["Attempts"] == 4
    assert srv.stats()["total"] == 4


def test_retry_after_is_honoured(srv: Any, sleeps: Any, client_factory: Any) -> None:
    client = client_factory("dynamodb")
    srv.script([(503, "ServiceUnavailable", {"Retry-After": "2"}), (200, None)])
    boto_resilience.attach(client, **FAST)
    client.list_tables()
    assert sleeps.sleeps == [2.0]


def test_x_amz_retry_after_milliseconds_and_bound(srv: Any, sleeps: Any,
                                                  client_factory: Any) -> None:
    client = client_factory("dynamodb")
    srv.script([(429, "ThrottlingException", {"x-amz-retry-after": "1500"}),
                (429, "ThrottlingException", {"Retry-After": "3600"}), (200, None)])
    boto_resilience.attach(client, retry_after_max=5.0, **FAST)
    client.list_tables()
    assert sleeps.sleeps[0] == 1.5
    assert sleeps.sleeps[1] <= 0.002  # an hour is past retry_after_max: normal backoff


def test_deadline_stops_retries(srv: Any, client_factory: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    client = client_factory("dynamodb")
    # real sleeps here, but bounded: the deadline is 0.3 s in total
    boto_resilience.attach(client, max_attempts=50, backoff="constant", base_delay=0.05,
                           deadline=0.3)
    with pytest.raises(ClientError) as info:
        client.list_tables()
    meta = info.value.response["ResponseMetadata"]
    attempts = meta["BotoResilience"]["Attempts"]
    assert 2 <= attempts <= 7
    assert meta["BotoResilience"]["BackoffSeconds"] == pytest.approx(0.05 * (attempts - 1))
    assert meta["BotoResilience"]["BackoffSeconds"] < 0.3


def test_deadline_per_operation(srv: Any, sleeps: Any, client_factory: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    client = client_factory("dynamodb")
    boto_resilience.attach(client, max_attempts=5, backoff="constant", base_delay=10.0,
                           max_delay=10.0, overrides={"dynamodb.ListTables": {"deadline": 5}})
    before = srv.stats()["total"]
    with pytest.raises(ClientError):
        client.list_tables()  # a 10 s sleep would end past the 5 s deadline: no retry
    assert srv.stats()["total"] - before == 1
    with pytest.raises(ClientError):
        client.describe_table(TableName="t")
    assert srv.stats()["total"] - before == 6
    assert sleeps.sleeps == [10.0] * 4


@pytest.mark.parametrize("status,code,retried", [
    (400, "ValidationException", False), (403, "AccessDeniedException", False),
    (404, "ResourceNotFoundException", False), (400, "UnrecognizedClientException", False),
    (500, "InternalServerError", True), (503, "ServiceUnavailable", True),
    (400, "ThrottlingException", True), (400, "ProvisionedThroughputExceededException", True),
    (502, "BadGateway", True), (504, "GatewayTimeout", True)])
def test_what_is_retried(srv: Any, sleeps: Any, client_factory: Any, status: int, code: str,
                         retried: bool) -> None:
    client = client_factory("dynamodb")
    boto_resilience.attach(client, max_attempts=3, **FAST)
    srv.always(status, code)
    with pytest.raises(ClientError) as info:
        client.list_tables()
    assert info.value.response["Error"]["Code"] == code
    assert srv.stats()["total"] == (3 if retried else 1)


def test_dropped_connection_retried_for_idempotent_reads(srv: Any, sleeps: Any,
                                                         client_factory: Any) -> None:
    client = client_factory("dynamodb")
    boto_resilience.attach(client, max_attempts=3, **FAST)
    srv.script([{"drop": True}, {"drop": True}, (200, None)])
    client.get_item(TableName="t", Key={"k": {"S": "1"}})
    assert srv.stats()["total"] == 3
    srv.reset()
    srv.script([{"drop": True}, (200, None)])
    with pytest.raises(ConnectionClosedError) as info:
        client.update_item(TableName="t", Key={"k": {"S": "1"}})  # not idempotent
    assert srv.stats()["total"] == 1
    assert info.value.boto_resilience["Attempts"] == 1  # type: ignore[attr-defined]
    assert isinstance(info.value, ConnectionClosedError)


def test_ambiguous_always(srv: Any, sleeps: Any, client_factory: Any) -> None:
    client = client_factory("dynamodb")
    boto_resilience.attach(client, max_attempts=3, ambiguous_retry="always", **FAST)
    srv.script([{"drop": True}, (200, None)])
    client.update_item(TableName="t", Key={"k": {"S": "1"}})
    assert srv.stats()["total"] == 2


def test_read_timeout(srv: Any, sleeps: Any, client_factory: Any) -> None:
    client = client_factory("dynamodb", read_timeout=0.2, connect_timeout=1)
    boto_resilience.attach(client, max_attempts=2, **FAST)
    srv.script([{"status": 200, "delay": 1.0}, (200, None)])
    client.get_item(TableName="t", Key={"k": {"S": "1"}})
    assert srv.stats()["total"] == 2
    srv.reset()
    srv.always(200, None)
    srv.script([{"status": 200, "delay": 1.0}, {"status": 200, "delay": 1.0}])
    with pytest.raises(ReadTimeoutError):
        client.get_item(TableName="t", Key={"k": {"S": "1"}})


def test_endpoint_connection_error_retried_even_for_writes(sleeps: Any) -> None:
    import boto3
    from botocore.config import Config

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = boto3.Session().client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}",
                                    region_name="us-east-1",
                                    config=Config(connect_timeout=0.5, retries={"mode": "legacy"}))
    boto_resilience.attach(client, max_attempts=3, **FAST)
    with pytest.raises(EndpointConnectionError) as info:
        client.update_item(TableName="t", Key={"k": {"S": "1"}})
    assert info.value.boto_resilience["Attempts"] == 3  # type: ignore[attr-defined]
    assert len(sleeps.sleeps) == 2


def test_connect_timeout_retried(srv: Any, sleeps: Any, client_factory: Any) -> None:
    # A connect timeout cannot be provoked on loopback; botocore turns an exception raised in
    # before-send into the attempt's exception, exactly as if the socket had raised it.
    client = client_factory("dynamodb")
    boto_resilience.attach(client, max_attempts=3, **FAST)
    raised = []

    def fail_twice(request: Any, **kwargs: Any) -> None:
        if len(raised) < 2:
            raised.append(1)
            raise ConnectTimeoutError(endpoint_url=srv.url)

    client.meta.events.register_first("before-send.dynamodb", fail_twice)
    client.update_item(TableName="t", Key={"k": {"S": "1"}})
    assert len(raised) == 2 and len(sleeps.sleeps) == 2


def test_error_category_on_raised_error(srv: Any, sleeps: Any, client_factory: Any) -> None:
    client = client_factory("dynamodb")
    boto_resilience.attach(client, max_attempts=2, **FAST)
    srv.always(400, "ThrottlingException")
    with pytest.raises(errors.Throttled) as info:
        client.list_tables()
    err = info.value.response["Error"]  # type: ignore[attr-defined]
    assert err["Code"] == "ThrottlingException"
    assert err["Category"] == "Throttled" and err["Retryable"] is True
    assert info.value.response["ResponseMetadata"]["BotoResilience"] == {  # type: ignore
        "Attempts": 2, "BackoffSeconds": pytest.approx(sum(sleeps.sleeps), abs=1e-6)}


def test_dynamodb_crc32_mismatch_is_retried(srv: Any, sleeps: Any, client_factory: Any) -> None:
    # botocore's own retry handlers retry a DynamoDB body that fails its x-amz-crc32 header
    client = client_factory("dynamodb")
    boto_resilience.attach(client, max_attempts=3, **FAST)
    srv.script([{"status": 200, "headers": {"x-amz-crc32": "1"}}, (200, None)])
    assert client.list_tables()["ResponseMetadata"]["RetryAttempts"] == 1
    assert srv.stats()["total"] == 2
