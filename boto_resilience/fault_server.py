"""A fault-injecting, AWS-compatible HTTP endpoint on 127.0.0.1, for tests and benchmarks.

Point a real boto3 client at it (``endpoint_url=srv.url``, dummy credentials) and every request
goes through botocore's real HTTP stack, parsers and retry machinery; the server decides, per
request, whether to answer normally or inject a fault. Standard library only.

Two ways to run it
==================

In-process (tests)::

    from boto_resilience.fault_server import FaultServer

    with FaultServer(seed=7) as srv:                     # port 0: an ephemeral port
        ddb = boto3.client("dynamodb", endpoint_url=srv.url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        srv.script([(503, "ServiceUnavailable"), (503, "ServiceUnavailable"), (200, None)])
        srv.always(429, "TooManyRequestsException", headers={"Retry-After": "1"})
        srv.throttle(rate=150, burst=15)                 # 400 ThrottlingException beyond it
        srv.outage(duration=7.0)                         # 503 for 7 s from now
        srv.random_faults(p500=0.05, pdrop=0.01, pslow=0.0, slow_delay=0.2, seed=1)
        srv.clear()                                      # healthy again (stats kept)
        srv.stats()                                      # dict, see below
        srv.recent_requests(10)                          # method/path/target/headers/status

As a separate process (benchmarks: the server's threads then do not compete with the client's
for the GIL)::

    python -m boto_resilience.fault_server --port 0 [--seed N] [--exit-on-stdin-eof]
    # prints "http://127.0.0.1:PORT" on the first line of stdout, then serves until SIGTERM/SIGINT

    with FaultServerProcess(seed=7) as srv:              # spawns the above, same control API
        srv.throttle(rate=150)

and over HTTP: ``POST /_control`` (JSON, below), ``GET /_stats[?timestamps=1&headers=N]``,
``POST /_reset`` (faults, stats and stored items). ``RemoteFaultServer(url)`` wraps these with
the same methods as ``FaultServer``. Control requests are never counted in the stats.

The control document
====================

``configure(doc)`` / ``POST /_control`` take one JSON object; each key sets one fault *layer*
and ``null`` removes it; ``"clear": true`` removes every layer first::

    {"clear": true,
     "script":   [[503, "ServiceUnavailable"], {"status": 200}, {"drop": true}],
     "always":   {"status": 503, "code": "ServiceUnavailable", "headers": {}},
     "throttle": {"rate": 150, "burst": 15, "status": 400, "code": "ThrottlingException"},
     "outage":   {"duration": 7, "start_in": 0, "status": 503, "code": "ServiceUnavailable"},
     "random":   {"p500": 0.05, "pdrop": 0.01, "pslow": 0.0, "slow_delay": 0.2, "seed": 1}}

The answer is ``describe()``: the active layers, with the outage window in the server's clock.

Layers are consulted in a fixed order, the first that fires answers the request: the *script*
(one entry consumed per request, in order, then exhausted), the *outage* window, *always*, the
*throttle* token bucket (a request it admits takes a token; requests answered by an earlier
layer take none), then *random* faults (one uniform draw per request from a ``random.Random``
seeded at configuration, so a sequential client sees a reproducible sequence). Otherwise the
request gets a normal answer.

A fault is a ``Fault``: an HTTP status and AWS error code (rendered the way botocore's JSON and
rest-json parsers read it: ``x-amzn-ErrorType: Code`` header and a
``{"__type": "Code", "message": ...}`` body), extra headers (``Retry-After``,
``x-amz-retry-after``), a server-side delay (slept in the handler thread, capped by
``max_delay``, cut short by ``stop()``), or ``drop=True``: the request is read and the
connection closed without a response, which botocore raises as ``ConnectionClosedError``.
A ``Fault`` with status 200 and no code is a normal answer (possibly delayed).

Normal answers
==============

The AWS JSON protocol (``X-Amz-Target: DynamoDB_20120810.<Op>``) is answered from a small
in-memory store so responses parse into something useful: ``PutItem`` stores, ``GetItem``
returns ``{"Item": ...}`` (the most recent put whose attributes contain the ``Key``) or ``{}``,
``Query`` returns the items matching a simple ``name = :value`` condition, ``DescribeTable`` /
``CreateTable`` / ``ListTables`` describe tables, which exist on first use. Any other target or
path (SQS JSON, Lambda rest-json ``GET /2015-03-31/functions/...``, ...) gets ``{}`` with 200.

Stats
=====

``stats()`` returns ``total`` (requests received, faulted or not), ``by_status`` and
``by_code`` counts (``"200"``/``"OK"`` for normal answers, ``"drop"`` for dropped connections),
``by_operation`` (X-Amz-Target operation, or ``METHOD path-prefix``), ``by_second`` (requests
per whole second since the server started, for a time series), ``outage_requests`` (received
inside an outage window), ``started_at`` and ``now`` (server clock), and with
``timestamps=True`` the arrival times of the last 200 000 requests. The default clock is
``time.monotonic``, which on Linux is system-wide, so a benchmark process can compare these
times with its own. ``recent_requests(n)`` lists the last requests (lower-cased headers, e.g.
``amz-sdk-invocation-id`` / ``amz-sdk-request``).

Thread safety: one lock guards the fault layers, the bucket, the random generator and the
stats; the work done under it is a few dict updates. Handler threads are daemons; ``stop()``
closes idle keep-alive connections so no thread outlives the server by more than a request.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import IO, Any, Callable, Optional, Union

__all__ = [
    "Fault",
    "FaultServer",
    "FaultServerProcess",
    "RemoteFaultServer",
    "as_fault",
    "main",
]

LOOPBACK = "127.0.0.1"

#: Default error code for a status when a fault names none.
_DEFAULT_CODES: dict[int, str] = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "TooManyRequestsException",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}

_JSON_CT = "application/x-amz-json-1.0"
_REST_JSON_CT = "application/json"
_MAX_ITEMS_PER_TABLE = 10_000
_SIMPLE_EQ = re.compile(r"^\s*(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)")


@dataclasses.dataclass(frozen=True)
class Fault:
    """One server answer: a normal one (status 200, no code), an AWS error, or a dropped
    connection; optionally delayed by ``delay`` seconds in the server thread."""

    status: int = 200
    code: Optional[str] = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    message: Optional[str] = None
    delay: float = 0.0
    drop: bool = False

    @property
    def is_error(self) -> bool:
        return self.code is not None or self.status >= 300

    def error_code(self) -> str:
        return self.code or _DEFAULT_CODES.get(self.status, f"Http{self.status}")

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "code": self.code,
            "headers": dict(self.headers),
            "message": self.message,
            "delay": self.delay,
            "drop": self.drop,
        }


FaultSpec = Union[Fault, tuple[Any, ...], Mapping[str, Any], None]


def as_fault(spec: FaultSpec) -> Fault:
    """Accept a ``Fault``, ``(status, code[, headers])``, a JSON dict, or None (= a normal 200)."""
    if spec is None:
        return Fault()
    if isinstance(spec, Fault):
        return spec
    if isinstance(spec, (tuple, list)):
        if not 1 <= len(spec) <= 3:
            raise ValueError(f"a fault tuple is (status, code[, headers]), got {spec!r}")
        status = int(spec[0])
        code = spec[1] if len(spec) > 1 else None
        headers = dict(spec[2]) if len(spec) > 2 and spec[2] else {}
        return Fault(status=status, code=code, headers=headers)
    if isinstance(spec, Mapping):
        unknown = set(spec) - {f.name for f in dataclasses.fields(Fault)}
        if unknown:
            raise ValueError(f"unknown fault keys {sorted(unknown)}")
        return Fault(
            status=int(spec.get("status", 200)),
            code=spec.get("code"),
            headers=dict(spec.get("headers") or {}),
            message=spec.get("message"),
            delay=float(spec.get("delay", 0.0)),
            drop=bool(spec.get("drop", False)),
        )
    raise TypeError(f"cannot make a Fault from {spec!r}")


_OK = Fault()


@dataclasses.dataclass
class _Throttle:
    """Server-side capacity: a token bucket of ``rate`` requests/s holding at most ``burst``."""

    rate: float
    burst: float
    fault: Fault
    tokens: float
    last: float

    def admit(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclasses.dataclass
class _Outage:
    start: float
    end: float
    fault: Fault


@dataclasses.dataclass
class _Random:
    p500: float
    pdrop: float
    pslow: float
    slow_delay: float
    seed: Optional[int]
    rng: random.Random


class _Stats:
    """Counters; mutated only under the owning server's lock."""

    def __init__(self, started_at: float, max_timestamps: int, max_recent: int) -> None:
        self.started_at = started_at
        self.total = 0
        self.by_status: dict[str, int] = collections.Counter()
        self.by_code: dict[str, int] = collections.Counter()
        self.by_operation: dict[str, int] = collections.Counter()
        self.by_second: dict[int, int] = collections.Counter()
        self.outage_requests = 0
        self.timestamps: collections.deque[float] = collections.deque(maxlen=max_timestamps)
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=max_recent)


