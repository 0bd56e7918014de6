"""``boto-resilience demo``: real calls against moto with injected faults, a progress line on
stderr and a table per operation, within a few seconds; and its fault injector."""

from __future__ import annotations

import io
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from boto_resilience import demo


def test_demo_runs_and_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    start = time.monotonic()
    assert demo.main(["--calls", "120", "--seed", "3"]) == 0
    assert time.monotonic() - start < 30
    captured = capsys.readouterr()
    assert "demo: 120/120 calls" in captured.err  # the progress line
    out = captured.out
    assert "120 calls against moto, seed 3" in out
    header = next(line for line in out.splitlines() if line.startswith("operation"))
    for column in ("calls", "attempts", "retries", "throttles", "errors", "p50 ms", "p99 ms"):
        assert column in header
    rows = [line.split() for line in out.splitlines()
            if line.split() and line.split()[0] in {
                "dynamodb.PutItem", "dynamodb.GetItem", "dynamodb.Query", "s3.PutObject",
                "s3.GetObject", "s3.ListObjectsV2", "sqs.SendMessage", "sqs.ReceiveMessage"}]
    assert len(rows) >= 6
    total = next(line.split() for line in out.splitlines() if line.startswith("total"))
    assert total[1] == "120"
    assert int(total[3]) > 0  # retries happened
    assert "errors that reached the caller" in out


def test_run_returns_the_snapshot_and_counts_add_up() -> None:
    out, err = io.StringIO(), io.StringIO()
    snap = demo.run(calls=80, seed=5, server_error=0.2, progress=True, out=out, err=err)
    assert snap.calls == 80
    assert snap.attempts == snap.calls + snap.retries
    categories: dict[str, int] = {}
    for stats in snap.operations.values():
        for cat, n in stats.retries_by_category.items():
            categories[cat] = categories.get(cat, 0) + n
    assert categories.get("Unavailable", 0) > 0
    assert "retry:Unavailable" in out.getvalue()
    assert err.getvalue().count("\n") >= 4  # not a terminal: a line per quarter


def test_fault_server_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--calls", "40", "--backend", "fault-server", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "40 calls against fault-server" in captured.out
    assert "dynamodb.GetItem" in captured.out


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(SystemExit):
        demo.main(["--throttle", "0.9", "--server-errors", "0.5"])
    with pytest.raises(SystemExit):
        demo.main(["--calls", "0"])


@pytest.mark.parametrize("service,call,code", [
    ("dynamodb", lambda c: c.list_tables(), "ProvisionedThroughputExceededException"),
    ("s3", lambda c: c.list_buckets(), "SlowDown"),
    ("sqs", lambda c: c.list_queues(), "ThrottlingException"),
    ("sts", lambda c: c.get_caller_identity(), "ThrottlingException"),
])
def test_injected_faults_parse_as_the_service_would_send_them(service: str, call: Any,
                                                              code: str) -> None:
    with mock_aws():
        client = boto3.client(service, region_name="us-east-1",
                              config=__import__("botocore.config").config.Config(
                                  retries={"total_max_attempts": 1}))
        injector = demo.FaultInjector(throttle=1.0, server_error=0.0, capacity=0)
        injector.attach(client)
        with pytest.raises(ClientError) as info:
            call(client)
        assert info.value.response["Error"]["Code"] == code
        injector.enabled = False
        call(client)  # healthy again


def test_injected_faults_do_not_reach_moto() -> None:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1",
                              config=__import__("botocore.config").config.Config(
                                  retries={"total_max_attempts": 1}))
        injector = demo.FaultInjector(throttle=0.0, server_error=1.0, capacity=0)
        injector.attach(client)
        with pytest.raises(ClientError):
            client.create_bucket(Bucket="never-created")
        injector.enabled = False
        assert client.list_buckets()["Buckets"] == []


def test_capacity_throttles_beyond_the_rate() -> None:
    now = [0.0]
    injector = demo.FaultInjector(capacity=10, burst=5, clock=lambda: now[0])
    decisions = [injector._over_capacity("dynamodb") for _ in range(8)]
    assert decisions == [False] * 5 + [True] * 3  # the burst, then throttled
    now[0] += 0.2  # two more tokens
    assert [injector._over_capacity("dynamodb") for _ in range(3)] == [False, False, True]
    assert injector._over_capacity("s3") is False  # one bucket per service
