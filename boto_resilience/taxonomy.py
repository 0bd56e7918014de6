"""Error categories: the one answer to "what kind of failure is this, and what should I do?".

Every AWS error code a boto3 call can raise, and every connection-level botocore exception, maps
to exactly one of the thirteen :class:`Category` values of ``TAXONOMY.md``. The retry engine, the
metrics and the category exception classes (:mod:`boto_resilience.errors`) all ask this module,
so they never disagree.

Where the answer comes from, in order (the first that knows wins):

1. **Curated service overrides** (``_data/overrides.py``, ``SERVICE_OVERRIDES``): ``(service,
   code)`` pairs where a service means something its code's name or status does not say (IAM's
   ``LimitExceeded`` is a quota, Kinesis's is a rate).
2. **The generated table** (``_data/error_codes.json``): every error shape of every service
   model shipped with botocore, classified once by ``scripts/gen_error_table.py`` from the
   shape's name, ``error.code``, HTTP status, fault, retryable/throttling traits, documentation
   and the curated overrides. Looked up by ``(service, code)``.
3. **Curated code overrides** (``CODE_OVERRIDES``): codes with one meaning everywhere, including
   codes no model lists (EC2's API codes, S3's and the common errors).
4. **The same table by code alone**: a code some other service models (a newer service reusing a
   well-known code, or a client whose service name we were not told).
5. **Rules**: name patterns, then the HTTP status, for codes nobody has seen (a service newer than
   the installed table). Bare numeric codes (S3 HEAD's ``'404'``) are read as statuses.

The table is loaded lazily, once, on the first lookup; every lookup after that is a few dict
probes behind an ``lru_cache``, because :func:`classify_code` runs on every failed attempt.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from re import Pattern
from typing import Any, Optional

from boto_resilience._data.overrides import CODE_OVERRIDES, SERVICE_OVERRIDES

__all__ = [
    "RETRYABLE_CATEGORIES",
    "Category",
    "ErrorInfo",
    "category_of_error",
    "classify",
    "classify_code",
    "explain_code",
    "is_throttling",
    "table_version",
]


class Category(str, enum.Enum):
    """The thirteen categories of TAXONOMY.md; the values are exactly the names."""

    NotFound = "NotFound"
    Conflict = "Conflict"
    Throttled = "Throttled"
    QuotaExceeded = "QuotaExceeded"
    AccessDenied = "AccessDenied"
    Authentication = "Authentication"
    Validation = "Validation"
    PreconditionFailed = "PreconditionFailed"
    Unavailable = "Unavailable"
    ClockSkew = "ClockSkew"
    Unsupported = "Unsupported"
    InvalidState = "InvalidState"
    Other = "Other"

    def __str__(self) -> str:
        return self.value


#: What trying again can fix. ClockSkew is retried once (the policy enforces "once"): botocore
#: does not correct its signing clock, so a second attempt only helps when the skew was
#: transient (a clock being stepped by NTP); a persistent skew fails again and is reported.
RETRYABLE_CATEGORIES: frozenset[Category] = frozenset(
    {Category.Throttled, Category.Unavailable, Category.ClockSkew}
)

_BY_VALUE: dict[str, Category] = {c.value: c for c in Category}


# --------------------------------------------------------------------------------------------
# Rules: name patterns and the HTTP status. Used for codes that no model and no curated table
# knows, and (by the generator) as the starting point for every modeled shape.
# --------------------------------------------------------------------------------------------

#: Ordered: the first pattern that matches decides. The order encodes the taxonomy's tie-breaks:
#: a specific meaning ("InvalidInstanceID.NotFound", "TooManyRequests", "ResourceInUse") must be
#: tested before the generic word it contains ("Invalid", "TooMany", "Conflict").
_NAME_RULES: list[tuple[Pattern[str], Category, str]] = [
    (re.compile(p, re.IGNORECASE), cat, label)
    for p, cat, label in [
        (r"DryRun", Category.Other, "dry-run signal"),
        (r"RetryableConflict", Category.Unavailable, "transient conflict, retry"),
        (r"UnexpectedLambda", Category.Other, "failure in the customer's own function"),
        (r"^VerificationFailed", Category.Other, "verification outcome"),
        (r"^(?!Invalid)\w*Redirect", Category.Other, "redirect"),
        (r"TooSkewed|ClockSkew|SignatureExpired|RequestExpired", Category.ClockSkew, "clock skew"),
        (
            r"Throttl|TooManyRequests|SlowDown|RequestLimitExceeded|RateExceeded|RateLimit"
            r"|ThroughputExceeded|BandwidthLimit|TooManyConcurrent|ConcurrentRequest"
            r"|TooManyFailedAttempts|Rate\w*Exceeded|CallRate",
            Category.Throttled,
            "rate limit",
        ),
        (
            r"UnrecognizedClient|InvalidClientToken|SignatureDoesNotMatch|InvalidSignature"
            r"|IncompleteSignature|^ExpiredToken|TokenExpired|AuthFailure|InvalidAccessKey"
            r"|MissingAuthentication|Unauthenticated|NotAuthenticated|AuthenticationFail"
            r"|InvalidCredential|CredentialsExpired|InvalidSecurityToken|RefreshToken",
            Category.Authentication,
            "credentials or signature",
        ),
        (
            r"NotFound|NoSuch|DoesNotExist|NotExist|NonExist|^Unknown(?!Operation|Action)"
            r"|Gone(Exception)?$|NotPresent|NotAttached|NotAssociatedWith"
            r"|Deleted(?:Exception|Fault)?$|NoSchedule",
            Category.NotFound,
            "does not exist",
        ),
        (
            r"ConditionalCheckFailed|ConditionCheckFailed|PreconditionFailed|NotModified"
            r"|Invalid\w*RevisionId|RevisionIdMismatch|RevisionNotCurrent|ConditionCheckFailure",
            Category.PreconditionFailed,
            "caller's condition false",
        ),
        (
            r"UnsupportedOperation|NotSupported|Unsupported|NotImplemented|MethodNotAllowed"
            r"|UnknownOperation|UnknownAction|InvalidAction$|NotAvailableIn|DoesNotSupport"
            r"|NotServiceResource|FeatureNotAvailable|NotIncludedIn|NoLongerSupported"
            r"|IncompatibleRegion",
            Category.Unsupported,
            "not supported",
        ),
        (
            # Lifecycle words that must win over the "Already..."/"Idempotent..." of Conflict.
            r"^(?!.*(?:Quota|TooMany|Limit)).*InProgress|Already(?:Closed|Completed|Started"
            r"|Detached|Rejected|Running|Streamed|Enabled|Disabled|In(?:State|Status)"
            r"|UnderMigration)|NotConfirmed|NotVerified|ResetRequired|Transitioning|Stopping"
            r"|NotIn\w*Mode|FeaturesNotEnabled|NoAvailable|CannotDelete|WhileInUse|NotInflight"
            r"|NotMounted|NotSet(?:Exception|Fault)?$|NotConfigured|NotInitiali[sz]ed"
            r"|PreconditionNotMet|PrerequisiteNotMet|(?<!Not)(?<!Already)Running(?:Exception|Fault)?$"
            r"|NotRunning|NoRunning|Executing|Being[A-Z]|TaskEnded|Deprecated|NotRegistered"
            r"|NotStarted|NotInReadyState|NotRedrivable|NotRetryable|NotOverridable"
            r"|InDesiredState|StatusUnchanged|NoOperation|AlreadyReusable|NoUpdateAvailable"
            r"|Frozen|Contains[A-Z]|AssociatedInstances|ResourceAssociated|Associated\w*Found"
            r"|HasCMKs|TerminationProtected|FederationEnabled|Archived|Inaccessible|DeleteFailed"
            r"|NotSatisfied|UnableToCancel|UnableToUpdate|ConcurrentOperation"
            r"|^Kms(?:Exception|Fault)$|KMSKeyNotAccessible|EncryptionException|DataEncryption"
            r"|NonEmpty|StateException$|CannotModify|CannotLeave|CannotBeDeleted|NotShared"
            r"|NotMigrated|PartiallyDelegated",
            Category.InvalidState,
            "wrong state for the operation",
        ),
        (
            r"TooManyEntries|EmptyBatch|BatchEntryIds|BatchRequestTooLong|TooLarge|TooLong"
            r"|TooBig|TooSmall|TooShort|PayloadSize|SizeExceeded(?!Limit)"
            r"|(?<!OptIn)(?<!Subscription)(?<!Reset)Required(Exception|Fault)?$|NotProvided"
            r"|^Empty",
            Category.Validation,
            "per-request size, count or missing value",
        ),
        (
            r"IdempotentParameter|IdempotencyParameter|IdempotencyException|Idempoten"
            r"|ConcurrentModification|ConcurrentUpdate|ConcurrentAccess|TransactionConflict"
            r"|WriteConflict|AlreadyExist|AlreadyOwned|Duplicate|NameInUse|NameAlreadyInUse"
            r"|NameConflict|Already(?:Registered|Associated|Accepted|Attached|Subscribed|Shared"
            r"|Set|Published|Created|Processed|InOrganization|InRegion)|OperationAborted|OutOfSync"
            r"|OptimisticLock|StaleData|IdOutdated|ExecutionOutdated|IsDifferent|NotLatest|NameAvailability|NotUnique"
            r"|NameExists|\bExists?(Exception|Fault|Error)?$|(?<!Does)(?<!Not)Exists(Exception)?$",
            Category.Conflict,
            "already exists or concurrent write",
        ),
        (
            r"InvalidState|IncorrectState|InvalidResourceState|\w*StateFault|InUse|InProgress"
            r"|NotEmpty|DependencyViolation|HasDependen|NotReady|NotStabilized|Disabled"
            r"|NotActive|Inactive|NotEnabled|(?<!B)Locked|Busy|ResourceConflict|DeleteConflict"
            r"|InvalidStatus|IncorrectStatus|StatusException|NotInActiveTier|AlreadyInActiveTier"
            r"|Invalid\w*State(?!ment|Filter)|Invalid\w*Status(?!Update)",
            Category.InvalidState,
            "wrong state for the operation",
        ),
        (
            r"LimitExceeded|QuotaExceeded|TooMany|OverLimit|Quota|LimitReached|CapacityExceeded"
            r"|Concurrent\w*Exceeded|LicenseUsage",
            Category.QuotaExceeded,
            "count or size quota",
        ),
        (
            r"AccessDenied|Forbidden|Unauthori[sz]ed|NotAuthori[sz]ed|AuthorizationError"
            r"|PermissionDenied|InsufficientPermission|OptInRequired|NotSubscribed"
            r"|SubscriptionRequired|AccountSuspended|Denied|NotPermitted|Blocked|CallerIsNot"
            r"|ManagementAccount|DelegatedAdmin|NotCreatedByCaller|ApprovedByAuthor|OwnerCheck"
            r"|NotEntitled|NotEligible|ManagedRuleException$|NoEntitlement|Insufficient\w*Polic|DestinationPermission"
            r"|ServiceLinkedRoleError|EntitlementNotAllowed",
            Category.AccessDenied,
            "not permitted",
        ),
        (
            r"^(Internal|Service|Server|Dependency)\w*(Error|Exception|Failure|Fault)$"
            r"|Internal|ServiceUnavailable|ServerUnavailable|^Unavailable|Timeout|TimedOut"
            r"|ServiceFailure|ServerError|ServiceError|CommunicationError"
            r"|Insufficient\w*Capacity|BadGateway|Unreachable|TryAgain|Transient"
            r"|(?<!Not)Retryable(Exception)?$|FailedDependency|DependencyFail|ExternalService"
            r"|Upstream|UnableToGet|UnableToList|^(?!Invalid)\w*ServiceException$|GeneralService"
            r"|OperationFailure|^RequestFailed|ResourceCreationFailed|DeliveryFailure"
            r"|ModelStreamError|ModelError|SessionFull|OutOfCapacity|Maintenance",
            Category.Unavailable,
            "server side or transient",
        ),
        (
            r"Validation|Invalid|Malformed|Missing|BadRequest|OutOfRange|Serialization"
            r"|NotValid|Illegal|Mismatch|Unprocessable|ParameterCombination|Expired|Incorrect"
            r"|UnrecognizedPublicKey|Violation|Incompatib|NotCompatible|NoChange|SameFileContent"
            r"|AreSame|LengthExceeded|Oversized|Divergence|Multiple\w*(?:Provided|Specified)"
            r"|MultipleRegions|Restricted|ReservedName|PublicPolicy|TagPolicy|LockoutPrevent"
            r"|Tag(?:ging)?Exception$|Unresolvable|DoesNotMatch|DoesNotCover"
            r"|NotAllowed|NotPrivate|NotRelated|NotUpdatable|AndSourceFileSpecified",
            Category.Validation,
            "bad request",
        ),
        (r"Conflict", Category.Conflict, "conflict"),
        (r"Unavailable", Category.InvalidState, "resource not available"),
    ]
]

#: HTTP status -> category, for codes whose name says nothing (and bare statuses: rule 8).
_STATUS_RULES: dict[int, Category] = {
    304: Category.PreconditionFailed,
    400: Category.Validation,
    401: Category.Authentication,
    402: Category.QuotaExceeded,
    403: Category.AccessDenied,
    404: Category.NotFound,
    405: Category.Unsupported,
    406: Category.Validation,
    408: Category.Unavailable,
    409: Category.Conflict,
    410: Category.NotFound,
    411: Category.Validation,
    412: Category.PreconditionFailed,
    413: Category.Validation,
    414: Category.Validation,
    415: Category.Unsupported,
    416: Category.Validation,
    422: Category.Validation,
    423: Category.InvalidState,
    424: Category.Unavailable,  # Failed Dependency: a downstream call failed
    428: Category.Validation,  # Precondition Required: the request must carry a condition
    429: Category.Throttled,
    431: Category.Validation,
    501: Category.Unsupported,
}


def _status_category(status: int) -> Category:
    """The meaning of a bare HTTP status (rule 8 of TAXONOMY.md)."""
    cat = _STATUS_RULES.get(status)
    if cat is not None:
        return cat
    if 500 <= status <= 599:
        return Category.Unavailable
    if 300 <= status <= 399:
        return Category.Other  # redirects other than 304
    if 400 <= status <= 499:
        return Category.Validation
    return Category.Other


def match_name(code: str) -> Optional[tuple[Category, str]]:
    """The category the code's name alone suggests, and the rule's label; None if no rule fits.

    Exposed for the generator (which adds traits, status and documentation on top) and tests.
    """
    for pattern, cat, label in _NAME_RULES:
        if pattern.search(code):
            return cat, label
    return None


def rule_category(code: Optional[str], status: Optional[int] = None) -> tuple[Category, str]:
    """Classify a code nobody has tabulated, from its name and then the HTTP status.

    A name that says something specific wins over the status: services answer 400 for almost
    everything, so "400" says little, while "...NotFound" or "...Throttling" says a lot.
    """
    if code and code.isdigit():
        # S3 HEAD responses have no body: botocore reports the status itself as the code.
        return _status_category(int(code)), f"fallback on HTTP status {code} (bare status code)"
    if code:
        named = match_name(_strip_prefix(code))
        if named is not None:
            return named[0], f"name rule: {named[1]}"
    if status is not None:
        return _status_category(status), f"fallback on HTTP status {status}"
    return Category.Other, "no rule matches the code and there is no HTTP status"


def _strip_prefix(code: str) -> str:
    # Legacy query-protocol namespaces ("AWS.SimpleQueueService.NonExistentQueue",
    # "Client.InvalidParameter"): the meaning is in the last dotted part, except for EC2's
    # "<Thing>.NotFound"/".Duplicate"/".InUse" whose suffix carries it; keep the whole code then.
    if code.startswith("AWS.") or code.startswith("Client.") or code.startswith("Server."):
        return code.split(".", 2)[-1] if code.startswith("AWS.") else code.split(".", 1)[1]
    return code


# --------------------------------------------------------------------------------------------
# The generated table (loaded once, lazily)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Modeled:
    """One modeled error shape, as the generator recorded it."""

    category: Category
    status: Optional[int]
    # "s" sender fault, "r" receiver fault, "R" retryable trait, "T" throttling trait,
    # "c" decided by a curated service override
    flags: str
    shape: str  # the shape name (differs from the code when the model overrides error.code)


class _Table:
    """The generated table: ``services[service][code]`` and ``codes[code]`` (majority)."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        cats: list[Category] = [_BY_VALUE[c] for c in raw["categories"]]
        self.version: str = str(raw.get("botocore_version", "unknown"))
        self.services: dict[str, dict[str, _Modeled]] = {}
        for service, entries in raw["services"].items():
            table: dict[str, _Modeled] = {}
            for code, row in entries.items():
                # row: [category index, status or 0, flags, shape name or ""]
                shape = row[3] if len(row) > 3 and row[3] else code
                table[code] = _Modeled(cats[row[0]], row[1] or None, row[2], shape)
            self.services[service] = table
        self.codes: dict[str, tuple[Category, str]] = {
            code: (cats[idx], where) for code, (idx, where) in raw["codes"].items()
        }


