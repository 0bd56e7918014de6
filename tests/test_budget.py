"""RetryBudget as a state machine: costs, exhaustion, refill, exact counts under 32 threads."""

from __future__ import annotations

import gc
import threading
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boto_resilience.budget import (
    AtomicCounter,
    BudgetRegistry,
    KeyedRegistry,
    RetryBudget,
    RetryCosts,
)
from boto_resilience.testing import FakeClock


def run_threads(n: int, target: Callable[[], None]) -> None:
    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)


def test_costs() -> None:
    costs = RetryCosts()
    assert (costs.cost(), costs.cost(timeout=True), costs.cost(throttled=True)) == (5, 10, 1)
    assert costs.cost(throttled=True, timeout=True) == 1  # a throttle is a throttle
    with pytest.raises(ValueError):
        RetryCosts(transient=-1)


def test_exhaustion_and_refill() -> None:
    budget = RetryBudget(500)
    assert sum(budget.try_acquire(5) for _ in range(101)) == 100
    assert budget.available == 0 and budget.denied == 1
    assert budget.exhausted
    for _ in range(4):
        budget.on_success()
    assert not budget.try_acquire(5)  # 4 < 5: refused, nothing taken
    assert budget.available == 4
    budget.on_success()
    assert budget.try_acquire(5)
    budget.release(10)  # a retried call succeeded: its cost comes back
    assert budget.available == 10


def test_refill_is_capped_at_capacity() -> None:
    budget = RetryBudget(10)
    for _ in range(50):
        budget.on_success()
    budget.release(100)
    assert budget.available == 10
    assert budget.try_acquire(10) and not budget.try_acquire(1)


def test_throttle_retries_are_cheap() -> None:
    budget = RetryBudget(20)
    throttle = budget.costs.cost(throttled=True)
    assert sum(budget.try_acquire(throttle) for _ in range(30)) == 20
    budget = RetryBudget(20)
    assert sum(budget.try_acquire(budget.costs.cost()) for _ in range(30)) == 4


def test_time_trickle() -> None:
    clock = FakeClock()
    budget = RetryBudget(10, refill_per_second=2.0, clock=clock)
    assert budget.try_acquire(10)
    clock.advance(2.0)
    assert budget.available == pytest.approx(4.0)
    clock.advance(100.0)
    assert budget.available == 10.0


def test_zero_capacity_never_retries() -> None:
    budget = RetryBudget(0)
    budget.on_success()
    assert not budget.try_acquire(1)
    assert budget.try_acquire(0)


def test_repr_is_readable() -> None:
    budget = RetryBudget(500)
    budget.try_acquire(5)
    assert repr(budget) == (
        "RetryBudget(available=495/500, costs=RetryCosts(transient=5, timeout=10, throttle=1, "
        "success=1), denied=0)"
    )


def test_validation() -> None:
    with pytest.raises(ValueError):
        RetryBudget(-1)
    with pytest.raises(ValueError):
        RetryBudget(5, refill_per_second=-1)


# -- concurrency: exact counts --------------------------------------------------------------------
def test_32_threads_acquire_exactly_capacity() -> None:
    budget = RetryBudget(500)
    wins = AtomicCounter()

    def worker() -> None:
        for _ in range(1000):
            if budget.try_acquire(1):
                wins.incr()

    run_threads(32, worker)
    assert wins.read() == 500
    assert budget.available == 0 and budget.denied == 32 * 1000 - 500


def test_lock_free_successes_are_never_lost() -> None:
    budget = RetryBudget(100_000)
    assert budget.try_acquire(100_000)

    def worker() -> None:
        for _ in range(1000):
            budget.on_success()

    run_threads(32, worker)
    assert budget.available == 32_000


def test_mixed_concurrent_use_conserves_tokens() -> None:
    """Acquisitions and lock-free successes interleaved: the balance is exactly
    start - taken + earned (the cap is never reached, so nothing is clipped)."""
    budget = RetryBudget(1_000_000)
    assert budget.try_acquire(1_000_000 - 5_000)
    taken = AtomicCounter()

    def worker() -> None:
        for i in range(500):
            if i % 2:
                budget.on_success()
            elif budget.try_acquire(3):
                for _ in range(3):
                    taken.incr()

    run_threads(32, worker)
    assert budget.available == 5_000 - taken.read() + 32 * 250


