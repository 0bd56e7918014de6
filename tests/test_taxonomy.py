"""The classifier's contract: categories, the lookup chain, the reasons, and classify().

The labelled-set accuracy lives in ``test_taxonomy_labelled.py`` and the all-shapes sweep in
``test_taxonomy_models.py``; this file is the fast, readable specification.
"""

from __future__ import annotations

import botocore.exceptions as bexc
import pytest
from botocore.exceptions import ClientError

from boto_resilience import taxonomy
from boto_resilience.taxonomy import (
    RETRYABLE_CATEGORIES,
    Category,
    ErrorInfo,
    classify,
    classify_code,
    explain_code,
)

C = Category
AUTH = C.Authentication

# The thirteen names of TAXONOMY.md, in its order.
TAXONOMY_NAMES = [
    "NotFound",
    "Conflict",
    "Throttled",
    "QuotaExceeded",
    "AccessDenied",
    "Authentication",
    "Validation",
    "PreconditionFailed",
    "Unavailable",
    "ClockSkew",
    "Unsupported",
    "InvalidState",
    "Other",
]


def test_category_is_a_str_enum_of_exactly_the_taxonomy_names() -> None:
    assert [c.value for c in Category] == TAXONOMY_NAMES
    assert all(c.name == c.value for c in Category)
    assert Category.NotFound == "NotFound"
    assert str(Category.Throttled) == "Throttled"


def test_retryable_categories() -> None:
    assert RETRYABLE_CATEGORIES == frozenset({C.Throttled, C.Unavailable, C.ClockSkew})


@pytest.mark.parametrize(
    "code, status, service, expected",
    [
        # modeled shapes, by (service, code)
        ("NoSuchKey", 404, "s3", C.NotFound),
        ("ResourceNotFoundException", 400, "dynamodb", C.NotFound),
        ("ProvisionedThroughputExceededException", 400, "dynamodb", C.Throttled),
        ("ConditionalCheckFailedException", 400, "dynamodb", C.PreconditionFailed),
        ("NoSuchEntity", 404, "iam", C.NotFound),  # error.code differs from the shape name
        ("NoSuchEntityException", 404, "iam", C.NotFound),  # ... and the shape name works too
        ("QueueDoesNotExist", 400, "sqs", C.NotFound),
        ("KMSInvalidStateException", 400, "kms", C.InvalidState),
        ("ParameterNotFound", 400, "ssm", C.NotFound),
        # one code, three meanings: the service decides (rule 2)
        ("LimitExceeded", 409, "iam", C.QuotaExceeded),
        ("LimitExceededException", 400, "kinesis", C.Throttled),
        ("LimitExceededException", 429, "apigateway", C.Throttled),
        ("LimitExceededException", 400, "kms", C.QuotaExceeded),
        ("TooManyRequestsException", 429, "lambda", C.Throttled),
        # meaning beats the name (rule 1)
        ("InvalidDocument", 400, "ssm", C.NotFound),
        ("InvalidRequestException", 400, "secretsmanager", C.InvalidState),
        ("UnauthorizedException", 401, "apigateway", C.AccessDenied),
        ("TooManyTagsException", 400, "acm", C.Validation),  # "the request contains too many"
        ("KMSInvalidSignatureException", 400, "kms", C.Other),  # Verify's answer, not an error
        # Conflict vs InvalidState (rule 3)
        ("ConflictException", 400, "kms", C.InvalidState),  # rotation in progress
        ("ConflictException", 409, "apigateway", C.Conflict),
        ("DeleteConflict", 409, "iam", C.InvalidState),
        # codes no model lists: EC2, S3, common errors
        ("InvalidInstanceID.NotFound", 400, "ec2", C.NotFound),
        ("InvalidGroup.Duplicate", 400, "ec2", C.Conflict),
        ("RequestLimitExceeded", 503, "ec2", C.Throttled),
        ("DryRunOperation", 412, "ec2", C.Other),
        ("UnauthorizedOperation", 403, "ec2", C.AccessDenied),
        ("IncorrectState", 400, "ec2", C.InvalidState),
        ("DependencyViolation", 400, "ec2", C.InvalidState),
        ("InsufficientInstanceCapacity", 500, "ec2", C.Unavailable),
        ("AWS.SimpleQueueService.NonExistentQueue", 400, "sqs", C.NotFound),
        ("RequestTimeTooSkewed", 403, "s3", C.ClockSkew),
        ("ExpiredToken", 400, "sts", C.Authentication),
        ("SignatureDoesNotMatch", 403, "s3", C.Authentication),
        ("SlowDown", 503, "s3", C.Throttled),
        ("PermanentRedirect", 301, "s3", C.Other),
        # S3 HEAD bare statuses (rule 8)
        ("404", 404, "s3", C.NotFound),
        ("403", 403, "s3", C.AccessDenied),
        ("400", 400, "s3", C.Validation),
        ("412", 412, "s3", C.PreconditionFailed),
        ("304", 304, "s3", C.PreconditionFailed),
        ("301", 301, "s3", C.Other),
        ("503", 503, "s3", C.Unavailable),
    ],
)
def test_classify_code(code: str, status: int, service: str, expected: Category) -> None:
    assert classify_code(code, status, service) is expected