_TABLE: Optional[_Table] = None
_TABLE_LOCK = threading.Lock()
_EMPTY_TABLE_RAW: Mapping[str, Any] = {"categories": [], "services": {}, "codes": {}}


def _load_table() -> _Table:
    """Load ``_data/error_codes.json`` once. A missing or broken table degrades to the rules.

    Why lazily: importing boto_resilience must stay cheap (it can run at interpreter start via
    the startup hook), and many processes never see an error at all.
    """
    global _TABLE
    table = _TABLE
    if table is not None:
        return table
    with _TABLE_LOCK:
        if _TABLE is None:
            try:
                from importlib import resources

                text = (
                    resources.files("boto_resilience._data")
                    .joinpath("error_codes.json")
                    .read_text(encoding="utf-8")
                )
                _TABLE = _Table(json.loads(text))
            except Exception:  # pragma: no cover - only when the package data is missing
                _TABLE = _Table(_EMPTY_TABLE_RAW)
        return _TABLE


def table_version() -> str:
    """The botocore version the bundled table was generated from."""
    return _load_table().version


# --------------------------------------------------------------------------------------------
# Public classification
# --------------------------------------------------------------------------------------------


def _override(key: tuple[str, str], table: Mapping[Any, tuple[str, str]]) -> Optional[Category]:
    hit = table.get(key)
    return _BY_VALUE[hit[0]] if hit is not None else None


