"""The hardened base of the project's two HTTP servers: ``sptk iglu serve`` and the sidecar.

Both are the standard library's threading server facing clients they do not control,
and the library leaves every limit to its user: a thread per connection without
bound, no timeout (a half-sent request holds its thread for ever), a listen backlog
of 5, and a body read of whatever ``Content-Length`` says, ``-1`` (read to the end)
included. This module sets those limits once, here because ``iglu_registry`` may
import nothing of ours and the sidecar (in ``connectors``) sits above it:

* a bounded number of handler threads; further connections wait in a deep listen
  backlog until a thread is free, so a burst is served late rather than reset;
* one deadline per request (head and body together), so a client trickling one
  byte at a time cannot keep a thread by keeping every single read short;
* ``Content-Length`` checked before a byte of the body is read; a body never read
  on methods that take none; chunked bodies refused;
* JSON bodies parsed only up to a nesting depth that the code behind them can
  recurse through.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

#: methods whose body is read; any other method's body is never read (its connection closes after the answer)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: JSON nesting accepted by :func:`parse_json`: Iglu Central's deepest schema has 23 levels
MAX_JSON_DEPTH = 100


@dataclass(frozen=True)
class ServerLimits:
    """How much one server gives its clients; the defaults suit both servers."""

    #: seconds a client has to send one whole request (head and body), and to wait idle between keep-alive requests;
    #: also the timeout of each write of an answer
    request_timeout_s: float = 30.0
    #: connections served at once, one thread each; more wait in the listen backlog until one finishes
    max_connections: int = 128
    #: connections the kernel holds for ``accept`` (capped by ``net.core.somaxconn``)
    backlog: int = 1024

    def __post_init__(self) -> None:
        if self.request_timeout_s <= 0 or self.max_connections < 1 or self.backlog < 1:
            raise ValueError(f"server limits must be positive: {self}")


@dataclass(frozen=True)
class Refusal:
    """A request refused before (or instead of) being handled; each server words it in its own body format."""

    status: int
    message: str


class HardenedHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server with a bounded number of handler threads and a deep listen backlog."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[HardenedHandler],
                 limits: ServerLimits | None = None) -> None:
        self.limits = limits or ServerLimits()
        self.request_queue_size = self.limits.backlog  # read by server_activate, inside the base constructor
        self._slots = threading.BoundedSemaphore(self.limits.max_connections)
        self._stopping = threading.Event()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Waiting here stops accepting: later connections queue in the kernel's backlog, not in threads.
        while not self._slots.acquire(timeout=0.2):
            if self._stopping.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def shutdown(self) -> None:
        self._stopping.set()
        super().shutdown()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-answer is its own business; anything else is ours and keeps its traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            log.info("connection from %s ended: %s", client_address[0], exc)
        else:
            log.exception("connection from %s failed", client_address[0])


class _DeadlineReader:
    """The request stream with one deadline for a whole request, re-armed before every read from the socket.

    A plain socket timeout bounds each ``recv`` alone, so a client sending a byte just
    inside it keeps the connection for as long as it likes; here every read gets only
    what is left of the request's time.
    """

    def __init__(self, raw: io.BufferedReader, sock: socket.socket) -> None:
        self._raw = raw
        self._sock = sock
        self._deadline = time.monotonic()

    def restart(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def _arm(self) -> None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request was not received in time")
        self._sock.settimeout(remaining)

    def readline(self, limit: int = -1) -> bytes:
        line = bytearray()
        while limit < 0 or len(line) < limit:
            self._arm()
            ahead = self._raw.peek(1)  # at most one recv
            if not ahead:
                break
            if limit >= 0:
                ahead = ahead[: limit - len(line)]
            end = ahead.find(b"\n")
            line += self._raw.read(len(ahead) if end < 0 else end + 1)  # from the buffer, no recv
            if end >= 0:
                break
        return bytes(line)

    def read(self, size: int) -> bytes:
        chunks: list[bytes] = []
        left = size
        while left > 0:
            self._arm()
            chunk = self._raw.read1(min(left, 1 << 16))  # at most one recv
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._raw.close()


class HardenedHandler(BaseHTTPRequestHandler):
    """Request handling under the server's limits; subclasses read bodies only through :meth:`read_body`."""

    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes; without TCP_NODELAY, keep-alive clients wait ~40 ms per request
    disable_nagle_algorithm = True
    server: HardenedHTTPServer
    rfile: _DeadlineReader  # type: ignore[assignment]

    def setup(self) -> None:
        super().setup()
        self.rfile = _DeadlineReader(self.rfile, self.connection)  # type: ignore[arg-type]

    def handle_one_request(self) -> None:
        self.rfile.restart(self.server.limits.request_timeout_s)
        super().handle_one_request()

    def flush_headers(self) -> None:
        # the answer's writes get a timeout of their own: the request's deadline may be long gone (a held request)
        self.connection.settimeout(self.server.limits.request_timeout_s)
        super().flush_headers()

    def refuse(self, status: int, message: str) -> Refusal:
        """A refusal after which the connection closes: whatever the client still sends is never read."""
        self.close_connection = True
        return Refusal(status, message)

    def body_length(self, max_bytes: int) -> int | Refusal:
        """How many bytes of body to read, decided from the headers alone, before any of it is read."""
        values = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if len(values) > 1:
            return self.refuse(400, f"conflicting Content-Length headers: {', '.join(sorted(values))}")
        text = values.pop() if values else None
        if text is not None and not re.fullmatch(r"[0-9]{1,19}", text):
            return self.refuse(400, f"Content-Length {text!r} is not a byte count")
        chunked = "Transfer-Encoding" in self.headers
        if self.command not in BODY_METHODS:
            if chunked or (text is not None and int(text) > 0):
                self.close_connection = True  # its unread body must not be parsed as the next request
            return 0
        if chunked:
            return self.refuse(411, "chunked bodies are not accepted: send the body with a Content-Length header")
        if text is None:
            return self.refuse(411, "a Content-Length header is required")
        length = int(text)
        if length > max_bytes:
            return self.refuse(413, f"a body of {length} bytes is over the limit of {max_bytes} bytes")
        return length

    def read_body(self, length: int) -> bytes | Refusal:
        """Exactly ``length`` bytes (from :meth:`body_length`), or a refusal if they do not all arrive in time."""
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            return self.refuse(408, f"the body did not arrive within {self.server.limits.request_timeout_s:g}s")
        if len(body) < length:
            return self.refuse(400, f"the body ended after {len(body)} of the {length} bytes its "
                                    "Content-Length announced")
        return body

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)


def json_depth(text: bytes | str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text`` (brackets inside strings do not count)."""
    raw = text.encode() if isinstance(text, str) else text
    bare = re.sub(rb'"(?:[^"\\]|\\.)*"', b"", raw, flags=re.DOTALL)
    steps = bare.translate(None, delete=bytes(b for b in range(256) if b not in b"[]{}"))
    return max(itertools.accumulate(1 if b in b"[{" else -1 for b in steps), default=0)


def parse_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> object:
    """JSON of at most ``max_depth`` levels; raises ``ValueError`` with a message for the client."""
    depth = json_depth(body)
    if depth > max_depth:
        raise ValueError(f"the JSON is nested deeper than {max_depth} levels ({depth})")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc
