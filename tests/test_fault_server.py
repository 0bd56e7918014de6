"""The fault server, seen through real boto3 clients: each fault arrives as botocore reports it.

Clients use ``total_max_attempts=1`` (no botocore retries, so no real backoff sleeps) unless a
test is about retries. Time-dependent faults (throttle bucket, outage window) run on a
``FakeClock`` injected into the server, so they are exact and instant.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from boto_resilience.fault_server import (
    Fault,
    FaultServer,
    FaultServerProcess,
    RemoteFaultServer,
    as_fault,
)
from boto_resilience.testing import FakeClock

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(srv_url: str, service: str = "dynamodb", config: Config = NO_RETRY) -> Any:
    return boto3.client(
        service,
        endpoint_url=srv_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def srv(clock: FakeClock) -> Iterator[FaultServer]:
    with FaultServer(seed=42, clock=clock) as s:
        yield s


@pytest.fixture
def ddb(srv: FaultServer) -> Any:
    return client(srv.url)


def error_of(call: Any, *args: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value


KEY = {"pk": {"S": "a"}}


# -- normal answers -----------------------------------------------------------------------------
def test_dynamodb_answers_parse(ddb: Any) -> None:
    assert "Item" not in ddb.get_item(TableName="t", Key=KEY)
    ddb.put_item(TableName="t", Item={**KEY, "v": {"N": "1"}})
    ddb.put_item(TableName="t", Item={**KEY, "v": {"N": "2"}})
    ddb.put_item(TableName="t", Item={"pk": {"S": "b"}, "v": {"N": "3"}})
    assert ddb.get_item(TableName="t", Key=KEY)["Item"] == {**KEY, "v": {"N": "2"}}
    q = ddb.query(
        TableName="t",
        KeyConditionExpression="#k = :v",
        ExpressionAttributeNames={"#k": "pk"},
        ExpressionAttributeValues={":v": {"S": "b"}},
    )
    assert q["Count"] == 1 and q["Items"][0]["v"] == {"N": "3"}
    assert ddb.describe_table(TableName="t")["Table"]["TableStatus"] == "ACTIVE"
    assert ddb.list_tables()["TableNames"] == ["t"]


def test_other_protocols_get_empty_success(srv: FaultServer) -> None:
    lam = client(srv.url, "lambda")
    assert lam.get_function(FunctionName="f")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert srv.stats()["by_operation"] == {"GET /2015-03-31/functions": 1}


# -- faults ---------------------------------------------------------------------------------------
def test_script_consumed_in_order_then_mode(srv: FaultServer, ddb: Any) -> None:
    srv.always(503)
    srv.script([(503, "ServiceUnavailable"), (500, "InternalServerError"), (200, None)])
    assert error_of(ddb.get_item, TableName="t", Key=KEY).response["Error"]["Code"] == (
        "ServiceUnavailable"
    )
    err = error_of(ddb.get_item, TableName="t", Key=KEY)
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert err.response["Error"]["Code"] == "InternalServerError"
    ddb.get_item(TableName="t", Key=KEY)  # the scripted 200
    # script exhausted: back to the `always` layer
    assert error_of(ddb.get_item, TableName="t", Key=KEY).response["Error"]["Code"] == (
        "ServiceUnavailable"
    )
    assert srv.stats()["by_status"] == {"503": 2, "500": 1, "200": 1}


def test_script_with_botocore_retries(srv: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda s: None)  # botocore's backoff sleeps
    ddb = client(srv.url, config=Config(retries={"total_max_attempts": 3, "mode": "standard"}))
    srv.script([(503, "ServiceUnavailable"), (503, "ServiceUnavailable"), (200, None)])
    resp = ddb.get_item(TableName="t", Key=KEY)
    assert resp["ResponseMetadata"]["RetryAttempts"] == 2
    sent = [r["headers"]["amz-sdk-request"] for r in srv.recent_requests(3)]
    fields = [dict(p.split("=", 1) for p in h.split("; ")) for h in sent]
    assert [f["attempt"] for f in fields] == ["1", "2", "3"]
    # botocore >= 1.42 seeds "max" on the first attempt too; older ones only on retries
    assert all(f["max"] == "3" for f in fields[1:])
    ids = {r["headers"]["amz-sdk-invocation-id"] for r in srv.recent_requests(3)}
    assert len(ids) == 1  # one call, three attempts


def test_always_429_is_modeled_for_lambda(srv: FaultServer) -> None:
    lam = client(srv.url, "lambda")
    srv.always(429, "TooManyRequestsException", headers={"Retry-After": "2"})
    with pytest.raises(lam.exceptions.TooManyRequestsException) as info:
        lam.get_function(FunctionName="f")
    resp = info.value.response
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert resp["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "2"
    assert resp["ResponseMetadata"]["RequestId"].startswith("fault-")


def test_always_default_code_for_status(srv: FaultServer, ddb: Any) -> None:
    srv.always(503)
    err = error_of(ddb.get_item, TableName="t", Key=KEY)
    assert err.response["Error"]["Code"] == "ServiceUnavailable"
    assert err.response["Error"]["Message"] == "Injected fault: ServiceUnavailable"


def test_throttle_bucket(srv: FaultServer, ddb: Any, clock: FakeClock) -> None:
    srv.throttle(rate=2, burst=2)
    ddb.get_item(TableName="t", Key=KEY)
    ddb.get_item(TableName="t", Key=KEY)
    with pytest.raises(ClientError) as info:  # modeled only in newer DynamoDB models
        ddb.get_item(TableName="t", Key=KEY)
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    clock.advance(0.5)  # one token back
    ddb.get_item(TableName="t", Key=KEY)
    error_of(ddb.get_item, TableName="t", Key=KEY)
    assert srv.stats()["by_code"] == {"OK": 3, "ThrottlingException": 2}


def test_throttle_custom_status_and_code(srv: FaultServer) -> None:
    lam = client(srv.url, "lambda")
    srv.throttle(rate=1, burst=1, status=429, code="TooManyRequestsException")
    lam.get_function(FunctionName="f")
    with pytest.raises(lam.exceptions.TooManyRequestsException):
        lam.get_function(FunctionName="f")


def test_outage_window(srv: FaultServer, ddb: Any, clock: FakeClock) -> None:
    window = srv.outage(duration=7.0, start_in=1.0)["outage"]
    assert window["end"] - window["start"] == 7.0
    ddb.get_item(TableName="t", Key=KEY)  # before the window
    clock.advance(1.0)
    for _ in range(3):
        err = error_of(ddb.get_item, TableName="t", Key=KEY)
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        clock.advance(3.0)
    # 1 + 9 = 10 > 8: the window is over
    ddb.get_item(TableName="t", Key=KEY)
    stats = srv.stats()
    assert stats["outage_requests"] == 3
    assert stats["by_second"] == {"0": 1, "1": 1, "4": 1, "7": 1, "10": 1}


def test_drop_is_a_connection_error(srv: FaultServer, ddb: Any) -> None:
    srv.random_faults(pdrop=1.0)
    with pytest.raises(ConnectionClosedError):
        ddb.get_item(TableName="t", Key=KEY)
    srv.clear()
    ddb.get_item(TableName="t", Key=KEY)  # a fresh connection works
    assert srv.stats()["by_status"] == {"drop": 1, "200": 1}
    assert srv.recent_requests(2)[0]["status"] is None


def test_scripted_drop(srv: FaultServer, ddb: Any) -> None:
    srv.script([Fault(drop=True)])
    with pytest.raises(ConnectionClosedError):
        ddb.get_item(TableName="t", Key=KEY)


def test_random_500(srv: FaultServer, ddb: Any) -> None:
    srv.random_faults(p500=1.0)
    err = error_of(ddb.get_item, TableName="t", Key=KEY)
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert err.response["Error"]["Code"] == "InternalServerError"


def test_random_slow_is_delayed() -> None:
    with FaultServer() as srv:
        ddb = client(srv.url)
        srv.random_faults(pslow=1.0, slow_delay=0.05)
        t0 = time.perf_counter()
        ddb.get_item(TableName="t", Key=KEY)
        assert time.perf_counter() - t0 >= 0.05


def test_server_delay_is_capped() -> None:
    with FaultServer(max_delay=0.01) as srv:
        ddb = client(srv.url)
        srv.script([Fault(delay=60.0)])
        t0 = time.perf_counter()
        ddb.get_item(TableName="t", Key=KEY)
        assert time.perf_counter() - t0 < 5.0


def _statuses(seed: int, n: int) -> list[Any]:
    with FaultServer() as srv:
        ddb = client(srv.url)
        srv.random_faults(p500=0.4, pdrop=0.2, seed=seed)
        for _ in range(n):
            try:
                ddb.get_item(TableName="t", Key=KEY)
            except (ClientError, ConnectionClosedError):
                pass
        return [r["status"] for r in srv.recent_requests(n)]


def test_random_faults_are_deterministic_when_seeded() -> None:
    a = _statuses(seed=3, n=20)
    assert a == _statuses(seed=3, n=20)
    assert {200, 500, None} == set(a)


def test_layers_precedence(srv: FaultServer, ddb: Any) -> None:
    srv.configure({
        "throttle": {"rate": 1, "burst": 1},
        "always": {"status": 500},
        "outage": {"duration": 10},
        "script": [[200, None]],
    })
    ddb.get_item(TableName="t", Key=KEY)  # script first
    assert error_of(ddb.get_item, TableName="t", Key=KEY).response["Error"]["Code"] == (
        "ServiceUnavailable"
    )  # outage before always
    srv.configure({"outage": None})
    assert error_of(ddb.get_item, TableName="t", Key=KEY).response["Error"]["Code"] == (
        "InternalServerError"
    )
    srv.configure({"always": None})
    ddb.get_item(TableName="t", Key=KEY)  # the bucket's one token: untouched until now
    assert error_of(ddb.get_item, TableName="t", Key=KEY).response["Error"]["Code"] == (
        "ThrottlingException"
    )


def test_bad_control_changes_nothing(srv: FaultServer) -> None:
    srv.always(503)
    with pytest.raises(ValueError):
        srv.configure({"always": None, "random": {"p500": 0.9, "pdrop": 0.9}})
    with pytest.raises(ValueError):
        srv.configure({"nonsense": 1})
    assert srv.describe()["always"]["status"] == 503


def test_as_fault_forms() -> None:
    assert as_fault(None) == Fault()
    assert as_fault((503, "X", {"a": "b"})) == Fault(503, "X", {"a": "b"})
    assert as_fault({"status": 500}) == Fault(500)
    assert not Fault().is_error and Fault(404).error_code() == "ResourceNotFoundException"
    with pytest.raises(ValueError):
        as_fault({"statu": 500})


# -- stats, headers, concurrency, keep-alive ------------------------------------------------------
def test_stats_and_timestamps(srv: FaultServer, ddb: Any, clock: FakeClock) -> None:
    ddb.list_tables()
    clock.advance(2.5)
    ddb.list_tables()
    stats = srv.stats(timestamps=True)
    assert stats["total"] == 2
    assert stats["timestamps"] == [1000.0, 1002.5]
    assert stats["by_second"] == {"0": 1, "2": 1}
    srv.reset()
    assert srv.stats()["total"] == 0 and srv.describe()["always"] is None


def test_concurrent_requests_counted_exactly() -> None:
    with FaultServer() as srv:
        srv.throttle(rate=1e9, burst=1e9)
        errors: list[BaseException] = []

        def worker() -> None:
            ddb = client(srv.url)
            try:
                for _ in range(15):
                    ddb.list_tables()
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors
        stats = srv.stats()
        assert stats["total"] == 120 and stats["by_status"] == {"200": 120}


def test_keep_alive_and_stop_closes_idle_connections() -> None:
    srv = FaultServer().start()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    for _ in range(3):
        conn.request("POST", "/", body=b"{}", headers={"X-Amz-Target": "X.Y"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == b"{}"
    assert srv.recent_requests(3)[0]["headers"]["host"] == f"127.0.0.1:{srv.port}"
    srv.stop()
    with pytest.raises((http.client.HTTPException, OSError)):
        conn.request("POST", "/", body=b"{}")
        conn.getresponse()
    conn.close()


def test_remote_control_over_http(srv: FaultServer, ddb: Any) -> None:
    remote = RemoteFaultServer(srv.url)
    remote.always(503, "ServiceUnavailable")
    error_of(ddb.list_tables)
    assert remote.describe()["always"]["status"] == 503
    remote.clear()
    ddb.list_tables()
    assert remote.stats()["by_status"] == {"503": 1, "200": 1}  # control requests not counted
    assert remote.recent_requests(1)[0]["target"] == "DynamoDB_20120810.ListTables"
    req = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    req.request("POST", "/_control", body=json.dumps({"bogus": 1}))
    assert req.getresponse().status == 400
    req.close()
    remote.reset()
    assert remote.stats()["total"] == 0


@pytest.mark.slow
def test_separate_process() -> None:
    with FaultServerProcess(seed=1) as srv:
        ddb = client(srv.url)
        srv.always(503)
        error_of(ddb.list_tables)
        srv.clear()
        ddb.list_tables()
        assert srv.stats()["by_status"] == {"503": 1, "200": 1}
        proc = srv._proc
    assert proc.poll() is not None