def test_atomic_counter() -> None:
    counter = AtomicCounter()

    def worker() -> None:
        for _ in range(2000):
            counter.incr()

    run_threads(16, worker)
    assert counter.read() == 32_000
    assert counter.read() == 32_000  # reading does not count
    assert "AtomicCounter" in repr(counter)


# -- against a reference model --------------------------------------------------------------------
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("acquire"), st.integers(0, 12)),
        st.tuples(st.just("success"), st.just(0)),
        st.tuples(st.just("release"), st.integers(0, 30)),
        st.tuples(st.just("advance"), st.integers(0, 5)),
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(capacity=st.integers(0, 60), trickle=st.sampled_from([0.0, 0.5, 3.0]), ops=_ops)
def test_matches_sequential_model(capacity: int, trickle: float, ops: list[Any]) -> None:
    """Batched lock-free refills give exactly the balance of a one-at-a-time bucket, and the
    balance always stays within [0, capacity]."""
    clock = FakeClock()
    budget = RetryBudget(capacity, refill_per_second=trickle, clock=clock)
    model = float(capacity)
    for op, n in ops:
        if op == "acquire":
            expected = n <= model + 1e-9
            if expected:
                model -= n
            assert budget.try_acquire(n) is expected
        elif op == "success":
            model = min(capacity, model + 1)
            budget.on_success()
        elif op == "release":
            if n > 0:
                model = min(capacity, model + n)
            budget.release(n)
        else:
            clock.advance(n)
            model = min(capacity, model + n * trickle)
        assert 0 <= budget.available <= capacity
        assert budget.available == pytest.approx(model)


# -- registries -----------------------------------------------------------------------------------
class Scope:
    """Stands in for a client or session: weak-referenceable."""


def test_registry_one_budget_per_key() -> None:
    reg = BudgetRegistry(capacity=50)
    a = reg.budget(None, "dynamodb", "us-east-1")
    assert reg.budget(None, "dynamodb", "us-east-1") is a
    assert reg.budget(None, "dynamodb", "eu-west-1") is not a
    assert reg.budget(None, "s3", "us-east-1") is not a
    assert a.capacity == 50 and len(reg) == 3


def test_registry_scopes() -> None:
    reg = BudgetRegistry()
    client1, client2, session = Scope(), Scope(), Scope()
    by_client = reg.for_scope("client", client1, session, "s3", "us-east-1")
    assert reg.for_scope("client", client2, session, "s3", "us-east-1") is not by_client
    by_session = reg.for_scope("session", client1, session, "s3", "us-east-1")
    assert reg.for_scope("session", client2, session, "s3", "us-east-1") is by_session
    process = reg.for_scope("process", client1, session, "s3", "us-east-1")
    assert reg.for_scope("process", client2, Scope(), "s3", "us-east-1") is process
    with pytest.raises(ValueError):
        reg.for_scope("thread", client1, session, "s3", None)


def test_registry_holds_scope_objects_weakly() -> None:
    reg: KeyedRegistry[RetryBudget] = BudgetRegistry()
    scope = Scope()
    reg.get(scope, "s3", "us-east-1")
    reg.get("named", "s3", "us-east-1")
    assert len(reg) == 2
    del scope
    gc.collect()
    assert len(reg) == 1
    reg.discard("named")
    assert len(reg) == 0


def test_registry_creates_once_under_contention() -> None:
    created = AtomicCounter()

    def factory(service: str) -> object:
        created.incr()
        return object()

    reg: KeyedRegistry[object] = KeyedRegistry(factory)
    scope = Scope()
    seen: list[object] = []
    barrier = threading.Barrier(32)

    def worker() -> None:
        barrier.wait()
        seen.append(reg.get(None, "s3"))
        seen.append(reg.get(scope, "s3"))

    run_threads(32, worker)
    assert created.read() == 2
    assert len({id(x) for x in seen}) == 2