class _Table:
    def __init__(self, name: str, key_schema: Optional[list[Any]] = None) -> None:
        self.name = name
        self.key_schema = key_schema or [{"AttributeName": "pk", "KeyType": "HASH"}]
        self.items: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=_MAX_ITEMS_PER_TABLE
        )

    def describe(self) -> dict[str, Any]:
        return {
            "TableName": self.name,
            "TableStatus": "ACTIVE",
            "KeySchema": self.key_schema,
            "AttributeDefinitions": [
                {"AttributeName": k["AttributeName"], "AttributeType": "S"}
                for k in self.key_schema
            ],
            "ItemCount": len(self.items),
            "TableArn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{self.name}",
            "CreationDateTime": 0,
        }


class _Controls:
    """The control API shared by the in-process server and the remote (HTTP) proxy: every
    method builds a control document and hands it to ``configure``."""

    def configure(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def stats(self, timestamps: bool = False) -> dict[str, Any]:
        raise NotImplementedError

    def recent_requests(self, n: int = 20) -> list[dict[str, Any]]:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def script(self, responses: Iterable[FaultSpec]) -> dict[str, Any]:
        """Answer the next requests with ``responses``, one each, in order (replaces any
        previous script); afterwards the other layers apply again."""
        return self.configure({"script": [as_fault(r).to_json() for r in responses]})

    def always(
        self,
        status: int,
        code: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        message: Optional[str] = None,
    ) -> dict[str, Any]:
        """Answer every request with this error (``None`` code: the status's usual code)."""
        fault = Fault(status=status, code=code, headers=dict(headers or {}), message=message)
        return self.configure({"always": fault.to_json()})

    def throttle(
        self,
        rate: float,
        burst: Optional[float] = None,
        status: int = 400,
        code: str = "ThrottlingException",
    ) -> dict[str, Any]:
        """Admit ``rate`` requests/s (bucket of ``burst``, default ``max(1, rate/10)``); answer
        the rest with ``status``/``code`` (DynamoDB style by default)."""
        return self.configure(
            {"throttle": {"rate": rate, "burst": burst, "status": status, "code": code}}
        )

    def outage(
        self,
        duration: float,
        start_in: float = 0.0,
        status: int = 503,
        code: str = "ServiceUnavailable",
    ) -> dict[str, Any]:
        """Fail every request for ``duration`` s, starting ``start_in`` s from now (server
        clock). ``describe()['outage']`` gives the window."""
        return self.configure(
            {"outage": {"duration": duration, "start_in": start_in, "status": status,
                        "code": code}}
        )

    def random_faults(
        self,
        p500: float = 0.0,
        pdrop: float = 0.0,
        pslow: float = 0.0,
        slow_delay: float = 0.0,
        seed: Optional[int] = None,
    ) -> dict[str, Any]:
        """Per request: with probability ``pdrop`` drop the connection, ``p500`` answer 500
        InternalServerError, ``pslow`` answer normally after ``slow_delay`` s."""
        return self.configure(
            {"random": {"p500": p500, "pdrop": pdrop, "pslow": pslow,
                        "slow_delay": slow_delay, "seed": seed}}
        )

    def clear(self) -> dict[str, Any]:
        """Remove every fault layer (stats and stored items are kept)."""
        return self.configure({"clear": True})


class FaultServer(_Controls):
    """The fault-injecting endpoint, run in a background thread of this process.

    ``clock`` times the outage window, the throttle bucket and the stats (inject a
    ``FakeClock`` for exact throttle tests); ``seed`` seeds random faults configured without
    their own seed; ``max_delay`` caps any server-side delay.
    """

    def __init__(
        self,
        host: str = LOOPBACK,
        port: int = 0,
        *,
        seed: Optional[int] = None,
        clock: Callable[[], float] = time.monotonic,
        max_delay: float = 30.0,
        max_timestamps: int = 200_000,
        max_recent: int = 200,
    ) -> None:
        if host != LOOPBACK:
            raise ValueError("the fault server only listens on 127.0.0.1")
        self._clock = clock
        self._seed = seed
        self._max_delay = max_delay
        self._max_timestamps = max_timestamps
        self._max_recent = max_recent
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._script: collections.deque[Fault] = collections.deque()
        self._always: Optional[Fault] = None
        self._throttle: Optional[_Throttle] = None
        self._outage: Optional[_Outage] = None
        self._random: Optional[_Random] = None
        self._stats = _Stats(clock(), max_timestamps, max_recent)
        self._tables: dict[str, _Table] = {}
        self._request_seq = 0
        self._conns: dict[socket.socket, None] = {}
        self._httpd = _HTTPServer((host, port), _Handler, self)
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> FaultServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fault-server-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed handlers and close open keep-alive connections."""
        self._stop.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the ``__main__`` entry point)."""
        self._httpd.serve_forever(poll_interval=0.2)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FaultServer(url={self.url!r}, faults={self.describe()!r})"

    # -- control --------------------------------------------------------------------------
    def configure(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a control document (see the module docstring); returns ``describe()``.

        Everything is validated before anything changes, so a bad document changes nothing.
        """
        unknown = set(doc) - {"clear", "script", "always", "throttle", "outage", "random"}
        if unknown:
            raise ValueError(f"unknown control keys {sorted(unknown)}")
        now = self._clock()
        changes: dict[str, Any] = {}
        if "script" in doc:
            changes["script"] = [as_fault(s) for s in (doc["script"] or [])]
        if "always" in doc:
            changes["always"] = None if doc["always"] is None else as_fault(doc["always"])
        if "throttle" in doc:
            t = doc["throttle"]
            if t is None:
                changes["throttle"] = None
            else:
                rate = float(t["rate"])
                if rate <= 0:
                    raise ValueError("throttle rate must be > 0")
                burst = t.get("burst")
                burst = max(1.0, rate / 10.0) if burst is None else float(burst)
                if burst < 1:
                    raise ValueError("throttle burst must be >= 1")
                fault = Fault(status=int(t.get("status", 400)),
                              code=t.get("code") or "ThrottlingException",
                              headers=dict(t.get("headers") or {}))
                changes["throttle"] = _Throttle(rate, burst, fault, burst, now)
        if "outage" in doc:
            o = doc["outage"]
            if o is None:
                changes["outage"] = None
            else:
                duration = float(o["duration"])
                if duration < 0:
                    raise ValueError("outage duration must be >= 0")
                start = now + float(o.get("start_in", 0.0))
                fault = Fault(status=int(o.get("status", 503)),
                              code=o.get("code") or "ServiceUnavailable",
                              headers=dict(o.get("headers") or {}))
                changes["outage"] = _Outage(start, start + duration, fault)
        if "random" in doc:
            r = doc["random"]
            if r is None:
                changes["random"] = None
            else:
                p500, pdrop, pslow = (float(r.get(k, 0.0)) for k in ("p500", "pdrop", "pslow"))
                if min(p500, pdrop, pslow) < 0 or p500 + pdrop + pslow > 1:
                    raise ValueError("random fault probabilities must be >= 0 and sum to <= 1")
                seed = r.get("seed", None)
                seed = self._seed if seed is None else int(seed)
                changes["random"] = _Random(p500, pdrop, pslow, float(r.get("slow_delay", 0.0)),
                                            seed, random.Random(seed))
        with self._lock:
            if doc.get("clear"):
                self._script.clear()
                self._always = self._throttle = self._outage = self._random = None
            if "script" in changes:
                self._script = collections.deque(changes["script"])
            if "always" in changes:
                self._always = changes["always"]
            if "throttle" in changes:
                self._throttle = changes["throttle"]
            if "outage" in changes:
                self._outage = changes["outage"]
            if "random" in changes:
                self._random = changes["random"]
        return self.describe()

    def describe(self) -> dict[str, Any]:
        """The active fault layers, JSON-ready."""
        with self._lock:
            out: dict[str, Any] = {"now": self._clock(), "script": len(self._script)}
            out["always"] = self._always.to_json() if self._always else None
            t = self._throttle
            out["throttle"] = (
                {"rate": t.rate, "burst": t.burst, "status": t.fault.status,
                 "code": t.fault.code} if t else None
            )
            o = self._outage
            out["outage"] = (
                {"start": o.start, "end": o.end, "status": o.fault.status,
                 "code": o.fault.code} if o else None
            )
            r = self._random
            out["random"] = (
                {"p500": r.p500, "pdrop": r.pdrop, "pslow": r.pslow,
                 "slow_delay": r.slow_delay, "seed": r.seed} if r else None
            )
        return out

    def reset(self) -> None:
        """Clear fault layers, stats and stored items: a fresh server on the same port."""
        with self._lock:
            self._script.clear()
            self._always = self._throttle = self._outage = self._random = None
            self._stats = _Stats(self._clock(), self._max_timestamps, self._max_recent)
            self._tables.clear()

    def stats(self, timestamps: bool = False) -> dict[str, Any]:
        with self._lock:
            s = self._stats
            out: dict[str, Any] = {
                "total": s.total,
                "by_status": dict(s.by_status),
                "by_code": dict(s.by_code),
                "by_operation": dict(s.by_operation),
                "by_second": {str(k): v for k, v in sorted(s.by_second.items())},
                "outage_requests": s.outage_requests,
                "started_at": s.started_at,
                "now": self._clock(),
            }
            if timestamps:
                out["timestamps"] = list(s.timestamps)
        return out

    def recent_requests(self, n: int = 20) -> list[dict[str, Any]]:
        """The last ``n`` requests (oldest first): time, method, path, target, lower-cased
        headers, status (``None`` if dropped)."""
        with self._lock:
            recent = list(self._stats.recent)
        return recent[-n:] if n > 0 else []

    # -- the request path -----------------------------------------------------------------
    def _decide(self, method: str, path: str, target: Optional[str],
                headers: dict[str, str]) -> tuple[Fault, str, dict[str, Any]]:
        """Pick the answer for one request and count its arrival (one lock acquisition)."""
        now = self._clock()
        op = target.rsplit(".", 1)[-1] if target else f"{method} {_path_prefix(path)}"
        with self._lock:
            self._request_seq += 1
            request_id = f"fault-{self._request_seq:010d}"
            s = self._stats
            s.total += 1
            s.by_operation[op] += 1
            s.by_second[int(now - s.started_at)] += 1
            s.timestamps.append(now)
            o = self._outage
            in_outage = o is not None and o.start <= now < o.end
            if in_outage:
                s.outage_requests += 1
            fault = _OK
            if self._script:
                fault = self._script.popleft()
            elif in_outage:
                assert o is not None
                fault = o.fault
            elif self._always is not None:
                fault = self._always
            elif self._throttle is not None and not self._throttle.admit(now):
                fault = self._throttle.fault
            elif self._random is not None:
                r = self._random
                u = r.rng.random()
                if u < r.pdrop:
                    fault = Fault(drop=True)
                elif u < r.pdrop + r.p500:
                    fault = Fault(status=500, code="InternalServerError")
                elif u < r.pdrop + r.p500 + r.pslow:
                    fault = Fault(delay=r.slow_delay)
            if fault.drop:
                s.by_status["drop"] += 1
                s.by_code["drop"] += 1
            else:
                s.by_status[str(fault.status)] += 1
                s.by_code[fault.error_code() if fault.is_error else "OK"] += 1
            record = {
                "time": now,
                "method": method,
                "path": path,
                "target": target,
                "headers": headers,
                "status": None if fault.drop else fault.status,
                "request_id": request_id,
            }
            s.recent.append(record)
        return fault, request_id, record

    def _delay(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(min(seconds, self._max_delay))

    def _answer(self, target: Optional[str], path: str, body: bytes) -> tuple[str, bytes]:
        """A normal answer: (content type, body)."""
        if target is None:
            return _REST_JSON_CT, b"{}"
        prefix, _, op = target.rpartition(".")
        if not prefix.startswith("DynamoDB_"):
            return _JSON_CT, b"{}"
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        return _JSON_CT, json.dumps(self._dynamodb(op, params)).encode()

    def _dynamodb(self, op: str, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("TableName", ""))
        with self._lock:
            if op == "ListTables":
                return {"TableNames": sorted(self._tables)}
            if op == "CreateTable":
                table = self._tables.setdefault(name, _Table(name, params.get("KeySchema")))
                return {"TableDescription": table.describe()}
            table = self._tables.setdefault(name, _Table(name))
            if op == "DescribeTable":
                return {"Table": table.describe()}
            if op == "PutItem":
                table.items.append(dict(params.get("Item") or {}))
                return {}
            if op == "GetItem":
                key = params.get("Key") or {}
                for item in reversed(table.items):
                    if all(item.get(k) == v for k, v in key.items()):
                        return {"Item": item}
                return {}
            if op in ("Query", "Scan"):
                items = list(table.items)
                m = _SIMPLE_EQ.match(str(params.get("KeyConditionExpression", "")))
                if m:
                    names = params.get("ExpressionAttributeNames") or {}
                    attr = str(names.get(m.group(1), m.group(1)))
                    value = (params.get("ExpressionAttributeValues") or {}).get(m.group(2))
                    items = [i for i in items if i.get(attr) == value]
                limit = params.get("Limit")
                if isinstance(limit, int):
                    items = items[:limit]
                return {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        return {}


def _path_prefix(path: str) -> str:
    """A low-cardinality label for a REST path: its first two segments."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    return "/" + "/".join(parts[:2])


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], handler: Any, owner: FaultServer) -> None:
        self.owner = owner
        super().__init__(addr, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (and ``stop()`` closing connections) are normal here: stay
        quiet about connection errors, report anything else."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1: keep-alive by default, like the real endpoints; every answer has a
    # Content-Length so the client can reuse the connection.
    protocol_version = "HTTP/1.1"
    server_version = "FaultServer/1"
    timeout = 60  # idle keep-alive connections are closed after this
    # Headers and body in one buffered write (flushed by handle_one_request), no Nagle: else
    # Nagle + the client's delayed ACK add ~40 ms to every response.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        owner = self.server.owner
        with owner._lock:
            owner._conns[self.connection] = None

    def finish(self) -> None:
        owner = self.server.owner
        with owner._lock:
            owner._conns.pop(self.connection, None)
        try:
            super().finish()
        except OSError:
            pass

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the per-request stderr line: at thousands of requests/s it is noise."""

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        body = self._read_body()
        owner = self.server.owner
        path = self.path
        if path.startswith("/_"):
            self._control(path, body)
            return
        target = self.headers.get("X-Amz-Target")
        headers = {k.lower(): v for k, v in self.headers.items()}
        fault, request_id, _ = owner._decide(self.command, path, target, headers)
        owner._delay(fault.delay)
        if fault.drop:
            # Read the request, answer nothing, close: the client sees the connection close
            # with no response (botocore: ConnectionClosedError).
            self.close_connection = True
            return
        base = {"x-amzn-RequestId": request_id}
        if fault.is_error:
            code = fault.error_code()
            payload = {"__type": code, "message": fault.message or f"Injected fault: {code}"}
            headers_out = {**base, "x-amzn-ErrorType": code,
                           "Content-Type": _JSON_CT if target else _REST_JSON_CT,
                           **fault.headers}
            self._send(fault.status, json.dumps(payload).encode(), headers_out)
            return
        content_type, out = owner._answer(target, path, body)
        self._send(fault.status, out, {**base, "Content-Type": content_type, **fault.headers})

    def _control(self, path: str, body: bytes) -> None:
        owner = self.server.owner
        route, _, query = path.partition("?")
        args = dict(p.partition("=")[::2] for p in query.split("&") if p)
        try:
            if route == "/_control" and self.command == "POST":
                result: Any = owner.configure(json.loads(body or b"{}"))
            elif route == "/_stats":
                result = owner.stats(timestamps=args.get("timestamps") in ("1", "true"))
                if "headers" in args:
                    result["recent"] = owner.recent_requests(int(args["headers"]))
            elif route == "/_reset" and self.command == "POST":
                owner.reset()
                result = {"reset": True}
            elif route == "/_describe":
                result = owner.describe()
            else:
                self._send(404, b'{"error": "unknown control path"}',
                           {"Content-Type": "application/json"})
                return
        except (ValueError, TypeError, KeyError) as e:
            msg = json.dumps({"error": f"{type(e).__name__}: {e}"}).encode()
            self._send(400, msg, {"Content-Type": "application/json"})
            return
        self._send(200, json.dumps(result).encode(), {"Content-Type": "application/json"})

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


class RemoteFaultServer(_Controls):
    """The control API of a fault server in another process, over its ``/_`` endpoints."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout

    def _call(self, method: str, path: str, doc: Optional[Mapping[str, Any]] = None) -> Any:
        data = None if doc is None else json.dumps(doc).encode()
        if method == "POST" and data is None:
            data = b"{}"
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=self._timeout) as resp:
            return json.loads(resp.read())

    def configure(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/_control", doc)
        return result

    def describe(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/_describe")
        return result

    def stats(self, timestamps: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "GET", "/_stats" + ("?timestamps=1" if timestamps else "")
        )
        return result

    def recent_requests(self, n: int = 20) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/_stats?headers={int(n)}")["recent"]
        return result

    def reset(self) -> None:
        self._call("POST", "/_reset")

    def __repr__(self) -> str:
        return f"RemoteFaultServer(url={self.url!r})"


class FaultServerProcess(RemoteFaultServer):
    """``python -m boto_resilience.fault_server`` in a child process, controlled over HTTP.

    The child exits when its stdin closes, so it cannot outlive this process.
    """

    def __init__(self, port: int = 0, seed: Optional[int] = None,
                 startup_timeout: float = 15.0) -> None:
        # Run the file rather than ``-m``: it needs only the standard library, so this works
        # even where the package is not importable by the child (no install, other cwd).
        cmd = [sys.executable, os.path.abspath(__file__), "--port", str(port),
               "--exit-on-stdin-eof"]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        self._proc: subprocess.Popen[str] = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None
        url = _readline_with_timeout(self._proc.stdout, startup_timeout)
        if not url.startswith("http://"):
            self._proc.kill()
            raise RuntimeError(f"fault server did not start (got {url!r})")
        super().__init__(url.strip())

    @property
    def pid(self) -> int:
        return self._proc.pid

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> FaultServerProcess:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()


def _readline_with_timeout(stream: IO[str], timeout: float) -> str:
    out: list[str] = []
    t = threading.Thread(target=lambda: out.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return out[0] if out else ""


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m boto_resilience.fault_server",
        description="Fault-injecting AWS-compatible endpoint on 127.0.0.1 (see the docstring).",
    )
    parser.add_argument("--port", type=int, default=0, help="0 = an ephemeral port")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-delay", type=float, default=30.0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="exit when stdin closes (used by FaultServerProcess)")
    args = parser.parse_args(argv)
    srv = FaultServer(port=args.port, seed=args.seed, max_delay=args.max_delay)

    def _terminate(signum: int, frame: Any) -> None:
        threading.Thread(target=srv._httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    if args.exit_on_stdin_eof:
        def _watch() -> None:
            sys.stdin.read()
            srv._httpd.shutdown()

        threading.Thread(target=_watch, daemon=True).start()
    print(srv.url, flush=True)
    try:
        srv.serve_forever()
    finally:
        srv._stop.set()
        srv._httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
