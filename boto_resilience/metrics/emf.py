"""CloudWatch Embedded Metric Format: JSON log lines that CloudWatch Logs turns into metrics.

Written to stdout by default (what Lambda and the CloudWatch agent ingest), or to any text stream,
or to a :class:`logging.Logger`.

**Aggregate, then flush** rather than one document per call. A document per call would cost a JSON
serialisation and a write (tens of microseconds) on the caller's thread, and a log event per AWS
call. Instead ``on_call``/``on_attempt`` only queue the record (a ``deque.append``, see
:class:`~boto_resilience.metrics._support.QueuedSink`); a background thread aggregates per
(service, operation, region) and writes the documents every ``flush_interval`` seconds, and at
``close()`` / interpreter exit. Counters lose nothing by
aggregation; latencies are kept as value arrays (EMF allows arrays of up to 100 numbers, each a
sample for CloudWatch's percentiles), split across several documents when there are more than 100,
with at most ``max_values`` samples per interval (reservoir-sampled beyond that).

In AWS Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set) the default is different: the process is frozen
between invocations and may be shut down without running exit hooks, so aggregates held for ten
seconds could arrive late or never. There ``flush_interval`` defaults to 0: a document per call,
written synchronously when the call ends (its attempts ride in the same document). A handler
making many AWS calls can pass ``flush_interval`` explicitly and call ``flush()`` at its end.

Documents follow the EMF specification: ``_aws`` with ``Timestamp`` (ms since the epoch) and
``CloudWatchMetrics`` = [{``Namespace``, ``Dimensions`` (sets of root-member names), ``Metrics``
[{``Name``, ``Unit``}]}]; every referenced member present on the root node; dimension values are
strings; at most 100 metric definitions per directive (we emit at most 8), at most 30 keys per
dimension set (9 in the older spec; the dimensions here are at most 3), numeric arrays of at
most 100 values. Dimensions are low-cardinality by construction: ``Service`` (AWS service id),
``Operation``, optionally ``Region``; ``ErrorCategory`` (13 values) for the per-category documents.
``Region`` is always present on the root node as a plain property, searchable in Logs Insights.

Per flush and per (service, operation, region) the sink writes:
  * one document with Calls, Errors, Attempts, Retries, Throttles, BackoffTime and the first 100
    CallLatency / AttemptLatency values,
  * further documents with only the remaining latency values, 100 per document,
  * with ``by_category``, one document per error category seen, with Retries and Errors and an
    extra ``ErrorCategory`` dimension,
and one document per (component, scope, new state) with StateChanges.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Any, Callable, Optional

from boto_resilience.metrics import names
from boto_resilience.metrics._support import QueuedSink, cancel_close_at_exit, close_at_exit
from boto_resilience.metrics.memory import OpAggregate
from boto_resilience.metrics.records import CallRecord, StateChange

#: EMF limits (CloudWatch EMF specification).
MAX_METRICS_PER_DIRECTIVE = 100
MAX_DIMENSIONS_PER_SET = 30
MAX_VALUES_PER_ARRAY = 100

_DIMENSION_KEYS = {
    names.SERVICE.cloudwatch,
    names.METHOD.cloudwatch,
    names.REGION.cloudwatch,
}
DEFAULT_DIMENSIONS: tuple[tuple[str, ...], ...] = (
    (names.SERVICE.cloudwatch, names.METHOD.cloudwatch),
)


def validate_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
        raise ValueError(f"a CloudWatch namespace is 1 to 255 characters, got {namespace!r}")
    if namespace.startswith("AWS/"):
        raise ValueError(f"CloudWatch namespaces starting with 'AWS/' are reserved: {namespace!r}")
    return namespace


def validate_dimensions(dimensions: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    sets = tuple(tuple(d) for d in dimensions)
    if not sets:
        raise ValueError("dimensions needs at least one dimension set, e.g. [['Service']]")
    for dim_set in sets:
        unknown = [d for d in dim_set if d not in _DIMENSION_KEYS]
        if unknown:
            raise ValueError(
                f"unknown dimension(s) {unknown}: accepted are {sorted(_DIMENSION_KEYS)}"
            )
        if len(dim_set) > MAX_DIMENSIONS_PER_SET - 1:  # one slot kept for ErrorCategory
            raise ValueError(f"a dimension set has at most {MAX_DIMENSIONS_PER_SET} keys")
    return sets


class EmfSink(QueuedSink):
    """Aggregates records and writes CloudWatch EMF documents periodically (module docstring)."""

    def __init__(
        self,
        stream: Optional[IO[str]] = None,
        namespace: str = "BotoResilience",
        flush_interval: Optional[float] = None,
        *,
        logger: Optional[logging.Logger] = None,
        dimensions: Sequence[Sequence[str]] = DEFAULT_DIMENSIONS,
        by_category: bool = True,
        max_values: int = 1000,
        max_queue: int = 100_000,
        clock: Callable[[], float] = time.time,
        rand: Optional[random.Random] = None,
    ) -> None:
        if flush_interval is None:
            flush_interval = 0.0 if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else 10.0
        if flush_interval < 0:
            raise ValueError(f"flush_interval must be >= 0 seconds, got {flush_interval!r}")
        if max_values < 1:
            raise ValueError(f"max_values must be >= 1, got {max_values!r}")
        # The worker drains the queue at least every half second and writes every
        # flush_interval (see _tick).
        super().__init__("boto_resilience-emf", min(0.5, flush_interval or 0.5), max_queue)
        self.namespace = validate_namespace(namespace)
        self.dimensions = validate_dimensions(dimensions)
        self.flush_interval = float(flush_interval)
        self.by_category = by_category
        self.max_values = max_values
        self._stream = stream
        self._logger = logger
        self._clock = clock
        self._rand = (rand or random.Random()).randrange
        self._write_lock = threading.Lock()
        self._aggs: dict[tuple[str, str, Optional[str]], OpAggregate] = {}
        self._changes: dict[tuple[str, str, str], int] = {}
        self._sync = self.flush_interval == 0
        self._last_flush = time.monotonic()
        self._atexit = close_at_exit(self)
        self._closed = False

    # --- caller's thread: queue (QueuedSink._put), write at once only in synchronous mode ----

    def on_call(self, record: CallRecord) -> None:
        self._put(record)
        if self._sync:  # synchronous mode writes when the call ends, its attempts included
            self.flush()

    def on_state_change(self, change: StateChange) -> None:
        self._put(change)
        if self._sync:
            self.flush()

    # --- worker (or flush): aggregate, write ---------------------------------------------

    def _ingest(self, record: Any) -> None:
        # Runs under _agg_lock.
        if isinstance(record, StateChange):
            key3 = (record.component, record.scope, record.new)
            self._changes[key3] = self._changes.get(key3, 0) + 1
            return
        key = (record.service, record.operation, record.region)
        agg = self._aggs.get(key)
        if agg is None:
            agg = self._aggs[key] = OpAggregate(self.max_values, self._rand)
        agg.add(record)

    def _tick(self) -> None:
        self.drain()
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def flush(self) -> None:
        """Write everything recorded so far as EMF documents, now. Never raises."""
        self.drain()
        with self._agg_lock:
            aggs, self._aggs = self._aggs, {}
            changes, self._changes = self._changes, {}
            self._last_flush = time.monotonic()
        if not aggs and not changes:
            return
        try:
            documents = self.documents(aggs, changes, int(self._clock() * 1000))
            self._write(documents)
        except Exception as exc:
            self.dropped += sum(a.calls + a.attempts for a in aggs.values()) + len(changes)
            self._errors.warning("emf-write", "EMF sink could not write its documents", exc)

    def _write(self, documents: list[dict[str, Any]]) -> None:
        lines = [json.dumps(doc, separators=(",", ":")) for doc in documents]
        with self._write_lock:
            if self._logger is not None:
                for line in lines:
                    self._logger.info(line)
                return
            stream = self._stream if self._stream is not None else sys.stdout
            stream.write("\n".join(lines) + "\n")
            stream.flush()

    def _directive(self, metrics: list[tuple[str, str]], dims: Sequence[Sequence[str]]) -> Any:
        return {
            "Namespace": self.namespace,
            "Dimensions": [list(d) for d in dims],
            "Metrics": [{"Name": n, "Unit": u} for n, u in metrics],
        }

    def documents(
        self,
        aggs: dict[tuple[str, str, Optional[str]], OpAggregate],
        changes: dict[tuple[str, str, str], int],
        timestamp_ms: int,
    ) -> list[dict[str, Any]]:
        """The EMF documents for a batch of aggregates (pure; used by ``flush`` and tests)."""
        docs: list[dict[str, Any]] = []
        cw = names

        def document(root: dict[str, Any], metrics: list[tuple[str, str]],
                     dims: Sequence[Sequence[str]]) -> dict[str, Any]:
            doc: dict[str, Any] = {
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [self._directive(metrics, dims)],
                }
            }
            doc.update(root)
            return doc

        for (service, operation, region), agg in aggs.items():
            base = {
                cw.SERVICE.cloudwatch: names.service_id(service),
                cw.METHOD.cloudwatch: names.clean_value(operation) or "unknown",
                cw.REGION.cloudwatch: names.clean_value(region) or "unknown",
            }
            latencies = [round(v * 1000, 3) for v in agg.latency.values]
            attempt_latencies = [round(v * 1000, 3) for v in agg.attempt_latency.values]
            root: dict[str, Any] = dict(base)
            metrics: list[tuple[str, str]] = []
            for spec, value in (
                (cw.CALLS, agg.calls),
                (cw.ERRORS, agg.errors),
                (cw.ATTEMPTS, agg.attempts),
                (cw.RETRIES, agg.retries),
                (cw.THROTTLES, agg.throttles),
                (cw.BACKOFF, round(agg.backoff * 1000, 3)),
            ):
                root[spec.cloudwatch] = value
                metrics.append((spec.cloudwatch, spec.cloudwatch_unit))
            chunks = max(
                1,
                -(-len(latencies) // MAX_VALUES_PER_ARRAY),
                -(-len(attempt_latencies) // MAX_VALUES_PER_ARRAY),
            )
            for i in range(chunks):
                if i > 0:
                    root = dict(base)
                    metrics = []
                lo, hi = i * MAX_VALUES_PER_ARRAY, (i + 1) * MAX_VALUES_PER_ARRAY
                for spec, values in (
                    (cw.CALL_DURATION, latencies[lo:hi]),
                    (cw.ATTEMPT_DURATION, attempt_latencies[lo:hi]),
                ):
                    if values:
                        root[spec.cloudwatch] = values
                        metrics.append((spec.cloudwatch, spec.cloudwatch_unit))
                if metrics:
                    docs.append(document(root, metrics, self.dimensions))
            if self.by_category:
                categories = sorted(set(agg.retries_by_category) | set(agg.errors_by_category))
                cat_dims = [[*d, cw.CATEGORY.cloudwatch] for d in self.dimensions]
                for category in categories:
                    root = dict(base)
                    root[cw.CATEGORY.cloudwatch] = names.clean_value(category) or "Other"
                    root[cw.RETRIES.cloudwatch] = agg.retries_by_category.get(category, 0)
                    root[cw.ERRORS.cloudwatch] = agg.errors_by_category.get(category, 0)
                    docs.append(document(
                        root,
                        [(cw.RETRIES.cloudwatch, cw.RETRIES.cloudwatch_unit),
                         (cw.ERRORS.cloudwatch, cw.ERRORS.cloudwatch_unit)],
                        cat_dims,
                    ))
        for (component, scope, state), count in changes.items():
            root = {
                cw.COMPONENT.cloudwatch: names.clean_value(component) or "unknown",
                cw.STATE.cloudwatch: names.clean_value(state) or "unknown",
                cw.SCOPE.cloudwatch: names.clean_value(scope),
                cw.STATE_CHANGES.cloudwatch: count,
            }
            docs.append(document(
                root,
                [(cw.STATE_CHANGES.cloudwatch, cw.STATE_CHANGES.cloudwatch_unit)],
                [[cw.COMPONENT.cloudwatch, cw.STATE.cloudwatch]],
            ))
        return docs

    def close(self) -> None:
        """Stop the background thread and write what is left. Idempotent."""
        if self._closed:
            return
        self._closed = True
        cancel_close_at_exit(self._atexit)
        self._worker.stop(timeout=5.0, final_tick=False)
        self.flush()
        self._sync = True  # a record arriving after close (a call in flight) is written at once

    def __repr__(self) -> str:
        return (
            f"EmfSink(namespace={self.namespace!r}, flush_interval={self.flush_interval!r}, "
            f"dimensions={[list(d) for d in self.dimensions]!r})"
        )
