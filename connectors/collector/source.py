"""The collector as the pipeline's source: a tracker's ``200`` means its events are durably produced.

Each request is queued whole by a server thread, which then waits. The pipeline's thread
adapts it (:func:`connectors.collector.adapter.adapt`, with the pipeline's own validator,
so no validator is shared between threads) into one record per event or bad row, numbered
in one sequence (partition ``collector``); the first record carries the request's payload
as the raw copy. The pipeline's cumulative ``ack`` releases every request whose last
record is covered, and its thread answers ``200``. A request that cannot be promised soon
(draining, too many waiting, or not acknowledged within ``ack_timeout_s``) gets ``503``,
which trackers retry.
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

import orjson

from connectors.collector.adapter import Adapted, RegistryUnavailable
from connectors.collector.payload import CollectorPayload
from connectors.collector.server import CollectorEndpoints
from connectors.sidecar.server import HttpServer, Response
from connectors.sources.base import Position, Record
from connectors.sources.http import HeldRequests
from toolkit.config.inputs import CollectorSourceConfig
from toolkit.contract.badrows import BadRow, generic_error

log = logging.getLogger(__name__)

PARTITION = "collector"


@dataclass(slots=True)
class CollectedRecord(Record):
    """One event of a request (``raw`` its enriched TSV line) or the adapter's ``bad`` row in its place.

    ``payload`` (the request as received, JSON) is set on the request's first record only: it is the raw copy.
    """

    bad: BadRow | None = None
    payload: bytes | None = None
    request: CollectorPayload | None = None


Adapt = Callable[[CollectorPayload], Adapted]


class _Waiting:
    __slots__ = ("payload", "last", "done", "refusal")

    def __init__(self, payload: CollectorPayload) -> None:
        self.payload = payload
        self.last = -1  # the sequence number of its last record, once read
        self.done = False
        self.refusal: str | None = None  # answered 503 with this reason, nothing written


class CollectorSource(HeldRequests):
    """Serve the collector endpoints; ``read()`` hands the pipeline each request's events in arrival order."""

    def __init__(self, cfg: CollectorSourceConfig, adapt: Adapt | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.description = "collector: GET /i, POST /com.snowplowanalytics.snowplow/tp2, /<vendor>/<version>"
        self.endpoints = CollectorEndpoints(cfg, self.accept)
        self._adapt = adapt
        self._incoming: queue.Queue[_Waiting] = queue.Queue()
        self._ready: collections.deque[Record] = collections.deque()
        self._unacked: collections.deque[_Waiting] = collections.deque()
        self._next = 0
        self._acked = -1
        self._requests = itertools.count(1)
        self._pending = 0  # requests accepted and not yet answered
        self.accepted_total = 0
        self.refused_total = 0

    def bind(self, adapt: Adapt) -> None:
        """The adapter, with the pipeline's validator (built after the source)."""
        self._adapt = adapt

    def mount(self, server: HttpServer) -> None:
        self.endpoints.mount(server)

    # -- HTTP side (server threads) ------------------------------------------------------

    def _refuse(self, reason: str) -> Response:
        self.refused_total += 1
        return Response(HTTPStatus.SERVICE_UNAVAILABLE, reason.encode() + b"\n", headers={"Retry-After": "1"})

    def accept(self, payload: CollectorPayload) -> Response | None:
        """Queue ``payload`` and wait until every record it gives is durably produced (None), or say why not."""
        waiting = _Waiting(payload)
        with self._lock:
            if self._draining or self._closed:
                return self._refuse("draining: this collector is shutting down; send the events again")
            if self._pending >= self.cfg.max_pending_requests:
                return self._refuse(f"overloaded: {self._pending} requests are waiting for delivery (limit "
                                    f"{self.cfg.max_pending_requests}); retry shortly")
            self._pending += 1
            self.accepted_total += 1
            self._incoming.put(waiting)
            deadline = time.monotonic() + self.cfg.ack_timeout_s
            while not waiting.done and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            self._pending -= 1
            if waiting.done:
                return self._refuse(waiting.refusal) if waiting.refusal else None
        why = ("the collector shut down before" if self._closed else
               f"timed out after {self.cfg.ack_timeout_s:g}s waiting for")
        return self._refuse(f"{why} the events were durably produced; they may still be delivered, so a retry can "
                            "duplicate them (consumers deduplicate by event_id)")

    # -- pipeline side -------------------------------------------------------------------

    def _expand(self, waiting: _Waiting) -> None:
        """The request's records, numbered; a request with none is answered at once."""
        payload = waiting.payload
        number = next(self._requests)
        try:
            assert self._adapt is not None, "CollectorSource.bind(adapt) was not called"
            adapted = self._adapt(payload)
            lines, rows = adapted.events, adapted.bad_rows
        except RegistryUnavailable as exc:
            log.warning("request %d (%s %s) answered 503, nothing written: %s; the tracker sends it again", number,
                        payload.method, payload.path, exc)
            with self._lock:
                waiting.refusal = f"{exc}; send the events again"
                waiting.done = True
                self._lock.notify_all()
            return
        except Exception as exc:  # a bug in the adapter must not lose the request: keep it as a bad row
            log.exception("the adapter failed on request %d (%s %s); it is kept as a generic_error bad row", number,
                          payload.method, payload.path)
            lines, rows = [], [generic_error(orjson.dumps(payload.to_json()),
                                             [f"the adapter failed: {type(exc).__name__}: {exc}"])]
        raw = orjson.dumps(payload.to_json())
        trace = uuid.uuid4().hex
        where = f"collector:{payload.ip or 'anonymous'} {payload.method} {payload.path} request {number}"
        records: list[Record] = []
        for i, line in enumerate(lines):
            records.append(CollectedRecord(line.encode("utf-8", "surrogateescape"),
                                           Position(PARTITION, self._next + len(records)),
                                           f"{where} event {i + 1}", trace, request=payload))
        for i, row in enumerate(rows):
            records.append(CollectedRecord(b"", Position(PARTITION, self._next + len(records)),
                                           f"{where} bad row {i + 1}", trace, bad=row, request=payload))
        with self._lock:
            if not records:
                log.warning("request %d (%s %s) gave no event and no bad row; answered without writing anything",
                            number, payload.method, payload.path)
                waiting.done = True
                self._lock.notify_all()
                return
            records[0].payload = raw  # type: ignore[attr-defined]
            self._next += len(records)
            waiting.last = self._next - 1
            self._unacked.append(waiting)
        self._ready.extend(records)

    def read(self, max_records: int, timeout_s: float) -> list[Record]:
        if not self._ready:
            try:
                first = self._incoming.get(timeout=timeout_s) if timeout_s > 0 else self._incoming.get_nowait()
            except queue.Empty:
                return []
            self._expand(first)
        while len(self._ready) < max_records:
            try:
                self._expand(self._incoming.get_nowait())
            except queue.Empty:
                break
        return [self._ready.popleft() for _ in range(min(max_records, len(self._ready)))]

    @property
    def finished(self) -> bool:
        return (self._draining or self._closed) and self._incoming.empty() and not self._ready

    def ack(self, position: Position) -> None:
        with self._lock:
            if position.offset <= self._acked:
                return
            self._acked = position.offset
            released = False
            while self._unacked and self._unacked[0].last <= self._acked:
                self._unacked.popleft().done = True
                released = True
            if released:
                self._lock.notify_all()
