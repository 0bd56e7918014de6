"""The wiring: how a session, a client or the whole process gets covered, and how it is undone.

Every path ends in :func:`_instrument`, which gives one client one :class:`~.handlers.Engine`:

- :func:`register` (a session) adds a mixin to every client class the session builds, through
  botocore's ``creating-client-class`` event. The mixin's ``__init__`` runs *before* botocore
  registers its retry handler, so our handler takes botocore's ``retry-config-<service>`` slot
  (and ``seed-max-attempts-<service>``) first and botocore's registration, which uses the same
  ``unique_id``, is silently skipped: exactly one retry policy runs, whatever the retry mode.
- :func:`attach` (an existing client) unregisters botocore's handlers from those slots and
  registers ours.
- :func:`install` registers every botocore session created from now on (botocore's
  ``register_initializer``) and boto3's default session if it exists.
- ``BOTO_RESILIENCE=1`` runs :func:`install` from a startup hook as soon as botocore is imported;
  ``BOTOCORE_EXPERIMENTAL__PLUGINS=resilience=boto_resilience.plugin`` calls
  :func:`initialize_client_plugin` for each new client.

Undoing replays botocore's own retry registration for the client's mode (recorded from
botocore's ``ClientCreator._register_retries`` against a recording emitter), so a closed client
behaves exactly as an uncovered one. Event names and ``unique_id``\\ s live in this module only.
Doing anything twice changes nothing but the configuration: the second call reconfigures the
engines the first one made.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import types
import weakref
from collections.abc import Iterator
from typing import Any, Callable, Optional

from boto_resilience import config as config_mod
from boto_resilience.config import Config
from boto_resilience.handlers import FAILURES, Engine

logger = logging.getLogger("boto_resilience")

_ENGINE_ATTR = "_boto_resilience_engine"
_SKIP_ATTR = "_boto_resilience_skip"
_REGISTRATION_ATTR = "_boto_resilience_registration"
_UID = "boto_resilience"

_suppressed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "boto_resilience_suppressed", default=False)
_env_errors_logged = False
_lock = threading.RLock()


@contextlib.contextmanager
def uninstrumented() -> Iterator[None]:
    """Clients created inside this block are never covered (used by our own CloudWatch sink,
    whose client must not report on itself)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


# --- configuration ------------------------------------------------------------------------


def _effective_config(settings: dict[str, Any]) -> Optional[Config]:
    """The environment's configuration with ``settings`` on top; None if the environment is
    invalid (logged once at ERROR). Bad explicit settings raise ConfigError."""
    global _env_errors_logged
    env_config, problems = config_mod.from_environment()
    config_mod.build(None, **settings)  # validate explicit values first: loud, always
    if problems:
        if not _env_errors_logged:
            _env_errors_logged = True
            for problem in problems:
                logger.error("%s; boto_resilience is not enabled, botocore's own behaviour "
                             "stays in place", problem)
        return None
    return config_mod.build(env_config, **settings) if settings else env_config


def _build_dispatcher(config: Config) -> tuple[Any, list[Any]]:
    """A dispatcher for the configured sinks, and the sinks we built (and so must close).
    With no sinks the dispatcher is inactive: the engine then builds no records at all."""
    from boto_resilience import metrics

    sinks: list[Any] = []
    built: list[Any] = []
    for item in config.metrics:
        if isinstance(item, str):
            sink = metrics.build_sink(item, config.namespace)
            built.append(sink)
            sinks.append(sink)
        else:
            sinks.append(item)
    return metrics.Dispatcher(sinks), built


# --- botocore's own retry registration, recorded so it can be restored ---------------------


