"""Backoff strategies: how long to wait before retry number ``n``.

Each strategy is a small frozen object with one method, ``delay(retry, previous)``, where
``retry`` is 1 for the first retry and ``previous`` is the delay used before the previous retry
(only decorrelated jitter needs it). ``base`` and ``cap`` are in seconds; the random source is
injected (``rand() -> [0, 1)``) so tests can pin exact delays.

Every strategy returns a finite value in ``[0, cap]`` for any ``retry >= 1``, including retry
10,000: the exponent is clamped before it is raised, so nothing overflows.

The delays follow the AWS Architecture Blog's "Exponential Backoff And Jitter" definitions:
full jitter ``U(0, min(cap, base*2**(n-1)))``, equal jitter ``t/2 + U(0, t/2)``, decorrelated
jitter ``min(cap, U(base, previous*3))``.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Callable, Union

Rand = Callable[[], float]

# 2**62 * any sane base is far past any cap; clamping here keeps float math finite.
_MAX_EXPONENT = 62


def _exponential(base: float, cap: float, retry: int) -> float:
    exponent = min(max(retry - 1, 0), _MAX_EXPONENT)
    return min(cap, base * (2.0**exponent))


@dataclasses.dataclass(frozen=True)
class FullJitter:
    """``U(0, min(cap, base * 2**(retry-1)))``: the best spread for contended resources."""

    base: float
    cap: float
    rand: Rand = dataclasses.field(default=random.random, repr=False, compare=False)

    def delay(self, retry: int, previous: float = 0.0) -> float:
        return self.rand() * _exponential(self.base, self.cap, retry)


@dataclasses.dataclass(frozen=True)
class EqualJitter:
    """Half the exponential delay fixed, half random: never retries almost immediately."""

    base: float
    cap: float
    rand: Rand = dataclasses.field(default=random.random, repr=False, compare=False)

    def delay(self, retry: int, previous: float = 0.0) -> float:
        half = _exponential(self.base, self.cap, retry) / 2.0
        return half + self.rand() * half


@dataclasses.dataclass(frozen=True)
class DecorrelatedJitter:
    """``min(cap, U(base, 3 * previous))``: grows from the previous delay, not the count."""

    base: float
    cap: float
    rand: Rand = dataclasses.field(default=random.random, repr=False, compare=False)

    def delay(self, retry: int, previous: float = 0.0) -> float:
        low = min(self.base, self.cap)
        high = min(self.cap, max(previous, self.base) * 3.0)
        return min(self.cap, low + self.rand() * max(0.0, high - low))


@dataclasses.dataclass(frozen=True)
class Exponential:
    """``min(cap, base * 2**(retry-1))`` with no jitter: predictable, but synchronises clients."""

    base: float
    cap: float

    def delay(self, retry: int, previous: float = 0.0) -> float:
        return _exponential(self.base, self.cap, retry)


@dataclasses.dataclass(frozen=True)
class Constant:
    """``min(cap, base)`` every time."""

    base: float
    cap: float

    def delay(self, retry: int, previous: float = 0.0) -> float:
        return min(self.cap, self.base)


Backoff = Union[FullJitter, EqualJitter, DecorrelatedJitter, Exponential, Constant]


def make(name: str, base: float, cap: float, rand: Rand = random.random) -> Backoff:
    """The strategy called ``name`` (see :data:`boto_resilience.config.BACKOFF_NAMES`)."""
    if name == "full_jitter":
        return FullJitter(base, cap, rand)
    if name == "equal_jitter":
        return EqualJitter(base, cap, rand)
    if name == "decorrelated_jitter":
        return DecorrelatedJitter(base, cap, rand)
    if name == "exponential":
        return Exponential(base, cap)
    if name == "constant":
        return Constant(base, cap)
    raise ValueError(f"boto_resilience: unknown backoff {name!r}: accepted values are "
                     "full_jitter, equal_jitter, decorrelated_jitter, exponential, constant")
