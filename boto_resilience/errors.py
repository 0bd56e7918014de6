"""Exception classes per category, and how botocore's own exceptions come to be instances of them.

What a user writes::

    try:
        s3.head_object(Bucket=b, Key=k)
    except boto_resilience.errors.NotFound:      # also a DynamoDB ResourceNotFoundException,
        ...                                       # an SQS QueueDoesNotExist, ...

while ``except ClientError``, ``except client.exceptions.NoSuchKey`` and
``e.response['Error']['Code']`` keep working exactly as before. How:

* ``ResilienceError`` and one subclass per :class:`~boto_resilience.taxonomy.Category`, named
  exactly as the category. They define no ``__init__``, so they can be mixed into botocore's
  exception classes, whose ``__init__(error_response, operation_name)`` then applies unchanged.

* :func:`enrich_error` runs in the client's ``after-call`` handler, before botocore raises: it adds
  ``Error.Category`` and ``Error.Retryable`` to the parsed response (never touching ``Code`` or
  ``Message``) and, for S3 HEAD 404s that have no body, sets the ``error_code_override`` botocore
  reads so the raised class is ``NoSuchKey``/``NoSuchBucket``.

* :func:`install_exception_classes` replaces the client's ``_exceptions`` with a per-client proxy.
  Botocore raises ``client.exceptions.from_code(code)(parsed, operation_name)``; the proxy's
  ``from_code`` returns a *dispatch class*, a subclass of the class botocore would have raised,
  whose ``__new__`` picks the category and returns an instance of a cached class deriving from both
  (named like the original). Everything else is delegated to botocore's exceptions object, which is
  shared by every client of the service and therefore never modified.

* Pickling: botocore's modeled classes are created at runtime and cannot be found by name, so our
  instances reduce to :func:`_rebuild_client_error`, which finds (or recreates from the botocore
  model) the same modeled class and the same category in the receiving process.

* Fail-fast errors raised by our own components (:class:`CircuitOpenError`,
  :class:`RateLimitedError`, :class:`DeadlineExceededError`) are ``ClientError``\\ s too, so
  existing ``except ClientError`` handlers keep catching every failure of a boto3 call.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Mapping
from typing import Any, Callable, ClassVar, Optional

from botocore.exceptions import ClientError

from boto_resilience.taxonomy import (
    RETRYABLE_CATEGORIES,
    Category,
    category_of_error,
)

__all__ = [
    "AccessDenied",
    "Authentication",
    "CircuitOpenError",
    "ClockSkew",
    "Conflict",
    "DeadlineExceededError",
    "InvalidState",
    "NotFound",
    "Other",
    "PreconditionFailed",
    "QuotaExceeded",
    "RateLimitedError",
    "ResilienceError",
    "Throttled",
    "Unavailable",
    "Unsupported",
    "Validation",
    "class_for",
    "enrich_error",
    "install_exception_classes",
]


class ResilienceError(Exception):
    """Base of every category class. Deliberately has no ``__init__`` (see module docstring)."""

    #: The category this class stands for; set on each subclass.
    category: ClassVar[Category]

    # Declared for type checkers only (no value, so nothing exists at runtime): every instance
    # boto_resilience raises is also a ``ClientError``, so ``except errors.NotFound as e:
    # e.response["Error"]["Code"]`` type-checks.
    response: dict[str, Any]
    operation_name: str

    @property
    def retryable(self) -> bool:
        """Whether waiting and retrying can help (Throttled, Unavailable, ClockSkew)."""
        return type(self).category in RETRYABLE_CATEGORIES


class NotFound(ResilienceError):
    """The referenced resource or configuration does not exist (any more)."""

    category = Category.NotFound


class Conflict(ResilienceError):
    """Already exists / name taken, a concurrent write collided, or an idempotency token reused."""

    category = Category.Conflict


class Throttled(ResilienceError):
    """A rate limit that clears with time: retry with backoff."""

    category = Category.Throttled


class QuotaExceeded(ResilienceError):
    """A count or size quota that waiting will not clear: raise it or delete something."""

    category = Category.QuotaExceeded


class AccessDenied(ResilienceError):
    """The caller is known but not permitted."""

    category = Category.AccessDenied


class Authentication(ResilienceError):
    """The caller's identity could not be established (credentials, token, signature)."""

    category = Category.Authentication


