"""Error categories: the one answer to "what kind of failure is this, and what should I do?".

(Skeleton: the classifier is being built; see TAXONOMY.md.)
"""

from __future__ import annotations

import enum


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