class _RecordingEmitter:
    """Stands in for a client's emitter and records what botocore registers on it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any, Optional[str]]] = []

    def register(self, event_name: str, handler: Any, unique_id: Optional[str] = None,
                 unique_id_uses_count: bool = False) -> None:
        self.calls.append(("register", event_name, handler, unique_id))

    def register_first(self, event_name: str, handler: Any, unique_id: Optional[str] = None,
                       unique_id_uses_count: bool = False) -> None:
        self.calls.append(("register_first", event_name, handler, unique_id))

    def register_last(self, event_name: str, handler: Any, unique_id: Optional[str] = None,
                      unique_id_uses_count: bool = False) -> None:
        self.calls.append(("register_last", event_name, handler, unique_id))


def _botocore_retry_registrations(client: Any) -> list[tuple[str, str, Any, Optional[str]]]:
    """What botocore's ``ClientCreator._register_retries`` registers for this client."""
    import botocore.client
    import botocore.retryhandler
    import botocore.translate

    recorder = _RecordingEmitter()
    meta = client.meta
    fake = types.SimpleNamespace(meta=types.SimpleNamespace(
        config=meta.config, service_model=meta.service_model, events=recorder,
        region_name=meta.region_name, partition=getattr(meta, "partition", "aws")))
    creator = botocore.client.ClientCreator.__new__(botocore.client.ClientCreator)
    creator._loader = client._loader
    creator._retry_handler_factory = botocore.retryhandler
    creator._retry_config_translator = botocore.translate
    creator._register_retries(fake)
    return recorder.calls


def _owner_named(handler: Any, class_name: str) -> bool:
    return type(getattr(handler, "__self__", None)).__name__ == class_name


def _is_adaptive_limiter(handler: Any) -> bool:
    return _owner_named(handler, "ClientRateLimiter")


def _handlers_owned_by(client: Any, events: tuple[str, ...],
                       class_name: str) -> list[tuple[str, Any]]:
    """(event, handler) for botocore's handlers on this client bound to an object of
    ``class_name`` (botocore registers these without a unique_id)."""
    found: list[tuple[str, Any]] = []
    emitter = getattr(client.meta.events, "_emitter", client.meta.events)
    trie = getattr(emitter, "_handlers", None)
    if trie is None:
        return found
    for event in events:
        for handler in trie.prefix_search(event):
            if _owner_named(handler, class_name):
                found.append((event, handler))
    return found


def _adaptive_limiter_handlers(client: Any) -> list[tuple[str, Any]]:
    """botocore's adaptive-mode rate limiter handlers registered on this client, if any."""
    return _handlers_owned_by(client, ("before-send", "needs-retry"), "ClientRateLimiter")


# --- one client ---------------------------------------------------------------------------


class _ClientCover:
    """The registrations we made on one client, and how to undo them."""

    def __init__(self, client: Any, engine: Engine, undo_exceptions: Callable[[], None],
                 took_slots_from_botocore: bool) -> None:
        self.client_ref = weakref.ref(client)
        self.engine = engine
        self.undo_exceptions = undo_exceptions
        self.took_slots = took_slots_from_botocore
        self.removed_limiter: list[tuple[str, Any]] = []
        self.owner: Any = None

    def uids(self) -> list[tuple[str, str]]:
        svc = self.engine.service_event
        return [
            (f"request-created.{svc}", f"{_UID}-request-created-{svc}"),
            (f"needs-retry.{svc}", f"retry-config-{svc}"),
            # botocore's standard mode seeds the amz-sdk-request "max" with its own count; we
            # set it in request-created, and hold this unique_id on an event that never fires
            # so botocore's seeder is skipped at no cost per request.
            (f"{_UID}-slot.{svc}", f"seed-max-attempts-{svc}"),
            (f"after-call.{svc}", f"{_UID}-after-call-{svc}"),
            (f"after-call-error.{svc}", f"{_UID}-after-call-error-{svc}"),
        ]

    def remove_botocore_limiter(self) -> None:
        client = self.client_ref()
        if client is None or not self.engine.config.rate_limit:
            return
        for event, handler in _adaptive_limiter_handlers(client):
            client.meta.events.unregister(event, handler)
            self.removed_limiter.append((event, handler))

    def detach(self) -> None:
        client = self.client_ref()
        if client is None:
            return
        events = client.meta.events
        for event, uid in self.uids():
            events.unregister(event, unique_id=uid)
        self.undo_exceptions()
        # Standard mode's after-call quota releaser has no unique_id: the replay below brings a
        # fresh one with the fresh retry handler, so the stale one goes (else they pile up).
        svc = self.engine.service_event
        for event, handler in _handlers_owned_by(client, (f"after-call.{svc}",),
                                                 "RetryQuotaChecker"):
            events.unregister(event, handler)
        for method, name, handler, unique_id in _botocore_retry_registrations(client):
            if _is_adaptive_limiter(handler):
                continue  # botocore's original limiter is re-registered below, if we took it
            getattr(events, method)(name, handler, unique_id=unique_id)
        for event, handler in self.removed_limiter:
            events.register(event, handler)
        self.removed_limiter = []
        try:
            delattr(client, _ENGINE_ATTR)
        except AttributeError:
            pass


