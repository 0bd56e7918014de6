"""``boto-resilience demo``: the plugin at work, in a few seconds, with no AWS account.

Real boto3 clients (DynamoDB, S3, SQS) make real calls through botocore's whole stack, answered
by moto (``moto.mock_aws``) in-process. A :class:`FaultInjector` on each client's ``before-send``
event, registered ahead of moto's own handler, answers some requests itself: throttling errors
in each service's own wire format (DynamoDB ``ProvisionedThroughputExceededException``, S3
``SlowDown``, SQS ``ThrottlingException``) for requests beyond a per-service capacity (a token
bucket, like provisioned throughput) plus a small seeded random fraction, server errors (HTTP
500/503) and dropped connections at seeded random. Everything else reaches moto. The plugin
retries what deserves a retry and a :class:`~boto_resilience.metrics.memory.MemorySink` records
it all; the demo ends with one table row per operation: calls, attempts, retries by category,
throttles, errors that reached the caller, p50/p99 latency.

Without moto installed (it comes with the ``test`` extra), the demo falls back to the bundled
:class:`~boto_resilience.fault_server.FaultServer` on 127.0.0.1 as the backend and a
DynamoDB-only workload; faults are injected the same way.

The backoff delays are scaled down (a few milliseconds instead of the production defaults) so
that the run stays short; everything else is the plugin's default behaviour, including the
retry budget, rate limiter and circuit breaker.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import random
import sys
import time
from collections.abc import Iterator
from typing import Any, Callable, Optional, TextIO

from boto_resilience.metrics.memory import MemorySink, Snapshot, format_table

REGION = "us-east-1"
#: Demo settings handed to the plugin: production behaviour, shorter sleeps.
FAST_BACKOFF = {"base_delay": 0.005, "throttle_base_delay": 0.02, "max_delay": 0.25}

_THROTTLE_CODES = {
    "dynamodb": (400, "ProvisionedThroughputExceededException"),
    "s3": (503, "SlowDown"),
}
_DEFAULT_THROTTLE = (400, "ThrottlingException")
#: Where a request answered by the injector is pointed, so that moto leaves it alone.
_UNSERVED_URL = "https://fault-injected.invalid/"


class _Raw(io.BytesIO):
    """The raw body botocore reads from an ``AWSResponse``."""

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def error_response(protocol: str, url: str, status: int, code: str, message: str) -> Any:
    """An ``AWSResponse`` carrying an AWS error, in the wire format of ``protocol``."""
    from botocore.awsrequest import AWSResponse, HeadersDict

    headers = HeadersDict({"x-amzn-requestid": "demo-injected-fault"})
    if protocol in ("json", "rest-json"):
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["x-amzn-ErrorType"] = code
        body = json.dumps({"__type": code, "message": message}).encode()
    elif protocol == "rest-xml":
        headers["Content-Type"] = "application/xml"
        body = (f"<Error><Code>{code}</Code><Message>{message}</Message>"
                f"<RequestId>demo-injected-fault</RequestId></Error>").encode()
    else:  # query / ec2
        headers["Content-Type"] = "text/xml"
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error>"
                f"<RequestId>demo-injected-fault</RequestId></ErrorResponse>").encode()
    return AWSResponse(url, status, headers, _Raw(body))


class FaultInjector:
    """Answers a seeded random fraction of requests with a fault, before they reach the backend.

    Registered with ``register_first`` on a client's ``before-send`` so it runs ahead of moto's
    handler. Contract of ``before-send``: return None to let the request go on, or a response to
    answer it; an ``HTTPClientError`` raised here is handled by botocore as a connection failure.
    botocore calls *every* ``before-send`` handler and takes the first response, so moto would
    still execute a request we answer (a 503 that created the table anyway). A faulted request's
    URL is therefore pointed at a host that moto does not serve: it stays untouched, as a
    request refused by a throttling or failing service would be. (botocore builds a new request
    for each attempt, so the retry is unaffected.)
    """

    def __init__(self, seed: int = 7, throttle: float = 0.0, server_error: float = 0.04,
                 connection_error: float = 0.01, capacity: float = 50.0, burst: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rand = random.Random(seed)
        self.throttle = throttle
        self.server_error = server_error
        self.connection_error = connection_error
        self.capacity = capacity
        self.burst = burst
        self.clock = clock
        self.enabled = True
        self.injected: dict[str, int] = {"throttle": 0, "server_error": 0, "connection": 0}
        self._buckets: dict[str, list[float]] = {}  # service -> [tokens, last refill]

    def _over_capacity(self, service: str) -> bool:
        """A token bucket per service, like a provisioned-throughput table: requests beyond
        ``capacity`` per second (after a ``burst``) are throttled."""
        if self.capacity <= 0:
            return False
        now = self.clock()
        bucket = self._buckets.setdefault(service, [self.burst, now])
        bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.capacity)
        bucket[1] = now
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            return False
        return True

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        protocol = client.meta.service_model.protocol
        throttle_status, throttle_code = _THROTTLE_CODES.get(service, _DEFAULT_THROTTLE)

        def before_send(request: Any, **kwargs: Any) -> Any:
            if not self.enabled:
                return None
            draw = self.rand.random()
            url = request.url
            if self._over_capacity(service) or draw < self.throttle:
                self.injected["throttle"] += 1
                request.url = _UNSERVED_URL
                return error_response(protocol, url, throttle_status, throttle_code,
                                      "Rate exceeded (injected by the demo)")
            draw -= self.throttle
            if draw < self.server_error:
                self.injected["server_error"] += 1
                request.url = _UNSERVED_URL
                status, code = (500, "InternalError") if draw < self.server_error / 2 \
                    else (503, "ServiceUnavailable")
                return error_response(protocol, url, status, code, "Injected by the demo")
            draw -= self.server_error
            if draw < self.connection_error:
                self.injected["connection"] += 1
                from botocore.exceptions import ConnectionClosedError

                raise ConnectionClosedError(endpoint_url=request.url)
            return None

        client.meta.events.register_first(f"before-send.{_event_name(client)}", before_send)


def _event_name(client: Any) -> str:
    return str(client.meta.service_model.service_id.hyphenize())


class _Progress:
    """One line on stderr, rewritten in place on a terminal; a few plain lines otherwise."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.start = time.monotonic()
        self._last = 0.0
        self._next_quarter = 0.25

    def update(self, done: int, snapshot: Callable[[], Snapshot], final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if not final and now - self._last < 0.1:
                return
        elif not final and done < self.total * self._next_quarter:
            return
        else:
            self._next_quarter += 0.25
        self._last = now
        snap = snapshot()
        line = (f"demo: {done}/{self.total} calls  {now - self.start:4.1f}s  "
                f"attempts {snap.attempts}  retries {snap.retries}  "
                f"throttles {snap.throttles}  errors {snap.errors}")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


Workload = list[tuple[str, Callable[[], Any]]]


def _moto_workload(session: Any, injector: FaultInjector, rand: random.Random) -> Workload:
    ddb = session.client("dynamodb", region_name=REGION)
    s3 = session.client("s3", region_name=REGION)
    sqs = session.client("sqs", region_name=REGION)
    for client in (ddb, s3, sqs):
        injector.attach(client)
    injector.enabled = False  # set-up runs clean
    ddb.create_table(
        TableName="demo-orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")
    s3.create_bucket(Bucket="demo-bucket")
    s3.put_object(Bucket="demo-bucket", Key="order-0", Body=b"x" * 64)
    queue_url = sqs.create_queue(QueueName="demo-queue")["QueueUrl"]
    injector.enabled = True

    def key() -> str:
        return f"order-{rand.randrange(50)}"

    return _dynamodb_workload(ddb, key) + [
        ("s3.PutObject", lambda: s3.put_object(Bucket="demo-bucket", Key=key(), Body=b"x" * 64)),
        ("s3.GetObject", lambda: s3.get_object(Bucket="demo-bucket", Key="order-0")["Body"].read()),
        ("s3.ListObjectsV2", lambda: s3.list_objects_v2(Bucket="demo-bucket", MaxKeys=10)),
        ("sqs.SendMessage", lambda: sqs.send_message(QueueUrl=queue_url, MessageBody="hello")),
        ("sqs.ReceiveMessage", lambda: sqs.receive_message(QueueUrl=queue_url,
                                                           WaitTimeSeconds=0)),
    ]


def _dynamodb_workload(ddb: Any, key: Callable[[], str]) -> Workload:
    """The DynamoDB calls both back ends run: writes, point reads and queries on random keys."""
    return [
        ("dynamodb.PutItem", lambda: ddb.put_item(
            TableName="demo-orders", Item={"pk": {"S": key()}, "qty": {"N": "1"}})),
        ("dynamodb.GetItem", lambda: ddb.get_item(
            TableName="demo-orders", Key={"pk": {"S": key()}})),
        ("dynamodb.Query", lambda: ddb.query(
            TableName="demo-orders", KeyConditionExpression="pk = :k",
            ExpressionAttributeValues={":k": {"S": key()}})),
    ]


def _fault_server_workload(session: Any, url: str, injector: FaultInjector,
                           rand: random.Random) -> Workload:
    ddb = session.client("dynamodb", region_name=REGION, endpoint_url=url,
                         aws_access_key_id="demo", aws_secret_access_key="demo")
    injector.attach(ddb)

    def key() -> str:
        return f"order-{rand.randrange(50)}"

    return _dynamodb_workload(ddb, key) + [
        ("dynamodb.ListTables", lambda: ddb.list_tables()),
    ]


@contextlib.contextmanager
def _backend(prefer: str) -> Iterator[tuple[str, Optional[str]]]:
    """Yields (backend name, endpoint url or None for moto)."""
    if prefer in ("auto", "moto"):
        try:
            moto = importlib.import_module("moto")
        except ImportError:
            if prefer == "moto":
                raise SystemExit("the demo's moto backend needs moto: "
                                 "pip install 'boto_resilience[test]'") from None
        else:
            with moto.mock_aws():
                yield "moto", None
            return
    from boto_resilience.fault_server import FaultServer

    with FaultServer(seed=1) as srv:
        yield "fault-server", srv.url


def run(calls: int = 300, seed: int = 7, throttle: float = 0.0, server_error: float = 0.04,
        connection_error: float = 0.01, capacity: float = 50.0, duration: float = 10.0,
        backend: str = "auto",
        extra_sinks: tuple[str, ...] = (), progress: bool = True,
        out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> Snapshot:
    """Run the demo and print its table (to ``out``, stdout by default; progress to ``err``,
    stderr by default); returns the memory sink's snapshot."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    import boto3

    import boto_resilience
    from boto_resilience.metrics import build_sink

    memory = MemorySink()
    sinks: list[Any] = [memory] + [build_sink(name, "BotoResilienceDemo") for name in extra_sinks]
    rand = random.Random(seed)
    injector = FaultInjector(seed=seed, throttle=throttle, server_error=server_error,
                             connection_error=connection_error, capacity=capacity)
    with _backend(backend) as (backend_name, url):
        session = boto3.session.Session(region_name=REGION)
        handle = boto_resilience.register(session, metrics=sinks, **FAST_BACKOFF)
        try:
            if url is None:
                workload = _moto_workload(session, injector, rand)
            else:
                workload = _fault_server_workload(session, url, injector, rand)
            memory.reset()  # the set-up calls are not part of the show
            bar = _Progress(calls, err, progress)
            failures: dict[str, int] = {}
            deadline = time.monotonic() + duration
            done = 0
            for done in range(1, calls + 1):
                _name, operation = workload[rand.randrange(len(workload))]
                try:
                    operation()
                except Exception as exc:  # the errors the caller would see
                    response = getattr(exc, "response", None)
                    code = response.get("Error", {}).get("Code") \
                        if isinstance(response, dict) else None
                    kind = type(exc).__name__
                    if code and code != kind:
                        kind = f"{kind} ({code})"
                    failures[kind] = failures.get(kind, 0) + 1
                bar.update(done, memory.snapshot)
                if time.monotonic() > deadline:
                    break
            bar.update(done, memory.snapshot, final=True)
        finally:
            handle.close()
            for sink in sinks[1:]:
                sink.close()
    snap = memory.snapshot()
    out.write(f"\nboto_resilience demo: {done} calls against {backend_name}, seed {seed}; "
              f"injected {injector.injected['throttle']} throttles, "
              f"{injector.injected['server_error']} server errors, "
              f"{injector.injected['connection']} dropped connections\n\n")
    out.write(format_table(snap) + "\n")
    summary = ", ".join(f"{n} {k}" for k, n in sorted(failures.items())) or "none"
    out.write(f"\nerrors that reached the caller: {summary}\n")
    out.flush()
    return snap


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="boto-resilience demo",
        description="Real boto3 calls against moto with injected throttling and transient "
                    "faults; prints what the plugin did, per operation.")
    parser.add_argument("--calls", type=int, default=300, help="number of calls (300)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (7)")
    parser.add_argument("--capacity", type=float, default=50.0,
                        help="requests per second each service accepts before throttling, "
                             "like provisioned throughput (50; 0: no limit)")
    parser.add_argument("--throttle", type=float, default=0.0,
                        help="fraction of requests throttled at random, on top (0)")
    parser.add_argument("--server-errors", type=float, default=0.04,
                        help="fraction of requests answered 500/503 (0.04)")
    parser.add_argument("--connection-errors", type=float, default=0.01,
                        help="fraction of requests whose connection drops (0.01)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="stop after this many seconds at the latest (10)")
    parser.add_argument("--backend", choices=("auto", "moto", "fault-server"), default="auto")
    parser.add_argument("--metrics", default="",
                        help="extra sinks besides the table, e.g. logging,emf")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    args = parser.parse_args(argv)
    fractions = (args.throttle, args.server_errors, args.connection_errors)
    if any(not 0 <= f <= 1 for f in fractions) or sum(fractions) > 1:
        parser.error("fault fractions must be between 0 and 1 and add up to at most 1")
    if args.calls < 1:
        parser.error("--calls must be at least 1")
    extra = tuple(n.strip() for n in args.metrics.split(",") if n.strip() and n != "memory")
    run(calls=args.calls, seed=args.seed, throttle=args.throttle, capacity=args.capacity,
        server_error=args.server_errors, connection_error=args.connection_errors,
        duration=args.duration, backend=args.backend, extra_sinks=extra,
        progress=not args.no_progress)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
