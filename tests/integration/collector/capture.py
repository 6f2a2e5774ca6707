"""A small real HTTP server that records what trackers send, as the collector will receive it.

The field tests point real trackers (Python, Node) at it over a real socket; each request it
records becomes a :class:`~connectors.collector.payload.CollectorPayload`, which the adapter
turns into enriched events. It answers every request ``200``, as a collector does.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from connectors.collector.adapter import adapt
from connectors.collector.payload import CollectorPayload
from iglu_registry.validation import SchemaValidator
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.tsv import parse_line
from toolkit.pipeline.validate import EventValidator, ValidationResult

NETWORK_USERID = "c9a9e7f0-4e7c-4b36-9d43-0b4e3b1e6b11"


class Capture:
    def __init__(self) -> None:
        self.payloads: list[CollectorPayload] = []
        self.lock = threading.Lock()

    def record(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if handler.command == "POST" else None
        if body is not None and handler.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        url = urlsplit(handler.path)
        payload = CollectorPayload(
            method=handler.command, path=url.path, querystring=url.query, body=body,
            content_type=handler.headers.get("Content-Type"), collector_tstamp=datetime.now(UTC),
            ip=handler.client_address[0], user_agent=handler.headers.get("User-Agent"),
            referer=handler.headers.get("Referer"), network_userid=NETWORK_USERID,
            hostname=handler.headers.get("Host"), headers=tuple(handler.headers.items()))
        with self.lock:
            self.payloads.append(payload)


@contextmanager
def capture_server() -> Iterator[tuple[Capture, int]]:
    """A server on a free local port, and what it captured; stopped on exit."""
    capture = Capture()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            capture.record(self)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = _answer  # noqa: N815 - http.server's naming
        do_POST = _answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield capture, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def enriched(payloads: list[CollectorPayload], validator: SchemaValidator
             ) -> tuple[dict[str, list[EnrichedEvent]], dict[str, ValidationResult]]:
    """The adapter's events by event_name, and the pipeline's verdict on each by event_id; no bad rows allowed."""
    assert payloads, "the tracker sent nothing"
    by_event: dict[str, list[EnrichedEvent]] = {}
    verdicts: dict[str, ValidationResult] = {}
    entities = EventValidator(validator)
    for payload in payloads:
        adapted = adapt(payload, validator)
        assert adapted.bad_rows == [], [b.to_dict() for b in adapted.bad_rows]
        for line in adapted.events:
            event = parse_line(line)
            assert isinstance(event, EnrichedEvent), event
            by_event.setdefault(event.get("event_name"), []).append(event)
            verdicts[event.event_id] = entities.validate(event)
    return by_event, verdicts
