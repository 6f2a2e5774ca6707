"""Iglu schema keys (``iglu:vendor/name/format/M-R-A``), SchemaVer and criteria (``1-*-*``).

Every self-describing JSON names its schema with a key; the event codec, the
resolver and the validator all parse keys here so a malformed URI gets one
clear reason everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache

_VENDOR = r"[a-zA-Z0-9_.\-]+"
_NAME = r"[a-zA-Z0-9_\-]+"
_FORMAT = r"[a-zA-Z0-9_\-]+"
_PART = r"(?:0|[1-9][0-9]*)"
# \Z, not $: Python's $ also matches before a final newline, and "1-0-0\n" is not a version
# (Snowplow's Scala SchemaKey requires the whole text to match, as these do)
_KEY_RE = re.compile(rf"^iglu:({_VENDOR})/({_NAME})/({_FORMAT})/([^/]+)\Z")
_VERSION_RE = re.compile(rf"^([1-9][0-9]*)-({_PART})-({_PART})\Z")
_CRITERION_VERSION_RE = re.compile(rf"^([1-9][0-9]*|\*)-({_PART}|\*)-({_PART}|\*)\Z")
_PATH_RE = re.compile(rf"^({_VENDOR})/({_NAME})/({_FORMAT})/([^/]+)\Z")


class InvalidSchemaKey(ValueError):
    """A schema URI, path or version that does not follow Iglu's grammar; the message says which part."""


@dataclass(frozen=True, order=True, slots=True)
class SchemaVer:
    """MODEL-REVISION-ADDITION, ordered numerically (so 1-0-10 > 1-0-9)."""

    model: int
    revision: int
    addition: int

    @classmethod
    def parse(cls, text: str) -> SchemaVer:
        m = _VERSION_RE.match(text)
        if m is None:
            raise InvalidSchemaKey(
                f"invalid SchemaVer {text!r}: expected MODEL-REVISION-ADDITION such as 1-0-0 "
                "(MODEL starts at 1, no leading zeros)"
            )
        return cls(int(m[1]), int(m[2]), int(m[3]))

    def __str__(self) -> str:
        return f"{self.model}-{self.revision}-{self.addition}"

    def bump_from(self, older: SchemaVer) -> Bump | None:
        """Which SchemaVer part changed from ``older`` to this version; None when this is not newer.

        Compatibility checks compare this with the change a schema diff requires, so
        "1-0-0 -> 1-1-0" is a REVISION bump even though the addition went back to 0.
        """
        if self <= older:
            return None
        if self.model != older.model:
            return Bump.MODEL
        if self.revision != older.revision:
            return Bump.REVISION
        return Bump.ADDITION

    def predecessors_required(self) -> str:
        """Which earlier version must exist for this one to follow SchemaVer without a gap (for messages)."""
        if self.addition > 0:
            return f"{self.model}-{self.revision}-{self.addition - 1}"
        if self.revision > 0:
            return f"{self.model}-{self.revision - 1}-*"
        if self.model > 1:
            return f"{self.model - 1}-*-*"
        return "nothing (1-0-0 starts a schema)"

    def follows(self, existing: set[SchemaVer] | frozenset[SchemaVer]) -> bool:
        """True when ``existing`` holds the version this one must follow (no gap in numbering)."""
        if self.addition > 0:
            return SchemaVer(self.model, self.revision, self.addition - 1) in existing
        if self.revision > 0:
            return any(v.model == self.model and v.revision == self.revision - 1 for v in existing)
        if self.model > 1:
            return any(v.model == self.model - 1 for v in existing)
        return True


