"""CircuitBreaker as a state machine with a FakeClock: transitions, probes, windows, threads."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boto_resilience.breaker import BreakerRegistry, BreakerState, CircuitBreaker
from boto_resilience.budget import AtomicCounter
from boto_resilience.testing import FakeClock

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


def breaker(clock: FakeClock, **kwargs: Any) -> CircuitBreaker:
    return CircuitBreaker("ddb", clock=clock, **kwargs)


def test_closed_to_open_to_half_open_to_closed() -> None:
    clock = FakeClock()
    changes: list[tuple[BreakerState, BreakerState]] = []
    cb = breaker(clock, consecutive_failures=5, on_change=lambda o, n: changes.append((o, n)))
    for _ in range(4):
        assert cb.allow()
        cb.record_failure()
    assert cb.state is CLOSED
    cb.record_failure()
    assert cb.state is OPEN and cb.probe_at == clock() + 0.25
    assert not cb.allow()
    clock.advance(0.24)
    assert not cb.allow()
    clock.advance(0.01)
    assert cb.allow()  # the probe
    assert cb.state is HALF_OPEN and cb.probe_at is None
    assert not cb.allow()  # one probe at a time
    cb.record_success()
    assert cb.state is CLOSED and cb.allow()
    assert changes == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]


def test_failed_probe_reopens_with_capped_backoff() -> None:
    clock = FakeClock()
    cb = breaker(clock, consecutive_failures=1, open_for=0.25, max_open_for=0.5, backoff=2.0)
    cb.record_failure()
    waits = []
    for _ in range(4):
        assert cb.probe_at is not None
        waits.append(round(cb.probe_at - clock(), 6))
        clock.advance(cb.probe_at - clock())
        assert cb.allow()
        cb.record_failure()
        assert cb.state is OPEN
    assert waits == [0.25, 0.5, 0.5, 0.5]
    clock.advance(0.5)
    assert cb.allow()
    cb.record_success()
    assert cb.state is CLOSED
    cb.record_failure()  # the backoff starts again from open_for
    assert cb.probe_at == pytest.approx(clock() + 0.25)


def test_probe_limits_and_probes_to_close() -> None:
    clock = FakeClock()
    cb = breaker(clock, consecutive_failures=1, half_open_probes=2, probes_to_close=3)
    cb.record_failure()
    clock.advance(1.0)
    assert [cb.allow() for _ in range(3)] == [True, True, False]
    cb.record_success()
    assert cb.state is HALF_OPEN
    assert cb.allow() and not cb.allow()  # the freed slot, then full again
    cb.record_success()
    cb.record_success()
    assert cb.state is CLOSED


def test_unreported_probe_slot_expires() -> None:
    clock = FakeClock()
    cb = breaker(clock, consecutive_failures=1, probe_timeout=2.0)
    cb.record_failure()
    clock.advance(0.25)
    assert cb.allow()
    clock.advance(1.9)
    assert not cb.allow()
    clock.advance(0.2)
    assert cb.allow()  # the first probe never reported: its slot is free again


def test_success_breaks_the_consecutive_streak() -> None:
    cb = breaker(FakeClock(), consecutive_failures=3, min_calls=1000)
    for _ in range(10):
        cb.record_failure()
        cb.record_failure()
        cb.record_success()
    assert cb.state is CLOSED


def test_failure_ratio_with_min_calls() -> None:
    clock = FakeClock()
    cb = breaker(clock, consecutive_failures=0, failure_ratio=0.5, min_calls=10)
    for _ in range(4):  # 40 %: stays closed
        cb.record_success()
        cb.record_failure()
        cb.record_success()
        clock.advance(0.1)
    assert cb.state is CLOSED
    cb2 = breaker(clock, consecutive_failures=0, failure_ratio=0.5, min_calls=10)
    for _ in range(5):
        cb2.record_success()
        cb2.record_failure()
    # The window's successes are counted from its first failure on, so the first success is
    # not seen: 5 failures and 4 successes are 9 outcomes, under min_calls.
    assert cb2.state is CLOSED
    cb2.record_failure()  # 6 of 10
    assert cb2.state is OPEN


def test_min_calls_holds_off_the_ratio() -> None:
    cb = breaker(FakeClock(), consecutive_failures=0, min_calls=10)
    for _ in range(9):
        cb.record_failure()
    assert cb.state is CLOSED
    cb.record_failure()
    assert cb.state is OPEN


def test_failures_outside_the_window_do_not_count() -> None:
    clock = FakeClock()
    cb = breaker(clock, consecutive_failures=0, min_calls=10, window=10.0, buckets=10)
    for _ in range(9):
        cb.record_failure()
        clock.advance(2.0)  # each failure is 2 s after the previous: at most 5 in a window
    assert cb.state is CLOSED
    clock.advance(20.0)
    for _ in range(9):
        cb.record_failure()
    assert cb.state is CLOSED
    cb.record_failure()
    assert cb.state is OPEN


def test_client_errors_are_successes_for_health() -> None:
    """The caller records success for anything but Unavailable: a 404 storm is healthy."""
    cb = breaker(FakeClock(), consecutive_failures=5)
    for _ in range(100):
        cb.record_success()  # e.g. ResourceNotFoundException
    assert cb.state is CLOSED


def test_open_ignores_stragglers() -> None:
    clock = FakeClock()
    cb = breaker(clock, consecutive_failures=1)
    cb.record_failure()
    probe_at = cb.probe_at
    cb.record_success()  # a call sent before the circuit opened
    cb.record_failure()
    assert cb.state is OPEN and cb.probe_at == probe_at


def test_recovery_within_a_second_of_a_seven_second_outage() -> None:
    """Calls every 10 ms; the endpoint is down from t=1 s to t=8 s. Calls succeed again
    within 1 s of recovery, and few requests reach the dead endpoint while it is down."""
    clock = FakeClock(0.0)
    cb = CircuitBreaker("svc", clock=clock)
    sent_during_outage = 0
    first_success_after = None
    for _ in range(1000):
        t = clock()
        if t >= 10.0:
            break
        down = 1.0 <= t < 8.0
        if cb.allow():
            if down:
                sent_during_outage += 1
                cb.record_failure()
            else:
                cb.record_success()
                if t >= 8.0 and first_success_after is None:
                    first_success_after = t - 8.0
        clock.advance(0.01)
    assert first_success_after is not None and first_success_after <= 1.0
    assert sent_during_outage <= 5 + 7.0 / 0.25  # the opening streak, then one probe per wait


def test_on_change_errors_are_swallowed(caplog: pytest.LogCaptureFixture) -> None:
    def boom(old: BreakerState, new: BreakerState) -> None:
        raise RuntimeError("sink down")

    cb = CircuitBreaker(consecutive_failures=1, clock=FakeClock(), on_change=boom)
    cb.record_failure()
    assert cb.state is OPEN and "on_change callback failed" in caplog.text
    cb.reset()
    assert cb.state is CLOSED and cb.probe_at is None


def test_repr() -> None:
    clock = FakeClock(0.0)
    cb = breaker(clock, consecutive_failures=1)
    assert repr(cb) == "CircuitBreaker('ddb', state=closed, window_failures=0, opened=0)"
    cb.record_failure()
    assert repr(cb) == (
        "CircuitBreaker('ddb', state=open, probe_at=0.250, window_failures=1, opened=1)"
    )


def test_validation() -> None:
    for bad in ({"failure_ratio": 0}, {"min_calls": 0}, {"open_for": 1, "max_open_for": 0.5},
                {"backoff": 0.5}, {"consecutive_failures": -1}, {"probe_timeout": 0}):
        with pytest.raises(ValueError):
            CircuitBreaker(**bad)


def test_registry() -> None:
    clock = FakeClock()
    reg = BreakerRegistry(clock=clock, consecutive_failures=2)
    a = reg.breaker(None, "dynamodb", "us-east-1", "dynamodb.us-east-1.amazonaws.com")
    assert reg.breaker(None, "dynamodb", "us-east-1", "dynamodb.us-east-1.amazonaws.com") is a
    assert reg.breaker(None, "dynamodb", "us-east-1", "127.0.0.1:8000") is not a
    assert a.name == "dynamodb/us-east-1/dynamodb.us-east-1.amazonaws.com"
    assert a.consecutive_failures == 2


# -- concurrency ----------------------------------------------------------------------------------
def run_threads(n: int, target: Any) -> None:
    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)


def test_32_threads_half_open_grants_exactly_the_probe_limit() -> None:
    clock = FakeClock()
    cb = breaker(clock, consecutive_failures=1, half_open_probes=3)
    cb.record_failure()
    clock.advance(1.0)
    granted = AtomicCounter()
    barrier = threading.Barrier(32)

    def worker() -> None:
        barrier.wait()
        for _ in range(100):
            if cb.allow():
                granted.incr()

    run_threads(32, worker)
    assert granted.read() == 3


def test_32_threads_opening_happens_once() -> None:
    opened = AtomicCounter()
    cb = CircuitBreaker(consecutive_failures=5, clock=FakeClock(),
                        on_change=lambda o, n: opened.incr() if n is OPEN else None)

    def worker() -> None:
        for _ in range(200):
            cb.record_success()
            cb.record_failure()

    run_threads(32, worker)
    assert opened.read() <= 1 and cb.opened == opened.read()


# -- invariants under arbitrary sequences ---------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(st.sampled_from(["allow", "ok", "fail", "tick", "wait"]), max_size=120),
    probes=st.integers(1, 3),
)
def test_invariants(ops: list[str], probes: int) -> None:
    clock = FakeClock(0.0)
    cb = breaker(clock, consecutive_failures=3, half_open_probes=probes, probe_timeout=1.0)
    in_flight_probes: list[float] = []
    opened_at = None
    for op in ops:
        before = cb.state
        if op == "allow":
            allowed = cb.allow()
            if before is CLOSED:
                assert allowed
            if before is OPEN and cb.probe_at is not None and clock() < cb.probe_at:
                assert not allowed
            if cb.state is HALF_OPEN and allowed:
                in_flight_probes.append(clock())
        elif op == "ok":
            cb.record_success()
        elif op == "fail":
            cb.record_failure()
        elif op == "tick":
            clock.advance(0.1)
        else:
            clock.advance(0.6)
        if cb.state is not HALF_OPEN:
            in_flight_probes = []
        if cb.state is OPEN:
            assert cb.probe_at is not None
            if before is not OPEN:
                opened_at = clock()
            assert opened_at is not None
            assert 0 < cb.probe_at - opened_at <= cb.max_open_for + 1e-9
        else:
            assert cb.probe_at is None
        live = [t for t in in_flight_probes if t > clock() - cb.probe_timeout]
        assert len(live) <= probes
