#!/usr/bin/env python
"""Generate ``boto_resilience/_data/error_codes.json`` from the service models botocore ships.

Why generate: botocore's models list every modeled error of every service (about 5,900 shapes in
440 services for botocore 1.44) with facts a name alone does not give: the wire code (``error.code``
overrides the shape name), the HTTP status, sender/receiver fault, the ``retryable`` and
``throttling`` traits, and the documentation. Classifying them once, here, lets the runtime answer
with a dict lookup, and lets a reviewer diff the table when botocore or the rules change.

How each shape is classified (first that decides wins; the same order as ``taxonomy._explain``
plus the facts only available here):

1. a curated ``(service, code)`` override (``_data/overrides.py``);
2. the ``throttling`` trait: Throttled;
3. a curated code override;
4. the name rules of :mod:`boto_resilience.taxonomy` on the code, then on the shape name, with
   the documentation deciding the known-ambiguous cases (a "limit" that is a request rate; an
   "Invalid..." that is documented as "does not exist"; a "...Unavailable" that is a feature
   being off rather than the service being down);
5. the documentation alone (keywords), then the HTTP status, the receiver fault, the retryable
   trait; Other if nothing at all is known.

Usage::

    python scripts/gen_error_table.py            # rewrite the committed table
    python scripts/gen_error_table.py --check    # exit 1 if the committed table is out of date
    python scripts/gen_error_table.py --dump shapes.jsonl   # every shape with its doc, for review
"""

from __future__ import annotations

import argparse
import collections
import html
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from boto_resilience._data.overrides import CODE_OVERRIDES, SERVICE_OVERRIDES  # noqa: E402
from boto_resilience.taxonomy import Category, match_name, rule_category  # noqa: E402

TABLE = ROOT / "boto_resilience" / "_data" / "error_codes.json"
CATEGORIES = [c.value for c in Category]


@dataclass(frozen=True)
class Shape:
    """One modeled error shape, with everything the model says about it."""

    service: str
    name: str
    code: str
    status: Optional[int]
    fault: Optional[str]  # "sender" | "receiver" | None
    retryable: bool
    throttling: bool
    doc: str

    @property
    def flags(self) -> str:
        return ("s" if self.fault == "sender" else "r" if self.fault == "receiver" else "") + (
            "T" if self.throttling else "R" if self.retryable else ""
        )


def plain(doc: str) -> str:
    """The documentation without HTML, on one line."""
    text = re.sub(r"<[^>]+>", " ", doc or "")
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def iter_shapes() -> Iterator[Shape]:
    """Every error shape of every service model the installed botocore ships (latest API)."""
    import botocore.session

    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    for service in session.get_available_services():
        model = loader.load_service_model(service, "service-2")
        for name, raw in model.get("shapes", {}).items():
            if not raw.get("exception"):
                continue
            err = raw.get("error") or {}
            fault: Optional[str] = (
                "receiver" if raw.get("fault") else "sender" if err.get("senderFault") else None
            )
            retry = raw.get("retryable")
            yield Shape(
                service=service,
                name=name,
                code=str(err.get("code") or name),
                status=err.get("httpStatusCode"),
                fault=fault,
                retryable=retry is not None,
                throttling=bool(retry and retry.get("throttling")),
                doc=plain(raw.get("documentation", "")),
            )


# --- documentation keywords (generation time only: the runtime never sees docs) ---------------

