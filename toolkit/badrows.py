"""Snowplow bad rows: the self-describing JSON every failed record becomes.

A bad row is ``{"schema": "iglu:com.snowplowanalytics.snowplow.badrows/<type>/jsonschema/<version>",
"data": {"processor": {"artifact", "version"}, "failure": {...}, "payload": ...}}``, the
format Snowplow's own loaders and enrichers emit, so existing bad-row tooling
(recovery, dashboards) reads ours unchanged. :func:`bad_row` builds any type;
the pipeline uses it for ``schema_violations`` and ``size_violation``. The parser
builds ``loader_parsing_error`` through :func:`loader_parsing_error`.
"""

from __future__ import annotations

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


def loader_parsing_error(line: str, failure: Mapping[str, Any],
                         processor: Processor = TOOLKIT_PROCESSOR) -> BadRow:
    """A line that is not an enriched event; ``failure`` as built by :meth:`toolkit.tsv.ParseFailure.failure`."""
    return bad_row("loader_parsing_error", failure, line, processor=processor)


def generic_error(payload: str, errors: Sequence[str], *, now: datetime | None = None,
                  processor: Processor = TOOLKIT_PROCESSOR) -> BadRow:
    """A record that failed for a reason no specific bad-row type covers (``generic_error`` 1-0-0)."""
    if not errors:
        raise ValueError("a generic_error bad row needs at least one error message")
    return bad_row("generic_error", {"timestamp": timestamp(now), "errors": list(errors)}, payload,
                   processor=processor)


def timestamp(now: datetime | None = None) -> str:
    """``failure.timestamp`` as bad-row schemas want it: ISO-8601 UTC with milliseconds."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