def _explain(
    code: Optional[str], status: Optional[int], service: Optional[str]
) -> tuple[Category, str]:
    """The full lookup chain of the module docstring, with the reason for the answer."""
    if code and not code.isdigit():
        if service:
            hit = SERVICE_OVERRIDES.get((service, code))
            if hit is not None:
                return _BY_VALUE[hit[0]], f"curated override for {service}: {hit[1]}"
        table = _load_table()
        if service:
            modeled = table.services.get(service, {}).get(code)
            if modeled is not None:
                return modeled.category, _describe_modeled(service, code, modeled)
        hit = CODE_OVERRIDES.get(code)
        if hit is not None:
            return _BY_VALUE[hit[0]], f"curated code: {hit[1]}"
        common = table.codes.get(code)
        if common is not None:
            return common[0], f"modeled by other services as {code} ({common[1]})"
        stripped = _strip_prefix(code)
        if stripped != code:
            hit = CODE_OVERRIDES.get(stripped)
            if hit is not None:
                return _BY_VALUE[hit[0]], f"curated code {stripped}: {hit[1]}"
    return rule_category(code, status)


def _describe_modeled(service: str, code: str, modeled: _Modeled) -> str:
    parts = []
    if modeled.status:
        parts.append(f"HTTP {modeled.status}")
    if "T" in modeled.flags:
        parts.append("throttling trait")
    elif "R" in modeled.flags:
        parts.append("retryable trait")
    if "r" in modeled.flags:
        parts.append("server fault")
    detail = f" ({', '.join(parts)})" if parts else ""
    shape = f" (shape {modeled.shape})" if modeled.shape != code else ""
    modeled_as = f"modeled in {service} as {code}{shape}{detail}"
    if "c" in modeled.flags:
        note = SERVICE_OVERRIDES.get((service, code)) or SERVICE_OVERRIDES.get(
            (service, modeled.shape)
        )
        if note is not None:
            return f"curated override for {service}: {note[1]}; {modeled_as}"
    return modeled_as


