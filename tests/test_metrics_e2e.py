"""End to end: real boto3 calls through the plugin produce the records and metrics they should,
and no request parameter, resource name, object content or credential ever reaches a sink."""

from __future__ import annotations

import io
import json
import logging
import socket
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry, generate_latest

import boto_resilience
from boto_resilience.demo import FaultInjector
from boto_resilience.metrics.cloudwatch import CloudWatchSink
from boto_resilience.metrics.emf import EmfSink
from boto_resilience.metrics.logging import LoggingSink
from boto_resilience.metrics.memory import MemorySink
from boto_resilience.metrics.otel import OtelSink
from boto_resilience.metrics.prometheus import PrometheusSink
from boto_resilience.metrics.statsd import StatsdSink
from boto_resilience.taxonomy import Category
from boto_resilience.testing import RecordingSink

FAST = {"base_delay": 0.001, "throttle_base_delay": 0.001, "max_delay": 0.002}


def test_attempt_and_call_records_through_the_plugin(srv: Any, sleeps: Any,
                                                     client_factory: Any) -> None:
    client = client_factory("dynamodb")
    recording, memory, registry = RecordingSink(), MemorySink(), CollectorRegistry()
    handle = boto_resilience.attach(
        client, metrics=[recording, memory, PrometheusSink(registry=registry)], **FAST)
    srv.script([(503, "ServiceUnavailable"), (400, "ThrottlingException"), (200, None)])
    client.get_item(TableName="t", Key={"k": {"S": "v"}})

    first, second, third = recording.attempts
    assert [a.attempt for a in recording.attempts] == [1, 2, 3]
    assert (first.outcome, first.category, first.error_code, first.http_status) == \
        ("error", Category.Unavailable, "ServiceUnavailable", 503)
    assert first.will_retry and first.backoff > 0 and not first.throttled
    assert (second.category, second.throttled, second.will_retry) == \
        (Category.Throttled, True, True)
    assert (third.outcome, third.category, third.will_retry, third.backoff) == \
        ("success", None, False, 0.0)
    (record,) = recording.calls
    assert (record.service, record.operation, record.region) == \
        ("dynamodb", "GetItem", "us-east-1")
    assert (record.outcome, record.attempts, record.retries, record.throttles) == \
        ("success", 3, 2, 1)
    assert record.latency >= sum(a.latency for a in recording.attempts)

    stats = memory.snapshot().get("dynamodb", "GetItem")
    assert stats is not None
    assert stats.retries_by_category == {"Unavailable": 1, "Throttled": 1}
    labels = {"rpc_service": "DynamoDB", "rpc_method": "GetItem", "cloud_region": "us-east-1"}
    assert registry.get_sample_value("boto_resilience_retries_total",
                                     {**labels, "error_category": "Throttled"}) == 1
    assert registry.get_sample_value("boto_resilience_throttles_total", labels) == 1

    srv.always(400, "ValidationException")
    with pytest.raises(ClientError):
        client.get_item(TableName="t", Key={"k": {"S": "v"}})
    failed = recording.calls[-1]
    assert (failed.outcome, failed.category, failed.error_code, failed.attempts) == \
        ("error", Category.Validation, "ValidationException", 1)
    handle.close()
    assert handle.dispatcher.dropped == 0


# --- no secrets anywhere ------------------------------------------------------------------

SECRETS = {
    "access key id": "AKIASECRETKEY0000XYZ",
    "secret key": "s3cr3tAccessKeyValue+Zq9/8",
    "session token": "SessionTokenSecret7788",
    "bucket": "secret-bucket-7f3a9c",
    "object key": "secret/path/key-5e1d.txt",
    "missing key": "secret-missing-object-11aa",
    "object body": "SECRET-BODY-CONTENT-42",
    "table": "secret-table-4b2e",
    "missing table": "secret-no-such-table-77",
    "item value": "secret-item-value-9a8b",
    "queue": "secret-queue-3c3c",
    "message": "secret-message-body-1234",
}