@pytest.mark.parametrize(
    "code, status, expected",
    [
        # a service newer than the table: names first, then the status
        ("GizmoNotFoundException", 400, C.NotFound),
        ("GizmoAlreadyExistsException", 400, C.Conflict),
        ("GizmoLimitExceededException", 400, C.QuotaExceeded),
        ("GizmoInUseException", 400, C.InvalidState),
        ("GizmoThrottledException", 400, C.Throttled),
        ("InvalidGizmoException", 400, C.Validation),
        ("GizmoInternalFailure", 500, C.Unavailable),
        ("GizmoFeatureNotSupportedException", 400, C.Unsupported),
        ("WeirdException", 404, C.NotFound),
        ("WeirdException", 429, C.Throttled),
        ("WeirdException", 503, C.Unavailable),
        ("WeirdException", 409, C.Conflict),
        ("WeirdException", None, C.Other),
        (None, 500, C.Unavailable),
        (None, None, C.Other),
        ("", 403, C.AccessDenied),
    ],
)
def test_unknown_codes_classify_from_name_then_status(
    code: str | None, status: int | None, expected: Category
) -> None:
    assert classify_code(code, status, "brand-new-service") is expected


def test_code_without_service_is_looked_up_across_services() -> None:
    assert classify_code("ResourceNotFoundException") is C.NotFound
    assert classify_code("ThrottlingException") is C.Throttled
    assert classify_code("ConditionalCheckFailedException") is C.PreconditionFailed


@pytest.mark.parametrize(
    "args, category, why",
    [
        (
            ("ProvisionedThroughputExceededException", 400, "dynamodb"),
            C.Throttled,
            "modeled in dynamodb as ProvisionedThroughputExceededException",
        ),
        (("LimitExceededException", 400, "kinesis"), C.Throttled, "curated override for kinesis"),
        (("404", 404, "s3"), C.NotFound, "fallback on HTTP status 404"),
        (("WeirdException", 404, None), C.NotFound, "fallback on HTTP status 404"),
        (("GizmoNotFoundException", None, None), C.NotFound, "name rule"),
        (("InvalidInstanceID.NotFound", 400, "ec2"), C.NotFound, "name rule"),
        (("UnauthorizedOperation", 403, "ec2"), C.AccessDenied, "curated code"),
        (("LimitExceeded", 409, "iam"), C.QuotaExceeded, "curated override for iam"),
    ],
)
def test_explain_code_says_why(
    args: tuple[str, int | None, str | None], category: Category, why: str
) -> None:
    got, reason = explain_code(*args)
    assert got is category
    assert why in reason


def test_classify_code_is_cached() -> None:
    classify_code("NoSuchBucket", 404, "s3")
    before = classify_code.cache_info().hits
    for _ in range(5):
        assert classify_code("NoSuchBucket", 404, "s3") is C.NotFound
    assert classify_code.cache_info().hits == before + 5


def test_table_is_bundled_and_versioned() -> None:
    assert taxonomy.table_version().count(".") == 2


# --- classify(exception) ---------------------------------------------------------------------


def client_error(
    code: str | None,
    status: int | None = 400,
    message: str = "boom",
    operation: str = "Op",
    **error_extra: str,
) -> ClientError:
    error: dict[str, str] = {"Message": message, **error_extra}
    if code is not None:
        error["Code"] = code
    meta: dict[str, object] = {"RequestId": "req-1", "HTTPHeaders": {}}
    if status is not None:
        meta["HTTPStatusCode"] = status
    return ClientError({"Error": error, "ResponseMetadata": meta}, operation)