_DOC_RATE = re.compile(
    r"\brate\b|per second|throttl|too many requests|request limit|too frequently|"
    r"too many concurrent|concurrent (?:requests|calls|operations)|slow down|"
    r"in a short period|"
    r"requests? (?:are|is|was) being made too|frequency|per (?:day|hour|minute)\b",
    re.I,
)
_DOC_NOT_FOUND = re.compile(
    r"\bnot (?:be )?found\b|does(?:n't| not) exist|could not be found|cannot be found|"
    r"can't be found|no longer exists|\bunknown\b|doesn't recognize|not recognized",
    re.I,
)
_DOC_STATE = re.compile(
    r"\bin use\b|in progress|not in (?:a |the )?(?:valid |correct |right )?state|"
    r"invalid state|current state|state of the|being (?:created|deleted|modified|updated)|"
    r"\bbusy\b|not ready|not active|is disabled|has been disabled|not enabled|pending|"
    r"being used|is used by|associated with another|not a member of|in flight",
    re.I,
)
# A "Conflict" whose documentation describes a busy resource, not a collision (rule 3).
_DOC_BUSY = re.compile(
    r"in progress|being (?:created|updated|deleted|modified)|not ready|until it finishes|"
    r"previous action|\bongoing\b|scheduled to begin|in the process of|"
    r"being (?:disabled|enabled)",
    re.I,
)
# A count limit inside one request (rule 4), unless the documentation calls it a quota.
_DOC_PER_REQUEST = re.compile(
    r"(?:the|this|your) request contains too many|in (?:a|one|each|the|this) (?:single )?request\b|"
    r"per request|limit in the request|allowed in a request|"
    r"(?:text|data|input) (?:that )?you submitted",
    re.I,
)
# "Invalid<Thing>Status" used for a bad filter/enum value in the request, not a resource state.
_DOC_BAD_VALUE = re.compile(
    r"valid values|valid statuses|only valid|(?:status|state) (?:doesn't|does not) exist|"
    r"in an invalid format|should return",
    re.I,
)
_DOC_NAME_TAKEN = re.compile(
    r"name (?:is )?already (?:in use|taken|exists)|use a different name", re.I
)
_DOC_TOKEN = re.compile(
    r"invalid (?:access |security |session )?token|access token|token (?:is )?(?:invalid|expired)|"
    r"credentials? (?:are |is )?(?:invalid|not valid|expired)",
    re.I,
)
_DOC_EXISTS = re.compile(
    r"already exists?|already in use by|already taken|duplicate|already (?:registered|accepted)",
    re.I,
)
_DOC_ACCESS = re.compile(
    r"not authori[sz]ed|access denied|permission|not allowed to|don't have access|"
    r"do not have access|insufficient (?:access|privileges)|forbidden",
    re.I,
)
_DOC_INTERNAL = re.compile(
    r"internal (?:server |service )?(?:error|failure|exception|issue)|service (?:is )?unavailable|"
    r"server error|temporar(?:y|ily)|timed? ?out|unexpected error|service error|try again",
    re.I,
)
_DOC_UNSUPPORTED = re.compile(r"not supported|unsupported|not implemented", re.I)
_DOC_QUOTA = re.compile(r"\blimit\b|quota|maximum number|exceed", re.I)
_DOC_VALIDATION = re.compile(
    r"\binvalid\b|malformed|not valid|missing|required parameter|validation|bad request|"
    r"incorrect|must be|format|mismatch",
    re.I,
)


def _from_doc(doc: str) -> Optional[tuple[Category, str]]:
    """What the documentation alone says (for codes whose name says nothing)."""
    for pattern, cat in (
        (_DOC_RATE, Category.Throttled),
        (_DOC_NOT_FOUND, Category.NotFound),
        (_DOC_EXISTS, Category.Conflict),
        (_DOC_ACCESS, Category.AccessDenied),
        (_DOC_UNSUPPORTED, Category.Unsupported),
        (_DOC_STATE, Category.InvalidState),
        (_DOC_INTERNAL, Category.Unavailable),
        (_DOC_QUOTA, Category.QuotaExceeded),
        (_DOC_VALIDATION, Category.Validation),
    ):
        m = pattern.search(doc)
        if m:
            return cat, f"documentation says {m.group(0)!r}"
    return None


def _refine(shape: Shape, cat: Category, label: str) -> tuple[Category, str]:
    """Let the documentation decide the cases the name is known to get wrong."""
    doc = shape.doc
    if cat is Category.QuotaExceeded:
        if _DOC_PER_REQUEST.search(doc) and not re.search(r"quota", doc, re.I):
            return Category.Validation, f"name says {label}, documentation: limit in one request"
        if _DOC_RATE.search(doc) and "ServiceQuota" not in shape.code:
            return Category.Throttled, f"name says {label}, documentation says it is a rate"
    if cat is Category.Conflict and label == "conflict" and _DOC_BUSY.search(doc):
        return Category.InvalidState, "a Conflict documented as a busy resource (rule 3)"
    if cat is Category.AccessDenied and _DOC_TOKEN.search(doc):
        return Category.Authentication, "documented as an invalid or expired token/credential"
    if cat is Category.InvalidState and label == "resource not available":
        if shape.status == 404:
            return Category.NotFound, "unavailable resource answered with HTTP 404"
    if cat is Category.InvalidState and _DOC_NAME_TAKEN.search(doc):
        return Category.Conflict, "an in-use name: the name is taken (rule 3)"
    if cat is Category.InvalidState and "Invalid" in shape.code and _DOC_BAD_VALUE.search(doc):
        return Category.Validation, "an Invalid...State/Status documented as a bad input value"
    if (
        cat is Category.InvalidState
        and re.search(r"Disabled|Unavailable", shape.code)
        and re.search(r"temporar", doc, re.I)
    ):
        return Category.Unavailable, "documented as temporary"
    if cat is Category.Validation:
        # "Invalid<Thing>" documented as "does not exist" (rule 1); keep real validation words.
        m = _DOC_NOT_FOUND.search(doc)
        if m and not re.search(r"\b(?:format|malformed|syntax)\b", doc, re.I):
            return Category.NotFound, f"name says {label}, documentation says {m.group(0)!r}"
    if cat is Category.InvalidState and label == "resource not available":
        if shape.fault == "receiver" or (shape.status or 0) >= 500 or shape.retryable:
            return Category.Unavailable, "unavailable, and a server fault / 5xx / retryable"
    return cat, f"name rule: {label}"


