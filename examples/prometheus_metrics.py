"""The plugin's metrics in Prometheus: counters and histograms, printed as the exposition text a
scrape of ``/metrics`` would return.

Runs offline: a local fault-injecting endpoint on 127.0.0.1 plays DynamoDB, throttling some
requests and failing others with HTTP 503; the plugin retries them and records everything.

    python examples/prometheus_metrics.py

In a service, serve the default registry as usual (``prometheus_client.start_http_server(9100)``)
and enable the sink with ``metrics=["prometheus"]`` or ``BOTO_RESILIENCE_METRICS=prometheus``.
Needs ``pip install 'boto_resilience[prometheus]'``.
"""

from __future__ import annotations

import boto3
from prometheus_client import CollectorRegistry, generate_latest

import boto_resilience
from boto_resilience.fault_server import FaultServer
from boto_resilience.metrics.prometheus import PrometheusSink


def main() -> None:
    registry = CollectorRegistry()  # the default registry works the same; this keeps it short
    sink = PrometheusSink(registry=registry, namespace="myapp")
    with FaultServer(seed=3) as srv:
        session = boto3.Session()
        boto_resilience.register(session, metrics=[sink], base_delay=0.002,
                                 throttle_base_delay=0.005)
        ddb = session.client("dynamodb", endpoint_url=srv.url, region_name="eu-west-1",
                             aws_access_key_id="x", aws_secret_access_key="x")
        srv.random_faults(p500=0.15, seed=2)
        for i in range(40):
            ddb.put_item(TableName="orders", Item={"pk": {"S": f"order-{i}"}})
        srv.clear()
        srv.script([(400, "ThrottlingException")] * 2)
        ddb.get_item(TableName="orders", Key={"pk": {"S": "order-1"}})
    text = generate_latest(registry).decode()
    # The full text has a _created series per metric and every histogram bucket; show the rest.
    for line in text.splitlines():
        if "_created" in line or ("_bucket" in line and 'le="+Inf"' not in line):
            continue
        print(line)


if __name__ == "__main__":
    main()