def _slot_holder(**kwargs: Any) -> None:
    """Registered only to hold a botocore ``unique_id``; its event is never emitted."""


def _instrument(client: Any, config: Config, dispatcher: Any, *, new_client: bool,
                guards_factory: Optional[Callable[[Engine], Any]] = None) -> _ClientCover:
    """Cover ``client``; if it is covered already, reconfigure it instead (idempotent)."""
    from boto_resilience import errors

    cover: Optional[_ClientCover] = getattr(client, _ENGINE_ATTR, None)
    if cover is not None:
        cover.engine.reconfigure(config, dispatcher)
        cover.engine.guards = guards_factory(cover.engine) if guards_factory else None
        return cover
    holder: dict[str, Any] = {}

    def fallback() -> Any:
        if "handler" not in holder:
            holder["handler"] = next(
                (h for m, e, h, uid in _botocore_retry_registrations(client)
                 if e.startswith("needs-retry") and uid and uid.startswith("retry-config-")),
                None)
        return holder["handler"]

    engine = Engine(client, config, dispatcher, fallback=fallback)
    engine.guards = guards_factory(engine) if guards_factory else None
    events = client.meta.events
    svc = engine.service_event
    cover = _ClientCover(client, engine, _noop, took_slots_from_botocore=True)
    if not new_client:
        events.unregister(f"needs-retry.{svc}", unique_id=f"retry-config-{svc}")
        events.unregister(f"request-created.{svc}", unique_id=f"seed-max-attempts-{svc}")
    try:
        cover.undo_exceptions = errors.install_exception_classes(client)
        handlers = [engine.on_request_created, engine.on_needs_retry, _slot_holder,
                    engine.on_after_call, engine.on_after_call_error]
        for (event, uid), handler in zip(cover.uids(), handlers):
            events.register(event, handler, unique_id=uid)
        if new_client:
            # botocore registers its adaptive limiter after the client's __init__: remove it
            # on the first call instead.
            engine.pending_setup = cover.remove_botocore_limiter
        else:
            cover.remove_botocore_limiter()
        setattr(client, _ENGINE_ATTR, cover)
    except BaseException:
        # Half a cover is worse than none: give the client back to botocore entirely.
        cover.detach()
        raise
    return cover


def _noop() -> None:
    return None


# --- handles ------------------------------------------------------------------------------


