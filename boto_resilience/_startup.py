"""The ``BOTO_RESILIENCE=1`` startup hook, run from ``boto_resilience_startup.pth``.

The ``.pth`` line only imports this module when the variable asks for it, so an interpreter that
does not want us pays one environment lookup. Even then we do not import botocore here: a meta
path finder waits for the program's own ``import botocore`` and calls :func:`install` right after
botocore has finished importing, so programs that never touch AWS pay almost nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Optional

_DONE = "_boto_resilience_startup_done"


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps botocore's loader so :func:`_activate` runs after it."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]],
                  target: Optional[ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != "botocore":
            return None
        sys.meta_path.remove(self)  # one shot; also stops recursion into ourselves
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original_exec = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            original_exec(module)
            _activate()

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _activate() -> None:
    try:
        from boto_resilience import plugin

        handle = plugin.install()
        if not handle.active:
            return  # the environment's configuration was invalid: already logged at ERROR
        logging.getLogger("boto_resilience").debug("boto_resilience enabled by BOTO_RESILIENCE")
    except Exception as exc:  # never break the program's own import of botocore
        sys.stderr.write(f"boto_resilience: could not enable: {exc!r}\n")


def run() -> None:
    """Called by the ``.pth`` file (possibly twice: venvs list site-packages twice)."""
    if getattr(sys, _DONE, False):
        return
    setattr(sys, _DONE, True)
    if os.environ.get("BOTO_RESILIENCE", "").strip().lower() not in ("1", "true", "on", "yes"):
        return
    if "botocore" in sys.modules:
        _activate()
    else:
        sys.meta_path.insert(0, _AfterImport())


