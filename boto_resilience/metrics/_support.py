"""Plumbing shared by the sinks: rate-limited error logging and a lazily started background worker.

Both exist for the "never in the way" rule. A sink's failure must be visible (logged) without
flooding the log at the request rate, hence :class:`RateLimitedLog`. Anything slow (network,
serialisation of a batch) happens on a :class:`PeriodicWorker` thread, which is started on first
use rather than at construction (no thread for a sink that never sees a record, and nothing started
at import), survives ``os.fork`` (restarted in the child on next use) and is stopped by ``close()``.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import weakref
from typing import Any, Callable, Optional

#: The logger for everything the metrics layer says (sink output and sink trouble alike).
LOGGER_NAME = "boto_resilience.metrics"
logger = logging.getLogger(LOGGER_NAME)


class RateLimitedLog:
    """Logs a warning for a key at most once per ``interval`` seconds, then says how many were
    suppressed in between. The first message for a key carries the traceback."""

    def __init__(
        self,
        log: Optional[logging.Logger] = None,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log or logger
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def warning(self, key: str, message: str, exc: Optional[BaseException] = None) -> None:
        try:
            now = self._clock()
            with self._lock:
                last = self._last.get(key)
                if last is not None and now - last < self._interval:
                    self._suppressed[key] = self._suppressed.get(key, 0) + 1
                    return
                first = last is None
                suppressed = self._suppressed.pop(key, 0)
                self._last[key] = now
            if suppressed:
                message = f"{message} ({suppressed} similar messages suppressed)"
            if first and exc is not None:
                self._log.warning(message, exc_info=(type(exc), exc, exc.__traceback__))
            elif exc is not None:
                self._log.warning("%s: %s: %s", message, type(exc).__name__, exc)
            else:
                self._log.warning(message)
        except Exception:  # logging itself failed (closed stream...): nothing better to do
            pass


class PeriodicWorker:
    """A daemon thread that calls ``tick()`` every ``interval`` seconds, or sooner on ``wake()``.

    ``ensure_started()`` is cheap after the first call (one attribute read), so sinks call it on
    their hot path. ``stop()`` runs a last ``tick()`` on the caller's thread after the worker ended,
    so a final flush never races the worker."""

    def __init__(
        self,
        name: str,
        interval: float,
        tick: Callable[[], None],
        errors: RateLimitedLog,
    ) -> None:
        self.name = name
        self.interval = interval
        self._tick = tick
        self._errors = errors
        self._started = False
        self._stopped = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None
        ref = weakref.ref(self)

        def _after_fork() -> None:  # the thread did not survive the fork: start afresh on use
            worker = ref()
            if worker is not None:
                worker._started = False
                worker._thread = None
                worker._lock = threading.Lock()
                worker._wake = threading.Event()

        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork)

    def ensure_started(self) -> None:
        if self._started:
            return
        with self._lock:
            if self._started or self._stopped:
                return
            thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread = thread
            self._started = True
            thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stopped:
                break
            self._safe_tick()

    def _safe_tick(self) -> None:
        try:
            self._tick()
        except Exception as exc:
            self._errors.warning(self.name, f"metrics worker {self.name!r} failed", exc)

    def stop(self, timeout: float = 5.0, final_tick: bool = True) -> None:
        with self._lock:
            already = self._stopped
            self._stopped = True
            thread = self._thread
        if already:
            return
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if final_tick:
            self._safe_tick()


def close_at_exit(obj: object) -> Callable[[], None]:
    """Register ``obj.close()`` to run at interpreter exit without keeping ``obj`` alive; returns
    the registered callable, for ``atexit.unregister`` when ``obj`` is closed earlier."""
    import atexit

    ref = weakref.ref(obj)

    def _close() -> None:
        target = ref()
        close = getattr(target, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                pass

    atexit.register(_close)
    return _close


def cancel_close_at_exit(callback: Callable[[], None]) -> None:
    """Undo :func:`close_at_exit` (the object was closed already). Never raises."""
    try:
        import atexit

        atexit.unregister(callback)
    except Exception:
        pass


class QueuedSink:
    """Base of the aggregating sinks (memory, EMF, CloudWatch): the caller's thread only queues.

    Aggregating a record where it is produced costs several times its bare instruction count:
    it runs between botocore's own code and competes with it for the CPU caches. Measured on a
    real boto3 call (``tests/benchmarks/bench_overhead.py``), the memory sink aggregating inline
    added ~9 µs per call; queueing instead costs the caller ~2-3 µs, and the batched aggregation
    another ~4 µs of CPU, on another thread and off the call's latency (Prometheus: ~17-20 µs
    inline, ~11 µs in total queued). So the hot path here is a length check and a
    ``deque.append`` (atomic in CPython: no lock); a :class:`PeriodicWorker` drains the queue
    every ``interval`` seconds, or as soon as it holds ``max_queue // 8`` records, into
    ``_ingest`` (one record at a time, under ``_agg_lock``). Past ``max_queue`` queued records a
    record is dropped and counted in ``dropped``. Readers call :meth:`drain` first so that they
    see every record already queued.
    """

    inline = True

    def __init__(self, name: str, interval: float, max_queue: int,
                 errors: Optional[RateLimitedLog] = None) -> None:
        if max_queue < 1:
            raise ValueError(f"max_queue must be >= 1, got {max_queue!r}")
        self.max_queue = max_queue
        self.dropped = 0
        self._queue: collections.deque[Any] = collections.deque()
        self._wake_at = max(1, max_queue // 8)
        self._agg_lock = threading.Lock()
        self._errors = errors or RateLimitedLog()
        self._worker = PeriodicWorker(name, interval, self._tick, self._errors)

    def _put(self, record: Any) -> None:
        queue = self._queue
        size = len(queue)
        if size >= self.max_queue:
            self.dropped += 1
            return
        queue.append(record)
        if size == self._wake_at:
            self._worker.wake()
        if not self._worker._started:
            self._worker.ensure_started()

    on_attempt = _put
    on_call = _put
    on_state_change = _put

    def drain(self) -> None:
        """Aggregate every queued record now (on the caller's thread)."""
        queue = self._queue
        ingest = self._ingest
        with self._agg_lock:
            while True:
                try:
                    record = queue.popleft()
                except IndexError:
                    return
                try:
                    ingest(record)
                except Exception as exc:
                    self.dropped += 1
                    self._errors.warning(f"ingest-{self._worker.name}",
                                         f"{type(self).__name__} could not aggregate a record",
                                         exc)

    def _ingest(self, record: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _tick(self) -> None:
        """What the worker does each time it wakes: by default, drain."""
        self.drain()