class Handle:
    """What :func:`register`, :func:`attach` and :func:`install` return: ``close()`` undoes it.

    ``active`` is False when the environment's configuration was invalid and nothing was done.
    Usable as a context manager.
    """

    def __init__(self, config: Optional[Config], parent: Optional[Handle] = None) -> None:
        self.config = config
        self.active = config is not None
        #: A handle made on behalf of another (a session covered by install()) shares its
        #: dispatcher and sinks: one set of sinks and threads per installation, not per session.
        self.parent = parent
        self._clients: weakref.WeakSet[Any] = weakref.WeakSet()
        self._dispatcher: Any = None
        self._built_sinks: list[Any] = []
        self._closed = False
        self._guards: Any = None
        if config is not None:
            self._configure(config)

    def _configure(self, config: Config) -> None:
        """Apply ``config``: new dispatcher (unless shared), and every client this handle
        covers is reconfigured in place. What the old configuration built is closed after."""
        old_dispatcher, old_built = self._dispatcher, self._built_sinks
        owned = self.parent is None
        self.config = config
        self.active = True
        if owned:
            self._dispatcher, self._built_sinks = _build_dispatcher(config)
        else:
            self._built_sinks = []
        self._guards = _guards_factory(config, self)
        for client in self.clients():
            self.cover(client, new_client=False)
        for child in self._children():
            child._configure(config)
        if owned and old_dispatcher is not None:
            old_dispatcher.close()
        for sink in old_built:
            _close_quietly(sink)

    def _children(self) -> list[Handle]:
        """Handles that share this one's dispatcher (an installation's sessions)."""
        return []

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def dispatcher(self) -> Any:
        return self._dispatcher if self.parent is None else self.parent.dispatcher

    def cover(self, client: Any, *, new_client: bool) -> None:
        if self._closed or self.config is None or getattr(client, _SKIP_ATTR, False) \
                or _suppressed.get():
            return
        try:
            cover = _instrument(client, self.config, self.dispatcher, new_client=new_client,
                                guards_factory=self._guards)
        except Exception as exc:  # fail open: the client stays (or is back to) plain botocore
            FAILURES.report("cover", exc)
            return
        cover.owner = self
        self._clients.add(client)

    def clients(self) -> list[Any]:
        """The live clients this handle covers."""
        return [c for c in list(self._clients)
                if getattr(getattr(c, _ENGINE_ATTR, None), "owner", None) is self]

    def _detach_all(self) -> None:
        for client in self.clients():
            try:
                getattr(client, _ENGINE_ATTR).detach()
            except Exception as exc:  # undo as much as we can
                FAILURES.report("detach", exc)
        self._clients = weakref.WeakSet()

    def close(self) -> None:
        """Undo: covered clients get botocore's own behaviour back; sinks we built are closed."""
        if self._closed:
            return
        self._closed = True
        self._detach_all()
        if self.parent is None and self._dispatcher is not None:
            self._dispatcher.close()
        for sink in self._built_sinks:
            _close_quietly(sink)

    def __enter__(self) -> Handle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("active" if self.active else "inactive")
        return f"<{type(self).__name__} {state}>"


def _close_quietly(sink: Any) -> None:
    try:
        sink.close()
    except Exception as exc:
        FAILURES.report("sink-close", exc)


def _guards_factory(config: Config, handle: Handle) -> Optional[Callable[[Engine], Any]]:
    from boto_resilience import guards

    return guards.factory(config, handle)


