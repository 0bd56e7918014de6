"""The retry decision, exactly: categories, ClockSkew once, extra codes, ambiguity, deadline,
Retry-After."""

from __future__ import annotations

import pytest

from boto_resilience import config as config_mod
from boto_resilience.policy import Outcome, RetryPolicy, is_idempotent
from boto_resilience.taxonomy import Category


def policy(idempotent: bool = True, **settings: object) -> RetryPolicy:
    cfg = config_mod.build(None, backoff="exponential", base_delay=0.1, throttle_base_delay=1.0,
                           max_delay=10.0, **settings)
    return RetryPolicy.from_config(cfg, cfg.max_attempts or 5, idempotent, lambda: 0.5)


@pytest.mark.parametrize("category", [Category.Throttled, Category.Unavailable])
def test_retryable_categories(category: Category) -> None:
    assert policy().decide(Outcome(category, "X", 500), 1, 0.0) is not None


@pytest.mark.parametrize("category", [c for c in Category if c not in (
    Category.Throttled, Category.Unavailable, Category.ClockSkew)])
def test_never_retried(category: Category) -> None:
    assert policy().decide(Outcome(category, "X", 400), 1, 0.0) is None


def test_throttling_uses_its_own_base() -> None:
    p = policy()
    assert p.decide(Outcome(Category.Unavailable, "InternalError", 500), 1, 0.0) == 0.1
    assert p.decide(Outcome(Category.Unavailable, "InternalError", 500), 2, 0.0) == 0.2
    assert p.decide(Outcome(Category.Throttled, "Throttling", 400), 1, 0.0) == 1.0
    assert p.decide(Outcome(Category.Throttled, "Throttling", 400), 3, 0.0) == 4.0


def test_max_attempts() -> None:
    p = policy(max_attempts=3)
    out = Outcome(Category.Unavailable, "X", 503)
    assert p.decide(out, 2, 0.0) is not None
    assert p.decide(out, 3, 0.0) is None


def test_clock_skew_once() -> None:
    out = Outcome(Category.ClockSkew, "RequestTimeTooSkewed", 403)
    assert policy().decide(out, 1, 0.0, clock_skew_retried=False) is not None
    assert policy().decide(out, 2, 0.0, clock_skew_retried=True) is None


def test_extra_retry_codes() -> None:
    out = Outcome(Category.InvalidState, "ResourceInUseException", 400)
    assert policy().decide(out, 1, 0.0) is None
    assert policy(retry_codes="ResourceInUseException").decide(out, 1, 0.0) == 0.1


def test_busy_codes_botocore_retries_are_retried() -> None:
    out = Outcome(Category.InvalidState, "TransactionInProgressException", 400)
    assert policy().decide(out, 1, 0.0) == 0.1


def test_fail_fast_errors_are_final() -> None:
    assert policy().decide(Outcome(Category.Unavailable, "CircuitOpen", None, final=True),
                           1, 0.0) is None


@pytest.mark.parametrize("mode,idempotent,expected", [
    ("idempotent", True, True), ("idempotent", False, False),
    ("always", False, True), ("never", True, False)])
def test_ambiguous_failures(mode: str, idempotent: bool, expected: bool) -> None:
    out = Outcome(Category.Unavailable, "ReadTimeoutError", None, ambiguous=True)
    decision = policy(idempotent, ambiguous_retry=mode).decide(out, 1, 0.0)
    assert (decision is not None) is expected


def test_deadline_no_sleep_past_it() -> None:
    p = policy(deadline=1.0)
    out = Outcome(Category.Unavailable, "X", 503)
    assert p.decide(out, 1, 0.85) == 0.1  # ends at 0.95
    assert p.decide(out, 2, 0.85) is None  # 0.2 would end at 1.05
    assert p.decide(out, 1, 0.95) is None


def test_retry_after_within_bounds() -> None:
    p = policy(retry_after_max=5.0)
    assert p.decide(Outcome(Category.Throttled, "X", 429, retry_after=3.0), 1, 0.0) == 3.0
    assert p.decide(Outcome(Category.Throttled, "X", 429, retry_after=60.0), 1, 0.0) == 1.0
    assert p.decide(Outcome(Category.Throttled, "X", 429, retry_after=0.0), 1, 0.0) == 1.0


def test_idempotency_from_models() -> None:
    import botocore.session

    s = botocore.session.get_session()
    ddb = s.get_service_model("dynamodb")
    assert is_idempotent(ddb.operation_model("GetItem"))
    assert is_idempotent(ddb.operation_model("Query"))
    assert not is_idempotent(ddb.operation_model("UpdateItem"))
    s3 = s.get_service_model("s3")
    assert is_idempotent(s3.operation_model("PutObject"))  # PUT
    assert not is_idempotent(s3.operation_model("PostObject")
                             if "PostObject" in s3.operation_names
                             else s3.operation_model("CompleteMultipartUpload"))
    ec2 = s.get_service_model("ec2")
    assert is_idempotent(ec2.operation_model("RunInstances"))  # ClientToken idempotencyToken
    sqs = s.get_service_model("sqs")
    assert not is_idempotent(sqs.operation_model("SendMessage"))
    assert is_idempotent(sqs.operation_model("DeleteMessage"))
    assert is_idempotent(s.get_service_model("kms").operation_model("Decrypt"))
    assert is_idempotent(s.get_service_model("sts").operation_model("AssumeRole"))
    assert not is_idempotent(s.get_service_model("kinesis").operation_model("PutRecord"))
