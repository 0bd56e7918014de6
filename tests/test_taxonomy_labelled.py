"""Classifier quality, measured on a hand-labelled set.

``tests/data/labelled_codes.csv`` holds AWS error codes labelled by a person who read each code's
documentation (the shape's ``documentation`` string in the botocore model, or the service's public
error reference for codes no model lists), decided by the rules of TAXONOMY.md; the note says why
when the call was not obvious. The classifier never produced a label. Rows whose note starts with
``holdout-`` were labelled blind, after the rules had been written, to estimate how well the rules
generalise to services nobody tuned them on; the test prints their accuracy separately.

Run with ``-s`` to see the per-category report.
"""

from __future__ import annotations

import collections
import csv
from pathlib import Path
from typing import NamedTuple, Optional

import pytest

from boto_resilience.taxonomy import Category, explain_code

DATA = Path(__file__).parent / "data" / "labelled_codes.csv"
TARGET = 0.97


class Row(NamedTuple):
    service: str
    code: str
    status: Optional[int]
    category: Category
    note: str


def load() -> list[Row]:
    with DATA.open(newline="", encoding="utf-8") as f:
        return [
            Row(
                r["service"],
                r["code"],
                int(r["status"]) if r["status"] else None,
                Category(r["category"]),
                r["note"],
            )
            for r in csv.DictReader(f)
        ]


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return load()


def test_labelled_set_is_big_and_broad(rows: list[Row]) -> None:
    assert len(rows) >= 300
    assert len({r.service for r in rows}) >= 40
    assert len({(r.service, r.code) for r in rows}) == len(rows), "duplicate rows"
    # every category is represented, so per-category accuracy means something
    assert {r.category for r in rows} == set(Category)


def test_labelled_set_covers_the_hard_cases(rows: list[Row]) -> None:
    keys = {(r.service, r.code) for r in rows}
    for key in [
        ("iam", "LimitExceeded"),
        ("kinesis", "LimitExceededException"),
        ("lambda", "TooManyRequestsException"),
        ("kms", "KMSInvalidStateException"),
        ("s3", "404"),
        ("s3", "403"),
        ("s3", "400"),
        ("s3", "412"),
        ("s3", "304"),
        ("s3", "301"),
        ("ec2", "InvalidInstanceID.NotFound"),
        ("ec2", "RequestLimitExceeded"),
        ("ec2", "DryRunOperation"),
        ("ec2", "UnauthorizedOperation"),
        ("ec2", "IncorrectState"),
        ("ec2", "DependencyViolation"),
        ("ec2", "InsufficientInstanceCapacity"),
        ("sqs", "AWS.SimpleQueueService.NonExistentQueue"),
        ("sqs", "QueueDoesNotExist"),
    ]:
        assert key in keys, key


def test_accuracy_on_the_labelled_set(rows: list[Row]) -> None:
    right: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    misses = []
    for row in rows:
        got, why = explain_code(row.code, row.status, row.service)
        subset = row.note.split(" ", 1)[0] if row.note.startswith("holdout-") else "tuned"
        for key in (row.category.value, f"[{subset}]", "[all]"):
            total[key] += 1
            right[key] += got is row.category
        if got is not row.category:
            misses.append(f"  {row.service} {row.code}: labelled {row.category}, got {got} ({why})")
    print(f"\nlabelled set: {len(rows)} codes, {len({r.service for r in rows})} services")
    for key in [c.value for c in Category] + sorted(k for k in total if k.startswith("[")):
        print(f"  {key:20s} {right[key]:4d}/{total[key]:<4d} {right[key] / total[key]:7.2%}")
    print("\n".join(misses))
    assert right["[all]"] / total["[all]"] >= TARGET
