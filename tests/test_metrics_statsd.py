"""The StatsD sink against a real UDP socket on 127.0.0.1: DogStatsD datagrams with tags,
address from the environment, and it never raises (no listener, closed socket, bad host)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from recordkit import attempt, call

from boto_resilience.metrics import build_sink
from boto_resilience.metrics.records import StateChange
from boto_resilience.metrics.statsd import StatsdSink
from boto_resilience.taxonomy import Category


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def receive(sock: socket.socket) -> list[str]:
    data, _ = sock.recvfrom(65535)
    return data.decode().split("\n")


def parse(line: str) -> tuple[str, str, str, dict[str, str]]:
    """``name:value|type|#k:v,...`` -> (name, value, type, tags)."""
    head, _, tag_part = line.partition("|#")
    name_value, _, kind = head.partition("|")
    name, _, val = name_value.partition(":")
    tags = dict(t.split(":", 1) for t in tag_part.split(",")) if tag_part else {}
    return name, val, kind, tags


TAGS = {"rpc.service": "DynamoDB", "rpc.method": "GetItem", "cloud.region": "us-east-1"}


def test_call_datagram(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    sink = StatsdSink(host="127.0.0.1", port=port, prefix="app", tags=["env:test"],
                      flush_interval=0)
    sink.on_call(call(latency=0.0125))
    lines = [parse(line) for line in receive(listener)]
    assert lines[0] == ("app.calls", "1", "c", {**TAGS, "outcome": "success", "env": "test"})
    assert lines[1] == ("app.call.duration", "12.500", "ms",
                        {**TAGS, "outcome": "success", "env": "test"})
    sink.on_call(call(outcome="error", category=Category.NotFound,
                      error_code="ResourceNotFoundException"))
    name, _, _, tags = parse(receive(listener)[0])
    assert name == "app.calls"
    assert tags["error.category"] == "NotFound"
    assert tags["error.type"] == "ResourceNotFoundException"
    sink.close()


def test_attempt_and_state_change_datagrams(listener: socket.socket) -> None:
    sink = StatsdSink(host="127.0.0.1", port=listener.getsockname()[1], flush_interval=0)
    sink.on_attempt(attempt())
    lines = {parse(line)[0]: parse(line) for line in receive(listener)}
    assert set(lines) == {"boto_resilience.attempts", "boto_resilience.attempt.duration",
                          "boto_resilience.retries", "boto_resilience.backoff",
                          "boto_resilience.throttles"}
    assert lines["boto_resilience.retries"][3] == {**TAGS, "error.category": "Throttled"}
    assert lines["boto_resilience.backoff"][1:3] == ("100.000", "ms")
    assert lines["boto_resilience.throttles"][3] == TAGS
    assert lines["boto_resilience.attempts"][3]["error.type"] == "ThrottlingException"
    sink.on_state_change(StateChange("circuit_breaker", "dynamodb/us-east-1", "closed", "open"))
    assert parse(receive(listener)[0]) == (
        "boto_resilience.state_changes", "1", "c",
        {"component": "circuit_breaker", "scope": "dynamodb/us-east-1", "state": "open"})
    sink.close()


def test_address_from_the_environment(listener: socket.socket,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOTO_RESILIENCE_STATSD_HOST", "127.0.0.1")
    monkeypatch.setenv("BOTO_RESILIENCE_STATSD_PORT", str(listener.getsockname()[1]))
    sink = build_sink("statsd", "MyApp")
    sink.on_call(call())
    sink.close()  # sends what is buffered
    assert parse(receive(listener)[0])[0] == "my_app.calls"
    monkeypatch.setenv("BOTO_RESILIENCE_STATSD_PORT", "eighty")
    with pytest.raises(ValueError, match="BOTO_RESILIENCE_STATSD_PORT"):
        build_sink("statsd", "MyApp")


def test_never_raises_without_a_listener() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there now: the kernel answers ICMP port unreachable
    sink = StatsdSink(host="127.0.0.1", port=port, flush_interval=0)
    for _ in range(20):
        sink.on_call(call())
        sink.on_attempt(attempt())
    sink.close()
    sink.on_call(call())  # after close: dropped, not raised
    assert sink.dropped >= 1


def test_unresolvable_host_disables_the_sink(caplog: pytest.LogCaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: Any, **kwargs: Any) -> Any:  # no real lookup: tests stay on 127.0.0.1
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    sink = StatsdSink(host="statsd.example", port=8125)
    sink.on_call(call())
    assert sink.dropped == 1
    assert any("cannot use" in r.getMessage() for r in caplog.records)


def test_records_are_buffered_into_datagrams_of_at_most_max_packet(
        listener: socket.socket) -> None:
    sink = StatsdSink(host="127.0.0.1", port=listener.getsockname()[1], max_packet=1000,
                      flush_interval=3600)
    for _ in range(20):
        sink.on_call(call())
    sink.drain()  # what the background thread does: format, send each datagram once full
    datagrams = []
    listener.settimeout(0.5)
    try:
        while True:
            datagrams.append(listener.recv(65535))
    except OSError:
        pass
    assert datagrams and all(len(d) <= 1000 for d in datagrams)
    sent = sum(d.decode().count("|c") for d in datagrams)
    assert sent < 20  # the rest waits in the buffer...
    sink.flush()
    rest = listener.recv(65535).decode()
    assert sent + rest.count("|c") == 20  # ...until flushed: every call counted once
    assert all(parse(line)[0] in ("boto_resilience.calls", "boto_resilience.call.duration")
               for d in datagrams for line in d.decode().split("\n"))
    sink.close()


def test_background_flush(listener: socket.socket) -> None:
    sink = StatsdSink(host="127.0.0.1", port=listener.getsockname()[1], flush_interval=0.05)
    sink.on_call(call())
    assert parse(receive(listener)[0])[0] == "boto_resilience.calls"  # within the interval
    sink.close()
