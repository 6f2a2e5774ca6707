"""Snowplow bad rows: the self-describing JSON every failed record becomes.

A bad row is ``{"schema": "iglu:com.snowplowanalytics.snowplow.badrows/<type>/jsonschema/<version>",
"data": {"processor": {"artifact", "version"}, "failure": {...}, "payload": ...}}``, the
format Snowplow's own loaders and enrichers emit, so existing bad-row tooling
(recovery, dashboards) reads ours unchanged. :func:`bad_row` builds any type;
the pipeline uses it for ``schema_violations`` and ``size_violation``. The parser
builds ``loader_parsing_error`` through :func:`loader_parsing_error`.

A bad row that keeps the input line as its string payload keeps it through
:func:`escape_line`, so that ``replay-bad`` can rebuild the exact bytes with
:func:`unescape_line`: a JSON string holds only Unicode, and an input line may hold any
bytes. Valid UTF-8 stays as it is (Snowplow's tools read the payload as the line); a byte
that is not UTF-8 becomes ``\\xNN``, and a backslash that would otherwise read as such an
escape is doubled, so no two lines share a payload.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import orjson

BADROWS_VENDOR = "com.snowplowanalytics.snowplow.badrows"
ARTIFACT = "snowplow-kafka-toolkit"

#: The bad-row schema version this toolkit emits for each type it produces.
VERSIONS: dict[str, str] = {
    "loader_parsing_error": "2-0-0",
    "schema_violations": "2-0-1",
    "size_violation": "1-0-0",
    "generic_error": "1-0-0",
}


def _package_version() -> str:
    try:
        return metadata.version(ARTIFACT)
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


@dataclass(frozen=True, slots=True)
class Processor:
    """The software that produced a bad row; bad-row schemas require a version matching ``\\d+.\\d+.\\d+.*``."""

    artifact: str
    version: str

    def to_dict(self) -> dict[str, str]:
        return {"artifact": self.artifact, "version": self.version}


TOOLKIT_PROCESSOR = Processor(ARTIFACT, _package_version())


@dataclass(frozen=True, slots=True)
class BadRow:
    """One bad row. ``payload`` is whatever the type's schema wants there (a string for most loader types)."""

    type: str
    version: str
    failure: Mapping[str, Any]
    payload: Any
    processor: Processor = TOOLKIT_PROCESSOR

    @property
    def schema(self) -> str:
        return f"iglu:{BADROWS_VENDOR}/{self.type}/jsonschema/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.schema,
                "data": {"processor": self.processor.to_dict(), "failure": self.failure, "payload": self.payload}}

    def to_json(self) -> bytes:
        """Compact JSON, one line, as Snowplow writes bad rows."""
        return orjson.dumps(self.to_dict())


def bad_row(type: str, failure: Mapping[str, Any], payload: Any, *, version: str | None = None,
            processor: Processor = TOOLKIT_PROCESSOR) -> BadRow:
    """Build a bad row of any type; ``version`` defaults to the one in :data:`VERSIONS`."""
    if version is None:
        try:
            version = VERSIONS[type]
        except KeyError:
            raise ValueError(f"no default schema version for bad-row type {type!r}; pass version= "
                             f"(known defaults: {', '.join(sorted(VERSIONS))})") from None
    return BadRow(type, version, failure, payload, processor)


#: a backslash that would read as an escape: before a backslash, an undecodable byte, or ``x`` and two hex digits
_AMBIGUOUS_BACKSLASH = re.compile("\\\\(?=[\\\\\udc80-\udcff]|x[0-9a-f]{2})")
#: an undecodable byte, as ``surrogateescape`` decoding holds it
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})?")


def escape_line(line: bytes | str) -> str:
    """The payload text of an input line; :func:`unescape_line` gives the bytes back.

    ``line`` is the line's bytes, or its text as decoded with ``surrogateescape`` (how the
    parser keeps the bytes that are not UTF-8). Valid UTF-8 without backslashes is returned
    as it is; a byte that is not UTF-8 becomes ``\\xNN`` (lower-case hex), and a backslash
    followed by a backslash, by such a byte or by ``x`` and two lower-case hex digits is
    written ``\\\\``. Other backslashes (``\\"`` in JSON) stay single, so payloads stay readable.
    """
    if isinstance(line, bytes):
        text = line.decode("utf-8", "surrogateescape")
    else:
        if line.isascii() and "\\" not in line:
            return line
        try:
            data = line.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate no byte decodes to: keep the code unit's UTF-8 form
            data = line.encode("utf-8", "surrogatepass")
        text = data.decode("utf-8", "surrogateescape")
    if "\\" in text:
        text = _AMBIGUOUS_BACKSLASH.sub(r"\\\\", text)
    if not text.isascii():
        text = _UNDECODABLE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)
    return text


def _unescaped(match: re.Match[str]) -> str:
    escape = match.group(1)
    if escape is None or escape == "\\":
        return "\\"
    byte = int(escape[1:], 16)
    return chr(0xDC00 + byte) if byte >= 0x80 else chr(byte)


def unescape_line(payload: str) -> bytes:
    """The line :func:`escape_line` made ``payload`` from; ValueError for a text no line escapes to."""
    if not payload.isascii() and _UNDECODABLE.search(payload):
        raise ValueError("the payload holds a lone surrogate, which no escaped line contains")
    text = _ESCAPE.sub(_unescaped, payload) if "\\" in payload else payload
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise ValueError(f"the payload holds {exc.object[exc.start]!r}, which no escaped line contains") from None


def loader_parsing_error(line: bytes | str, failure: Mapping[str, Any],
                         processor: Processor = TOOLKIT_PROCESSOR) -> BadRow:
    """A line that is not an enriched event; ``failure`` as built by :meth:`~toolkit.contract.tsv.ParseFailure.failure`.
    """
    return bad_row("loader_parsing_error", failure, escape_line(line), processor=processor)


def generic_error(line: bytes | str, errors: Sequence[str], *, now: datetime | None = None,
                  processor: Processor = TOOLKIT_PROCESSOR) -> BadRow:
    """A line that failed for a reason no specific bad-row type covers (``generic_error`` 1-0-0)."""
    if not errors:
        raise ValueError("a generic_error bad row needs at least one error message")
    return bad_row("generic_error", {"timestamp": timestamp(now), "errors": list(errors)}, escape_line(line),
                   processor=processor)


def timestamp(now: datetime | None = None) -> str:
    """``failure.timestamp`` as bad-row schemas want it: ISO-8601 UTC with milliseconds."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
