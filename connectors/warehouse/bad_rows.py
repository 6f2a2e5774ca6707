"""Snowplow bad rows -> (event_id, bad-row type) records for a side's bad output.

Reconciliation explains an event that is missing from a side's good data by
finding it in that side's bad output; that needs the event id, which each bad-row
type keeps in a different place. When no id can be found the record is still
kept (with a null id) so nothing disappears.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from connectors.warehouse.rows import Provenance

_BADROW_SCHEMA = re.compile(r"^iglu:com\.snowplowanalytics\.snowplow\.badrows/([A-Za-z0-9_]+)/jsonschema/")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
EVENT_ID_POSITION = 6


@dataclass(frozen=True, slots=True)
class BadRowRecord:
    event_id: str | None
    bad_row_type: str
    failure: str | None
    provenance: Provenance


class NotABadRow(ValueError):
    """The JSON is not a Snowplow bad row (``iglu:com.snowplowanalytics.snowplow.badrows/...``)."""


def _event_id_from_tsv(payload: str) -> str | None:
    fields = payload.split("\t")
    if len(fields) > EVENT_ID_POSITION and _UUID.match(fields[EVENT_ID_POSITION]):
        return fields[EVENT_ID_POSITION]
    return None


def _event_id(payload: Any) -> str | None:
    if isinstance(payload, str):
        if payload.startswith("{"):
            try:
                return _event_id(orjson.loads(payload))
            except orjson.JSONDecodeError:
                return None
        return _event_id_from_tsv(payload)
    if not isinstance(payload, Mapping):
        return None
    for candidate in (payload.get("event_id"), (payload.get("enriched") or {}).get("event_id"),
                      (payload.get("event") or {}).get("event_id") if isinstance(payload.get("event"), Mapping)
                      else None):
        if isinstance(candidate, str) and candidate:
            return candidate
    raw = payload.get("raw")
    if isinstance(raw, Mapping):
        for param in raw.get("parameters") or []:
            if isinstance(param, Mapping) and param.get("name") == "eid" and isinstance(param.get("value"), str):
                return param["value"]
    return None


def parse_bad_row(document: Mapping[str, Any] | str, provenance: Provenance) -> BadRowRecord:
    """One bad row (self-describing JSON) -> its record; raise :class:`NotABadRow` with the reason."""
    if isinstance(document, str):
        try:
            document = orjson.loads(document)
        except orjson.JSONDecodeError as exc:
            raise NotABadRow(f"{provenance}: not JSON ({exc})") from None
    if not isinstance(document, Mapping):
        raise NotABadRow(f"{provenance}: a bad row is a JSON object, got {type(document).__name__}")
    match = _BADROW_SCHEMA.match(str(document.get("schema", "")))
    if match is None:
        raise NotABadRow(f"{provenance}: schema {document.get('schema')!r} is not a Snowplow bad-row schema "
                         f"(iglu:com.snowplowanalytics.snowplow.badrows/<type>/jsonschema/...)")
    data = document.get("data") if isinstance(document.get("data"), Mapping) else {}
    failure = data.get("failure")
    failure_text = orjson.dumps(failure).decode()[:2000] if failure is not None else None
    return BadRowRecord(_event_id(data.get("payload")), match.group(1), failure_text, provenance)