def classify_shape(shape: Shape) -> tuple[Category, str]:
    """The category of one modeled shape and the reason (see the module docstring)."""
    for key in ((shape.service, shape.code), (shape.service, shape.name)):
        hit = SERVICE_OVERRIDES.get(key)
        if hit is not None:
            return Category(hit[0]), f"curated override: {hit[1]}"
    if shape.throttling:
        return Category.Throttled, "throttling trait"
    for code in (shape.code, shape.name):
        hit = CODE_OVERRIDES.get(code)
        if hit is not None:
            # A cross-service code can still be documented otherwise by one service.
            cat, why = _refine(shape, Category(hit[0]), "curated")
            return cat, (f"curated code: {hit[1]}" if why == "name rule: curated" else why)
    for code in (shape.code, shape.name):
        named = match_name(code)
        if named is not None:
            return _refine(shape, *named)
    if shape.fault == "receiver" or (shape.status or 0) >= 500:
        return Category.Unavailable, "server fault / HTTP 5xx"
    from_doc = _from_doc(shape.doc)
    if from_doc is not None:
        return from_doc
    if shape.status is not None:
        return rule_category(None, shape.status)
    if shape.fault == "receiver" or shape.retryable:
        return Category.Unavailable, "server fault / retryable trait"
    return Category.Other, "nothing in the model says what it is"


def build(shapes: Optional[Iterable[Shape]] = None) -> dict[str, Any]:
    """The table for ``shapes`` (default: every shape of the installed botocore)."""
    import botocore

    services: dict[str, dict[str, list[Any]]] = {}
    votes: dict[str, collections.Counter[Category]] = collections.defaultdict(collections.Counter)
    index = {c: i for i, c in enumerate(CATEGORIES)}
    for shape in iter_shapes() if shapes is None else shapes:
        cat, why = classify_shape(shape)
        # "c": a curated service override decided (explain_code then quotes its note).
        flags = shape.flags + ("c" if why.startswith("curated override") else "")
        row: list[Any] = [index[cat.value], shape.status or 0, flags]
        entries = services.setdefault(shape.service, {})
        if shape.name != shape.code:
            row.append(shape.name)
            # SQS-style query-compatible errors carry the shape name in QueryErrorCode.
            entries.setdefault(shape.name, [index[cat.value], shape.status or 0, flags])
        entries[shape.code] = row
        votes[shape.code][cat] += 1
    codes: dict[str, list[Any]] = {}
    for code, counter in sorted(votes.items()):
        (cat, n), total = counter.most_common(1)[0], sum(counter.values())
        where = f"{n} service{'s' if n > 1 else ''}" if n == total else f"{n} of {total} services"
        codes[code] = [index[cat.value], where]
    return {
        "botocore_version": botocore.__version__,
        "generated_by": "scripts/gen_error_table.py",
        "categories": CATEGORIES,
        "services": {s: dict(sorted(e.items())) for s, e in sorted(services.items())},
        "codes": codes,
    }


def render(table: dict[str, Any]) -> str:
    # One service per line: small, and diffs stay readable when botocore adds a service.
    lines = ["{"]
    for key in ("botocore_version", "generated_by", "categories"):
        lines.append(f"{json.dumps(key)}: {json.dumps(table[key], separators=(',', ':'))},")
    lines.append('"services": {')
    items = list(table["services"].items())
    for i, (service, entries) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"{json.dumps(service)}: {json.dumps(entries, separators=(',', ':'))}{comma}")
    lines.append("},")
    lines.append(f'"codes": {json.dumps(table["codes"], separators=(",", ":"))}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the table is out of date")
    parser.add_argument("--dump", metavar="PATH", help="write every shape (with docs) as JSONL")
    args = parser.parse_args(argv)
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            for shape in iter_shapes():
                cat, why = classify_shape(shape)
                record = dict(shape.__dict__, category=cat.value, why=why)
                out.write(json.dumps(record) + "\n")
        return 0
    text = render(build())
    if args.check:
        current = TABLE.read_text(encoding="utf-8") if TABLE.exists() else ""
        if current != text:
            print(f"{TABLE} is out of date: run scripts/gen_error_table.py", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(text, encoding="utf-8")
    table = json.loads(text)
    n = sum(len(e) for e in table["services"].values())
    print(
        f"wrote {TABLE.relative_to(ROOT)}: {len(table['services'])} services, {n} entries, "
        f"{len(text) // 1024} KiB, botocore {table['botocore_version']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
