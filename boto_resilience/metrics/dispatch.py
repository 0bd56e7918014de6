"""Fan-out of records to sinks, failing open.

The adapter (:mod:`boto_resilience.handlers`) owns one :class:`Dispatcher` per configuration and
calls it on the user's thread, once per attempt and once per call. The dispatcher's promises:

* **Nothing reaches the user's call.** Every sink method runs inside ``try/except Exception``; a
  failure drops that one record for that sink, is counted in ``dropped`` and is logged at WARNING
  at most once a minute per sink (with the traceback the first time).
* **Nothing blocks the user's call.** The sinks shipped here are *inline*: their ``on_*`` methods
  only queue the record (or, for logging, format a line when its level is on) and leave
  aggregation and I/O to their own background threads.
  A sink from anywhere else is not trusted with the caller's thread: it is wrapped in a
  :class:`BackgroundSink` (bounded queue, its own thread, overflow counted in ``dropped``). A
  third-party sink that is known to be cheap can opt out with a class attribute ``inline = True``.
* **Nothing costs anything when there are no sinks.** ``active`` is False and the adapter can skip
  building records at all.

Sinks may leave out methods they do not need (a sink with only ``on_call`` is fine).

``close()`` flushes but does not close the sinks: their owner does (see ``Dispatcher.close``).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional

from boto_resilience.metrics._support import PeriodicWorker, RateLimitedLog
from boto_resilience.metrics.records import AttemptRecord, CallRecord, StateChange

_METHODS = ("on_attempt", "on_call", "on_state_change")

_Handler = tuple[Any, Callable[[Any], None]]


def is_inline(sink: object) -> bool:
    """Whether a sink may run on the caller's thread: its own ``inline`` attribute if it has one,
    otherwise True only for this package's sinks."""
    flag = getattr(sink, "inline", None)
    if flag is not None:
        return bool(flag)
    return type(sink).__module__.startswith("boto_resilience.")


class Dispatcher:
    """Calls every sink for every record; never raises, never blocks (see the module docstring)."""

    def __init__(
        self,
        sinks: Sequence[Any] = (),
        *,
        max_queue: int = 10_000,
        errors: Optional[RateLimitedLog] = None,
    ) -> None:
        prepared: list[Any] = []
        for sink in sinks:
            if not any(callable(getattr(sink, m, None)) for m in _METHODS):
                raise TypeError(
                    f"{sink!r} is not a metrics sink: it needs at least one of "
                    f"{', '.join(_METHODS)} (see boto_resilience.metrics.records.Sink)"
                )
            prepared.append(sink if is_inline(sink) else BackgroundSink(sink, max_queue=max_queue))
        self.sinks: tuple[Any, ...] = tuple(prepared)
        #: False when there is no sink: the adapter may then skip building records altogether.
        self.active: bool = bool(self.sinks)
        self._attempt = self._handlers("on_attempt")
        self._call = self._handlers("on_call")
        self._change = self._handlers("on_state_change")
        self._errors = errors or RateLimitedLog()
        self._failures = 0
        self._closed = False

    def _handlers(self, method: str) -> tuple[_Handler, ...]:
        return tuple(
            (sink, getattr(sink, method))
            for sink in self.sinks
            if callable(getattr(sink, method, None))
        )

    # The three entry points are deliberately written out: a shared helper would add a call frame
    # per record, and this is the code every AWS call runs.

    def on_attempt(self, record: AttemptRecord) -> None:
        for sink, method in self._attempt:
            try:
                method(record)
            except Exception as exc:
                self._failed(sink, "on_attempt", exc)

    def on_call(self, record: CallRecord) -> None:
        for sink, method in self._call:
            try:
                method(record)
            except Exception as exc:
                self._failed(sink, "on_call", exc)

    def on_state_change(self, change: StateChange) -> None:
        for sink, method in self._change:
            try:
                method(change)
            except Exception as exc:
                self._failed(sink, "on_state_change", exc)

    def _failed(self, sink: object, method: str, exc: Exception) -> None:
        self._failures += 1
        self._errors.warning(
            f"sink-{id(sink)}",
            f"metrics sink {type(sink).__name__} raised in {method}; the record is dropped for "
            f"that sink and the AWS call is unaffected ({self._failures} dropped so far)",
            exc,
        )

    @property
    def dropped(self) -> int:
        """Records lost: sink methods that raised, plus what each sink dropped itself (full
        queues, failed sends)."""
        total = self._failures
        for sink in self.sinks:
            value = getattr(sink, "dropped", 0)
            if isinstance(value, int):
                total += value
        return total

    def flush(self, timeout: float = 5.0) -> None:
        """Ask every sink that buffers (``flush()``) to deliver what it holds. For tests, and for
        the end of a Lambda invocation."""
        for sink in self.sinks:
            flush = getattr(sink, "flush", None)
            if callable(flush):
                try:
                    flush()
                except Exception as exc:
                    self._failed(sink, "flush", exc)

    def close(self) -> None:
        """Stop dispatching: deliver what the background queues hold and flush every sink.

        Sinks are *not* closed: the dispatcher does not own them. One sink instance may serve
        several dispatchers (``install()`` covers each session with its own), and closing it
        here would silence it for the others. Whoever built a sink closes it (the plugin closes
        the sinks it built from names; a user closes the instances they passed, or leaves it to
        the sinks' own exit hooks). Idempotent; never raises."""
        if self._closed:
            return
        self._closed = True
        self.active = False
        for sink in self.sinks:
            try:
                if isinstance(sink, BackgroundSink):
                    sink.close(close_sink=False)  # the wrapper is ours; what it wraps is not
                else:
                    flush = getattr(sink, "flush", None)
                    if callable(flush):
                        flush()
            except Exception as exc:
                self._failed(sink, "close", exc)

    def __repr__(self) -> str:
        names = ", ".join(type(s).__name__ for s in self.sinks)
        return f"Dispatcher([{names}])"


