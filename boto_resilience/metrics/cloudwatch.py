"""CloudWatch ``PutMetricData`` from a background thread, as statistic sets.

The caller's side is a length check and a ``deque.append`` of the record (no lock, no I/O; see
:class:`~boto_resilience.metrics._support.QueuedSink`); when the queue holds ``max_queue``
records the record is dropped and counted in ``dropped``. A daemon thread drains the queue every
second (sooner when it fills up) into statistic sets, and
every ``flush_interval`` seconds sends them with ``PutMetricData`` (up to ``batch_size`` data per
request), and once more at ``close()`` and at interpreter exit.

Each metric is a statistic set (SampleCount, Sum, Minimum, Maximum) of per-event observations, so
one datum per metric and dimension set per interval carries what a data point per event would:

================  ==============  ===================================================
metric            unit            one observation per
================  ==============  ===================================================
Calls             Count           call (value 1): Sum = calls
Errors            Count           call (1 if it failed, else 0): Average = error rate
CallLatency       Milliseconds    call
Attempts          Count           attempt (value 1)
Retries           Count           attempt (1 if retried, else 0): Average = retry rate
Throttles         Count           attempt (1 if throttled, else 0)
AttemptLatency    Milliseconds    attempt
BackoffTime       Milliseconds    retry (the backoff before the next attempt)
Retries, Errors   Count           per ErrorCategory too (with ``by_category``)
StateChanges      Count           state change (Component, State)
================  ==============  ===================================================

Dimensions default to (Service, Operation), ``Service`` being the AWS service id; ``dimensions``
takes several sets as in the EMF sink. The metrics go to ``region_name``, else the region boto3
resolves from the environment and config files, else the region of the calls being measured.

The sink's own client must not be instrumented by this plugin, or every publish would produce
records about itself. It is built from a fresh ``boto3.Session`` (its own botocore session) inside
the plugin's ``uninstrumented()`` block (so ``install()`` does not cover the new session), and
marked ``client._boto_resilience_skip = True``, which ``attach()`` honours; an injected client is
marked the same way. It keeps botocore's standard retries with short timeouts: it runs on its own
thread, so its retries delay no one.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional, Union

from boto_resilience.metrics import names
from boto_resilience.metrics._support import QueuedSink, cancel_close_at_exit, close_at_exit
from boto_resilience.metrics.emf import DEFAULT_DIMENSIONS, validate_dimensions, validate_namespace
from boto_resilience.metrics.records import SUCCESS, AttemptRecord, CallRecord, StateChange

#: PutMetricData accepts at most 1000 data per request (and 1 MB).
MAX_BATCH = 1000

#: The attribute the plugin checks to leave a client alone.
SKIP_ATTRIBUTE = "_boto_resilience_skip"

_Dims = tuple[tuple[str, str], ...]
_StatKey = tuple[str, str, _Dims]  # (metric name, unit, dimensions)
_Record = Union[AttemptRecord, CallRecord, StateChange]


class _Stat:
    __slots__ = ("count", "total", "minimum", "maximum")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.minimum = float("inf")
        self.maximum = float("-inf")

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if value < self.minimum:
            self.minimum = value
        if value > self.maximum:
            self.maximum = value


class CloudWatchSink(QueuedSink):
    """Publishes aggregated metrics to CloudWatch from a background thread (module docstring)."""

    def __init__(
        self,
        namespace: str = "BotoResilience",
        client: Any = None,
        flush_interval: float = 60.0,
        max_queue: int = 10_000,
        *,
        region_name: Optional[str] = None,
        dimensions: Sequence[Sequence[str]] = DEFAULT_DIMENSIONS,
        by_category: bool = True,
        storage_resolution: int = 60,
        batch_size: int = MAX_BATCH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if flush_interval <= 0:
            raise ValueError(f"flush_interval must be > 0 seconds, got {flush_interval!r}")
        if storage_resolution not in (1, 60):
            raise ValueError(f"storage_resolution is 1 or 60, got {storage_resolution!r}")
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH}, got {batch_size!r}")
        super().__init__("boto_resilience-cloudwatch", min(1.0, flush_interval), max_queue)
        self.namespace = validate_namespace(namespace)
        self.dimensions = validate_dimensions(dimensions)
        self.flush_interval = float(flush_interval)
        self.region_name = region_name
        self.by_category = by_category
        self.storage_resolution = storage_resolution
        self.batch_size = batch_size
        self._clock = clock
        self._client = client
        self._seen_region: Optional[str] = None
        if client is not None:
            _mark(client)
        self.published = 0  # data sent successfully (for tests and curiosity)
        self._stats: dict[_StatKey, _Stat] = {}
        self._last_publish = time.monotonic()
        self._publish_lock = threading.Lock()
        self._atexit = close_at_exit(self)
        self._closed = False

    # The caller's side is QueuedSink._put. Everything below runs on the worker (or flush).

    def _dims(self, base: dict[str, str]) -> list[_Dims]:
        return [tuple((d, base[d]) for d in dim_set) for dim_set in self.dimensions]

    def _add(self, spec: names.MetricName, dims_list: list[_Dims], value: float) -> None:
        for dims in dims_list:
            key = (spec.cloudwatch, spec.cloudwatch_unit, dims)
            stat = self._stats.get(key)
            if stat is None:
                stat = self._stats[key] = _Stat()
            stat.add(value)

    def _ingest(self, record: _Record) -> None:
        # Runs under _agg_lock.
        cw = names
        if isinstance(record, StateChange):
            dims: _Dims = (
                (cw.COMPONENT.cloudwatch, names.clean_value(record.component) or "unknown"),
                (cw.STATE.cloudwatch, names.clean_value(record.new) or "unknown"),
            )
            self._add(cw.STATE_CHANGES, [dims], 1.0)
            return
        if self._seen_region is None and record.region:
            self._seen_region = record.region
        base = {
            cw.SERVICE.cloudwatch: names.service_id(record.service),
            cw.METHOD.cloudwatch: names.clean_value(record.operation) or "unknown",
            cw.REGION.cloudwatch: names.clean_value(record.region) or "unknown",
        }
        dims_list = self._dims(base)
        category = str(record.category) if record.category is not None else "Other"
        cat_dims = [(*d, (cw.CATEGORY.cloudwatch, category)) for d in dims_list]
        if isinstance(record, CallRecord):
            failed = record.outcome != SUCCESS
            self._add(cw.CALLS, dims_list, 1.0)
            self._add(cw.ERRORS, dims_list, 1.0 if failed else 0.0)
            self._add(cw.CALL_DURATION, dims_list, record.latency * 1000.0)
            if failed and self.by_category:
                self._add(cw.ERRORS, cat_dims, 1.0)
        else:
            self._add(cw.ATTEMPTS, dims_list, 1.0)
            self._add(cw.RETRIES, dims_list, 1.0 if record.will_retry else 0.0)
            self._add(cw.THROTTLES, dims_list, 1.0 if record.throttled else 0.0)
            self._add(cw.ATTEMPT_DURATION, dims_list, record.latency * 1000.0)
            if record.will_retry:
                self._add(cw.BACKOFF, dims_list, record.backoff * 1000.0)
                if self.by_category:
                    self._add(cw.RETRIES, cat_dims, 1.0)

    def _tick(self) -> None:
        self.drain()
        if time.monotonic() - self._last_publish >= self.flush_interval:
            self.flush()

    def _get_client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=3,
                read_timeout=10,
                user_agent_extra="boto_resilience-cloudwatch-sink",
            )
            with _uninstrumented():
                session = boto3.session.Session()  # a fresh botocore session of its own
                # No region given nor configured: publish where the measured calls go.
                region = self.region_name or session.region_name or self._seen_region
                client = session.client("cloudwatch", region_name=region, config=config)
            _mark(client)
            self._client = client
        return self._client

    def _publish(self, stats: dict[_StatKey, _Stat]) -> None:
        timestamp = datetime.datetime.fromtimestamp(self._clock(), tz=datetime.timezone.utc)
        data = [
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                "Timestamp": timestamp,
                "StatisticValues": {
                    "SampleCount": float(stat.count),
                    "Sum": stat.total,
                    "Minimum": stat.minimum,
                    "Maximum": stat.maximum,
                },
                "Unit": unit,
                "StorageResolution": self.storage_resolution,
            }
            for (name, unit, dims), stat in stats.items()
        ]
        try:
            client = self._get_client()
        except Exception as exc:
            self.dropped += len(data)
            self._errors.warning(
                "cloudwatch-client", "CloudWatch sink cannot create its client; metrics dropped",
                exc,
            )
            return
        for start in range(0, len(data), self.batch_size):
            batch = data[start:start + self.batch_size]
            try:
                client.put_metric_data(Namespace=self.namespace, MetricData=batch)
                self.published += len(batch)
            except Exception as exc:
                self.dropped += len(batch)
                self._errors.warning(
                    "cloudwatch-put", "CloudWatch sink: PutMetricData failed; data dropped", exc
                )

    def flush(self) -> None:
        """Aggregate what is queued and publish it now, on the caller's thread."""
        self.drain()
        with self._publish_lock:  # one publisher at a time: the worker, flush() or close()
            with self._agg_lock:
                stats, self._stats = self._stats, {}
                self._last_publish = time.monotonic()
            if stats:
                self._publish(stats)

    def close(self) -> None:
        """Stop the worker and publish what is left. Idempotent; never raises."""
        if self._closed:
            return
        self._closed = True
        cancel_close_at_exit(self._atexit)
        self._worker.stop(timeout=10.0, final_tick=False)
        self.flush()

    def __repr__(self) -> str:
        return (
            f"CloudWatchSink(namespace={self.namespace!r}, flush_interval={self.flush_interval!r},"
            f" queued={len(self._queue)}, dropped={self.dropped})"
        )


def _uninstrumented() -> contextlib.AbstractContextManager[None]:
    """The plugin's "create clients uncovered" block (so that neither ``install()`` nor a
    session registration covers the sink's own client); a no-op if the plugin is unavailable."""
    try:
        from boto_resilience.plugin import uninstrumented

        return uninstrumented()
    except Exception:
        return contextlib.nullcontext()


def _mark(client: Any) -> None:
    try:
        setattr(client, SKIP_ATTRIBUTE, True)
    except Exception:
        pass
