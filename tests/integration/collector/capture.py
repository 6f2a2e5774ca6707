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
from pathlib import Path
from urllib.parse import urlsplit

from connectors.collector.payload import CollectorPayload
from iglu_registry.repositories import EmbeddedRepository, RepositoryRef
from iglu_registry.resolver import Resolver
from iglu_registry.validation import SchemaValidator

ROOT = Path(__file__).resolve().parents[3]
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


def validator_for(iglu_central: Path) -> SchemaValidator:
    """The project's example schemas (com.acme) first, then Iglu Central, both read from disk."""
    return SchemaValidator(Resolver([
        EmbeddedRepository(RepositoryRef("examples", 0, ("com.acme",)), ROOT / "examples" / "iglu"),
        EmbeddedRepository(RepositoryRef("iglu-central", 1), iglu_central.parent)]))
