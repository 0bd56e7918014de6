"""The public API is small and pinned: a change to it is a deliberate change to this test."""

from __future__ import annotations

from pathlib import Path

import boto_resilience


def test_all_is_pinned() -> None:
    assert sorted(boto_resilience.__all__) == [
        "Category", "Config", "ConfigError", "ErrorInfo", "Handle", "attach", "classify",
        "classify_code", "errors", "install", "register", "uninstall"]
    for name in boto_resilience.__all__:
        assert getattr(boto_resilience, name) is not None


def test_category_values_are_exactly_the_thirteen_names() -> None:
    assert [c.value for c in boto_resilience.Category] == [
        "NotFound", "Conflict", "Throttled", "QuotaExceeded", "AccessDenied", "Authentication",
        "Validation", "PreconditionFailed", "Unavailable", "ClockSkew", "Unsupported",
        "InvalidState", "Other"]
    assert all(isinstance(c, str) and c == c.value for c in boto_resilience.Category)


def test_typed_package() -> None:
    assert (Path(boto_resilience.__file__).parent / "py.typed").exists()


def test_unknown_attribute() -> None:
    try:
        boto_resilience.nope  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