def test_classify_client_error_fills_every_field() -> None:
    info = classify(client_error("ThrottlingException", 400, "Rate exceeded", "PutItem"))
    assert info == ErrorInfo(
        category=C.Throttled,
        retryable=True,
        throttling=True,
        code="ThrottlingException",
        status=400,
        service=None,
        operation="PutItem",
        request_id="req-1",
        message="Rate exceeded",
    )


def test_classify_reads_the_service_we_attach_to_the_exception() -> None:
    exc = client_error("LimitExceededException", 400)
    assert classify(exc).category is C.QuotaExceeded  # no service: the common meaning
    exc._br_service = "kinesis"
    info = classify(exc)
    assert (info.category, info.service, info.retryable) == (C.Throttled, "kinesis", True)


def test_classify_prefers_an_enriched_category() -> None:
    exc = client_error("Whatever", 400, Category="InvalidState", Retryable="False")
    assert classify(exc).category is C.InvalidState


def test_classify_sqs_query_error_code() -> None:
    exc = client_error(
        "AWS.SimpleQueueService.NonExistentQueue", 400, QueryErrorCode="QueueDoesNotExist"
    )
    info = classify(exc)
    assert info.category is C.NotFound
    assert info.code == "AWS.SimpleQueueService.NonExistentQueue"  # the code is reported as is


def test_classify_request_id_from_headers() -> None:
    exc = ClientError(
        {
            "Error": {"Code": "404", "Message": "Not Found"},
            "ResponseMetadata": {
                "HTTPStatusCode": 404,
                "HTTPHeaders": {"x-amz-request-id": "abc"},
            },
        },
        "HeadObject",
    )
    info = classify(exc)
    assert (info.category, info.request_id, info.status) == (C.NotFound, "abc", 404)


@pytest.mark.parametrize(
    "code, message, expected",
    [
        (
            "InvalidSignatureException",
            "Signature expired: 20240101T000000Z is now earlier than 20240101T000500Z",
            C.ClockSkew,
        ),
        ("InvalidSignatureException", "Signature not yet current: 20990101T000000Z", C.ClockSkew),
        ("InvalidSignatureException", "The request signature we calculated does not match", AUTH),
        ("SignatureDoesNotMatch", "The request signature we calculated does not match", AUTH),
        ("RequestTimeTooSkewed", "The request time is too far from the current time.", C.ClockSkew),
    ],
)
def test_clock_skew_from_the_message(code: str, message: str, expected: Category) -> None:
    assert classify(client_error(code, 400, message)).category is expected


@pytest.mark.parametrize(
    "exc, expected",
    [
        (bexc.EndpointConnectionError(endpoint_url="https://x"), C.Unavailable),
        (bexc.ConnectTimeoutError(endpoint_url="https://x"), C.Unavailable),
        (bexc.ReadTimeoutError(endpoint_url="https://x"), C.Unavailable),
        (bexc.ConnectionClosedError(endpoint_url="https://x"), C.Unavailable),
        (bexc.ProxyConnectionError(proxy_url="https://p"), C.Unavailable),
        (bexc.HTTPClientError(error="reset"), C.Unavailable),
        (ConnectionResetError(), C.Unavailable),
        (TimeoutError(), C.Unavailable),
        (bexc.NoCredentialsError(), C.Authentication),
        (bexc.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), AUTH),
        (bexc.CredentialRetrievalError(provider="sso", error_msg="x"), C.Authentication),
        (bexc.UnauthorizedSSOTokenError(), C.Authentication),
        (bexc.ParamValidationError(report="Missing required parameter"), C.Validation),
        (bexc.InvalidRegionError(region_name="!!"), C.Validation),
        (ValueError("unrelated"), C.Other),
        (KeyError("x"), C.Other),
    ],
)
def test_classify_non_http_exceptions(exc: BaseException, expected: Category) -> None:
    info = classify(exc)
    assert info.category is expected
    assert info.retryable is (expected in RETRYABLE_CATEGORIES)
    assert info.status is None
    assert info.code == type(exc).__name__


def test_classify_never_raises_on_odd_client_errors() -> None:
    odd = ClientError({}, "Op")
    odd.response = "not a dict"
    assert classify(odd).category is C.Other
    weird = ClientError({}, "Op")
    weird.response = {"Error": "x", "ResponseMetadata": []}
    assert classify(weird).category is C.Other
