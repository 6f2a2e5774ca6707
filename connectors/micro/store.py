"""What ``sptk micro`` shows: every good event and every bad one, in memory, newest first, as Micro answers.

Items keep Snowplow Micro's field names so test suites written against Micro read them
unchanged: a good item has ``event`` (the canonical JSON of the enriched event),
``eventType``, ``schema`` and ``contexts``; a bad item has ``collectorPayload`` (the
request as received) and ``errors`` (the reason, then the bad row), plus ``badRow``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import orjson

from connectors.collector.source import CollectedRecord
from connectors.sources.base import Record
from toolkit.contract.profiles import canonical
from toolkit.contract.tsv import ParseFailure, parse_line
from toolkit.pipeline.outcomes import BAD, Outcome


class FilterError(ValueError):
    """A ``POST /micro/good`` or ``/micro/bad`` body that is no filter; the message says what is wrong."""


def _good_item(line: bytes) -> dict[str, Any] | None:
    parsed = parse_line(line)
    if type(parsed) is ParseFailure:
        return None
    event = parsed  # type: ignore[assignment]
    schema = event.event_schema
    contexts = event.contexts
    return {"event": canonical.to_object(event), "eventType": event.text("event") or None,
            "schema": schema.uri if schema is not None else None,
            "contexts": [e.uri for e in contexts.entities] if contexts is not None else []}


def _bad_item(record: Record, outcome: Outcome) -> dict[str, Any]:
    row = next((orjson.loads(o.value) for o in outcome.outputs if o.stream == BAD), None)
    request = getattr(record, "request", None)
    errors = [str(getattr(outcome, "reason", "")) or "the event is invalid"]
    if row is not None:
        errors.append(orjson.dumps(row).decode())
    return {"collectorPayload": request.to_json() if request is not None else None, "errors": errors,
            "badRow": row}


def _limit(filters: Mapping[str, Any]) -> int | None:
    limit = filters.get("limit")
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise FilterError(f"limit must be a whole number of 0 or more, got {limit!r}")
    return limit


def _text(filters: Mapping[str, Any], name: str) -> str | None:
    value = filters.get(name)
    if value is not None and not isinstance(value, str):
        raise FilterError(f"{name} must be a string, got {value!r}")
    return value


class MicroStore:
    """Good and bad items of every request since the start (or the last reset); safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._good: list[dict[str, Any]] = []
        #: (vendor, version, item): the request path's adapter, what ``POST /micro/bad`` filters on
        self._bad: list[tuple[str | None, str | None, dict[str, Any]]] = []

    def observe(self, record: Record, outcome: Outcome) -> None:
        """Keep what the pipeline made of ``record`` (``build(observe=...)``): valid ones as good, bad rows as bad."""
        if outcome.kind == "skipped":
            return
        item: dict[str, Any] | None = None
        if outcome.kind != "bad" and isinstance(record, CollectedRecord) and record.bad is None:
            item = _good_item(record.raw)
        with self._lock:
            if item is not None:
                self._good.append(item)
            else:
                request = getattr(record, "request", None)
                vendor, version = request.vendor_version if request is not None else (None, None)
                self._bad.append((vendor, version, _bad_item(record, outcome)))

    def summary(self) -> dict[str, int]:
        with self._lock:
            good, bad = len(self._good), len(self._bad)
        return {"total": good + bad, "good": good, "bad": bad}

    def reset(self) -> dict[str, int]:
        with self._lock:
            self._good.clear()
            self._bad.clear()
        return self.summary()

    def good(self, filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Newest first; ``event_type`` and ``schema`` must match, ``contexts`` must all be attached (as Micro:
        an item without a schema passes a ``schema`` filter)."""
        filters = filters or {}
        event_type, schema = _text(filters, "event_type"), _text(filters, "schema")
        contexts = filters.get("contexts")
        if contexts is not None and not (isinstance(contexts, list) and all(isinstance(c, str) for c in contexts)):
            raise FilterError(f"contexts must be a list of schema URIs, got {contexts!r}")
        limit = _limit(filters)
        with self._lock:
            items = list(reversed(self._good))
        out = [i for i in items
               if (event_type is None or i["eventType"] == event_type)
               and (schema is None or i["schema"] is None or i["schema"] == schema)
               and (contexts is None or all(c in i["contexts"] for c in contexts))]
        return out if limit is None else out[:limit]

    def bad(self, filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Newest first; ``vendor`` and ``version`` are those of the request's path (``/i`` is Snowplow's ``tp1``)."""
        filters = filters or {}
        vendor, version = _text(filters, "vendor"), _text(filters, "version")
        limit = _limit(filters)
        with self._lock:
            items = list(reversed(self._bad))

        out = [item for (v, ver, item) in items
               if (vendor is None or v == vendor) and (version is None or ver == version)]
        return out if limit is None else out[:limit]
