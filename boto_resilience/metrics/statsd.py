"""StatsD / DogStatsD over UDP, with DogStatsD tags.

Lines ``<prefix><name>:<value>|<type>|#<tag>:<value>,...`` (the DogStatsD datagram format),
several per datagram, newline-separated (which StatsD, DogStatsD and Telegraf all accept):

* per call: ``calls:1|c`` and ``call.duration:<ms>|ms``, tags rpc.service, rpc.method,
  cloud.region, outcome, plus error.category and error.type on error;
* per attempt: ``attempts:1|c`` and ``attempt.duration:<ms>|ms`` (same tags), ``retries:1|c``
  (tag error.category) when retried, ``backoff:<ms>|ms``, ``throttles:1|c`` when throttled;
* per state change: ``state_changes:1|c`` with component, scope, state.

The caller's thread only queues the record (see
:class:`~boto_resilience.metrics._support.QueuedSink`); a background thread formats the lines
(the tag suffix of each label set is formatted once and cached) into datagrams of at most
``max_packet`` bytes (1432 by default: one Ethernet frame, DogStatsD's advice), sending each when
the next record would not fit, and what is left every ``flush_interval`` seconds and at
``close()``. Batching matters: a ``send`` on loopback costs the sender the kernel's delivery work
too, tens of microseconds, which one datagram per record would put on every AWS call.
``flush_interval=0`` formats and sends each record at once, on the caller's thread.

Sends use a connected, non-blocking UDP socket (no DNS, no waiting): a full socket buffer or an
unreachable agent costs the datagram, counted in ``dropped``. The sink never raises after
construction.

The address comes from the arguments, else from ``BOTO_RESILIENCE_STATSD_HOST`` /
``BOTO_RESILIENCE_STATSD_PORT`` (default 127.0.0.1:8125), read when the sink is built; the name
is resolved once, then.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Sequence
from typing import Any, Optional

from boto_resilience.metrics import names
from boto_resilience.metrics._support import QueuedSink, cancel_close_at_exit, close_at_exit
from boto_resilience.metrics.records import SUCCESS, AttemptRecord, CallRecord, StateChange

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8125
HOST_ENV = "BOTO_RESILIENCE_STATSD_HOST"
PORT_ENV = "BOTO_RESILIENCE_STATSD_PORT"


def _tag_value(value: Optional[str]) -> str:
    # DogStatsD separators (| , #) and ':' never appear after clean_value, except ':' which is
    # legal in tag values but confusing: replace it too.
    return names.clean_value(value).replace(":", "_")


def _tags(pairs: Sequence[tuple[str, Optional[str]]], constant: str) -> str:
    parts = [f"{k}:{_tag_value(v)}" for k, v in pairs if v]
    if constant:
        parts.append(constant)
    return "|#" + ",".join(parts) if parts else ""


_Key = tuple[str, str, Optional[str], str, Any, Optional[str]]


class StatsdSink(QueuedSink):
    """Records to StatsD/DogStatsD datagrams over UDP (module docstring)."""

    def __init__(
        self,
        host: Optional[str] = None,
        port: Optional[int] = None,
        prefix: str = "boto_resilience.",
        tags: Sequence[str] = (),
        *,
        max_packet: int = 1432,
        flush_interval: float = 0.5,
        max_series: int = 2000,
        max_queue: int = 100_000,
    ) -> None:
        if max_packet < 64 or max_packet > 65000:
            raise ValueError(f"max_packet must be 64..65000 bytes, got {max_packet!r}")
        if flush_interval < 0:
            raise ValueError(f"flush_interval must be >= 0 seconds, got {flush_interval!r}")
        host = host or os.environ.get(HOST_ENV, "").strip() or DEFAULT_HOST
        if port is None:
            raw = os.environ.get(PORT_ENV, "").strip()
            try:
                port = int(raw) if raw else DEFAULT_PORT
            except ValueError:
                raise ValueError(f"{PORT_ENV} must be a port number, got {raw!r}") from None
        if not 0 < int(port) < 65536:
            raise ValueError(f"StatsD port must be 1..65535, got {port!r}")
        super().__init__("boto_resilience-statsd", flush_interval or 1.0, max_queue)
        self.host = host
        self.port = int(port)
        if prefix and not prefix.endswith("."):
            prefix += "."
        self.prefix = prefix
        self.max_series = max_series
        self.max_packet = max_packet
        self.flush_interval = float(flush_interval)
        self._unbuffered = self.flush_interval == 0
        self._buffer: list[str] = []
        self._buffered = 0  # bytes in the buffer, separators included (guarded by _agg_lock)
        self._closed = False
        self._constant_tags = ",".join(_tag_value(t.split(":", 1)[0]) + (
            ":" + _tag_value(t.split(":", 1)[1]) if ":" in t else "") for t in tags)
        self._atexit = close_at_exit(self)
        self._lock = threading.Lock()
        self._call_tags: dict[_Key, tuple[str, str]] = {}
        self._attempt_tags: dict[_Key, tuple[str, str, str]] = {}
        self._sock: Optional[socket.socket] = None
        p = self.prefix
        self._n_calls = f"{p}{names.CALLS.statsd}:1|c"
        self._n_call_duration = f"{p}{names.CALL_DURATION.statsd}:"
        self._n_attempts = f"{p}{names.ATTEMPTS.statsd}:1|c"
        self._n_attempt_duration = f"{p}{names.ATTEMPT_DURATION.statsd}:"
        self._n_retries = f"{p}{names.RETRIES.statsd}:1|c"
        self._n_backoff = f"{p}{names.BACKOFF.statsd}:"
        self._n_throttles = f"{p}{names.THROTTLES.statsd}:1|c"
        self._n_changes = f"{p}{names.STATE_CHANGES.statsd}:1|c"
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.host, self.port, 0, socket.SOCK_DGRAM
            )[0]
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            sock.connect(address)  # UDP: only fixes the destination, so send() needs no lookup
            self._sock = sock
        except OSError as exc:
            self._errors.warning(
                "statsd-connect",
                f"StatsD sink cannot use {self.host}:{self.port}; its metrics are dropped",
                exc,
            )

    # The caller's side is QueuedSink._put (or, unbuffered, formatting and sending at once).

    def on_attempt(self, record: AttemptRecord) -> None:
        if self._sock is None:  # unusable address, or closed: nothing to queue for
            self.dropped += 1
        elif self._unbuffered:
            self._send(self._format_attempt(record))
        else:
            self._put(record)

    def on_call(self, record: CallRecord) -> None:
        if self._sock is None:  # unusable address, or closed: nothing to queue for
            self.dropped += 1
        elif self._unbuffered:
            self._send(self._format_call(record))
        else:
            self._put(record)

    def on_state_change(self, change: StateChange) -> None:
        if self._sock is None:  # unusable address, or closed: nothing to queue for
            self.dropped += 1
        elif self._unbuffered:
            self._send(self._format_change(change))
        else:
            self._put(change)

    def _ingest(self, record: Any) -> None:
        """Format a record and add it to the datagram being filled (under _agg_lock); send the
        datagram first if the record's lines would not fit."""
        if self._sock is None:
            self.dropped += 1
            return
        if isinstance(record, CallRecord):
            payload = self._format_call(record)
        elif isinstance(record, AttemptRecord):
            payload = self._format_attempt(record)
        else:
            payload = self._format_change(record)
        size = len(payload) + 1
        if self._buffered and self._buffered + size > self.max_packet:
            self._send("\n".join(self._buffer))
            self._buffer = [payload]
            self._buffered = size
        else:
            self._buffer.append(payload)
            self._buffered += size

    def _tick(self) -> None:
        self.flush()

    def flush(self) -> None:
        """Format what is queued and send it now."""
        self.drain()
        with self._agg_lock:
            if not self._buffer:
                return
            out = "\n".join(self._buffer)
            self._buffer = []
            self._buffered = 0
        self._send(out)

    def _send(self, payload: str) -> None:
        sock = self._sock
        if sock is None:
            self.dropped += 1
            return
        try:
            sock.send(payload.encode())
        except OSError as exc:  # buffer full, agent not listening (ICMP refused), closed socket
            self.dropped += 1
            self._errors.warning("statsd-send", "StatsD sink could not send a datagram", exc)

    def _base_tags(self, key: _Key) -> tuple[list[tuple[str, Optional[str]]], str]:
        service, operation, region, outcome, category, code = key
        pairs: list[tuple[str, Optional[str]]] = [
            (names.SERVICE.key, names.service_id(service)),
            (names.METHOD.key, operation),
            (names.REGION.key, region),
        ]
        cat = str(category) if category is not None else "Other"
        return pairs, cat

    def _outcome_pairs(self, key: _Key, cache_size: int) -> list[tuple[str, Optional[str]]]:
        pairs, cat = self._base_tags(key)
        outcome, code = key[3], key[5]
        pairs.append((names.OUTCOME.key, outcome))
        if outcome != SUCCESS:
            pairs.append((names.CATEGORY.key, cat))
            too_many = cache_size >= self.max_series
            pairs.append((names.ERROR_TYPE.key, names.OTHER if too_many else code))
        return pairs

    def _bind_call(self, key: _Key) -> tuple[str, str]:
        with self._lock:
            counter = _tags(self._outcome_pairs(key, len(self._call_tags)), self._constant_tags)
            bound = ("|ms" + counter, counter)
            if len(self._call_tags) < self.max_series:
                self._call_tags[key] = bound
        return bound

    def _bind_attempt(self, key: _Key) -> tuple[str, str, str]:
        with self._lock:
            full = _tags(self._outcome_pairs(key, len(self._attempt_tags)), self._constant_tags)
            pairs, cat = self._base_tags(key)
            common = _tags(pairs, self._constant_tags)
            retry = _tags([*pairs, (names.CATEGORY.key, cat)], self._constant_tags)
            bound = (full, common, retry)
            if len(self._attempt_tags) < self.max_series:
                self._attempt_tags[key] = bound
        return bound

    def _format_call(self, record: CallRecord) -> str:
        key = (record.service, record.operation, record.region, record.outcome,
               record.category, record.error_code)
        tags = self._call_tags.get(key) or self._bind_call(key)
        return (
            f"{self._n_calls}{tags[1]}\n"
            f"{self._n_call_duration}{record.latency * 1000:.3f}{tags[0]}"
        )

    def _format_attempt(self, record: AttemptRecord) -> str:
        key = (record.service, record.operation, record.region, record.outcome,
               record.category, record.error_code)
        full, common, retry = self._attempt_tags.get(key) or self._bind_attempt(key)
        payload = (
            f"{self._n_attempts}{full}\n"
            f"{self._n_attempt_duration}{record.latency * 1000:.3f}|ms{full}"
        )
        if record.will_retry:
            payload += f"\n{self._n_retries}{retry}"
            if record.backoff > 0:
                payload += f"\n{self._n_backoff}{record.backoff * 1000:.3f}|ms{common}"
        if record.throttled:
            payload += f"\n{self._n_throttles}{common}"
        return payload

    def _format_change(self, change: StateChange) -> str:
        tags = _tags(
            [(names.COMPONENT.key, change.component), (names.SCOPE.key, change.scope),
             (names.STATE.key, change.new)],
            self._constant_tags,
        )
        return f"{self._n_changes}{tags}"

    def close(self) -> None:
        """Send what is buffered and close the socket. Idempotent."""
        if self._closed:
            return
        self._closed = True
        cancel_close_at_exit(self._atexit)
        self._worker.stop(timeout=2.0, final_tick=True)  # the final tick sends what is left
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"StatsdSink(host={self.host!r}, port={self.port!r}, prefix={self.prefix!r})"
