"""Iglu schema keys (``iglu:vendor/name/format/M-R-A``), SchemaVer and criteria (``1-*-*``).

Every self-describing JSON names its schema with a key; the event codec, the
resolver and the validator all parse keys here so a malformed URI gets one
clear reason everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_VENDOR = r"[a-zA-Z0-9_.\-]+"
_NAME = r"[a-zA-Z0-9_\-]+"
_FORMAT = r"[a-zA-Z0-9_\-]+"
_PART = r"(?:0|[1-9][0-9]*)"
_KEY_RE = re.compile(rf"^iglu:({_VENDOR})/({_NAME})/({_FORMAT})/([^/]+)$")
_VERSION_RE = re.compile(rf"^([1-9][0-9]*)-({_PART})-({_PART})$")
_CRITERION_VERSION_RE = re.compile(rf"^([1-9][0-9]*|\*)-({_PART}|\*)-({_PART}|\*)$")
_PATH_RE = re.compile(rf"^({_VENDOR})/({_NAME})/({_FORMAT})/([^/]+)$")


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


@dataclass(frozen=True, order=True, slots=True)
class SchemaKey:
    vendor: str
    name: str
    format: str
    version: SchemaVer

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
        if not uri.startswith("iglu:"):
            raise InvalidSchemaKey(f"invalid schema URI {uri!r}: it must start with 'iglu:'")
        raise InvalidSchemaKey(
            f"invalid schema URI {uri!r}: expected iglu:vendor/name/format/M-R-A "
            "(vendor: letters, digits, '.', '_', '-'; name and format: letters, digits, '_', '-')"
        )
    try:
        version = SchemaVer.parse(m[4])
    except InvalidSchemaKey as exc:
        raise InvalidSchemaKey(f"invalid schema URI {uri!r}: {exc}") from None
    return SchemaKey(m[1], m[2], m[3], version)


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
