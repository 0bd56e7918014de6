"""One frozen, validated configuration, built once and resolved once per (service, operation).

Precedence, lowest first: built-in defaults < TOML file (``BOTO_RESILIENCE_CONFIG``) <
``BOTO_RESILIENCE_<SETTING>`` environment variables < explicit keyword arguments. Every setting
has exactly one name, used as the keyword argument, the TOML key and (upper-cased, prefixed) the
environment variable: ``max_attempts=4`` / ``max_attempts = 4`` /
``BOTO_RESILIENCE_MAX_ATTEMPTS=4``.

Per-service and per-operation overrides live in one mapping, ``overrides``, keyed by the boto3
client name (``"dynamodb"``) or ``"<service>.<Operation>"`` (``"dynamodb.Query"``); in TOML they
are tables, ``[overrides."dynamodb.Query"]``. Only the retry settings (:data:`OVERRIDABLE`) can be
overridden. :meth:`Config.for_operation` merges them once per (service, operation) and caches the
result, so the hot path does one dict lookup.

Errors are loud where a person is looking and quiet where a process is running: a bad explicit
argument raises :class:`ConfigError` naming the setting and the accepted values; a bad
environment or file value is reported by :func:`from_environment` as a list of messages, which
the plugin logs once at ERROR before leaving botocore's own behaviour in place.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional

ENV_PREFIX = "BOTO_RESILIENCE_"
ENV_ENABLE = "BOTO_RESILIENCE"
ENV_CONFIG_FILE = "BOTO_RESILIENCE_CONFIG"

_TRUE = ("1", "true", "on", "yes")
_FALSE = ("0", "false", "off", "no")

BACKOFF_NAMES = ("full_jitter", "equal_jitter", "decorrelated_jitter", "exponential", "constant")
SCOPES = ("client", "session", "process")
AMBIGUOUS_POLICIES = ("idempotent", "always", "never")


class ConfigError(ValueError):
    """A setting has a value it cannot take. The message names the setting and what it accepts."""


def env_flag_enabled(environ: Mapping[str, str]) -> bool:
    """True when ``BOTO_RESILIENCE`` asks for the plugin (``1``/``true``/``on``/``yes``)."""
    return environ.get(ENV_ENABLE, "").strip().lower() in _TRUE


# --- value parsers: each takes a raw value (a Python value or a string from the environment) ---


def _fail(name: str, value: Any, accepted: str) -> ConfigError:
    return ConfigError(f"boto_resilience: invalid {name}={value!r}: accepted values are {accepted}")


def _parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise _fail(name, value, "true/false (1/0, on/off, yes/no)")


def _number(name: str, value: Any, accepted: str, *, allow_none: bool) -> Optional[float]:
    if allow_none and (value is None or (isinstance(value, str) and value.strip().lower()
                                         in ("", "none", "off"))):
        return None
    if isinstance(value, bool):
        raise _fail(name, value, accepted)
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise _fail(name, value, accepted) from None
    if math.isnan(number) or math.isinf(number):
        raise _fail(name, value, accepted)
    return number


def _positive_seconds(name: str, value: Any) -> float:
    accepted = "a number of seconds >= 0"
    number = _number(name, value, accepted, allow_none=False)
    if number is None or number < 0:
        raise _fail(name, value, accepted)
    return number


def _optional_seconds(name: str, value: Any) -> Optional[float]:
    accepted = "a number of seconds > 0, or none"
    number = _number(name, value, accepted, allow_none=True)
    if number is not None and number <= 0:
        raise _fail(name, value, accepted)
    return number


def _optional_attempts(name: str, value: Any) -> Optional[int]:
    accepted = "a whole number from 1 to 100, or none (use the client's own setting)"
    number = _number(name, value, accepted, allow_none=True)
    if number is None:
        return None
    if number != int(number) or not 1 <= number <= 100:
        raise _fail(name, value, accepted)
    return int(number)


def _choice(choices: tuple[str, ...]) -> Callable[[str, Any], str]:
    def parse(name: str, value: Any) -> str:
        text = value.strip().lower().replace("-", "_") if isinstance(value, str) else value
        if text not in choices:
            raise _fail(name, value, ", ".join(choices))
        return str(text)

    return parse


def _str_tuple(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise _fail(name, value, "a comma-separated string or a list of error codes")


_SINK_METHODS = ("on_attempt", "on_call", "on_state_change")


def _is_sink(item: Any) -> bool:
    """A sink needs at least one of the record methods (a sink with only ``on_call`` is fine)."""
    return not isinstance(item, str) and any(
        callable(getattr(item, m, None)) for m in _SINK_METHODS)


def _metrics(name: str, value: Any) -> tuple[Any, ...]:
    """Sink names (from anywhere) or sink objects (explicit arguments only)."""
    accepted = ("a comma-separated list of sink names (memory, logging, emf, prometheus, otel, "
                "statsd, cloudwatch), none, or sink objects (with on_call / on_attempt / "
                "on_state_change)")
    if value is None:
        return ()
    items: list[Any]
    if isinstance(value, str):
        text = value.strip().lower()
        items = [] if text in ("", "none", "off") else [p.strip() for p in text.split(",")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif _is_sink(value):
        items = [value]
    else:
        raise _fail(name, value, accepted)
    known = _sink_names()
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            if item.strip().lower() not in known:
                raise _fail(name, item, accepted)
            out.append(item.strip().lower())
        elif _is_sink(item):
            out.append(item)
        else:
            raise _fail(name, item, accepted)
    return tuple(out)


def _sink_names() -> tuple[str, ...]:
    try:
        from boto_resilience.metrics import SINK_NAMES
    except ImportError:  # pragma: no cover - the metrics package always ships
        return ("memory", "logging", "emf", "prometheus", "otel", "statsd", "cloudwatch")
    return tuple(SINK_NAMES)


def _namespace(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise _fail(name, value, "a non-empty name of at most 255 characters")
    return value.strip()


@dataclasses.dataclass(frozen=True)
class Setting:
    """One configuration setting: its name, parser, default and what it is for."""

    name: str
    parse: Callable[[str, Any], Any]
    default: Any
    doc: str


SETTINGS: tuple[Setting, ...] = (
    Setting("max_attempts", _optional_attempts, None,
            "total attempts per call, first included; none: the client's Config(retries=...) or "
            "AWS_MAX_ATTEMPTS if set, else botocore's standard-mode default for the service"),
    Setting("backoff", _choice(BACKOFF_NAMES), "full_jitter",
            "backoff strategy between attempts"),
    Setting("base_delay", _positive_seconds, 0.025,
            "base delay for transient errors (5xx, timeouts, connection errors), seconds"),
    Setting("throttle_base_delay", _positive_seconds, 0.25,
            "base delay after a throttling error, seconds"),
    Setting("max_delay", _positive_seconds, 20.0, "cap on any single backoff delay, seconds"),
    Setting("deadline", _optional_seconds, None,
            "total time budget per call across attempts, seconds; none: no deadline"),
    Setting("retry_after_max", _positive_seconds, 20.0,
            "Retry-After / x-amz-retry-after values up to this are honoured; longer ones are "
            "ignored (normal backoff applies), seconds"),
    Setting("retry_codes", _str_tuple, (),
            "extra error codes to retry as transient errors"),
    Setting("ambiguous_retry", _choice(AMBIGUOUS_POLICIES), "idempotent",
            "retry a dropped connection / read timeout after the request was sent: idempotent "
            "(reads and writes with an idempotency token), always, never"),
    Setting("metrics", _metrics, (), "metric sinks"),
    Setting("namespace", _namespace, "BotoResilience", "metric namespace / prefix"),
    Setting("retry_budget", _parse_bool, True,
            "limit retries with a token bucket shared per scope, service and region"),
    Setting("rate_limit", _parse_bool, True,
            "adaptive client-side rate limiting after throttling responses"),
    Setting("circuit_breaker", _parse_bool, True,
            "fail fast while a service endpoint is persistently unavailable"),
    Setting("scope", _choice(SCOPES), "process",
            "what shares a retry budget, rate limiter and circuit breaker"),
)
SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
OVERRIDABLE = frozenset({"max_attempts", "backoff", "base_delay", "throttle_base_delay",
                         "max_delay", "deadline", "retry_after_max", "retry_codes",
                         "ambiguous_retry"})


@dataclasses.dataclass(frozen=True)
class Config:
    """The effective configuration. Build it with :func:`build` or :func:`from_environment`."""

    max_attempts: Optional[int] = None
    backoff: str = "full_jitter"
    base_delay: float = 0.025
    throttle_base_delay: float = 0.25
    max_delay: float = 20.0
    deadline: Optional[float] = None
    retry_after_max: float = 20.0
    retry_codes: tuple[str, ...] = ()
    ambiguous_retry: str = "idempotent"
    metrics: tuple[Any, ...] = ()
    namespace: str = "BotoResilience"
    retry_budget: bool = True
    rate_limit: bool = True
    circuit_breaker: bool = True
    scope: str = "process"
    #: "service" or "service.Operation" -> {setting: value}, values already validated.
    overrides: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    #: setting -> where its value came from ("default", "file:<path>", "env:<VAR>", "argument").
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)
    # Per instance (init=False: dataclasses.replace gives the copy its own, empty cache).
    _cache: dict[tuple[str, str], Config] = dataclasses.field(
        default_factory=dict, compare=False, repr=False, init=False)
    _lock: Any = dataclasses.field(default_factory=threading.Lock, compare=False, repr=False,
                                   init=False)

    def for_operation(self, service: str, operation: str) -> Config:
        """This configuration with the service's and then the operation's overrides applied.

        Cached per (service, operation): the first call of an operation pays for the merge.
        """
        key = (service, operation)
        resolved = self._cache.get(key)
        if resolved is not None:
            return resolved
        changes: dict[str, Any] = {}
        changes.update(self.overrides.get(service, {}))
        changes.update(self.overrides.get(f"{service}.{operation}", {}))
        resolved = dataclasses.replace(self, overrides={}, **changes) if changes else self
        with self._lock:
            self._cache.setdefault(key, resolved)
        return resolved

    def explicitly_set(self, name: str) -> bool:
        """Whether ``name`` was set by the user anywhere (file, environment, argument)."""
        return self.sources.get(name, "default") != "default"

    def describe(self) -> list[tuple[str, str, str]]:
        """(setting, value, source) rows, for ``boto-resilience config``."""
        rows = []
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            if isinstance(value, tuple):
                text = ",".join(v if isinstance(v, str) else type(v).__name__ for v in value)
            else:
                text = "none" if value is None else str(value)
            rows.append((setting.name, text or "none", self.sources.get(setting.name, "default")))
        for key in sorted(self.overrides):
            for name, value in sorted(self.overrides[key].items()):
                rows.append((f"overrides.{key}.{name}", str(value),
                             self.sources.get(f"overrides.{key}", "default")))
        return rows


def _parse_overrides(raw: Any, origin: str) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"boto_resilience: invalid overrides in {origin}: expected a mapping of "
                          "'service' or 'service.Operation' to settings")
    out: dict[str, dict[str, Any]] = {}
    for key, table in raw.items():
        if not isinstance(key, str) or not key or key.count(".") > 1:
            raise ConfigError(f"boto_resilience: invalid overrides key {key!r} in {origin}: "
                              "accepted keys are 'service' or 'service.Operation'")
        if not isinstance(table, Mapping):
            raise ConfigError(f"boto_resilience: invalid overrides.{key} in {origin}: "
                              "expected a table of settings")
        parsed: dict[str, Any] = {}
        for name, value in table.items():
            if name not in OVERRIDABLE:
                raise ConfigError(f"boto_resilience: invalid setting overrides.{key}.{name} in "
                                  f"{origin}: overridable settings are "
                                  f"{', '.join(sorted(OVERRIDABLE))}")
            parsed[name] = SETTINGS_BY_NAME[name].parse(f"overrides.{key}.{name}", value)
        out[key] = parsed
    return out


def _merge(base: Config, values: Mapping[str, Any], origin: str,
           errors: Optional[list[str]]) -> Config:
    """Apply raw ``values`` on top of ``base``. With ``errors`` given, collect bad values there
    (and skip them) instead of raising."""
    changes: dict[str, Any] = {}
    sources = dict(base.sources)
    overrides = {k: dict(v) for k, v in base.overrides.items()}
    # A setting given at top level in a higher layer beats the overrides of lower layers for
    # that setting (an explicit max_attempts=1 is not undone by a file's service override).
    for name in values:
        if name != "overrides":
            for table in overrides.values():
                table.pop(name, None)
    for name, raw in values.items():
        try:
            if name == "overrides":
                for key, table in _parse_overrides(raw, origin).items():
                    overrides.setdefault(key, {}).update(table)
                    sources[f"overrides.{key}"] = origin
                continue
            setting = SETTINGS_BY_NAME.get(name)
            if setting is None:
                raise ConfigError(f"boto_resilience: unknown setting {name!r} in {origin}: "
                                  f"known settings are {', '.join(SETTINGS_BY_NAME)}, overrides")
            changes[name] = setting.parse(name, raw)
            sources[name] = origin
        except ConfigError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
    return dataclasses.replace(base, overrides=overrides, sources=sources, **changes)


def _load_toml(path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.9/3.10 only
        import tomli as tomllib
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    # Accept either top-level keys or a [boto_resilience] table.
    section = data.get("boto_resilience", data)
    return dict(section) if isinstance(section, Mapping) else {}


def from_environment(environ: Optional[Mapping[str, str]] = None) -> tuple[Config, list[str]]:
    """Defaults < TOML file < environment variables. Returns the config and the error messages
    for values it had to ignore. Never raises for bad values."""
    env = os.environ if environ is None else environ
    errors: list[str] = []
    config = Config(sources={s.name: "default" for s in SETTINGS})
    path = env.get(ENV_CONFIG_FILE, "").strip()
    if path:
        try:
            config = _merge(config, _load_toml(path), f"file:{path}", errors)
        except (OSError, ValueError) as exc:
            errors.append(f"boto_resilience: cannot read {ENV_CONFIG_FILE}={path!r}: {exc}")
    env_values = {}
    for setting in SETTINGS:
        var = ENV_PREFIX + setting.name.upper()
        if var in env:
            env_values[setting.name] = env[var]
    for name, raw in env_values.items():
        config = _merge(config, {name: raw}, f"env:{ENV_PREFIX}{name.upper()}", errors)
    known = {ENV_PREFIX + s.name.upper() for s in SETTINGS} | {ENV_CONFIG_FILE}
    known |= {ENV_PREFIX + "STATSD_HOST", ENV_PREFIX + "STATSD_PORT"}
    for var in env:
        if var.startswith(ENV_PREFIX) and var not in known:
            errors.append(f"boto_resilience: unknown environment variable {var}: known variables "
                          f"are {ENV_ENABLE}, {ENV_CONFIG_FILE}, "
                          + ", ".join(sorted(ENV_PREFIX + s.name.upper() for s in SETTINGS)))
    return config, errors


def build(base: Optional[Config] = None, **settings: Any) -> Config:
    """``base`` (default: built-in defaults) with explicit ``settings`` on top. Raises
    :class:`ConfigError` for an unknown setting or a bad value."""
    if base is None:
        base = Config(sources={s.name: "default" for s in SETTINGS})
    return _merge(base, settings, "argument", None)


def setting_names() -> Iterable[str]:
    return SETTINGS_BY_NAME.keys()
