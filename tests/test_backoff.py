"""Backoff strategies: exact delays with an injected random source, and bounds for any input."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boto_resilience import backoff


def fixed(value: float):  # type: ignore[no-untyped-def]
    return lambda: value


def test_full_jitter_exact() -> None:
    b = backoff.FullJitter(0.1, 5.0, fixed(0.5))
    assert [b.delay(n) for n in (1, 2, 3, 4)] == pytest.approx([0.05, 0.1, 0.2, 0.4])
    assert b.delay(20) == pytest.approx(2.5)  # capped at 5.0, times 0.5


def test_equal_jitter_exact() -> None:
    b = backoff.EqualJitter(0.1, 5.0, fixed(0.0))
    assert [b.delay(n) for n in (1, 2, 3)] == pytest.approx([0.05, 0.1, 0.2])
    b = backoff.EqualJitter(0.1, 5.0, fixed(1.0))
    assert b.delay(3) == pytest.approx(0.4)


def test_decorrelated_jitter_exact() -> None:
    b = backoff.DecorrelatedJitter(0.1, 5.0, fixed(1.0))
    assert b.delay(1, 0.0) == pytest.approx(0.3)  # U(base, 3*base) at the top
    assert b.delay(2, 0.3) == pytest.approx(0.9)
    assert b.delay(9, 4.0) == pytest.approx(5.0)
    assert backoff.DecorrelatedJitter(0.1, 5.0, fixed(0.0)).delay(3, 2.0) == pytest.approx(0.1)


def test_exponential_and_constant() -> None:
    assert [backoff.Exponential(0.5, 3.0).delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
    assert backoff.Constant(0.2, 1.0).delay(50) == 0.2
    assert backoff.Constant(2.0, 1.0).delay(1) == 1.0


def test_make_and_repr() -> None:
    b = backoff.make("full_jitter", 0.025, 20.0)
    assert repr(b) == "FullJitter(base=0.025, cap=20.0)"
    with pytest.raises(ValueError, match="accepted values are full_jitter"):
        backoff.make("fibonacci", 1, 2)


NAMES = ["full_jitter", "equal_jitter", "decorrelated_jitter", "exponential", "constant"]


@given(name=st.sampled_from(NAMES),
       base=st.floats(0, 100, allow_nan=False),
       cap=st.floats(0, 1000, allow_nan=False),
       retry=st.integers(1, 10_000),
       previous=st.floats(0, 1e6, allow_nan=False),
       r=st.floats(0, 1, exclude_max=True))
def test_delay_always_within_zero_and_cap(name: str, base: float, cap: float, retry: int,
                                          previous: float, r: float) -> None:
    b = backoff.make(name, base, cap, lambda: r)
    d = b.delay(retry, previous)
    assert math.isfinite(d)
    assert 0.0 <= d <= cap + 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_no_overflow_at_attempt_10000(name: str) -> None:
    b = backoff.make(name, 1e300, 30.0, lambda: 0.999)
    assert 0 <= b.delay(10_000, 1e308) <= 30.0
