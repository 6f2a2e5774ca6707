"""The ``sp.*`` headers every produced message carries.

Headers let a consumer route, trace and debug a message without decoding its
value: which event it is, which schema, when it was collected, where it was read
from, which pipeline build and config produced it, and (for bad rows) why it
failed. They are built here once so every stream spells them the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

EVENT_ID = "sp.event_id"
SCHEMA = "sp.schema"
COLLECTOR_TSTAMP = "sp.collector_tstamp"
SOURCE = "sp.source"
PIPELINE = "sp.pipeline"
TRACE_ID = "sp.trace_id"
ERROR_STAGE = "sp.error.stage"
ERROR_CLASS = "sp.error.class"
ERROR_MESSAGE = "sp.error.message"
#: on enriched and derived messages of an event whose schema is deprecated: ``deprecated=D;sunset=D;replacement=URI``
SCHEMA_DEPRECATED = "sp.schema.deprecated"
#: on enriched and derived messages of a stream with consent rules: ``basis=<gdpr basis>;scopes=<allowed scopes>``
#: (``-`` where nothing is known, ``scopes=none`` after a full withdrawal); see docs/privacy.md, "Consent"
CONSENT = "sp.consent"
#: ``true`` on a bad row a replay may fix (the registry could not answer); ``sptk pipeline replay-bad`` reruns it
ERROR_RETRYABLE = "sp.error.retryable"
#: on the bad row of a diverted derived message: the stream (``derived.<name>.v<N>``) ``replay-bad`` writes it back to
ERROR_STREAM = "sp.error.stream"

#: Headers count towards the broker's message size limit; an error message longer than this is cut.
MAX_ERROR_MESSAGE_BYTES = 1024


def new_trace_id() -> str:
    """A W3C-style 128-bit trace id (32 hex digits), for records that arrive without one."""
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class MessageHeaders:
    """The ``sp.*`` headers of one message; unknown values (a line that did not parse) are empty strings."""

    source: str
    pipeline: str
    trace_id: str
    event_id: str = ""
    schema: str = ""
    collector_tstamp: str = ""
    error_stage: str | None = None
    error_class: str | None = None
    error_message: str | None = None
    error_retryable: bool = False

    def with_error(self, stage: str, error_class: str, message: str, retryable: bool = False) -> MessageHeaders:
        """The same headers for the bad-row copy of a record."""
        return MessageHeaders(self.source, self.pipeline, self.trace_id, self.event_id, self.schema,
                              self.collector_tstamp, stage, error_class, message, retryable)

    def to_kafka(self) -> list[tuple[str, bytes]]:
        out = [
            (EVENT_ID, self.event_id.encode()),
            (SCHEMA, self.schema.encode()),
            (COLLECTOR_TSTAMP, self.collector_tstamp.encode()),
            (SOURCE, self.source.encode("utf-8", "backslashreplace")),
            (PIPELINE, self.pipeline.encode()),
            (TRACE_ID, self.trace_id.encode()),
        ]
        if self.error_stage is not None:
            message = (self.error_message or "").encode("utf-8", "backslashreplace")
            if len(message) > MAX_ERROR_MESSAGE_BYTES:
                message = message[: MAX_ERROR_MESSAGE_BYTES - 3].decode("utf-8", "ignore").encode() + b"..."
            out += [
                (ERROR_STAGE, self.error_stage.encode()),
                (ERROR_CLASS, (self.error_class or "").encode()),
                (ERROR_MESSAGE, message),
                (ERROR_RETRYABLE, b"true" if self.error_retryable else b"false"),
            ]
        return out

    @classmethod
    def from_kafka(cls, headers: Iterable[tuple[str, bytes | None]] | None) -> MessageHeaders:
        """Read headers back (the last value wins if one is repeated); missing ones become empty."""
        found = {k: (v or b"").decode("utf-8", "replace") for k, v in (headers or ())}
        return cls(
            source=found.get(SOURCE, ""),
            pipeline=found.get(PIPELINE, ""),
            trace_id=found.get(TRACE_ID, ""),
            event_id=found.get(EVENT_ID, ""),
            schema=found.get(SCHEMA, ""),
            collector_tstamp=found.get(COLLECTOR_TSTAMP, ""),
            error_stage=found.get(ERROR_STAGE),
            error_class=found.get(ERROR_CLASS),
            error_message=found.get(ERROR_MESSAGE),
            error_retryable=found.get(ERROR_RETRYABLE) == "true",
        )