class BackgroundSink:
    """Runs another sink on a thread of its own, behind a bounded queue.

    The caller's side is a ``len`` check and a ``deque.append`` (both atomic in CPython, no lock).
    When the queue is full the record is dropped and counted: a slow or stuck sink costs records,
    never the caller's time. The worker is woken when the queue goes from empty to non-empty, and
    polls once a second as a safety net against the (benign) race in that check."""

    inline = True

    def __init__(
        self,
        sink: Any,
        *,
        max_queue: int = 10_000,
        errors: Optional[RateLimitedLog] = None,
    ) -> None:
        self.sink = sink
        self.max_queue = max_queue
        self.dropped = 0
        self._failures = 0
        self._queue: collections.deque[tuple[str, Any]] = collections.deque()
        self._errors = errors or RateLimitedLog()
        self._idle = threading.Event()
        self._idle.set()
        self._closed = False
        self._worker = PeriodicWorker(
            f"boto_resilience-sink-{type(sink).__name__}", 1.0, self._drain, self._errors
        )

    def _put(self, item: tuple[str, Any]) -> None:
        queue = self._queue
        if len(queue) >= self.max_queue or self._closed:
            self.dropped += 1
            return
        was_empty = not queue
        queue.append(item)
        if was_empty:
            self._idle.clear()
            self._worker.ensure_started()
            self._worker.wake()

    def on_attempt(self, record: AttemptRecord) -> None:
        self._put(("on_attempt", record))

    def on_call(self, record: CallRecord) -> None:
        self._put(("on_call", record))

    def on_state_change(self, change: StateChange) -> None:
        self._put(("on_state_change", change))

    def _drain(self) -> None:
        queue = self._queue
        while True:
            try:
                method_name, record = queue.popleft()
            except IndexError:
                break
            method = getattr(self.sink, method_name, None)
            if method is None:
                continue
            try:
                method(record)
            except Exception as exc:
                self._failures += 1
                self.dropped += 1
                self._errors.warning(
                    f"sink-{id(self.sink)}",
                    f"metrics sink {type(self.sink).__name__} raised in {method_name}; the record "
                    f"is dropped ({self._failures} so far)",
                    exc,
                )
        self._idle.set()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait (up to ``timeout``) until the worker has handed every queued record to the sink."""
        if self._closed or (not self._queue and self._idle.is_set()):
            return
        self._worker.ensure_started()
        deadline = time.monotonic() + timeout
        while (self._queue or not self._idle.is_set()) and time.monotonic() < deadline:
            self._worker.wake()
            self._idle.wait(0.05)

    def close(self, close_sink: bool = True) -> None:
        """Stop the worker after it delivered what is queued; then close the wrapped sink
        unless ``close_sink`` is False."""
        self._closed = True
        self._worker.stop(timeout=5.0, final_tick=True)  # the final tick drains what is left
        close = getattr(self.sink, "close", None)
        if close_sink and callable(close):
            close()

    def __repr__(self) -> str:
        return f"BackgroundSink({self.sink!r}, queued={len(self._queue)}, dropped={self.dropped})"
