"""In-process aggregation: counts and latency percentiles per (service, operation).

For tests, the demo, and anyone who wants numbers without a metrics backend. ``snapshot()`` returns
an immutable :class:`Snapshot`; :func:`format_table` renders one as the demo's table.

Cost on the hot path: a ``deque.append`` (:class:`~boto_resilience.metrics._support.QueuedSink`);
the aggregation runs in batches on a background thread. Latencies are kept exactly up to
``max_samples`` per operation and then by reservoir sampling (uniform over everything seen), so
memory is bounded and percentiles stay unbiased on a long-running process.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from typing import Any, Callable, Optional, Union

from boto_resilience.metrics._support import QueuedSink
from boto_resilience.metrics.records import SUCCESS, AttemptRecord, CallRecord, StateChange
from boto_resilience.taxonomy import Category


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0..100) of an already sorted list; 0.0 if empty."""
    if not sorted_values:
        return 0.0
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * (q / 100.0)
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    frac = pos - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * frac


class _Reservoir:
    """Exact up to ``size`` values, then Algorithm R (a uniform sample of everything seen)."""

    __slots__ = ("size", "seen", "values", "total", "maximum", "_rand")

    def __init__(self, size: int, rand: Callable[[int], int]) -> None:
        self.size = size
        self.seen = 0
        self.values: list[float] = []
        self.total = 0.0
        self.maximum = 0.0
        self._rand = rand

    def add(self, value: float) -> None:
        self.seen += 1
        self.total += value
        if value > self.maximum:
            self.maximum = value
        if len(self.values) < self.size:
            self.values.append(value)
        else:
            self.sample(value)

    def sample(self, value: float) -> None:
        """Keep ``value`` with probability size/seen (``seen`` already counts it)."""
        slot = self._rand(self.seen)
        if slot < self.size:
            self.values[slot] = value


class OpAggregate:
    """Running aggregates of one operation's records: what the memory and EMF sinks keep."""

    __slots__ = (
        "calls", "errors", "attempts", "retries", "throttles", "backoff",
        "retries_by_category", "errors_by_category", "error_codes", "latency", "attempt_latency",
    )

    def __init__(self, size: int, rand: Callable[[int], int]) -> None:
        self.calls = 0
        self.errors = 0
        self.attempts = 0
        self.retries = 0
        self.throttles = 0
        self.backoff = 0.0
        self.retries_by_category: dict[str, int] = {}
        self.errors_by_category: dict[str, int] = {}
        self.error_codes: dict[str, int] = {}
        self.latency = _Reservoir(size, rand)
        self.attempt_latency = _Reservoir(size, rand)

    def add(self, record: Union[AttemptRecord, CallRecord]) -> None:
        if isinstance(record, CallRecord):
            self.calls += 1
            self.latency.add(record.latency)
            if record.outcome != SUCCESS:
                self.errors += 1
                _count(self.errors_by_category, _category_name(record.category))
                _count(self.error_codes, record.error_code or "Unknown")
            return
        self.attempts += 1
        self.attempt_latency.add(record.latency)
        if record.throttled:
            self.throttles += 1
        if record.will_retry:
            self.retries += 1
            self.backoff += record.backoff
            _count(self.retries_by_category, _category_name(record.category))


def _category_name(category: Optional[Category]) -> str:
    return str(category) if category is not None else "Other"


def _count(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


@dataclasses.dataclass(frozen=True)
class LatencySummary:
    """Latency percentiles in seconds over the kept samples; ``count`` is every value seen."""

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: list[float], count: int, total: float, maximum: float) -> LatencySummary:
        ordered = sorted(values)
        return cls(
            count=count,
            mean=(total / count) if count else 0.0,
            p50=percentile(ordered, 50),
            p90=percentile(ordered, 90),
            p99=percentile(ordered, 99),
            max=maximum,
        )


@dataclasses.dataclass(frozen=True)
class OperationStats:
    """Everything the memory sink knows about one (service, operation)."""

    service: str
    operation: str
    calls: int  # call records seen
    errors: int  # calls whose outcome was ERROR
    attempts: int  # attempt records seen
    retries: int  # attempts after which the call was retried
    throttles: int  # throttled attempts
    backoff: float  # seconds of backoff asked for
    retries_by_category: Mapping[str, int]
    errors_by_category: Mapping[str, int]  # final errors of calls, by category
    error_codes: Mapping[str, int]  # final errors of calls, by code
    latency: LatencySummary  # per call
    attempt_latency: LatencySummary  # per attempt


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """An immutable copy of a :class:`MemorySink`'s aggregates."""

    operations: Mapping[tuple[str, str], OperationStats]
    state_changes: Mapping[tuple[str, str, str], int]  # (component, scope, new state) -> count
    dropped: int = 0

    def get(self, service: str, operation: str) -> Optional[OperationStats]:
        return self.operations.get((service, operation))

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.operations.values())

    @property
    def attempts(self) -> int:
        return sum(s.attempts for s in self.operations.values())

    @property
    def retries(self) -> int:
        return sum(s.retries for s in self.operations.values())

    @property
    def throttles(self) -> int:
        return sum(s.throttles for s in self.operations.values())

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.operations.values())


