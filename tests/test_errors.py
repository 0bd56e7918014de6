"""Category exception classes, enrich_error, the per-client exceptions proxy, and pickling.

No network and no moto here: a real botocore client is only used for its exceptions factory.
The end-to-end behaviour against real (moto) services is in ``test_errors_moto.py``.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import pickle
import subprocess
import sys
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from boto_resilience import errors, taxonomy
from boto_resilience.errors import (
    CircuitOpenError,
    DeadlineExceededError,
    RateLimitedError,
    ResilienceError,
    class_for,
    enrich_error,
    install_exception_classes,
)
from boto_resilience.taxonomy import Category

C = Category


def s3_client() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def response(code: str | None, status: int = 400, message: str = "m", **extra: Any) -> Any:
    error: dict[str, Any] = {"Message": message}
    if code is not None:
        error["Code"] = code
    error.update(extra)
    return {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "r"}}


# --- the category classes --------------------------------------------------------------------


def test_one_class_per_category_named_as_the_category() -> None:
    for category in Category:
        cls = class_for(category)
        assert cls.__name__ == category.value
        assert getattr(errors, category.value) is cls
        assert issubclass(cls, ResilienceError)
        assert cls.category is category
        assert class_for(category.value) is cls
    assert "__init__" not in vars(ResilienceError)  # mixable into botocore's classes


def test_category_classes_mix_into_client_error() -> None:
    mixed = type("NoSuchKey", (ClientError, errors.NotFound), {})
    exc = mixed(response("NoSuchKey", 404), "GetObject")
    assert isinstance(exc, ClientError) and isinstance(exc, errors.NotFound)
    assert exc.response["Error"]["Code"] == "NoSuchKey"
    assert exc.retryable is False
    assert taxonomy.classify(exc).category is C.NotFound


# --- fail-fast errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, code, category",
    [
        (CircuitOpenError, "CircuitOpen", C.Unavailable),
        (RateLimitedError, "RateLimited", C.Throttled),
        (DeadlineExceededError, "DeadlineExceeded", C.Unavailable),
    ],
)
def test_fail_fast_errors(cls: Any, code: str, category: Category) -> None:
    exc = cls(service="dynamodb", operation="GetItem", message="no", circuit="dynamodb", at=1.5)
    assert issubclass(type(exc), ClientError)
    assert issubclass(type(exc), class_for(category))
    assert exc.response["Error"] == {
        "Code": code,
        "Message": "no",
        "Category": category.value,
        "Retryable": True,
        "circuit": "dynamodb",
        "at": 1.5,
    }
    assert exc.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] is None  # nothing was sent
    assert (exc.service, exc.operation, exc.operation_name) == ("dynamodb", "GetItem", "GetItem")
    assert (exc.circuit, exc.at) == ("dynamodb", 1.5)
    assert f"({code})" in str(exc) and "GetItem" in str(exc)
    info = taxonomy.classify(exc)
    assert (info.category, info.code, info.service, info.retryable) == (
        category,
        code,
        "dynamodb",
        True,
    )

    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is cls
    assert back.response == exc.response
    assert (back.service, back.operation, back.circuit, back.at) == (
        "dynamodb",
        "GetItem",
        "dynamodb",
        1.5,
    )
    assert str(back) == str(exc)


def test_fail_fast_default_message_and_reserved_names() -> None:
    exc = CircuitOpenError()
    assert exc.response["Error"]["Message"]
    assert exc.operation_name == "unknown"
    with pytest.raises(TypeError):
        CircuitOpenError(response="x")


# --- enrich_error ----------------------------------------------------------------------------


def test_enrich_adds_category_and_retryable_without_touching_code_or_message() -> None:
    parsed = response("ThrottlingException", 400, "Rate exceeded")
    context: dict[str, Any] = {}
    assert enrich_error(parsed, 400, "dynamodb", "PutItem", context) is C.Throttled
    assert parsed["Error"] == {
        "Code": "ThrottlingException",
        "Message": "Rate exceeded",
        "Category": "Throttled",
        "Retryable": True,
    }
    assert context == {}


@pytest.mark.parametrize(
    "operation, override",
    [("HeadObject", "NoSuchKey"), ("GetObject", "NoSuchKey"), ("HeadBucket", "NoSuchBucket")],
)
def test_enrich_names_s3_bare_404s(operation: str, override: str) -> None:
    parsed = response("404", 404, "Not Found")
    context: dict[str, Any] = {}
    assert enrich_error(parsed, 404, "s3", operation, context) is C.NotFound
    assert context["error_code_override"] == override
    assert parsed["Error"]["Code"] == "404"


@pytest.mark.parametrize(
    "service, operation, code, status",
    [
        ("s3", "HeadObject", "403", 403),  # only 404s
        ("s3", "ListObjectsV2", "404", 404),  # not an object/bucket HEAD
        ("s3", "GetObject", "NoSuchBucket", 404),  # a body said what it is
        ("dynamodb", "GetItem", "404", 404),  # only S3
    ],
)
def test_enrich_leaves_other_errors_alone(
    service: str, operation: str, code: str, status: int
) -> None:
    context: dict[str, Any] = {}
    enrich_error(response(code, status), status, service, operation, context)
    assert "error_code_override" not in context


def test_enrich_never_overwrites_an_existing_override() -> None:
    context = {"error_code_override": "QueueDoesNotExist"}
    parsed = response(
        "AWS.SimpleQueueService.NonExistentQueue", 400, QueryErrorCode="QueueDoesNotExist"
    )
    assert enrich_error(parsed, 400, "sqs", "GetQueueUrl", context) is C.NotFound
    assert context == {"error_code_override": "QueueDoesNotExist"}
    context = {"error_code_override": "Custom"}
    enrich_error(response("404", 404), 404, "s3", "HeadObject", context)
    assert context == {"error_code_override": "Custom"}


def test_enrich_refines_dynamodb_transaction_cancellations() -> None:
    def reasons(*codes: str) -> Any:
        parsed = response("TransactionCanceledException")
        parsed["CancellationReasons"] = [{"Code": c} for c in codes]
        return parsed

    enrich = enrich_error
    assert (
        enrich(reasons("None", "ConditionalCheckFailed"), 400, "dynamodb", "T", {})
        is C.PreconditionFailed
    )
    assert enrich(reasons("TransactionConflict", "None"), 400, "dynamodb", "T", {}) is C.Conflict
    assert enrich(reasons("ThrottlingError"), 400, "dynamodb", "T", {}) is C.Throttled
    assert (
        enrich(reasons("ThrottlingError", "ValidationError"), 400, "dynamodb", "T", {})
        is C.Validation
    )
    assert enrich(reasons(), 400, "dynamodb", "T", {}) is C.PreconditionFailed  # the default


def test_enrich_clock_skew_from_the_message() -> None:
    parsed = response(
        "InvalidSignatureException", 400, "Signature expired: 20240101T000000Z is now earlier"
    )
    assert enrich_error(parsed, 400, "dynamodb", "GetItem", {}) is C.ClockSkew
    assert parsed["Error"]["Retryable"] is True


@pytest.mark.parametrize("parsed", [{}, {"Error": None}, {"Error": "text"}, {"Error": {"Code": 5}}])
def test_enrich_never_raises(parsed: Any) -> None:
    assert isinstance(enrich_error(parsed, 500, "s3", "GetObject", {}), Category)
    assert isinstance(enrich_error(None, 500, "s3", "GetObject", {}), Category)  # type: ignore[arg-type]


# --- install_exception_classes ---------------------------------------------------------------


def test_from_code_returns_a_subclass_of_the_original_that_becomes_the_category() -> None:
    client = s3_client()
    original = client.exceptions.NoSuchKey
    undo = install_exception_classes(client)
    cls = client.exceptions.from_code("NoSuchKey")
    assert cls is not original and issubclass(cls, original)
    exc = cls(response("NoSuchKey", 404), "GetObject")
    assert type(exc).__name__ == "NoSuchKey"
    assert (
        isinstance(exc, original)
        and isinstance(exc, ClientError)
        and isinstance(exc, errors.NotFound)
    )
    assert exc.response["Error"]["Code"] == "NoSuchKey"
    assert exc.operation_name == "GetObject"
    assert exc._br_service == "s3"  # type: ignore[attr-defined]
    assert str(exc) == str(original(response("NoSuchKey", 404), "GetObject"))
    # the same class every time, so except clauses and metrics see one type
    again = client.exceptions.from_code("NoSuchKey")(response("NoSuchKey", 404), "GetObject")
    assert type(again) is type(exc)
    undo()
    assert client.exceptions.from_code("NoSuchKey") is original


def test_unmodeled_codes_become_categorised_client_errors() -> None:
    client = s3_client()
    install_exception_classes(client)
    exc = client.exceptions.from_code("403")(response("403", 403), "HeadObject")
    assert type(exc).__name__ == "ClientError"
    assert isinstance(exc, ClientError) and isinstance(exc, errors.AccessDenied)
    throttled = client.exceptions.from_code("SlowDown")(response("SlowDown", 503), "PutObject")
    assert isinstance(throttled, errors.Throttled) and throttled.retryable


def test_an_enriched_category_decides() -> None:
    client = s3_client()
    install_exception_classes(client)
    exc = client.exceptions.from_code("Odd")(response("Odd", 400, Category="Conflict"), "PutObject")
    assert isinstance(exc, errors.Conflict)


def test_the_proxy_delegates_everything_else() -> None:
    client = s3_client()
    original = client.exceptions
    install_exception_classes(client)
    proxy = client.exceptions
    assert proxy is not original
    assert proxy.ClientError is ClientError
    assert proxy.NoSuchBucket is original.NoSuchBucket
    assert proxy._code_to_exception is original._code_to_exception
    assert "NoSuchBucket" in dir(proxy)
    with pytest.raises(AttributeError):
        proxy.NoSuchThing  # noqa: B018
    # botocore's exceptions object is shared by every s3 client: it is never modified
    assert original.from_code("NoSuchKey") is original.NoSuchKey


def test_install_is_lazy_idempotent_and_undoable() -> None:
    client = s3_client()
    assert client._exceptions is None  # botocore loads it on first use
    undo = install_exception_classes(client)
    assert install_exception_classes(client)() is None  # a second install is a no-op
    assert isinstance(client.exceptions, errors._CategorizedExceptions)
    client.exceptions.NoSuchKey  # noqa: B018  (loads botocore's object)
    undo()
    assert not isinstance(client.exceptions, errors._CategorizedExceptions)
    assert client.exceptions.from_code("NoSuchKey") is client.exceptions.NoSuchKey
    undo()  # twice is harmless


def test_other_clients_are_untouched() -> None:
    covered, plain = s3_client(), s3_client()
    install_exception_classes(covered)
    exc = plain.exceptions.from_code("NoSuchKey")(response("NoSuchKey", 404), "GetObject")
    assert not isinstance(exc, ResilienceError)


# --- pickling --------------------------------------------------------------------------------


def raised(client: Any, code: str, status: int = 404, op: str = "GetObject") -> Any:
    parsed = response(code, status, "gone")
    enrich_error(parsed, status, "s3", op, {})
    return client.exceptions.from_code(code)(parsed, op)


def test_pickle_round_trip_in_process() -> None:
    client = s3_client()
    install_exception_classes(client)
    exc = raised(client, "NoSuchKey")
    exc.extra_attribute = "kept"
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc)
    assert isinstance(back, client.exceptions.NoSuchKey)
    assert back.response == exc.response and back.operation_name == "GetObject"
    assert back.extra_attribute == "kept"
    assert str(back) == str(exc)
    plain = raised(client, "403", 403, "HeadObject")
    back_plain = pickle.loads(pickle.dumps(plain))
    assert type(back_plain) is type(plain) and isinstance(back_plain, errors.AccessDenied)


UNPICKLE = """
import pickle, sys
from botocore.exceptions import ClientError
from boto_resilience import errors
exc = pickle.loads(sys.stdin.buffer.read())
print(type(exc).__name__, isinstance(exc, ClientError), isinstance(exc, errors.NotFound),
      exc.response["Error"]["Code"], exc.operation_name, exc._br_service,
      [c.__name__ for c in type(exc).__mro__][:3])
"""


def test_pickle_round_trip_in_a_fresh_process() -> None:
    client = s3_client()
    install_exception_classes(client)
    data = pickle.dumps(raised(client, "NoSuchKey"))
    done = subprocess.run(
        [sys.executable, "-c", UNPICKLE], input=data, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode().split(" ", 6)
    assert out[:6] == ["NoSuchKey", "True", "True", "NoSuchKey", "GetObject", "s3"]
    # rebuilt from botocore's own s3 model: the modeled class, subclassed once, then categorised
    assert "'NoSuchKey', 'NoSuchKey', 'NoSuchKey'" in out[6]


def _raise_from_worker(code: str) -> None:
    client = boto3.client("s3", region_name="us-east-1")
    install_exception_classes(client)
    raise raised(client, code)


def test_exceptions_cross_a_process_pool() -> None:
    client = s3_client()
    install_exception_classes(client)
    client.exceptions.from_code("NoSuchKey")  # this process has met the class
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        future = pool.submit(_raise_from_worker, "NoSuchKey")
        with pytest.raises(client.exceptions.NoSuchKey) as info:
            future.result(timeout=120)
    assert isinstance(info.value, errors.NotFound)
    assert info.value.response["Error"]["Code"] == "NoSuchKey"
