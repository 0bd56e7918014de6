"""The ``BOTO_RESILIENCE=1`` startup hook, run from ``boto_resilience_startup.pth``.

The ``.pth`` line only imports this module when the variable asks for it, so an interpreter that
does not want us pays one environment lookup. Even then we do not import botocore here (nor
``typing`` or ``importlib.abc``: this module imports only what the interpreter has already
loaded at start-up): a meta path finder waits for the program's own ``import botocore`` and
calls :func:`boto_resilience.plugin.install` right after botocore has finished importing, so
programs that never touch AWS pay almost nothing.

The finder never changes botocore's loader (which may be shared, e.g. a ``zipimporter``): it
returns a copy of botocore's spec whose loader is a small wrapper, and it leaves ``sys.meta_path``
only once botocore has really been executed, so a mere ``importlib.util.find_spec('botocore')``
probe does not disarm it.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # for type checkers only: nothing is imported at run time
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any, Optional

_DONE = "_boto_resilience_startup_done"


class _Loader:
    """Delegates to botocore's own loader, then activates the plugin, once."""

    def __init__(self, inner: Any, finder: _AfterImport) -> None:
        self._inner = inner
        self._finder = finder

    def create_module(self, spec: ModuleSpec) -> Optional[ModuleType]:
        create = getattr(self._inner, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        self._finder.disarm()
        _activate()

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self._inner, name)


class _AfterImport:
    """A meta path finder that finds nothing itself: it wraps botocore's real spec."""

    def __init__(self) -> None:
        self._busy = False

    def disarm(self) -> None:
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass

    def find_spec(self, fullname: str, path: Optional[Sequence[str]],
                  target: Optional[ModuleType] = None) -> Optional[ModuleSpec]:
        if fullname != "botocore" or self._busy:
            return None
        self._busy = True  # the real finders below may recurse into find_spec
        spec: Optional[ModuleSpec] = None
        try:
            for finder in sys.meta_path:
                if finder is self:
                    continue
                find = getattr(finder, "find_spec", None)
                if find is not None:
                    spec = find(fullname, path, target)
                    if spec is not None:
                        break
        finally:
            self._busy = False
        if spec is None or spec.loader is None:
            return spec
        import copy

        wrapped = copy.copy(spec)
        wrapped.loader = _Loader(spec.loader, self)  # type: ignore[assignment]
        return wrapped


def _activate() -> None:
    try:
        from boto_resilience import plugin

        plugin.install()  # an invalid environment is logged at ERROR there, and changes nothing
    except Exception as exc:  # never break the program's own import of botocore
        sys.stderr.write(f"boto_resilience: could not enable: {exc!r}\n")


def run() -> None:
    """Called by the ``.pth`` file (possibly twice: venvs may list site-packages twice)."""
    if getattr(sys, _DONE, False):
        return
    setattr(sys, _DONE, True)
    if os.environ.get("BOTO_RESILIENCE", "").strip().lower() not in ("1", "true", "on", "yes"):
        return
    if "botocore" in sys.modules:
        _activate()
    else:
        sys.meta_path.insert(0, _AfterImport())