@functools.lru_cache(maxsize=4096)
def classify_code(
    code: Optional[str], status: Optional[int] = None, service: Optional[str] = None
) -> Category:
    """The category of an AWS error code (``Error.Code``), given the HTTP status and service.

    ``service`` is the boto3 client name (``'s3'``, ``'dynamodb'``). Both hints are optional:
    without them the code is looked up across all services, then by its name. Never raises.
    """
    try:
        return _explain(code, status, service)[0]
    except Exception:  # pragma: no cover - defensive: classification must never break a call
        return Category.Other


def explain_code(
    code: Optional[str], status: Optional[int] = None, service: Optional[str] = None
) -> tuple[Category, str]:
    """The category and a human sentence saying why: what ``boto-resilience classify`` prints."""
    return _explain(code, status, service)


def is_throttling(
    code: Optional[str], status: Optional[int] = None, service: Optional[str] = None
) -> bool:
    """Whether the error is a rate limit (what adaptive rate limiters react to)."""
    return classify_code(code, status, service) is Category.Throttled


# Signature errors whose message says the signature is no longer (or not yet) valid in time are
# clock problems, not credential problems: botocore corrects its clock offset and a retry works.
_CLOCK_MESSAGE = re.compile(
    r"signature expired|signature not yet current|request has expired|"
    r"time stamp|timestamp .*(?:too|skew)|too skewed",
    re.IGNORECASE,
)
_SIGNATURE_CODES = frozenset(
    {"InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure", "RequestExpired"}
)