class Validation(ResilienceError):
    """The request itself is wrong, whatever the server's state."""

    category = Category.Validation


class PreconditionFailed(ResilienceError):
    """A condition the caller supplied was false (condition expression, If-Match, revision)."""

    category = Category.PreconditionFailed


class Unavailable(ResilienceError):
    """Server-side or transient: 5xx, timeouts, connection errors, AWS-side capacity."""

    category = Category.Unavailable


class ClockSkew(ResilienceError):
    """The request's timestamp is too far from the server's time."""

    category = Category.ClockSkew


class Unsupported(ResilienceError):
    """The operation, feature, method or type is not supported here."""

    category = Category.Unsupported


class InvalidState(ResilienceError):
    """The target is in a state that forbids the operation (busy, not ready, has dependents)."""

    category = Category.InvalidState


class Other(ResilienceError):
    """None of the others: dry-run signals, redirects, business outcomes."""

    category = Category.Other


_CLASSES: dict[Category, type[ResilienceError]] = {
    cls.category: cls
    for cls in (
        NotFound,
        Conflict,
        Throttled,
        QuotaExceeded,
        AccessDenied,
        Authentication,
        Validation,
        PreconditionFailed,
        Unavailable,
        ClockSkew,
        Unsupported,
        InvalidState,
        Other,
    )
}
_BY_VALUE: dict[str, Category] = {c.value: c for c in Category}


def class_for(category: Category | str) -> type[ResilienceError]:
    """The exception class of a category (accepts the enum or its string value)."""
    return _CLASSES[Category(category)]


# --------------------------------------------------------------------------------------------
# Fail-fast errors raised by our own components instead of sending a request
# --------------------------------------------------------------------------------------------

_RESERVED = frozenset({"response", "operation_name", "service", "operation", "args"})


class _FailFastError(ClientError):  # type: ignore[misc,unused-ignore]  # botocore is untyped
    """A ``ClientError`` that no server sent: built from keywords, with a botocore-like response.

    Why a ClientError: code that guards boto3 calls with ``except ClientError`` must keep catching
    every failure of the call, including the ones we raise before any request is made.
    ``HTTPStatusCode`` is None because no HTTP exchange happened; metrics must not count it as a
    server 5xx.
    """

    error_code: ClassVar[str] = "FailFast"
    default_message: ClassVar[str] = "the request was not sent"
    http_status: ClassVar[Optional[int]] = None

    def __init__(
        self,
        service: Optional[str] = None,
        operation: Optional[str] = None,
        message: Optional[str] = None,
        **extra: Any,
    ) -> None:
        clash = _RESERVED.intersection(extra)
        if clash:
            raise TypeError(f"reserved attribute name(s): {', '.join(sorted(clash))}")
        category: Category = getattr(type(self), "category", Category.Other)
        error: dict[str, Any] = dict(extra)
        error.update(
            {
                "Code": self.error_code,
                "Message": message or self.default_message,
                "Category": category.value,
                "Retryable": category in RETRYABLE_CATEGORIES,
            }
        )
        response: dict[str, Any] = {
            "Error": error,
            "ResponseMetadata": {
                "HTTPStatusCode": self.http_status,
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            },
        }
        super().__init__(response, operation or "unknown")
        self.service = service
        self.operation = operation
        for key, value in extra.items():
            setattr(self, key, value)
        # classify() reads the service from here, as for exceptions botocore raises.
        self._br_service = service

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_fail_fast, (type(self), self.response, self.operation_name), self.__dict__)


def _rebuild_fail_fast(
    cls: type[_FailFastError], response: dict[str, Any], operation_name: str
) -> _FailFastError:
    """Unpickle a fail-fast error without re-running its keyword constructor."""
    obj = cls.__new__(cls)
    ClientError.__init__(obj, response, operation_name)
    return obj


