"""Retrying a throttled API (``TooManyRequestsException``): the hand-written loop, and the plugin.

Runs offline: a local fault-injecting endpoint on 127.0.0.1 plays a Lambda API that answers
HTTP 429 ``TooManyRequestsException`` three times before it lets a call through.

    python examples/throttled_api.py
"""

from __future__ import annotations

import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import boto_resilience
from boto_resilience.fault_server import FaultServer


def lambda_client(url: str, session: boto3.Session) -> object:
    # max_attempts=0: botocore's own retries off, to show the hand-written loop alone
    return session.client("lambda", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x",
                          config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


def old_way(client: object) -> dict:
    """The pattern the plugin replaces: catch the code, sleep a fixed time, try again."""
    for attempt in range(5):
        try:
            return client.list_functions()  # type: ignore[attr-defined, no-any-return]
        except ClientError as e:
            if e.response["Error"]["Code"] != "TooManyRequestsException":
                raise
            print(f"  old way: throttled on attempt {attempt + 1}, sleeping 0.2 s")
            time.sleep(0.2)  # the guide says 2 s; shortened so the example is quick
    raise RuntimeError("still throttled")


def main() -> None:
    with FaultServer() as srv:
        print("1. hand-written retry loop")
        srv.script([(429, "TooManyRequestsException")] * 3)
        old_way(lambda_client(srv.url, boto3.Session()))

        print("2. boto_resilience: one line, no loop; the call is unchanged")
        session = boto3.Session()
        boto_resilience.register(session, max_attempts=5, throttle_base_delay=0.1)
        client = lambda_client(srv.url, session)  # the user's own 1-attempt Config is overridden
        srv.script([(429, "TooManyRequestsException")] * 3)
        response = client.list_functions()  # type: ignore[attr-defined]
        meta = response["ResponseMetadata"]
        print(f"  plugin: succeeded after {meta['RetryAttempts']} retries, "
              f"{meta['BotoResilience']['BackoffSeconds']:.3f} s of jittered backoff")


if __name__ == "__main__":
    main()
