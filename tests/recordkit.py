"""Record builders shared by the metrics tests: one typical record, with any field overridden."""

from __future__ import annotations

from typing import Any

from boto_resilience.metrics.records import AttemptRecord, CallRecord
from boto_resilience.taxonomy import Category


def call(**kw: Any) -> CallRecord:
    base: dict[str, Any] = dict(
        service="dynamodb", operation="GetItem", region="us-east-1", outcome="success",
        category=None, error_code=None, http_status=200, attempts=1, retries=0, throttles=0,
        backoff=0.0, latency=0.01)
    base.update(kw)
    return CallRecord(**base)


def attempt(**kw: Any) -> AttemptRecord:
    base: dict[str, Any] = dict(
        service="dynamodb", operation="GetItem", region="us-east-1", attempt=1,
        outcome="error", category=Category.Throttled, error_code="ThrottlingException",
        http_status=400, latency=0.005, throttled=True, will_retry=True, backoff=0.1)
    base.update(kw)
    return AttemptRecord(**base)