def refine_with_message(
    category: Category, code: Optional[str], message: Optional[str]
) -> Category:
    """Adjust a category using the error message, for the few codes whose meaning lives there."""
    if (
        category is Category.Authentication
        and code in _SIGNATURE_CODES
        and message
        and _CLOCK_MESSAGE.search(message)
    ):
        return Category.ClockSkew
    return category


def category_of_error(
    error: Mapping[str, Any], status: Optional[int], service: Optional[str]
) -> Category:
    """The category of a parsed ``response['Error']`` dict: what every raise site agrees on.

    An ``Error.Category`` already set (by :func:`boto_resilience.errors.enrich_error`) wins. SQS
    keeps the modeled shape name in ``QueryErrorCode`` and a legacy code in ``Code``: the modeled
    name is tried first, the legacy code if the name means nothing to us.
    """
    preset = _BY_VALUE.get(str(error.get("Category")))
    if preset is not None:
        return preset
    code = error.get("Code")
    code = str(code) if code is not None else None
    query_code = error.get("QueryErrorCode")
    category = classify_code(str(query_code) if query_code else code, status, service)
    if query_code and category is Category.Other and code:
        category = classify_code(code, status, service)
    message = error.get("Message")
    return refine_with_message(category, code, str(message) if message is not None else None)


