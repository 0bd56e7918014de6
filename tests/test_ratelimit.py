"""AdaptiveRateLimiter as a state machine (FakeClock), plus a deterministic overload simulation.

The simulation is a discrete-event model of the storm benchmark: N client threads sharing one
limiter, a server admitting ``capacity`` requests/s through a token bucket and throttling the
rest, a client CPU cost per request (the GIL: a Python client cannot send 10 000 requests/s),
and full-jitter backoff between a throttled attempt and its retry. It runs in simulated time,
so it checks the algorithm's goodput, amplification and tail latency in milliseconds.
"""

from __future__ import annotations

import dataclasses
import heapq
import random
import threading
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boto_resilience.ratelimit import (
    AdaptiveRateLimiter,
    LimiterState,
    RateLimiterRegistry,
    Ticket,
    WouldExceedDeadline,
)
from boto_resilience.testing import FakeClock

# Plain names, not enum literals: mypy would otherwise narrow ``lim.state`` after one assert.
DISENGAGED, PROBING, LIMITING = (
    LimiterState.DISENGAGED, LimiterState.PROBING, LimiterState.LIMITING
)


def wait(ticket: Optional[Ticket]) -> float:
    return 0.0 if ticket is None else ticket.wait


def limiter(clock: FakeClock, **kwargs: object) -> AdaptiveRateLimiter:
    return AdaptiveRateLimiter(clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def engage(lim: AdaptiveRateLimiter, clock: FakeClock, accept_rate: float) -> None:
    """Throttle once, then feed accepts at ``accept_rate``/s until the probe ends."""
    lim.on_response(throttled=True)
    assert lim.state is PROBING
    step = 1.0 / accept_rate
    for _ in range(10_000):
        if lim.state is LIMITING:
            return
        clock.advance(step)
        lim.on_response(throttled=False)
    raise AssertionError("probe never ended")


# -- disengaged: free ---------------------------------------------------------------------------
def test_disengaged_costs_nothing() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    for _ in range(1000):
        assert lim.acquire() == 0.0
        lim.on_response(throttled=False)
    assert lim.state is DISENGAGED and lim.rate is None
    assert clock.sleeps == []
    assert repr(lim).startswith("AdaptiveRateLimiter(state=disengaged, rate=none")


def test_first_throttle_probes_then_limits_at_headroom_times_accept_rate() -> None:
    clock = FakeClock()
    changes: list[tuple[LimiterState, LimiterState]] = []
    lim = limiter(clock, headroom=1.05, on_change=lambda o, n: changes.append((o, n)))
    lim.on_response(throttled=True)
    assert lim.state is PROBING
    assert lim.acquire() == 0.0  # probing does not limit
    for _ in range(10):  # accepts at 100/s
        clock.advance(0.01)
        lim.on_response(throttled=False)
    assert lim.state is LIMITING
    assert lim.rate == pytest.approx(105.0)
    assert changes == [
        (DISENGAGED, PROBING),
        (PROBING, LIMITING),
    ]


def test_probe_ends_after_probe_window_with_a_few_accepts() -> None:
    clock = FakeClock()
    lim = limiter(clock, headroom=1.0, probe_window=0.1)
    lim.on_response(throttled=True)
    for _ in range(2):
        clock.advance(0.06)
        lim.on_response(throttled=False)
    assert lim.state is PROBING  # the window is over, but 2 accepts say little
    clock.advance(0.03)
    lim.on_response(throttled=False)
    assert lim.state is LIMITING
    assert lim.rate == pytest.approx(3 / 0.15)


def test_total_throttling_floors_at_min_rate() -> None:
    clock = FakeClock()
    lim = limiter(clock, min_rate=0.5)
    lim.on_response(throttled=True)
    clock.advance(0.25)
    lim.on_response(throttled=True)
    assert lim.state is PROBING
    clock.advance(0.25)  # 5 probe windows
    lim.on_response(throttled=True)
    assert lim.state is LIMITING and lim.rate == 0.5


def test_single_throttle_then_silence_is_not_an_overload() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    lim.on_response(throttled=True)
    clock.advance(5.0)
    lim.on_response(throttled=False)
    assert lim.state is DISENGAGED


# -- pacing ----------------------------------------------------------------------------------------
def test_acquire_paces_at_rate_after_the_burst() -> None:
    clock = FakeClock()
    lim = limiter(clock, headroom=1.0, burst_seconds=0.05)
    engage(lim, clock, accept_rate=100.0)
    assert lim.rate == pytest.approx(100.0)
    start = clock()
    waits = [lim.acquire() for _ in range(50)]
    # 50 sends at 100/s take 0.49 s (the first is immediate)
    assert clock() - start == pytest.approx(0.49)
    assert waits[0] == 0.0 and all(w == pytest.approx(0.01) for w in waits[1:])
    clock.advance(1.0)  # idle: up to burst_seconds x rate = 5 slots are saved
    assert [wait(lim.reserve()) for _ in range(6)] == pytest.approx([0, 0, 0, 0, 0, 0.01])


def test_reserve_does_not_sleep() -> None:
    clock = FakeClock()
    lim = limiter(clock, headroom=1.0, burst_seconds=0.0)
    engage(lim, clock, accept_rate=10.0)
    assert wait(lim.reserve()) == 0.0
    ticket = lim.reserve()
    assert wait(ticket) == pytest.approx(0.1)
    assert wait(lim.reserve()) == pytest.approx(0.2)
    assert clock.sleeps == []
    assert ticket is not None and lim.remaining(ticket) == pytest.approx(0.1)
    clock.advance(0.1)
    assert lim.remaining(ticket) == 0.0


def test_fail_fast_when_the_slot_is_beyond_the_deadline() -> None:
    clock = FakeClock()
    lim = limiter(clock, headroom=1.0, burst_seconds=0.0)
    engage(lim, clock, accept_rate=10.0)
    lim.reserve()
    lim.reserve()  # the next slot is 0.2 s away
    with pytest.raises(WouldExceedDeadline) as info:
        lim.acquire(timeout=0.15)
    assert info.value.wait == pytest.approx(0.2) and info.value.timeout == 0.15
    assert clock.sleeps == [] and lim.rejected == 1
    assert lim.acquire(timeout=0.2) == pytest.approx(0.2)  # nothing was reserved by the refusal
    with pytest.raises(WouldExceedDeadline):
        lim.acquire(timeout=0.0)


def test_rate_cut_while_waiting_abandons_the_ticket_at_the_deadline() -> None:
    clock = FakeClock()
    lim: AdaptiveRateLimiter

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 1:  # while we wait, the window closes full of throttles
            lim.on_response(throttled=True)
            clock.advance(0.3)
            lim.on_response(throttled=True)

    lim = AdaptiveRateLimiter(clock=clock, sleep=sleep, headroom=1.0, burst_seconds=0.0,
                              min_window_events=0)
    engage(lim, clock, accept_rate=10.0)
    for _ in range(6):
        lim.reserve()  # slots at +0, +0.1, ... +0.5
    with pytest.raises(WouldExceedDeadline):
        # our slot: +0.6 at 10/s; at +0.35 the rate is cut to 0.5/s: the first waiting ticket
        # keeps its slot (+0.4), ours, two behind it, moves to +4.4: past the deadline
        lim.acquire(timeout=1.0)
    assert lim.rate == 0.5 and lim.rejected == 1


def test_thread_safe_reservations_are_distinct_and_evenly_spaced() -> None:
    clock = FakeClock()
    lim = limiter(clock, headroom=1.0, burst_seconds=0.0)
    engage(lim, clock, accept_rate=1000.0)
    rate = lim.rate
    assert rate is not None
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [wait(lim.reserve()) for _ in range(100)]
        with lock:
            waits.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    waits.sort()
    assert len(waits) == 3200
    gaps = [b - a for a, b in zip(waits, waits[1:])]
    assert min(gaps) == pytest.approx(1.0 / rate) and max(gaps) == pytest.approx(1.0 / rate)


# -- adaptation -----------------------------------------------------------------------------------
def feed(lim: AdaptiveRateLimiter, clock: FakeClock, seconds: float, send_rate: float,
         capacity: Optional[float]) -> tuple[int, int]:
    """Send at up to ``send_rate``/s for ``seconds`` (each send after ``reserve``), throttling
    all beyond ``capacity`` (a token bucket holding 0.1 s of it; ``None`` accepts all).
    Returns (requests, throttled)."""
    step, end = 1.0 / send_rate, clock() + seconds
    burst = max(1.0, (capacity or 0.0) / 10)
    tokens = burst
    sent = throttled = 0
    for _ in range(1_000_000):
        if clock() >= end:
            break
        dt = step + lim.acquire()
        clock.advance(step)
        ok = True
        if capacity is not None:
            tokens = min(burst, tokens + capacity * dt)
            ok = tokens >= 1.0
            tokens -= 1.0 if ok else 0.0
        sent += 1
        throttled += not ok
        lim.on_response(throttled=not ok)
    return sent, throttled


def test_rate_tracks_a_capacity_drop() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    engage(lim, clock, accept_rate=200.0)
    feed(lim, clock, 1.0, send_rate=400.0, capacity=50.0)  # adapts within a window or two
    sent, throttled = feed(lim, clock, 4.0, send_rate=400.0, capacity=50.0)
    assert 4.0 * 50 * 0.97 <= sent - throttled  # goodput: the capacity
    assert throttled <= 0.08 * sent  # ~3 % by design, more briefly while probing upwards


def test_rate_recovers_when_throttles_stop_then_disengages() -> None:
    clock = FakeClock()
    changes: list[tuple[LimiterState, LimiterState]] = []
    lim = limiter(clock, on_change=lambda o, n: changes.append((o, n)))
    engage(lim, clock, accept_rate=100.0)
    low = lim.rate
    assert low is not None and low < 110
    # capacity comes back: a demand of 2000/s is held back by the limit, nothing is throttled
    rates = []
    for _ in range(8):
        feed(lim, clock, 0.25, send_rate=2000.0, capacity=None)
        rates.append(lim.rate or 0.0)
    assert rates == sorted(rates)  # never down
    assert rates[-1] > 5 * low  # geometric growth within 2 s
    feed(lim, clock, 3.5, send_rate=2000.0, capacity=None)  # quiet_period (5 s) passes
    assert lim.state is DISENGAGED and lim.rate is None
    assert changes[-1] == (LIMITING, DISENGAGED)


def test_low_rate_limit_disengages_after_quiet_period() -> None:
    """At low rates growth is slow (a window needs 20 responses to judge); the quiet period
    bounds how long a limit can outlive the throttling that set it."""
    clock = FakeClock()
    lim = limiter(clock)
    engage(lim, clock, accept_rate=20.0)
    feed(lim, clock, 7.0, send_rate=500.0, capacity=None)
    assert lim.state is DISENGAGED


def test_rate_does_not_grow_when_not_binding() -> None:
    clock = FakeClock()
    lim = limiter(clock, headroom=1.0)
    engage(lim, clock, accept_rate=100.0)
    feed(lim, clock, 2.0, send_rate=50.0, capacity=None)  # demand below the limit
    assert lim.rate == pytest.approx(100.0)


def test_idle_window_is_discarded_not_measured() -> None:
    clock = FakeClock()
    lim = limiter(clock, headroom=1.0)
    engage(lim, clock, accept_rate=100.0)
    feed(lim, clock, 0.1, send_rate=100.0, capacity=None)
    lim.on_response(throttled=True)
    clock.advance(3.0)  # idle, within quiet_period of that throttle
    lim.on_response(throttled=True)  # would measure ~3 accepts/s over the long window
    assert lim.rate == pytest.approx(100.0)


def test_on_change_errors_are_swallowed(caplog: pytest.LogCaptureFixture) -> None:
    def boom(old: LimiterState, new: LimiterState) -> None:
        raise RuntimeError("sink down")

    lim = limiter(FakeClock(), on_change=boom)
    lim.on_response(throttled=True)
    assert lim.state is PROBING
    assert "on_change callback failed" in caplog.text
    lim.reset()
    assert lim.state is DISENGAGED


def test_validation() -> None:
    with pytest.raises(ValueError):
        AdaptiveRateLimiter(headroom=0.9)
    with pytest.raises(ValueError):
        AdaptiveRateLimiter(window=0)
    with pytest.raises(ValueError):
        AdaptiveRateLimiter(min_rate=0)


def test_registry() -> None:
    clock = FakeClock()
    reg = RateLimiterRegistry(clock=clock, sleep=clock.sleep, headroom=1.1)
    a = reg.limiter(None, "dynamodb", "us-east-1")
    assert reg.limiter(None, "dynamodb", "us-east-1") is a
    assert reg.limiter(None, "dynamodb", "us-west-2") is not a
    assert a.headroom == 1.1


# -- the overload simulation -----------------------------------------------------------------------
@dataclasses.dataclass
class SimResult:
    calls: int
    requests: int
    failures: int
    goodput: float
    p50: float
    p99: float
    final_rate: Optional[float]
    late_goodput: float  # second half only
    late_amplification: float  # requests per call, second half only


def simulate(
    capacity: float,
    threads: int = 32,
    duration: float = 10.0,
    use_limiter: bool = True,
    backoff_base: float = 0.05,
    max_attempts: int = 0,
    cpu: float = 0.0012,
    latency: float = 0.003,
    seed: int = 1,
    random_throttles: float = 0.0,
) -> SimResult:
    """``threads`` closed-loop callers against a token-bucket server (burst: 0.1 s) that also
    throttles a ``random_throttles`` fraction of the requests it would admit (sporadic
    throttling that no send rate avoids)."""
    rng = random.Random(seed)
    clock = FakeClock(0.0)
    lim = AdaptiveRateLimiter(clock=clock, sleep=clock.sleep)
    burst = max(1.0, capacity / 10)
    server = {"tokens": burst, "last": 0.0, "cpu_free": 0.0}
    events: list[tuple[float, int, int, str, bool]] = []
    seq = 0

    def push(t: float, th: int, action: str, ok: bool = True) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, th, action, ok))

    started = [0.0] * threads
    tickets: list[Optional[Ticket]] = [None] * threads
    attempt = [0] * threads
    latencies: list[float] = []
    requests = failures = 0
    late_requests = late_calls = 0  # in the second half: the steady state
    for th in range(threads):
        push(rng.random() * 0.001, th, "call")
    while events:
        t, _, th, action, ok = heapq.heappop(events)
        if t > duration:
            break
        clock.advance(max(0.0, t - clock()))
        if action == "call":
            started[th], attempt[th] = t, 1
            action = "attempt"
        if action == "attempt":
            tickets[th] = lim.reserve() if use_limiter else None
            action = "poll"
        if action == "poll":
            # what acquire() does: sleep towards the slot, at most `recheck` at a time
            ticket = tickets[th]
            remaining = 0.0 if ticket is None else lim.remaining(ticket)
            if remaining > 0.0:
                push(t + min(remaining, lim.recheck), th, "poll")
            else:
                push(t, th, "send")
        elif action == "send":
            if server["cpu_free"] > t:  # the client's CPU (GIL) is busy: queue for it
                push(server["cpu_free"], th, "send")
                continue
            server["cpu_free"] = t + cpu
            requests += 1
            late_requests += t >= duration / 2
            server["tokens"] = min(burst, server["tokens"] + (t - server["last"]) * capacity)
            server["last"] = t
            admitted = server["tokens"] >= 1.0 and not (
                random_throttles and rng.random() < random_throttles)
            if admitted:
                server["tokens"] -= 1.0
            push(t + latency * (0.5 + rng.random()), th, "response", admitted)
        elif action == "response":
            if use_limiter:
                lim.on_response(throttled=not ok)
            if ok:
                latencies.append(t - started[th])
                late_calls += t >= duration / 2
                push(t, th, "call")
                continue
            attempt[th] += 1
            if max_attempts and attempt[th] > max_attempts:
                failures += 1
                push(t, th, "call")
                continue
            delay = rng.random() * min(20.0, backoff_base * 2 ** (attempt[th] - 2))
            push(t + delay, th, "attempt")
    latencies.sort()
    n = len(latencies)
    return SimResult(
        calls=n,
        requests=requests,
        failures=failures,
        goodput=n / duration,
        p50=latencies[n // 2],
        p99=latencies[min(n - 1, int(0.99 * n))],
        final_rate=lim.rate,
        late_goodput=late_calls / (duration / 2),
        late_amplification=late_requests / max(1, late_calls),
    )


def test_overload_storm_targets() -> None:
    """32 threads, capacity 150/s: goodput >= 95 % of capacity, <= 1.10 requests per call, no
    failed call, and p99 at most half that of botocore-standard-like retries (3 attempts,
    backoff rand(0, 1 x 2^n))."""
    ours = simulate(150.0)
    standard = simulate(150.0, use_limiter=False, backoff_base=1.0, max_attempts=3)
    assert ours.goodput >= 0.95 * 150
    assert ours.requests / ours.calls <= 1.10
    assert ours.failures == 0
    assert ours.p99 <= standard.p99 / 2
    assert standard.failures > 0  # what the limiter saves us from


@settings(max_examples=12, deadline=None)
@given(
    capacity=st.sampled_from([20.0, 60.0, 150.0, 400.0]),
    threads=st.sampled_from([8, 32, 64]),
    seed=st.integers(0, 1000),
)
def test_converges_near_capacity(capacity: float, threads: int, seed: int) -> None:
    """Whatever the capacity and concurrency (demand exceeding capacity), once settled the
    limiter keeps goodput at the capacity with few throttles, and no call fails."""
    result = simulate(capacity, threads=threads, duration=8.0, seed=seed)
    assert result.final_rate is not None
    assert result.late_goodput >= 0.95 * capacity
    assert result.late_amplification <= 1.10
    assert result.failures == 0
