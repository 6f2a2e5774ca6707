"""A real HTTP receiver on a free loopback port that the tests script: throttle, fail, time out, refuse, recover.

Every request is recorded with the server's own monotonic timestamps (arrival and answer), its
headers and its parsed body, so a test checks what arrived and when without trusting the sink.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass(frozen=True)
class Step:
    """What the server does with one request: answer ``status`` (after ``sleep_s``), maybe with ``Retry-After``."""

    status: int = 200
    retry_after: str | Callable[[], str] | None = None  # a callable is asked when the answer is sent
    sleep_s: float = 0.0


@dataclass
class Seen:
    arrived: float
    answered: float
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def items(self) -> list[dict[str, Any]]:
        """The events of the body, whatever the template: JSON lines, an array, or a Segment batch."""
        if isinstance(self.body, dict):
            return list(self.body["batch"])
        return list(self.body)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class Receiver:
    script: list[Step] = field(default_factory=list)
    otherwise: Step = field(default_factory=Step)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ingest"

    def next_step(self) -> Step:
        with self.lock:
            return self.script.pop(0) if self.script else self.otherwise

    def record(self, seen: Seen) -> None:
        with self.lock:
            self.seen.append(seen)

    def requests(self) -> list[Seen]:
        with self.lock:
            return sorted(self.seen, key=lambda s: s.arrived)

    def wait_for(self, predicate: Any, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate(self.requests()):
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver never saw what the test waited for: {len(self.seen)} requests")
            time.sleep(0.05)


def _parse(content_type: str, raw: bytes) -> Any:
    if content_type == "application/x-ndjson":
        return [orjson.loads(line) for line in raw.split(b"\n") if line]
    return orjson.loads(raw)


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            arrived = time.monotonic()
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            step = state.next_step()
            if step.sleep_s:
                time.sleep(step.sleep_s)
            body = b'{"ok": true}' if step.status < 300 else b'{"error": "scripted"}'
            self.send_response(step.status)
            if step.retry_after is not None:
                value = step.retry_after if isinstance(step.retry_after, str) else step.retry_after()
                self.send_header("Retry-After", value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            answered = time.monotonic()
            with contextlib.suppress(OSError):  # the client timed out and went away: the request still arrived
                self.wfile.write(body)
            state.record(Seen(arrived, answered, step.status, {k.lower(): v for k, v in self.headers.items()},
                              _parse(self.headers.get("Content-Type", ""), raw)))

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="test-receiver", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
