"""The sidecar's HTTP source: ``POST /v1/enriched`` with newline-separated TSV, answered after delivery.

The application next to the sidecar hands over a batch and may delete its copy
once it gets ``200``, so ``200`` means every record of the batch is durably
produced (acknowledged by the pipeline), not merely received. When the sidecar
cannot promise that soon (draining, or too many records already waiting) it
answers ``503`` at once, with a JSON body saying how many records it accepted,
so the caller retries elsewhere or later instead of queueing without bound. A
batch is taken whole or not at all: a body that is not complete, valid gzip, or
a batch larger than ``max_pending_records`` (it could never fit), is refused with
a ``4xx`` and nothing of it reaches the pipeline.
"""

from __future__ import annotations

import itertools
import queue
import re
import threading
import time
import zlib
from http import HTTPStatus

from connectors.sidecar.server import HttpServer, Request, Response
from connectors.sources.base import Position, Record
from iglu_registry.http_server import Refusal

PARTITION = "http"
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def trace_id_of(request: Request) -> str | None:
    """The trace id of a W3C ``traceparent`` header, so a batch keeps its caller's trace."""
    m = _TRACEPARENT.match(request.headers.get("traceparent", "").strip().lower())
    return m.group(1) if m and m.group(1) != "0" * 32 else None


def gunzip(data: bytes, max_bytes: int) -> bytes | Refusal:
    """Every member of a gzip body (RFC 1952 allows several), or a refusal: a body is never taken in part.

    Each member must reach its trailer (which checks its CRC and length), and whatever
    follows a member must be another member; ``max_bytes`` counts all members together and
    is checked while decompressing, so a small body that would expand without bound (a
    zip bomb) is refused after ``max_bytes + 1`` bytes of output.
    """
    members: list[bytes] = []
    size = 0
    bad = HTTPStatus.BAD_REQUEST
    while True:
        member = len(members) + 1
        d = zlib.decompressobj(wbits=31)
        try:
            out = d.decompress(data, max_bytes - size + 1)
        except zlib.error as exc:
            return Refusal(bad, f"the gzip body is corrupt (member {member}: {exc}); nothing was accepted")
        size += len(out)
        if size > max_bytes:
            return Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body decompresses to more than {max_bytes} "
                                                                "bytes; send smaller batches")
        if not d.eof:
            return Refusal(bad, f"the gzip body is incomplete (member {member} ends before its trailer); nothing was "
                                "accepted: send the whole batch again")
        members.append(out)
        data = d.unused_data
        if not data:
            return b"".join(members)
        if not data.startswith(b"\x1f\x8b"):
            return Refusal(bad, f"{len(data)} bytes after the gzip data are not gzip; nothing was accepted")


class HeldRequests:
    """What a source that holds each request until its records are acknowledged shares: draining and closing.

    ``stop`` refuses new requests while accepted ones still wait; ``close`` releases every waiting
    request (each then answers ``503`` unless all its records were acknowledged).
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._draining = False
        self._closed = False

    def stop(self) -> None:
        """Drain: new requests get 503; requests already accepted still wait for their acks."""
        with self._lock:
            self._draining = True

    def close(self) -> None:
        """Release every waiting request (with 503 if its records were not all acknowledged)."""
        with self._lock:
            self._draining = True
            self._closed = True
            self._lock.notify_all()


class HttpSource(HeldRequests):
    """Accept batches over HTTP; ``read()`` hands their lines to the pipeline in arrival order.

    Positions are one increasing sequence (partition ``http``), so the pipeline's
    cumulative ``ack`` releases every request whose last record is covered.
    """

    def __init__(self, *, path: str = "/v1/enriched", max_body_bytes: int = 10 * 1024 * 1024,
                 max_pending_records: int = 50_000, ack_timeout_s: float = 30.0) -> None:
        super().__init__()
        self.path = path
        self.description = f"http: POST {path}"
        self.max_body_bytes = max_body_bytes
        self.max_pending_records = max_pending_records
        self.ack_timeout_s = ack_timeout_s
        self._queue: queue.Queue[Record] = queue.Queue()
        self._next = 0  # next sequence number
        self._acked = -1  # highest acknowledged sequence number
        self._batches = itertools.count(1)
        self.accepted_total = 0
        self.rejected_batches = 0

    def mount(self, server: HttpServer) -> None:
        """Serve ``POST <path>`` on ``server`` (the sidecar's own port)."""
        # gzip bodies may expand: the limit is checked again after decompression.
        server.route("POST", self.path, self.handle, max_body_bytes=self.max_body_bytes)

    # -- HTTP side (server threads) ------------------------------------------------------

    def _refuse(self, status: HTTPStatus, reason: str, retry_after_s: int | None = None) -> Response:
        """A batch refused whole: nothing of it was taken, so the caller keeps it (and may retry after
        ``retry_after_s`` when it says so)."""
        self.rejected_batches += 1
        headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
        return Response.json(status, {"accepted": 0, "acked": 0, "error": reason}, headers)

    def _decode_body(self, request: Request) -> bytes | Response:
        encoding = request.headers.get("content-encoding", "identity").lower()
        if encoding in ("identity", ""):
            return request.body
        if encoding != "gzip":
            return self._refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Encoding {encoding!r} is not supported; "
                                                                   "send identity or gzip")
        body = gunzip(request.body, self.max_body_bytes)
        return self._refuse(HTTPStatus(body.status), body.message) if isinstance(body, Refusal) else body

    def handle(self, request: Request) -> Response:
        body = self._decode_body(request)
        if isinstance(body, Response):
            return body
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()  # the newline that ends the last line
        if len(lines) > self.max_pending_records:  # could never fit, however long the caller waits: not retryable
            limit = self.max_pending_records
            return self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                f"the batch has {len(lines)} records, more than source.http.max_pending_records "
                                f"({limit}) lets wait for delivery at once; split it into batches of at most "
                                f"{limit} records")
        with self._lock:
            if self._draining or self._closed:
                return self._refuse(HTTPStatus.SERVICE_UNAVAILABLE, "draining: this instance is shutting down; "
                                                                     "send the batch to another instance")
            pending = self._next - 1 - self._acked
            if pending + len(lines) > self.max_pending_records:
                return self._refuse(HTTPStatus.SERVICE_UNAVAILABLE, f"overloaded: {pending} records are waiting for "
                                    f"delivery (limit {self.max_pending_records}); retry shortly or send smaller "
                                    "batches", retry_after_s=1)
            if not lines:
                return Response.json(HTTPStatus.OK, {"accepted": 0, "acked": 0})
            batch = next(self._batches)
            first = self._next
            trace = trace_id_of(request)
            for i, line in enumerate(lines):
                self._queue.put(Record(line, Position(PARTITION, self._next),
                                       f"http:{request.client} batch {batch} line {i + 1}", trace_id=trace))
                self._next += 1
            last = self._next - 1
            self.accepted_total += len(lines)
            deadline = time.monotonic() + self.ack_timeout_s
            while self._acked < last and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            acked = max(0, min(self._acked, last) - first + 1)
        if acked == len(lines):
            return Response.json(HTTPStatus.OK, {"accepted": len(lines), "acked": acked})
        reason = ("the sidecar shut down before" if self._closed else
                  f"timed out after {self.ack_timeout_s:g}s waiting for") + \
            " every record to be durably produced; the unacknowledged ones may still be delivered, so a retry " \
            "can duplicate them (consumers deduplicate by sp.event_id)"
        return Response.json(HTTPStatus.SERVICE_UNAVAILABLE, {"accepted": len(lines), "acked": acked,
                                                              "error": reason}, {"Retry-After": "1"})

    # -- pipeline side -------------------------------------------------------------------

    def read(self, max_records: int, timeout_s: float) -> list[Record]:
        out: list[Record] = []
        try:
            out.append(self._queue.get(timeout=timeout_s) if timeout_s > 0 else self._queue.get_nowait())
        except queue.Empty:
            return out
        while len(out) < max_records:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return out

    @property
    def pending(self) -> int:
        """Records accepted and not yet acknowledged."""
        with self._lock:
            return self._next - 1 - self._acked

    @property
    def finished(self) -> bool:
        return (self._draining or self._closed) and self._queue.empty()

    def ack(self, position: Position) -> None:
        with self._lock:
            if position.offset > self._acked:
                self._acked = position.offset
                self._lock.notify_all()
