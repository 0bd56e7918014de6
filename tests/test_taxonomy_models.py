"""Every error shape of every service model shipped with the installed botocore classifies.

Also checks that the committed table (``boto_resilience/_data/error_codes.json``) is what
``scripts/gen_error_table.py`` generates, when the installed botocore is the version it was
generated from; with another botocore the table is merely older, which the runtime tolerates
(unknown codes fall back to the rules), so those checks are skipped.
"""

from __future__ import annotations

import collections
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import botocore
import pytest

from boto_resilience import taxonomy
from boto_resilience.taxonomy import Category, classify_code

ROOT = Path(__file__).resolve().parent.parent


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_error_table", ROOT / "scripts" / "gen_error_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_error_table", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return _load_generator()


@pytest.fixture(scope="module")
def shapes(gen: ModuleType) -> list[Any]:
    return list(gen.iter_shapes())


same_botocore = pytest.mark.skipif(
    taxonomy.table_version() != botocore.__version__,
    reason="table generated from another botocore version",
)


def test_every_modeled_shape_classifies(shapes: list[Any]) -> None:
    assert len(shapes) > 5000
    counts: collections.Counter[Category] = collections.Counter()
    others = []
    for shape in shapes:
        for code in {shape.code, shape.name}:
            category = classify_code(code, shape.status, shape.service)
            assert isinstance(category, Category)
        counts[category] += 1
        if category is Category.Other:
            others.append(f"  {shape.service} {shape.code}: {shape.doc[:90]}")
    print(f"\n{len(shapes)} modeled shapes in {len({s.service for s in shapes})} services")
    for category, n in counts.most_common():
        print(f"  {category.value:20s} {n}")
    print("Other:\n" + "\n".join(others))
    # Other is for what is truly none of the others: dry-run signals, verification outcomes,
    # failures in the customer's own code. Keep it a small, reviewed list.
    assert counts[Category.Other] <= 40


@same_botocore
def test_every_modeled_shape_is_in_the_table(shapes: list[Any]) -> None:
    table = taxonomy._load_table()
    missing = [
        (s.service, s.code) for s in shapes if s.code not in table.services.get(s.service, {})
    ]
    assert not missing


@same_botocore
def test_committed_table_is_up_to_date(gen: ModuleType, shapes: list[Any]) -> None:
    committed = (ROOT / "boto_resilience" / "_data" / "error_codes.json").read_text(
        encoding="utf-8"
    )
    assert gen.render(gen.build(shapes)) == committed, "run scripts/gen_error_table.py"


def test_table_is_small() -> None:
    size = (ROOT / "boto_resilience" / "_data" / "error_codes.json").stat().st_size
    assert size < 1_000_000