class MemorySink(QueuedSink):
    """Aggregates records in memory; ``snapshot()`` to read, ``reset()`` to start over.

    The caller's thread only queues the record (see :class:`QueuedSink`); a background thread
    aggregates, and ``snapshot()`` aggregates whatever is still queued before reading, so a
    snapshot always includes every record handed to the sink before it."""

    def __init__(self, max_samples: int = 4096, rand: Optional[random.Random] = None,
                 max_queue: int = 100_000) -> None:
        if max_samples < 1:
            raise ValueError(f"max_samples must be >= 1, got {max_samples!r}")
        super().__init__("boto_resilience-memory", 0.5, max_queue)
        self.max_samples = max_samples
        self._rand = (rand or random.Random()).randrange
        self._ops: dict[tuple[str, str], OpAggregate] = {}
        self._changes: dict[tuple[str, str, str], int] = {}
        self.closed = False

    def _ingest(self, record: Any) -> None:
        # Runs under _agg_lock, on the worker (or a reader draining).
        if isinstance(record, StateChange):
            key3 = (record.component, record.scope, record.new)
            self._changes[key3] = self._changes.get(key3, 0) + 1
            return
        key = (record.service, record.operation)
        stats = self._ops.get(key)
        if stats is None:
            stats = self._ops[key] = OpAggregate(self.max_samples, self._rand)
        stats.add(record)

    def snapshot(self) -> Snapshot:
        self.drain()
        with self._agg_lock:
            raw = [
                (
                    key, s.calls, s.errors, s.attempts, s.retries, s.throttles, s.backoff,
                    dict(s.retries_by_category), dict(s.errors_by_category), dict(s.error_codes),
                    (list(s.latency.values), s.latency.seen, s.latency.total, s.latency.maximum),
                    (
                        list(s.attempt_latency.values), s.attempt_latency.seen,
                        s.attempt_latency.total, s.attempt_latency.maximum,
                    ),
                )
                for key, s in self._ops.items()
            ]
            changes = dict(self._changes)
        # Sorting the samples happens outside the lock: aggregation never waits for a snapshot.
        operations = {
            key: OperationStats(
                service=key[0], operation=key[1], calls=calls, errors=errors, attempts=attempts,
                retries=retries, throttles=throttles, backoff=backoff,
                retries_by_category=by_cat, errors_by_category=err_cat, error_codes=codes,
                latency=LatencySummary.of(*lat), attempt_latency=LatencySummary.of(*alat),
            )
            for (key, calls, errors, attempts, retries, throttles, backoff, by_cat, err_cat, codes,
                 lat, alat) in raw
        }
        return Snapshot(operations=operations, state_changes=changes, dropped=self.dropped)

    def reset(self) -> None:
        self.drain()
        with self._agg_lock:
            self._ops = {}
            self._changes = {}

    def close(self) -> None:
        """Stop the background thread (aggregating what is queued); snapshots still work."""
        self.closed = True
        self._worker.stop(timeout=5.0, final_tick=True)

    def __repr__(self) -> str:
        return f"MemorySink(operations={len(self._ops)}, queued={len(self._queue)})"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def format_table(snapshot: Snapshot, categories: Optional[list[str]] = None) -> str:
    """A plain-text table, one row per operation: calls, attempts, retries by category,
    throttles, errors, p50/p99 call latency in milliseconds."""
    if categories is None:
        seen: dict[str, None] = {}
        for stats in snapshot.operations.values():
            for cat in stats.retries_by_category:
                seen[cat] = None
        categories = sorted(seen)
    headers = ["operation", "calls", "attempts", "retries"]
    headers += [f"retry:{c}" for c in categories]
    headers += ["throttles", "errors", "p50 ms", "p99 ms"]
    rows: list[list[str]] = []
    for (service, operation), s in sorted(snapshot.operations.items()):
        row = [f"{service}.{operation}", str(s.calls), str(s.attempts), str(s.retries)]
        row += [str(s.retries_by_category.get(c, 0)) for c in categories]
        row += [str(s.throttles), str(s.errors), _ms(s.latency.p50), _ms(s.latency.p99)]
        rows.append(row)
    if snapshot.operations:
        total = ["total", str(snapshot.calls), str(snapshot.attempts), str(snapshot.retries)]
        total += [
            str(sum(s.retries_by_category.get(c, 0) for s in snapshot.operations.values()))
            for c in categories
        ]
        total += [str(snapshot.throttles), str(snapshot.errors), "", ""]
        rows.append(total)
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(w) for cell, w in zip(cells[1:], widths[1:])]
        return "  ".join([first, *rest]).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    for i, row in enumerate(rows):
        if i == len(rows) - 1 and row[0] == "total":
            out.append(line(["-" * w for w in widths]))
        out.append(line(row))
    return "\n".join(out)
