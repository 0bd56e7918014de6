"""Metrics: what happened to every AWS call, in the backend of your choice.

Architecture::

    handlers.py (adapter) --AttemptRecord / CallRecord / StateChange--> Dispatcher --> sinks

* :mod:`~boto_resilience.metrics.records`: the frozen records, one per attempt and per call, and
  the ``Sink`` protocol (``on_attempt``, ``on_call``, ``on_state_change``, ``close``).
* :mod:`~boto_resilience.metrics.dispatch`: the :class:`Dispatcher`, which fans records out to the
  sinks on the caller's thread and fails open (a sink that raises loses that record, is counted
  and logged once a minute; a foreign sink runs behind a bounded queue on its own thread).
* :mod:`~boto_resilience.metrics.names`: the one naming table (OpenTelemetry names and
  attributes, their Prometheus / CloudWatch / StatsD spellings).
* One module per sink: ``memory`` (aggregates for tests and the demo), ``logging`` (standard
  logging), ``emf`` (CloudWatch Embedded Metric Format on stdout), ``prometheus``
  (``prometheus_client``), ``otel`` (OpenTelemetry API), ``statsd`` (UDP), ``cloudwatch``
  (``PutMetricData`` from a background thread).

On the caller's thread the aggregating sinks only queue the record (a ``deque.append``; see
``_support.QueuedSink``) and the logging sink formats a line only when its level is enabled;
aggregation, serialisation and I/O happen on background threads. Optional SDKs are imported only
when their sink is built.

Choose sinks by name (``BOTO_RESILIENCE_METRICS=emf,prometheus``; :func:`build_sink`) or pass sink
instances (``metrics=[PrometheusSink(registry=my_registry)]``).
"""

from __future__ import annotations

from typing import Any, Callable

from boto_resilience.metrics.dispatch import BackgroundSink, Dispatcher, is_inline
from boto_resilience.metrics.records import (
    ERROR,
    SUCCESS,
    AttemptRecord,
    CallRecord,
    Sink,
    StateChange,
)

__all__ = [
    "SINK_NAMES",
    "AttemptRecord",
    "BackgroundSink",
    "CallRecord",
    "Dispatcher",
    "ERROR",
    "MissingDependency",
    "SUCCESS",
    "Sink",
    "StateChange",
    "build_sink",
    "is_inline",
]

#: The names accepted by :func:`build_sink` and ``BOTO_RESILIENCE_METRICS``.
SINK_NAMES = ("memory", "logging", "emf", "prometheus", "otel", "statsd", "cloudwatch")


class MissingDependency(ImportError):
    """A sink's optional SDK is not installed; the message names the extra to install."""

    def __init__(self, sink: str, package: str) -> None:
        self.sink = sink
        self.package = package
        super().__init__(
            f"the {sink!r} metrics sink needs {package}, which is not installed: "
            f"pip install 'boto_resilience[{sink}]'",
            name=package,
        )


def _memory(namespace: str) -> Any:
    from boto_resilience.metrics.memory import MemorySink

    return MemorySink()


def _logging(namespace: str) -> Any:
    from boto_resilience.metrics.logging import LoggingSink

    return LoggingSink()


def _emf(namespace: str) -> Any:
    from boto_resilience.metrics.emf import EmfSink

    return EmfSink(namespace=namespace)


def _prometheus(namespace: str) -> Any:
    try:
        import prometheus_client  # noqa: F401
    except ImportError as exc:
        raise MissingDependency("prometheus", "prometheus_client") from exc
    from boto_resilience.metrics.prometheus import PrometheusSink

    return PrometheusSink(namespace=namespace)


def _otel(namespace: str) -> Any:
    try:
        import opentelemetry.metrics  # noqa: F401
    except ImportError as exc:
        raise MissingDependency("otel", "opentelemetry-api") from exc
    from boto_resilience.metrics.otel import OtelSink

    return OtelSink()


def _statsd(namespace: str) -> Any:
    from boto_resilience.metrics.names import snake_case
    from boto_resilience.metrics.statsd import StatsdSink

    return StatsdSink(prefix=snake_case(namespace) + ".")


def _cloudwatch(namespace: str) -> Any:
    from boto_resilience.metrics.cloudwatch import CloudWatchSink

    return CloudWatchSink(namespace=namespace)


_BUILDERS: dict[str, Callable[[str], Any]] = {
    "memory": _memory,
    "logging": _logging,
    "emf": _emf,
    "prometheus": _prometheus,
    "otel": _otel,
    "statsd": _statsd,
    "cloudwatch": _cloudwatch,
}


def build_sink(name: str, namespace: str = "BotoResilience") -> Sink:
    """Build a sink by name with its defaults. ``namespace`` is the CloudWatch namespace (EMF,
    cloudwatch) and, snake_cased, the Prometheus and StatsD prefix.

    Raises ValueError for an unknown name and :class:`MissingDependency` (an ImportError) when the
    sink's optional SDK is not installed."""
    key = name.strip().lower() if isinstance(name, str) else name
    builder = _BUILDERS.get(key)
    if builder is None:
        raise ValueError(
            f"unknown metrics sink {name!r}: accepted values are {', '.join(SINK_NAMES)}"
        )
    sink: Sink = builder(namespace)
    return sink
