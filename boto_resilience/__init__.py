"""boto_resilience: resilient, observable boto3 calls without changing a single call.

A botocore event-hook plugin. Cover clients once and every call gets our retry policy (jittered
backoff, throttling-aware, deadlines, retry budget, rate limiting, circuit breaking), errors that
are catchable by category, and per-call / per-attempt metrics::

    import boto3, boto_resilience

    boto_resilience.register(boto3.Session())   # every client made from the session afterwards
    boto_resilience.attach(existing_client)     # one client that already exists
    boto_resilience.install()                   # every botocore session created from now on

or, with no code change at all, ``BOTO_RESILIENCE=1 python app.py``.

Module map: :mod:`.plugin` (wiring), :mod:`.handlers` (the botocore adapter), :mod:`.config`,
:mod:`.policy` and :mod:`.backoff` (retry decisions), :mod:`.taxonomy` and :mod:`.errors`
(categories), :mod:`.budget`, :mod:`.ratelimit`, :mod:`.breaker` (load protection),
:mod:`.metrics` (records and sinks), :mod:`.testing` (helpers for users' tests).
"""

from __future__ import annotations

from boto_resilience import errors
from boto_resilience.config import Config, ConfigError
from boto_resilience.plugin import Handle, attach, install, register, uninstall
from boto_resilience.taxonomy import Category, ErrorInfo, classify, classify_code

__version__ = "0.1.0"

__all__ = [
    "Category",
    "Config",
    "ConfigError",
    "ErrorInfo",
    "Handle",
    "attach",
    "classify",
    "classify_code",
    "errors",
    "install",
    "register",
    "uninstall",
]
