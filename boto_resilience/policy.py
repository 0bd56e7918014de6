"""The retry decision: given what one attempt produced, retry after how long, or stop.

A :class:`RetryPolicy` is built once per (client, operation) from the resolved configuration and
is immutable; the per-call facts (attempt number, time spent, previous delay) are arguments.
It knows nothing about botocore: :mod:`boto_resilience.handlers` turns botocore's event kwargs
into an :class:`Outcome` and asks :meth:`RetryPolicy.decide`.

What is retried (one source of truth, the taxonomy): ``Throttled`` and ``Unavailable``
outcomes; ``ClockSkew`` once per call; any code listed in ``retry_codes``. Never
``Validation``, ``AccessDenied``, ``Authentication``, ``NotFound`` or the rest. Connection
failures are ``Unavailable``; those that may have reached the server after the request was sent
(read timeouts, dropped connections) are *ambiguous* and are retried according to
``ambiguous_retry``: ``idempotent`` (default: only operations that are safe to repeat),
``always`` or ``never``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from boto_resilience import backoff as backoff_mod
from boto_resilience.config import Config
from boto_resilience.taxonomy import Category

_ALWAYS_RETRYABLE = frozenset({Category.Throttled, Category.Unavailable})
# "Busy, try again" codes the taxonomy files under InvalidState (the target is in a state that
# forbids the operation *now*) but that AWS documents as retryable and botocore retries:
# DynamoDB TransactionInProgressException (botocore's _retry.json), Auto Scaling
# IdempotentCallInProgress / ResourceContention ("retry the call").
ALSO_RETRIED = frozenset({"TransactionInProgressException", "IdempotentCallInProgress",
                          "ResourceContention"})

# Operation-name prefixes of operations that only read: repeating them has no effect.
_READ_PREFIXES = ("Get", "List", "Describe", "Head", "Query", "Scan", "BatchGet", "Search",
                  "Lookup", "Select", "Check", "Estimate", "Preview", "Test", "Validate",
                  "Receive")
# Operations outside those rules that are safe to repeat: no side effect (cryptography, issuing
# credentials) or idempotent in effect (deleting a message or an item, writing the same item).
# botocore retries every dropped connection; these keep that behaviour where it is harmless.
_SAFE_OPERATIONS = frozenset({
    "Decrypt", "Encrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac",
    "Sign", "Verify", "GenerateRandom",
    "AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML", "GetSessionToken",
    "GetFederationToken",
    "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "PutItem", "DeleteItem", "BatchWriteItem", "DeleteParameter",
})
# HTTP methods that are idempotent by definition (RFC 9110 9.2.2) on REST protocols.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def is_idempotent(operation_model: Any) -> bool:
    """Whether repeating this operation is safe when we cannot tell if the first try landed.

    True for read-only operations (by name), for a curated list of operations without side
    effects or idempotent in effect (KMS cryptography, STS credentials, SQS message deletion,
    DynamoDB item writes), for REST operations whose HTTP method is idempotent, and for
    operations whose input carries an ``idempotencyToken`` member (botocore fills it in once
    per call, so every retry sends the same token).
    """
    name = getattr(operation_model, "name", "") or ""
    if name.startswith(_READ_PREFIXES) or name in _SAFE_OPERATIONS:
        return True
    protocol = ""
    try:
        protocol = operation_model.metadata.get("protocol", "") or ""
        method = (operation_model.http or {}).get("method", "").upper()
    except AttributeError:
        method = ""
    if protocol in ("rest-json", "rest-xml") and method in _IDEMPOTENT_METHODS:
        return True
    try:
        shape = operation_model.input_shape
        if shape is not None:
            for member in shape.members.values():
                if member.metadata.get("idempotencyToken"):
                    return True
    except AttributeError:
        return False
    return False


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one failed attempt produced, in our own terms."""

    category: Category
    code: Optional[str]
    status: Optional[int]
    retry_after: Optional[float] = None  # seconds the server asked us to wait, if it did
    ambiguous: bool = False  # the request may have been processed (dropped after send)
    final: bool = False  # our own fail-fast error: never retried

    @property
    def throttled(self) -> bool:
        return self.category is Category.Throttled


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Retry decisions for one operation of one client."""

    max_attempts: int
    transient: backoff_mod.Backoff
    throttling: backoff_mod.Backoff
    deadline: Optional[float]
    retry_after_max: float
    retry_codes: frozenset[str]
    ambiguous_retry: str
    idempotent: bool

    @classmethod
    def from_config(cls, config: Config, max_attempts: int, idempotent: bool,
                    rand: backoff_mod.Rand) -> RetryPolicy:
        return cls(
            max_attempts=max_attempts,
            transient=backoff_mod.make(config.backoff, config.base_delay, config.max_delay, rand),
            throttling=backoff_mod.make(config.backoff, config.throttle_base_delay,
                                        config.max_delay, rand),
            deadline=config.deadline,
            retry_after_max=config.retry_after_max,
            retry_codes=frozenset(config.retry_codes),
            ambiguous_retry=config.ambiguous_retry,
            idempotent=idempotent,
        )

    def retryable(self, outcome: Outcome, clock_skew_retried: bool = False) -> bool:
        """Whether this kind of failure is worth another attempt at all."""
        if outcome.final:
            return False
        if outcome.code is not None and (outcome.code in self.retry_codes
                                         or outcome.code in ALSO_RETRIED):
            return True
        if outcome.category is Category.ClockSkew:
            return not clock_skew_retried
        if outcome.category not in _ALWAYS_RETRYABLE:
            return False
        if outcome.ambiguous:
            if self.ambiguous_retry == "never":
                return False
            if self.ambiguous_retry == "idempotent":
                return self.idempotent
        return True

    def decide(self, outcome: Outcome, attempt: int, elapsed: float, previous_delay: float = 0.0,
               clock_skew_retried: bool = False) -> Optional[float]:
        """Seconds to wait before the next attempt, or None to stop.

        ``attempt`` is the number of the attempt that just failed (1-based); ``elapsed`` the
        seconds since the call started. No delay is returned whose sleep would end past the
        deadline.
        """
        if attempt >= self.max_attempts or not self.retryable(outcome, clock_skew_retried):
            return None
        strategy = self.throttling if outcome.throttled else self.transient
        delay = strategy.delay(attempt, previous_delay)
        if outcome.retry_after is not None and 0 <= outcome.retry_after <= self.retry_after_max:
            # A server's explicit wait wins over our backoff; one beyond retry_after_max is
            # ignored (retrying early against a long wait helps no one, and waiting an hour on
            # a caller's thread is not what a retry is for): the normal backoff applies.
            delay = max(delay, outcome.retry_after)
        if self.deadline is not None and elapsed + delay >= self.deadline:
            return None
        return delay