class CapturingCloudWatch:
    """A stand-in CloudWatch client that keeps what the sink would have sent."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def put_metric_data(self, **kwargs: Any) -> None:
        self.requests.append(kwargs)


def test_no_secret_reaches_any_sink(sleeps: Any, caplog: pytest.LogCaptureFixture) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    emf_out = io.StringIO()
    registry = CollectorRegistry()
    reader = InMemoryMetricReader()
    cw_client = CapturingCloudWatch()
    memory = MemorySink()
    sinks = [
        memory,
        LoggingSink(interval=0.0),
        EmfSink(stream=emf_out, flush_interval=3600),
        PrometheusSink(registry=registry),
        OtelSink(meter_provider=MeterProvider(metric_readers=[reader])),
        StatsdSink(host="127.0.0.1", port=listener.getsockname()[1]),
        CloudWatchSink(namespace="Test", client=cw_client, flush_interval=3600),
    ]
    creds = {"aws_access_key_id": SECRETS["access key id"],
             "aws_secret_access_key": SECRETS["secret key"],
             "aws_session_token": SECRETS["session token"]}
    with mock_aws(), caplog.at_level(logging.DEBUG, logger="boto_resilience"):
        session = boto3.session.Session(region_name="us-east-1", **creds)
        handle = boto_resilience.register(session, metrics=sinks, **FAST)
        s3 = session.client("s3")
        ddb = session.client("dynamodb")
        sqs = session.client("sqs")
        injector = FaultInjector(seed=3, throttle=0.3, server_error=0.2, connection_error=0.0,
                                 capacity=0)
        for client in (s3, ddb, sqs):
            injector.attach(client)
        s3.create_bucket(Bucket=SECRETS["bucket"])
        s3.put_object(Bucket=SECRETS["bucket"], Key=SECRETS["object key"],
                      Body=SECRETS["object body"].encode())
        s3.get_object(Bucket=SECRETS["bucket"], Key=SECRETS["object key"])["Body"].read()
        with pytest.raises(ClientError):
            s3.get_object(Bucket=SECRETS["bucket"], Key=SECRETS["missing key"])
        with pytest.raises(ClientError):
            s3.head_object(Bucket=SECRETS["bucket"], Key=SECRETS["missing key"])
        ddb.create_table(
            TableName=SECRETS["table"], BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        ddb.put_item(TableName=SECRETS["table"], Item={"pk": {"S": SECRETS["item value"]}})
        ddb.get_item(TableName=SECRETS["table"], Key={"pk": {"S": SECRETS["item value"]}})
        with pytest.raises(ClientError):
            ddb.get_item(TableName=SECRETS["missing table"], Key={"pk": {"S": "x"}})
        url = sqs.create_queue(QueueName=SECRETS["queue"])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=SECRETS["message"])
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
        handle.close()
        for sink in sinks:
            sink.close()

    datagrams = []
    while True:
        try:
            datagrams.append(listener.recv(65535).decode())
        except OSError:
            break
    listener.close()
    otel_text = reader.get_metrics_data().to_json()  # type: ignore[union-attr]
    outputs = {
        "memory": repr(memory.snapshot()),
        "logging": "\n".join(f"{r.getMessage()} {getattr(r, 'aws', '')}"
                             for r in caplog.records if r.name == "boto_resilience.metrics"),
        "emf": emf_out.getvalue(),
        "prometheus": generate_latest(registry).decode(),
        "otel": otel_text,
        "statsd": "\n".join(datagrams),
        "cloudwatch": json.dumps(cw_client.requests, default=str),
    }
    # Every sink saw the calls (so the check below is not vacuous), retries included.
    assert injector.injected["throttle"] > 0 and memory.snapshot().retries > 0
    for name, text in outputs.items():
        assert "GetObject" in text or "Operation" in text, f"{name} is empty"
    # ... and whatever else the plugin logged meanwhile (state changes, warnings).
    outputs["plugin logs"] = "\n".join(r.getMessage() for r in caplog.records
                                       if r.name.startswith("boto_resilience"))
    for name, text in outputs.items():
        for what, secret in SECRETS.items():
            assert secret not in text, f"the {what} leaked into the {name} sink"
            assert secret.lower() not in text.lower(), f"the {what} leaked into {name}"
