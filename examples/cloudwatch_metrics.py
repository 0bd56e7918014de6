"""Monitoring the plugin in CloudWatch: publish its metrics, read them back.

Runs offline under moto (``pip install 'boto_resilience[test]'``): DynamoDB calls, some of them
throttled or failing (injected), are covered by the plugin with a CloudWatch sink; the sink
batches statistic sets and sends them with ``PutMetricData`` from its own thread (and at
``close()``); then the example reads the numbers back with ``GetMetricData``, as a dashboard or
an alarm would.

    python examples/cloudwatch_metrics.py

In production the same three lines apply (no moto): ``CloudWatchSink(namespace="MyApp")``, or
``BOTO_RESILIENCE_METRICS=cloudwatch BOTO_RESILIENCE_NAMESPACE=MyApp`` with no code change. In
Lambda prefer the ``emf`` sink: it writes the metrics to the function's log, no API calls.
"""

from __future__ import annotations

import datetime
from typing import Any

import boto3
from moto import mock_aws

import boto_resilience
from boto_resilience.demo import FaultInjector
from boto_resilience.metrics.cloudwatch import CloudWatchSink

NAMESPACE = "MyApp"


def read_back(cloudwatch: Any, start: datetime.datetime, end: datetime.datetime) -> None:
    dims = [{"Name": "Service", "Value": "DynamoDB"}, {"Name": "Operation", "Value": "GetItem"}]
    queries = [
        ("calls", "Calls", dims, "Sum"),
        ("error_rate", "Errors", dims, "Average"),
        ("retries", "Retries", dims, "Sum"),
        ("throttles", "Throttles", dims, "Sum"),
        ("p_avg", "CallLatency", dims, "Average"),
        ("p_max", "CallLatency", dims, "Maximum"),
        ("retries_throttled", "Retries",
         dims + [{"Name": "ErrorCategory", "Value": "Throttled"}], "Sum"),
        ("retries_unavailable", "Retries",
         dims + [{"Name": "ErrorCategory", "Value": "Unavailable"}], "Sum"),
    ]
    result = cloudwatch.get_metric_data(
        StartTime=start, EndTime=end,
        MetricDataQueries=[
            {"Id": qid, "MetricStat": {
                "Metric": {"Namespace": NAMESPACE, "MetricName": name, "Dimensions": d},
                "Period": 60, "Stat": stat}}
            for qid, name, d, stat in queries
        ])
    values = {r["Id"]: sum(r["Values"]) for r in result["MetricDataResults"]}
    print(f"CloudWatch, namespace {NAMESPACE}, DynamoDB GetItem:")
    print(f"  calls                 {values['calls']:.0f}")
    print(f"  error rate            {values['error_rate']:.1%}")
    print(f"  retries               {values['retries']:.0f} "
          f"(Throttled {values['retries_throttled']:.0f}, "
          f"Unavailable {values['retries_unavailable']:.0f})")
    print(f"  throttled attempts    {values['throttles']:.0f}")
    print(f"  latency avg / max     {values['p_avg']:.1f} / {values['p_max']:.1f} ms")


def main() -> None:
    with mock_aws():
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
        session = boto3.session.Session(region_name="us-east-1")
        sink = CloudWatchSink(namespace=NAMESPACE, flush_interval=60)
        handle = boto_resilience.register(session, metrics=[sink], base_delay=0.002,
                                          throttle_base_delay=0.005)
        ddb = session.client("dynamodb")
        ddb.create_table(
            TableName="orders", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        FaultInjector(seed=4, throttle=0.15, server_error=0.05, connection_error=0.0,
                      capacity=0).attach(ddb)
        for i in range(60):
            ddb.get_item(TableName="orders", Key={"pk": {"S": f"order-{i % 7}"}})
        handle.close()
        sink.close()  # publishes what is left (also done at interpreter exit)
        print(f"published {sink.published} statistic sets, dropped {sink.dropped}\n")
        end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)
        read_back(session.client("cloudwatch"), start, end)


if __name__ == "__main__":
    main()