@dataclass(frozen=True)
class ErrorInfo:
    """Everything a caller, a retry policy or a metric needs to know about one failure."""

    category: Category
    retryable: bool
    throttling: bool
    code: Optional[str] = None
    status: Optional[int] = None
    service: Optional[str] = None
    operation: Optional[str] = None
    request_id: Optional[str] = None
    message: Optional[str] = None


def _info(category: Category, **fields: Any) -> ErrorInfo:
    return ErrorInfo(
        category=category,
        retryable=category in RETRYABLE_CATEGORIES,
        throttling=category is Category.Throttled,
        **fields,
    )


def _client_error_info(exc: Any) -> ErrorInfo:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        response = {}
    error = response.get("Error")
    if not isinstance(error, dict):
        error = {}
    meta = response.get("ResponseMetadata")
    if not isinstance(meta, dict):
        meta = {}
    code = error.get("Code")
    code = str(code) if code is not None else None
    message = error.get("Message")
    message = str(message) if message is not None else None
    status = meta.get("HTTPStatusCode")
    status = status if isinstance(status, int) else None
    service = getattr(exc, "_br_service", None)
    service = service if isinstance(service, str) else None
    request_id = meta.get("RequestId")
    if not request_id:
        headers = meta.get("HTTPHeaders") or {}
        request_id = headers.get("x-amzn-requestid") or headers.get("x-amz-request-id")
    category = _BY_VALUE.get(str(error.get("Category")))  # set by errors.enrich_error
    if category is None:
        category = getattr(type(exc), "category", None)  # our category classes
        if not isinstance(category, Category):
            category = category_of_error(error, status, service)
    return _info(
        category,
        code=code,
        status=status,
        service=service,
        operation=getattr(exc, "operation_name", None),
        request_id=str(request_id) if request_id else None,
        message=message,
    )