class Bump(IntEnum):
    """The size of a SchemaVer change; ordered so ``actual < required`` means "bumped too little"."""

    ADDITION = 1
    REVISION = 2
    MODEL = 3

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, order=True, slots=True)
class SchemaKey:
    vendor: str
    name: str
    format: str
    version: SchemaVer
    # Keys are dict keys on the hot path (resolver cache, compiled validators): hash once, not per lookup.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.vendor, self.name, self.format, self.version.model,
                                                self.version.revision, self.version.addition)))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def parse(cls, uri: str) -> SchemaKey:
        return _parse_key(uri)

    @classmethod
    def from_path(cls, path: str) -> SchemaKey:
        """Parse the repository layout ``vendor/name/format/M-R-A``."""
        m = _PATH_RE.match(path)
        if m is None:
            raise InvalidSchemaKey(f"invalid schema path {path!r}: expected vendor/name/format/M-R-A")
        return cls(m[1], m[2], m[3], SchemaVer.parse(m[4]))

    @classmethod
    def from_self(cls, self_block: object) -> SchemaKey:
        """The key a schema names in its ``self`` block, with a reason when the block is malformed."""
        if not isinstance(self_block, dict):
            raise InvalidSchemaKey("the schema has no 'self' object (vendor, name, format, version)")
        missing = [k for k in ("vendor", "name", "format", "version") if not isinstance(self_block.get(k), str)]
        if missing:
            raise InvalidSchemaKey(f"the schema's 'self' block lacks string field(s) {', '.join(missing)}")
        return _parse_key(f"iglu:{self_block['vendor']}/{self_block['name']}/{self_block['format']}/"
                          f"{self_block['version']}")

    def with_version(self, version: SchemaVer) -> SchemaKey:
        return SchemaKey(self.vendor, self.name, self.format, version)

    @property
    def uri(self) -> str:
        return f"iglu:{self.vendor}/{self.name}/{self.format}/{self.version}"

    @property
    def path(self) -> str:
        return f"{self.vendor}/{self.name}/{self.format}/{self.version}"

    def __str__(self) -> str:
        return self.uri


@lru_cache(maxsize=4096)
def _parse_key(uri: str) -> SchemaKey:
    # Cached: the hot path sees the same handful of schema URIs millions of times.
    if not isinstance(uri, str):
        raise InvalidSchemaKey(f"schema must be a string such as iglu:vendor/name/jsonschema/1-0-0, got {uri!r}")
    m = _KEY_RE.match(uri)
    if m is None:
        raise InvalidSchemaKey(f"invalid schema URI {uri!r}: {_explain_bad_uri(uri)}")
    try:
        version = SchemaVer.parse(m[4])
    except InvalidSchemaKey as exc:
        raise InvalidSchemaKey(f"invalid schema URI {uri!r}: {exc}") from None
    return SchemaKey(m[1], m[2], m[3], version)


_PART_RULES = (
    ("vendor", re.compile(rf"^{_VENDOR}\Z"), "letters, digits, '.', '_', '-'"),
    ("name", re.compile(rf"^{_NAME}\Z"), "letters, digits, '_', '-'"),
    ("format", re.compile(rf"^{_FORMAT}\Z"), "letters, digits, '_', '-'"),
)


def _explain_bad_uri(uri: str) -> str:
    """Name the part of a malformed URI that is wrong, so the fix is obvious."""
    if not uri.startswith("iglu:"):
        return "it must start with 'iglu:' (expected iglu:vendor/name/format/M-R-A)"
    parts = uri[len("iglu:"):].split("/")
    if len(parts) != 4:
        return f"expected 4 parts vendor/name/format/version after 'iglu:', found {len(parts)}"
    for (label, rule, allowed), value in zip(_PART_RULES, parts, strict=False):
        if not value:
            return f"the {label} is empty"
        if rule.match(value) is None:
            return f"the {label} {value!r} may only hold {allowed}"
    return "expected iglu:vendor/name/format/M-R-A"


@dataclass(frozen=True, slots=True)
class SchemaCriterion:
    """A key pattern such as ``iglu:com.acme/click/jsonschema/1-*-*``; ``None`` stands for ``*``."""

    vendor: str
    name: str
    format: str
    model: int | None
    revision: int | None
    addition: int | None

    @classmethod
    def parse(cls, text: str) -> SchemaCriterion:
        m = _KEY_RE.match(text)
        v = _CRITERION_VERSION_RE.match(m[4]) if m else None
        if m is None or v is None:
            raise InvalidSchemaKey(
                f"invalid schema criterion {text!r}: expected iglu:vendor/name/format/M-R-A where each of "
                "M, R, A is a number or '*' (for example iglu:com.acme/click/jsonschema/1-*-*)"
            )

        def part(s: str) -> int | None:
            return None if s == "*" else int(s)

        return cls(m[1], m[2], m[3], part(v[1]), part(v[2]), part(v[3]))

    @property
    def uri(self) -> str:
        return str(self)

    def matches(self, key: SchemaKey) -> bool:
        return (
            key.vendor == self.vendor
            and key.name == self.name
            and key.format == self.format
            and (self.model is None or key.version.model == self.model)
            and (self.revision is None or key.version.revision == self.revision)
            and (self.addition is None or key.version.addition == self.addition)
        )

    def __str__(self) -> str:
        def show(p: int | None) -> str:
            return "*" if p is None else str(p)

        return (f"iglu:{self.vendor}/{self.name}/{self.format}/"
                f"{show(self.model)}-{show(self.revision)}-{show(self.addition)}")