class SessionHandle(Handle):
    """A registration on one botocore session."""

    def __init__(self, session: Any, config: Optional[Config],
                 parent: Optional[Handle] = None) -> None:
        super().__init__(config, parent)
        self._session_ref = weakref.ref(session)
        self._uid = f"{_UID}-creating-client-class"
        handle = self

        class BotoResilienceClient:
            """Mixin whose ``__init__`` covers each new client before botocore's retries."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                try:
                    handle.cover(self, new_client=True)
                except Exception as exc:  # fail open: the client stays plain botocore
                    FAILURES.report("client-init", exc)

        self._mixin = BotoResilienceClient
        if config is not None:
            session.register("creating-client-class", self._on_creating_client_class,
                             unique_id=self._uid)

    def _on_creating_client_class(self, class_attributes: Any = None, base_classes: Any = None,
                                  **kwargs: Any) -> None:
        # Contract: return value ignored; we may add a base class to the list.
        try:
            if not self._closed and not _suppressed.get() and self._mixin not in base_classes:
                base_classes.insert(0, self._mixin)
        except Exception as exc:
            FAILURES.report("creating-client-class", exc)

    def close(self) -> None:
        if self._closed:
            return
        session = self._session_ref()
        if session is not None:
            session.unregister("creating-client-class", unique_id=self._uid)
            if getattr(session, _REGISTRATION_ATTR, None) is self:
                delattr(session, _REGISTRATION_ATTR)
        super().close()


def _botocore_session(session: Any) -> Any:
    if session is None:
        import boto3

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
    inner = getattr(session, "_session", None)  # boto3.Session wraps a botocore session
    return inner if inner is not None else session


def _register(bsession: Any, config: Config, parent: Optional[Handle]) -> SessionHandle:
    """The session's registration, made or reconfigured. An explicit registration (no parent)
    takes over a session that install() covered; install() never takes over an explicit one."""
    existing: Optional[SessionHandle] = getattr(bsession, _REGISTRATION_ATTR, None)
    if existing is not None and not existing.closed:
        if parent is not None and existing.parent is not parent:
            return existing
        if parent is None and existing.parent is not None:
            existing.parent = None  # now the user's: its own dispatcher, closed by its owner
        existing._configure(config)
        return existing
    handle = SessionHandle(bsession, config, parent)
    setattr(bsession, _REGISTRATION_ATTR, handle)
    return handle


def register(session: Any = None, **settings: Any) -> Handle:
    """Cover every client created from ``session`` (a boto3 or botocore Session; default:
    boto3's default session) from now on. Returns a handle; ``close()`` undoes it."""
    bsession = _botocore_session(session)
    with _lock:
        config = _effective_config(settings)
        if config is None:  # invalid environment: already logged; botocore's behaviour stays
            existing = getattr(bsession, _REGISTRATION_ATTR, None)
            return existing if existing is not None else Handle(None)
        return _register(bsession, config, None)


def attach(client: Any, **settings: Any) -> Handle:
    """Cover one existing client (or ``resource.meta.client``). Returns a handle."""
    config = _effective_config(settings)
    handle = Handle(config)
    if config is not None:
        handle.cover(client, new_client=False)
    return handle


class _Installation(Handle):
    """Process-wide: every botocore session created from now on. Its session handles share
    its dispatcher and sinks, and are held weakly: a session that goes takes its handle."""

    def __init__(self, config: Optional[Config]) -> None:
        self._sessions: weakref.WeakSet[SessionHandle] = weakref.WeakSet()
        super().__init__(config)

    def _children(self) -> list[Handle]:
        return [h for h in list(self._sessions) if h.parent is self and not h.closed]

    def initializer(self, session: Any) -> None:
        try:
            if not self._closed and self.config is not None and not _suppressed.get():
                handle = _register(session, self.config, self)
                if handle.parent is self:
                    self._sessions.add(handle)
        except Exception as exc:  # fail open: never break session creation
            FAILURES.report("install-initializer", exc)

    def close(self) -> None:
        if self._closed:
            return
        import botocore

        try:
            botocore.unregister_initializer(self.initializer)
        except ValueError:
            pass
        for handle in self._children():
            handle.close()
        self._sessions = weakref.WeakSet()
        super().close()


_installation: Optional[_Installation] = None


def install(**settings: Any) -> Handle:
    """Cover every botocore session created from now on, and boto3's default session if it
    exists. Calling it again reconfigures; :func:`uninstall` undoes it."""
    global _installation
    import sys

    import botocore

    with _lock:
        config = _effective_config(settings)
        if _installation is not None:
            if config is not None:
                _installation._configure(config)  # its sessions and their clients too
            return _installation
        installation = _Installation(config)
        if config is None:
            return installation
        botocore.register_initializer(installation.initializer)
        # boto3 may be absent or still importing (the startup hook runs inside its import of
        # botocore): only an existing default session needs covering.
        default = getattr(sys.modules.get("boto3"), "DEFAULT_SESSION", None)
        if default is not None:
            installation.initializer(default._session)
        _installation = installation
        return installation


def uninstall() -> None:
    """Undo :func:`install`: sessions and clients it covered get botocore's behaviour back."""
    global _installation
    with _lock:
        if _installation is not None:
            _installation.close()
            _installation = None


def installed() -> bool:
    return _installation is not None


def initialize_client_plugin(client: Any) -> None:
    """botocore's experimental plugin entry point
    (``BOTOCORE_EXPERIMENTAL__PLUGINS=resilience=boto_resilience.plugin``). botocore swallows
    plugin errors at DEBUG, so ours are logged at WARNING here."""
    global _plugin_handle
    try:
        if getattr(client, _ENGINE_ATTR, None) is not None or _suppressed.get():
            return
        with _lock:
            if _plugin_handle is None:
                _plugin_handle = Handle(_effective_config({}))
        _plugin_handle.cover(client, new_client=False)
    except Exception as exc:
        logger.warning("boto_resilience: could not cover a %s client: %r",
                       getattr(getattr(client, "meta", None), "service_model", "?"), exc)


_plugin_handle: Optional[Handle] = None