class CircuitOpenError(_FailFastError, Unavailable):
    """The circuit breaker for this service/operation is open: the call failed without a request.

    Extra keywords (e.g. ``circuit=``, ``probe_at=``) become attributes and ``Error`` keys.
    """

    error_code = "CircuitOpen"
    default_message = "circuit breaker open: request not sent"


class RateLimitedError(_FailFastError, Throttled):
    """The client-side rate limiter refused to wait for a token (fail-fast mode)."""

    error_code = "RateLimited"
    default_message = "client-side rate limit reached: request not sent"


class DeadlineExceededError(_FailFastError, Unavailable):
    """The call's overall deadline passed before (another) attempt could be made."""

    error_code = "DeadlineExceeded"
    default_message = "call deadline exceeded"


# --------------------------------------------------------------------------------------------
# enrich_error: called from the after-call handler, before botocore raises
# --------------------------------------------------------------------------------------------

# S3 HEAD (and rare bodiless GET) 404s carry only the bare status as the code. Which modeled
# exception the caller expects depends on what the operation addresses.
_S3_KEY_OPERATIONS = frozenset({"HeadObject", "GetObject", "GetObjectAttributes"})
_S3_BUCKET_OPERATIONS = frozenset({"HeadBucket"})
_BARE_404_CODES = frozenset({"404", "NotFound", ""})


# DynamoDB cancels a whole transaction for one of several reasons, listed per item in
# CancellationReasons; the first of these present decides. Failures a retry cannot fix come
# first, so a transaction that has both a failed condition and a throttled item is not retried.
_TRANSACTION_REASONS = (
    ("ConditionalCheckFailed", Category.PreconditionFailed),
    ("ValidationError", Category.Validation),
    ("ItemCollectionSizeLimitExceeded", Category.QuotaExceeded),
    ("TransactionConflict", Category.Conflict),
    ("ProvisionedThroughputExceeded", Category.Throttled),
    ("ThrottlingError", Category.Throttled),
    ("RequestLimitExceeded", Category.Throttled),
)


def _transaction_category(parsed: dict[str, Any]) -> Optional[Category]:
    reasons = parsed.get("CancellationReasons")
    if not isinstance(reasons, list):
        return None
    codes = {r.get("Code") for r in reasons if isinstance(r, dict)}
    for code, category in _TRANSACTION_REASONS:
        if code in codes:
            return category
    return None


def enrich_error(
    parsed: dict[str, Any],
    http_status: int,
    service: str,
    operation: str,
    context: dict[str, Any],
) -> Category:
    """Add ``Error.Category``/``Error.Retryable`` to an error response and fix S3's bare 404s.

    Called for every HTTP status >= 300 before botocore raises. Never changes ``Code`` or
    ``Message``; never overwrites an ``error_code_override`` already set (SQS sets one); never
    raises. Cheap: one cached classification and a few dict operations.
    """
    try:
        error = parsed.get("Error")
        if not isinstance(error, dict):
            error = {}
            parsed["Error"] = error
        category = category_of_error(error, http_status, service)
        if service == "dynamodb" and error.get("Code") == "TransactionCanceledException":
            category = _transaction_category(parsed) or category
        error["Category"] = category.value
        error["Retryable"] = category in RETRYABLE_CATEGORIES
        if (
            http_status == 404
            and service == "s3"
            and str(error.get("Code") or "") in _BARE_404_CODES
            and not context.get("error_code_override")
        ):
            if operation in _S3_KEY_OPERATIONS:
                context["error_code_override"] = "NoSuchKey"
            elif operation in _S3_BUCKET_OPERATIONS:
                context["error_code_override"] = "NoSuchBucket"
        return category
    except Exception:  # never break the user's call over metadata
        return Category.Other


# --------------------------------------------------------------------------------------------
# install_exception_classes: the per-client proxy and the dispatch classes
# --------------------------------------------------------------------------------------------

