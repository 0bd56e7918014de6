"""Exponential backoff on transient errors: the hand-written loop, and the plugin.

Runs offline against a local fault-injecting DynamoDB endpoint on 127.0.0.1 that fails with
503/500 a few times (and drops a connection once) before answering.

    python examples/transient_errors.py
"""

from __future__ import annotations

import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

import boto_resilience
from boto_resilience.fault_server import FaultServer

FAULTS = [(503, "ServiceUnavailable"), (500, "InternalServerError"), {"drop": True}]


def ddb(url: str, session: boto3.Session) -> object:
    return session.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x",
                          config=Config(retries={"total_max_attempts": 1}))


def old_way(client: object, retries: int = 5, retry_delay: float = 2) -> dict:
    """The guide's pattern: ``time.sleep(retry_delay ** i)``, no jitter, no cap, no deadline."""
    for i in range(retries):
        try:
            return client.get_item(TableName="users",  # type: ignore[attr-defined, no-any-return]
                                   Key={"id": {"S": "42"}})
        except (ClientError, ConnectionClosedError) as e:
            print(f"  old way: attempt {i + 1} failed ({type(e).__name__}); "
                  f"sleeping {0.1 * retry_delay ** i:.1f} s")
            time.sleep(0.1 * retry_delay ** i)  # scaled down 10x so the example is quick
    raise RuntimeError("gave up")


def main() -> None:
    with FaultServer() as srv:
        print("1. hand-written exponential backoff")
        srv.script(FAULTS)
        old_way(ddb(srv.url, boto3.Session()))

        print("2. boto_resilience: jittered backoff, a deadline, the same call")
        session = boto3.Session()
        boto_resilience.register(session, max_attempts=5, deadline=5.0)
        client = ddb(srv.url, session)
        srv.script(FAULTS)
        response = client.get_item(TableName="users",  # type: ignore[attr-defined]
                                   Key={"id": {"S": "42"}})
        meta = response["ResponseMetadata"]
        print(f"  plugin: succeeded after {meta['RetryAttempts']} retries, "
              f"{meta['BotoResilience']['BackoffSeconds'] * 1000:.0f} ms of backoff "
              f"(base 25 ms for transient errors)")


if __name__ == "__main__":
    main()
