"""Request bodies from canonical enriched events: JSON lines, a JSON array, or a Segment-style batch. Pure.

Every event carries its idempotency key into the body (``_idempotency_key`` of a JSON event,
``messageId`` of a Segment item), so a receiver that sees a batch again after a retry, a restart or a
rebalance can drop the events it already has, one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from connectors.sinks.http.config import SegmentMapping, TemplateSection
from toolkit.config.field_paths import FieldPath, Index, Key

#: the key an ``ndjson``/``json_array`` event gains: its idempotency key
IDEMPOTENCY_FIELD = "_idempotency_key"

CONTENT_TYPES = {"ndjson": "application/x-ndjson", "json_array": "application/json", "segment": "application/json"}


@dataclass(frozen=True, slots=True)
class SinkEvent:
    """One canonical enriched event as read from Kafka, with its idempotency key."""

    value: Mapping[str, Any]
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Body:
    content: bytes
    content_type: str


def json_value(event: Mapping[str, Any], path: FieldPath) -> Any:
    """The value at ``path`` in a canonical JSON event, or ``None`` when any step is absent."""
    node: Any = event.get(path.root)
    for step in path.steps:
        if isinstance(step, Key) and isinstance(node, Mapping):
            node = node.get(step.name)
        elif isinstance(step, Index) and isinstance(node, list) and step.index < len(node):
            node = node[step.index]
        else:
            return None
    return node


def idempotency_key(event: Mapping[str, Any], paths: Sequence[FieldPath], fallback: str) -> str:
    """The values at ``paths`` joined by ``:`` (default ``event_id:event_fingerprint``).

    ``fallback`` (the record's ``topic/partition@offset``, as stable as the record itself) is the key
    of an event that has none of the fields.
    """
    parts = [json_value(event, p) for p in paths]
    if all(p is None or p == "" for p in parts):
        return fallback
    return ":".join("" if p is None else str(p) for p in parts)


def render(template: TemplateSection, events: Sequence[SinkEvent]) -> Body:
    """The body of one request for ``events``, in the order they were read."""
    if template.kind == "segment":
        content = orjson.dumps({"batch": [segment_item(template.segment, e) for e in events]})
    else:
        docs = [{**e.value, IDEMPOTENCY_FIELD: e.idempotency_key} for e in events]
        content = b"".join(orjson.dumps(d) + b"\n" for d in docs) if template.kind == "ndjson" else orjson.dumps(docs)
    return Body(content, CONTENT_TYPES[template.kind])


def segment_item(mapping: SegmentMapping, event: SinkEvent) -> dict[str, Any]:
    """One ``{"type": "track", ...}`` item; keys whose field has no value are left out, except ``event``."""
    value = event.value
    item: dict[str, Any] = {"type": mapping.type, "event": json_value(value, mapping.event)}
    for key, path in (("userId", mapping.user_id), ("anonymousId", mapping.anonymous_id),
                      ("timestamp", mapping.timestamp)):
        found = json_value(value, path) if path is not None else None
        if found is not None and found != "":
            item[key] = found
    item["messageId"] = event.idempotency_key
    item["properties"] = {name: found for name, path in mapping.properties.items()
                          if (found := json_value(value, path)) is not None}
    return item
