"""Metrics as log lines, through the standard :mod:`logging` module.

Logger ``boto_resilience.metrics``, so the lines land in whatever handlers and formatters the
application already has. Levels are chosen so that a default (WARNING) configuration shows only
what needs attention:

* DEBUG: one line per call (``aws.call service=... operation=... outcome=... attempts=...``).
* INFO: an attempt that is being retried.
* WARNING: a throttled attempt; a resilience component entering an ``open`` state.

Each line is ``key=value`` text (greppable, logfmt-like) and also carries the same fields as a dict
in ``record.aws`` (``extra``), for JSON formatters. Only record fields are logged, so no request
parameter, resource name or credential can appear.

Retry and throttle lines are rate-limited per (service, operation, level): at most one per
``interval`` seconds, the next one saying how many were suppressed. A throttling storm is then a
handful of lines, not one per request. Nothing is formatted unless the level is enabled.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Optional

from boto_resilience.metrics._support import LOGGER_NAME
from boto_resilience.metrics.records import SUCCESS, AttemptRecord, CallRecord, StateChange

_OPEN_STATES = frozenset({"open", "opened", "engaged", "throttling", "exhausted"})


class LoggingSink:
    """Writes records as structured log lines (see the module docstring for levels)."""

    inline = True

    def __init__(
        self,
        logger: Optional[logging.Logger] = None,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger or logging.getLogger(LOGGER_NAME)
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        # (service, operation, level) -> (time of the last line, lines suppressed since)
        self._last: dict[tuple[str, str, int], tuple[float, int]] = {}

    def _allow(self, record: AttemptRecord, level: int) -> Optional[int]:
        """None if this line is suppressed, else the number suppressed before it."""
        key = (record.service, record.operation, level)
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last[0] < self.interval:
                self._last[key] = (last[0], last[1] + 1)
                return None
            self._last[key] = (now, 0)
        return last[1] if last is not None else 0

    def on_attempt(self, record: AttemptRecord) -> None:
        if record.throttled:
            level = logging.WARNING
        elif record.will_retry:
            level = logging.INFO
        else:
            return
        if not self.logger.isEnabledFor(level):
            return
        suppressed = self._allow(record, level)
        if suppressed is None:
            return
        fields: dict[str, Any] = {
            "service": record.service,
            "operation": record.operation,
            "region": record.region,
            "attempt": record.attempt,
            "category": str(record.category) if record.category is not None else None,
            "error_code": record.error_code,
            "http_status": record.http_status,
            "throttled": record.throttled,
            "will_retry": record.will_retry,
            "backoff_ms": round(record.backoff * 1000, 1),
            "latency_ms": round(record.latency * 1000, 1),
            "suppressed": suppressed or None,  # left out when nothing was suppressed
        }
        event = "aws.throttle" if record.throttled else "aws.retry"
        self.logger.log(level, "%s %s", event, _logfmt(fields), extra={"aws": fields})

    def on_call(self, record: CallRecord) -> None:
        if not self.logger.isEnabledFor(logging.DEBUG):
            return
        fields: dict[str, Any] = {
            "service": record.service,
            "operation": record.operation,
            "region": record.region,
            "outcome": record.outcome,
            "category": str(record.category) if record.category is not None else None,
            "error_code": record.error_code,
            "http_status": record.http_status,
            "attempts": record.attempts,
            "retries": record.retries,
            "throttles": record.throttles,
            "backoff_ms": round(record.backoff * 1000, 1),
            "latency_ms": round(record.latency * 1000, 1),
        }
        if record.outcome == SUCCESS:
            for key in ("category", "error_code"):
                del fields[key]
        self.logger.debug("aws.call %s", _logfmt(fields), extra={"aws": fields})

    def on_state_change(self, change: StateChange) -> None:
        level = logging.WARNING if change.new.lower() in _OPEN_STATES else logging.INFO
        if not self.logger.isEnabledFor(level):
            return
        fields = {
            "component": change.component, "scope": change.scope, "old": change.old,
            "new": change.new,
        }
        self.logger.log(level, "aws.state_change %s", _logfmt(fields), extra={"aws": fields})

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"LoggingSink(logger={self.logger.name!r})"


def _logfmt(fields: dict[str, Any]) -> str:
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        parts.append(f"{key}={value}")
    return " ".join(parts)
