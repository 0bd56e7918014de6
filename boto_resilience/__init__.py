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

import importlib

# Not typing.TYPE_CHECKING: importing typing would cost the startup hook ~20 ms per interpreter.
TYPE_CHECKING = False
if TYPE_CHECKING:  # the real imports, for type checkers; at run time they are lazy (below)
    from typing import Any

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

# Where each public name lives. Importing the package itself imports nothing heavy, so the
# startup hook can load ``boto_resilience._startup`` without importing botocore.
_EXPORTS = {
    "errors": ("boto_resilience.errors", None),
    "Config": ("boto_resilience.config", "Config"),
    "ConfigError": ("boto_resilience.config", "ConfigError"),
    "Handle": ("boto_resilience.plugin", "Handle"),
    "attach": ("boto_resilience.plugin", "attach"),
    "install": ("boto_resilience.plugin", "install"),
    "register": ("boto_resilience.plugin", "register"),
    "uninstall": ("boto_resilience.plugin", "uninstall"),
    "Category": ("boto_resilience.taxonomy", "Category"),
    "ErrorInfo": ("boto_resilience.taxonomy", "ErrorInfo"),
    "classify": ("boto_resilience.taxonomy", "classify"),
    "classify_code": ("boto_resilience.taxonomy", "classify_code"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'boto_resilience' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