# Weak caches: a program that creates a session per request must not accumulate classes; a
# client's proxy keeps strong references to the classes it hands out, for the client's lifetime.
_DISPATCH: weakref.WeakValueDictionary[tuple[str, int], type] = weakref.WeakValueDictionary()
_MIXED: weakref.WeakValueDictionary[tuple[int, Category], type] = weakref.WeakValueDictionary()
_ORIGINALS: weakref.WeakValueDictionary[tuple[str, str], type] = weakref.WeakValueDictionary()
_LIVE_PROXIES: weakref.WeakValueDictionary[str, _CategorizedExceptions] = (
    weakref.WeakValueDictionary()
)
_LOCK = threading.Lock()


def _dispatch_new(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """``__new__`` of dispatch classes: become an instance of (original, category) instead.

    Python then runs ``ClientError.__init__`` on the result, because it is an instance of the
    class that was called. Constructing a mixed class directly (unpickling) skips the choice.
    """
    if cls.__dict__.get("_br_is_dispatch"):
        try:
            response = args[0] if args else kwargs.get("error_response")
            category = _category_of_response(response, cls._br_service)
            cls = _mixed_class(cls, category)
        except Exception:  # pragma: no cover - defensive: raise the original class then
            pass
    return Exception.__new__(cls, *args, **kwargs)


def _category_of_response(response: Any, service: Optional[str]) -> Category:
    if not isinstance(response, Mapping):
        return Category.Other
    error = response.get("Error")
    meta = response.get("ResponseMetadata")
    status = meta.get("HTTPStatusCode") if isinstance(meta, Mapping) else None
    return category_of_error(
        error if isinstance(error, Mapping) else {},
        status if isinstance(status, int) else None,
        service,
    )


def _dispatch_reduce(self: Any) -> tuple[Any, ...]:
    """Pickle as "the <name> of <service> in <category>", rebuilt by the receiving process."""
    category = getattr(type(self), "category", None)
    state = {k: v for k, v in self.__dict__.items() if k not in ("response", "operation_name")}
    return (
        _rebuild_client_error,
        (
            self._br_service,
            self._br_name,
            category.value if isinstance(category, Category) else None,
            self.response,
            self.operation_name,
        ),
        state or None,
    )


def _dispatch_class(original: type, service: str) -> type:
    """The dispatch subclass of one botocore exception class, for one service (cached)."""
    key = (service, id(original))
    found = _DISPATCH.get(key)
    if found is not None and found.__bases__[0] is original:
        return found
    with _LOCK:
        found = _DISPATCH.get(key)
        if found is not None and found.__bases__[0] is original:
            return found
        dispatch = type(
            original.__name__,
            (original,),
            {
                "__module__": original.__module__,
                "__qualname__": original.__qualname__,
                "__doc__": original.__doc__,
                "__new__": _dispatch_new,
                "__reduce__": _dispatch_reduce,
                "_br_is_dispatch": True,
                "_br_service": service,
                "_br_name": original.__name__,
            },
        )
        _DISPATCH[key] = dispatch
        # The most recently met class wins: each botocore session builds its own exception
        # classes, and the newest session is the likeliest to be the one catching.
        _ORIGINALS[(service, original.__name__)] = original
        return dispatch


def _mixed_class(dispatch: type, category: Category) -> type:
    """The class actually raised: (dispatch of the original, category class), cached."""
    key = (id(dispatch), category)
    found = _MIXED.get(key)
    if found is not None and found.__bases__[0] is dispatch:
        return found
    with _LOCK:
        found = _MIXED.get(key)
        if found is not None and found.__bases__[0] is dispatch:
            return found
        mixed = type(
            dispatch.__name__,
            (dispatch, _CLASSES[category]),
            {"__module__": dispatch.__module__, "__qualname__": dispatch.__qualname__},
        )
        _MIXED[key] = mixed
        return mixed


class _CategorizedExceptions:
    """What ``client.exceptions`` becomes: botocore's exceptions object, with a new from_code.

    Every attribute (``NoSuchKey``, ``ClientError``, ``_code_to_exception``) comes from botocore's
    object, loaded on first use exactly as the client would have; only ``from_code`` differs.
    """

    def __init__(self, load: Callable[[], Any], service: str, original: Any = None) -> None:
        self._br_load = load
        self._br_service = service
        self._br_original = original
        self._br_classes: dict[type, type] = {}  # keeps this client's classes alive

    def _br_get_original(self) -> Any:
        original = self._br_original
        if original is None:
            original = self._br_original = self._br_load()
        return original

    def from_code(self, error_code: Any) -> Any:
        """The class botocore would raise, as a dispatch class that also carries the category."""
        original_cls = self._br_get_original().from_code(error_code)
        try:
            dispatch = self._br_classes.get(original_cls)
            if dispatch is None:
                dispatch = self._br_classes[original_cls] = _dispatch_class(
                    original_cls, self._br_service
                )
            return dispatch
        except Exception:  # pragma: no cover - defensive: behave exactly like botocore
            return original_cls

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_br_"):  # not yet set (e.g. during copy/pickle): no recursion
            raise AttributeError(name)
        return getattr(self._br_get_original(), name)

    def __dir__(self) -> Any:
        return sorted(set(dir(self._br_get_original())) | {"from_code"})

    def __repr__(self) -> str:
        return f"<categorized {self._br_get_original()!r}>"


def install_exception_classes(client: Any) -> Callable[[], None]:
    """Make every ClientError this client raises also an instance of its category class.

    Returns the undo function, which restores botocore's exceptions object (if ours is still in
    place). Installing twice changes nothing; the second undo does nothing.
    """
    current = getattr(client, "_exceptions", None)
    if isinstance(current, _CategorizedExceptions):
        return _noop
    service = str(client.meta.service_model.service_name)
    proxy = _CategorizedExceptions(client._load_exceptions, service, current)
    client._exceptions = proxy
    _LIVE_PROXIES[service] = proxy

    def undo() -> None:
        if getattr(client, "_exceptions", None) is proxy:
            client._exceptions = proxy._br_original if proxy._br_original is not None else current

    return undo


def _noop() -> None:
    return None


# --------------------------------------------------------------------------------------------
# Unpickling
# --------------------------------------------------------------------------------------------


def _rebuild_client_error(
    service: str,
    name: str,
    category: Optional[str],
    response: dict[str, Any],
    operation_name: str,
) -> ClientError:
    """Recreate an equivalent exception: same class name, ClientError, category class."""
    original = _original_class(service, name)
    dispatch = _dispatch_class(original, service)
    cat = _BY_VALUE.get(category or "") or _category_of_response(response, service)
    mixed = _mixed_class(dispatch, cat)
    exc: ClientError = mixed(response, operation_name)
    return exc


def _original_class(service: str, name: str) -> type:
    """The botocore class called ``name`` for ``service`` in this process.

    Preference: a class this process already raised or whose client is attached (then
    ``except client.exceptions.X`` catches the unpickled exception too), then the class a fresh
    botocore exceptions factory builds from the model, then a look-alike ClientError subclass.
    """
    if name == "ClientError":
        client_error: type = ClientError
        return client_error
    found = _ORIGINALS.get((service, name))
    if found is not None:
        return found
    proxy = _LIVE_PROXIES.get(service)
    if proxy is not None:
        try:
            cls = getattr(proxy._br_get_original(), name, None)
            if isinstance(cls, type) and issubclass(cls, ClientError):
                return cls
        except Exception:  # pragma: no cover
            pass
    cls = getattr(_modeled_exceptions(service), name, None)
    if isinstance(cls, type) and issubclass(cls, ClientError):
        return cls
    return _lookalike_class(service, name)


@functools.lru_cache(maxsize=64)
def _modeled_exceptions(service: str) -> Any:
    """botocore's exceptions object for a service, built from the installed model (cached)."""
    try:
        from botocore.errorfactory import ClientExceptionsFactory

        model = _botocore_session().get_service_model(service)
        return ClientExceptionsFactory().create_client_exceptions(model)
    except Exception:
        return None


@functools.lru_cache(maxsize=1)
def _botocore_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@functools.lru_cache(maxsize=256)
def _lookalike_class(service: str, name: str) -> type:
    """A stand-in when the model is not available: same name, a ClientError subclass."""
    return type(name, (ClientError,), {"__module__": "botocore.errorfactory"})