@functools.lru_cache(maxsize=1)
def _credential_errors(bexc: Any) -> tuple[type, ...]:
    """botocore's "no usable credentials" exceptions; looked up by name (some are recent)."""
    names = (
        "NoCredentialsError",
        "PartialCredentialsError",
        "CredentialRetrievalError",
        "UnknownCredentialError",
        "NoAuthTokenError",
        "TokenRetrievalError",
        "SSOError",  # SSOTokenLoadError, UnauthorizedSSOTokenError
        "LoginError",
        "RefreshWithMFAUnsupportedError",
    )
    return tuple(c for c in (getattr(bexc, n, None) for n in names) if isinstance(c, type))


def _botocore_category(exc: BaseException) -> Optional[Category]:
    """Connection-level and client-side botocore exceptions (no HTTP response at all)."""
    from botocore import exceptions as bexc

    if isinstance(
        exc,
        (
            bexc.ConnectionError,  # EndpointConnectionError, ConnectTimeoutError, ...
            bexc.HTTPClientError,  # ReadTimeoutError, ConnectionClosedError, ...
        ),
    ):
        return Category.Unavailable
    if isinstance(exc, _credential_errors(bexc)):
        return Category.Authentication
    if isinstance(exc, (bexc.ParamValidationError, bexc.ValidationError)):
        return Category.Validation
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return Category.Unavailable
    return None


def classify(exc: BaseException) -> ErrorInfo:
    """Classify any exception a boto3 call can raise. Never raises.

    ``ClientError`` (and subclasses, including ours): from ``Error.Code`` (``QueryErrorCode``
    first for SQS, which keeps the modeled name there), the HTTP status, and the service we
    attached to the exception when raising it; an enriched ``Error.Category`` wins. Connection
    errors and timeouts are Unavailable, missing or unusable credentials Authentication, client-
    side parameter validation Validation, anything else Other.
    """
    try:
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            return _client_error_info(exc)
        own = getattr(type(exc), "category", None)
        if isinstance(own, Category):  # our fail-fast errors and category classes
            return _info(own, message=str(exc) or None)
        category = _botocore_category(exc)
        if category is not None:
            return _info(category, code=type(exc).__name__, message=str(exc) or None)
        return _info(Category.Other, code=type(exc).__name__, message=str(exc) or None)
    except Exception:  # pragma: no cover - defensive
        return _info(Category.Other)
