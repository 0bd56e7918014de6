"""Plumbing shared by the sinks: rate-limited error logging and a lazily started background worker.

Both exist for the "never in the way" rule. A sink's failure must be visible (logged) without
flooding the log at the request rate, hence :class:`RateLimitedLog`. Anything slow (network,
serialisation of a batch) happens on a :class:`PeriodicWorker` thread, which is started on first
use rather than at construction (no thread for a sink that never sees a record, and nothing started
at import), survives ``os.fork`` (restarted in the child on next use) and is stopped by ``close()``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import Callable, Optional

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
