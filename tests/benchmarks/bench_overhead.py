"""What the plugin and each metrics sink add to a boto3 call, in CPU microseconds.

Run it on its own (it is not part of the test suite)::

    python tests/benchmarks/bench_overhead.py [--rounds 40] [--calls 250] [--sinks memory,emf]

Every variant makes real boto3 calls (DynamoDB ``GetItem``: parameter validation, serialisation,
SigV4 signing, every botocore event, response parsing) on its own client. No network: a
``before-send`` handler answers each request with a prebuilt ``AWSResponse`` (botocore then
skips the HTTP send, exactly as it does for moto). Variants:

* ``plain``: botocore alone;
* ``plugin``: the plugin attached with no metrics sink (retry policy, guards, adapter; records
  are not even built);
* ``noop-sink``: the plugin with a sink that does nothing: the cost of building and dispatching
  the two records per call, which every sink pays;
* one variant per sink: the plugin with only that sink.

Sinks that queue on the caller's thread and aggregate on a background thread are drained at the
end of each of their batches inside the timed region, so the numbers include the aggregation,
not only the queueing. Periodic output (EMF documents every second here, StatsD datagrams as
they fill, CloudWatch publishes to a stub) is charged to whichever batch is running then, which
the medians mostly ignore; it is amortised over many calls in any case.

The variants run in interleaved rounds (the order shuffled each round) in one process, so slow
drifts of the machine (frequency scaling, other load) hit them all alike; many short batches
(150 rounds of 40 calls by default) beat a few long ones on a shared machine. Each round times a
batch of calls per variant with ``time.process_time`` (CPU of the whole process, so a sink's
background thread is charged too) and ``time.perf_counter``. The report gives per variant the
median µs/call, the median over rounds of (variant - plain) and of (variant - plugin) (paired
differences, robust to drift), and the ratio to plain botocore.

Targets (issue 4): memory sink <= +10 µs/call over plain botocore, EMF and Prometheus
<= +25 µs/call. The ``plugin`` row shows how much of that is the plugin itself rather than its
metrics.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any, Callable

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
for _var in [v for v in os.environ if v.startswith("BOTO_RESILIENCE")]:
    del os.environ[_var]

import boto3  # noqa: E402
from botocore.awsrequest import AWSResponse, HeadersDict  # noqa: E402

import boto_resilience  # noqa: E402

TARGETS = {"memory": 10.0, "emf": 25.0, "prometheus": 25.0}
BODY = json.dumps({"Item": {"pk": {"S": "order-1"}, "qty": {"N": "3"},
                            "status": {"S": "shipped"}}}).encode()
HEADERS = {"x-amzn-requestid": "bench", "content-type": "application/x-amz-json-1.0"}


class _Raw(io.BytesIO):
    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def canned(request: Any, **kwargs: Any) -> AWSResponse:
    """before-send: answer with a prebuilt 200 (a fresh body stream per call)."""
    return AWSResponse(request.url, 200, HeadersDict(HEADERS), _Raw(BODY))


def make_client() -> Any:
    client = boto3.session.Session().client("dynamodb", region_name="us-east-1")
    client.meta.events.register_first("before-send.dynamodb.GetItem", canned)
    return client


class StatsdDrain:
    """A UDP listener in a separate process, so receiving the datagrams costs this one nothing."""

    def __init__(self) -> None:
        code = ("import socket,sys\n"
                "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('127.0.0.1',0))\n"
                "print(s.getsockname()[1],flush=True)\n"
                "while True: s.recv(65535)\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


class NoopSink:
    inline = True

    def on_attempt(self, record: Any) -> None:
        pass

    def on_call(self, record: Any) -> None:
        pass

    def on_state_change(self, change: Any) -> None:
        pass

    def close(self) -> None:
        pass


class NullCloudWatch:
    def put_metric_data(self, **kwargs: Any) -> None:
        pass


def build_sinks(names: list[str], drain: StatsdDrain | None) -> dict[str, Any]:
    from boto_resilience.metrics.cloudwatch import CloudWatchSink
    from boto_resilience.metrics.emf import EmfSink
    from boto_resilience.metrics.logging import LoggingSink
    from boto_resilience.metrics.memory import MemorySink

    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the benchmark
    factories: dict[str, Callable[[], Any]] = {
        "memory": MemorySink,
        "logging": LoggingSink,  # logger at its default level: DEBUG lines are not formatted
        "emf": lambda: EmfSink(stream=devnull, flush_interval=1.0),
        "cloudwatch": lambda: CloudWatchSink(client=NullCloudWatch(), flush_interval=1.0),
    }

    def prometheus() -> Any:
        from prometheus_client import CollectorRegistry

        from boto_resilience.metrics.prometheus import PrometheusSink

        return PrometheusSink(registry=CollectorRegistry())

    def otel() -> Any:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        from boto_resilience.metrics.otel import OtelSink

        return OtelSink(meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]))

    def statsd() -> Any:
        from boto_resilience.metrics.statsd import StatsdSink

        assert drain is not None
        return StatsdSink(host="127.0.0.1", port=drain.port)

    factories.update(prometheus=prometheus, otel=otel, statsd=statsd)
    return {name: factories[name]() for name in names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--calls", type=int, default=40, help="calls per variant per round")
    parser.add_argument("--sinks", default="memory,logging,emf,prometheus,otel,statsd,cloudwatch")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sink_names = [s.strip() for s in args.sinks.split(",") if s.strip()]

    statsd_drain = StatsdDrain() if "statsd" in sink_names else None
    sinks = build_sinks(sink_names, statsd_drain)
    clients: dict[str, Any] = {"plain": make_client()}
    handles = []
    plugin_client = make_client()
    handles.append(boto_resilience.attach(plugin_client, metrics=()))
    clients["plugin"] = plugin_client
    noop_client = make_client()
    handles.append(boto_resilience.attach(noop_client, metrics=[NoopSink()]))
    clients["noop-sink"] = noop_client
    for name, sink in sinks.items():
        client = make_client()
        handles.append(boto_resilience.attach(client, metrics=[sink]))
        clients[name] = client

    # Sinks that aggregate off the caller's thread (QueuedSink) are drained at the end of each
    # of their batches, inside the timed region: the aggregation of a batch is charged to the
    # variant that produced it, not to whichever variant runs when a worker thread wakes up.
    drains: dict[str, Callable[[], None]] = {
        name: sink.drain for name, sink in sinks.items() if callable(getattr(sink, "drain", None))
    }

    key = {"pk": {"S": "order-1"}}
    for client in clients.values():  # warm up: first-call costs (model loading, label binding)
        for _ in range(50):
            client.get_item(TableName="orders", Key=key)

    cpu: dict[str, list[float]] = {name: [] for name in clients}
    wall: dict[str, list[float]] = {name: [] for name in clients}
    order = list(clients)
    rand = random.Random(args.seed)
    gc.collect()  # once: a full collection per batch would cost more than the batch
    started = time.perf_counter()
    for _ in range(args.rounds):
        rand.shuffle(order)
        for name in order:
            client = clients[name]
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(args.calls):
                client.get_item(TableName="orders", Key=key)
            drain_batch = drains.get(name)
            if drain_batch is not None:
                drain_batch()
            c1, w1 = time.process_time(), time.perf_counter()
            cpu[name].append((c1 - c0) / args.calls * 1e6)
            wall[name].append((w1 - w0) / args.calls * 1e6)
    elapsed = time.perf_counter() - started

    for handle in handles:
        handle.close()
    for sink in sinks.values():
        sink.close()
    if statsd_drain is not None:
        statsd_drain.close()

    def paired(name: str, base: str) -> float:
        return statistics.median(a - b for a, b in zip(cpu[name], cpu[base]))

    plain = statistics.median(cpu["plain"])
    print(f"boto_resilience overhead: DynamoDB GetItem, canned response, {args.rounds} rounds x "
          f"{args.calls} calls per variant, interleaved ({elapsed:.0f} s)")
    print(f"python {sys.version.split()[0]}, botocore "
          f"{sys.modules['botocore'].__version__}, boto3 {boto3.__version__}")
    print()
    header = (f"{'variant':<12}{'CPU µs/call':>12}{'wall µs/call':>13}{'+µs vs plain':>14}"
              f"{'ratio':>7}{'+µs vs plugin':>15}{'+µs vs noop':>13}   target (vs plain)")
    print(header)
    print("-" * len(header))
    failed = False
    for name in clients:
        med = statistics.median(cpu[name])
        wmed = statistics.median(wall[name])
        if name == "plain":
            print(f"{name:<12}{med:>12.1f}{wmed:>13.1f}{'':>14}{1.0:>7.3f}")
            continue
        added = paired(name, "plain")
        over_plugin = "" if name == "plugin" else f"{paired(name, 'plugin'):>+15.1f}"
        over_noop = ("" if name in ("plugin", "noop-sink")
                     else f"{paired(name, 'noop-sink'):>+13.1f}")
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            ok = added <= target
            failed |= not ok
            verdict = f"<= +{target:.0f} µs: {'ok' if ok else 'MISSED'}"
        print(f"{name:<12}{med:>12.1f}{wmed:>13.1f}{added:>+14.1f}{1 + added / plain:>7.3f}"
              f"{over_plugin:>15}{over_noop:>13}   {verdict}")
    print()
    print("+µs vs X: median over rounds of the paired per-call CPU difference (variant - X).")
    print("ratio: (plain + added) / plain. vs plugin: what metrics add to the plugin; vs noop:")
    print("what the sink itself adds beyond building and dispatching the records.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
