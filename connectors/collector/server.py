"""The collector's HTTP endpoints: what a Snowplow tracker talks to.

``GET /i`` (and ``/ice.png``) answers the 1x1 GIF a browser pixel expects;
``POST /com.snowplowanalytics.snowplow/tp2`` takes a tracker's batch; any other
``/<vendor>/<version>`` is taken too, as Snowplow's collector does, and the adapter
records what it cannot read as a bad row, so nothing a sender sent is dropped at the
door. ``OPTIONS`` answers CORS preflights, ``/health`` a load balancer. Every request
becomes one :class:`~connectors.collector.payload.CollectorPayload` (body gunzipped,
client IP decided, network user id cookie read or made) handed to ``accept``, which
answers ``None`` once the payload is taken (in sidecar mode: durably produced) or the
refusal to send instead (``503``: retry later).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus

from connectors.collector.client_ip import client_ip, networks
from connectors.collector.cookies import network_user
from connectors.collector.cors import cors_headers, preflight_headers
from connectors.collector.payload import TP1_PATHS, TP2_PATH, CollectorPayload
from connectors.sidecar.server import HttpServer, Request, Response
from connectors.sources.http import gunzip
from iglu_registry.http_server import Refusal
from toolkit.config.inputs import CollectorSourceConfig

#: the transparent 1x1 GIF Snowplow's collector answers pixel requests with
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
#: ``/<vendor>/<version>``: what Snowplow's collector routes to an adapter
VENDOR_PATH = re.compile(r"^/[^/]+/[^/]+$")
#: request headers that name the client's address: not kept for a request that opted out
ADDRESS_HEADERS = frozenset({"x-forwarded-for", "x-real-ip", "forwarded", "cookie"})

Accept = Callable[[CollectorPayload], Response | None]


class CollectorEndpoints:
    """Turn tracker requests into payloads for ``accept``; mounted on a :class:`HttpServer`."""

    def __init__(self, cfg: CollectorSourceConfig, accept: Accept, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.cfg = cfg
        self.accept = accept
        self._trusted = networks(cfg.trusted_proxies)
        self._opt_out = cfg.opt_out_header.lower()
        self._clock = clock

    def mount(self, server: HttpServer) -> None:
        limit = self.cfg.max_body_bytes
        for method in ("GET", "HEAD"):
            server.route(method, "/health", self.health)
        for path in TP1_PATHS:
            server.route("GET", path, self.handle)
        server.route("POST", TP2_PATH, self.handle, max_body_bytes=limit)
        server.route_prefix("GET", "/", self.handle)
        server.route_prefix("POST", "/", self.handle, max_body_bytes=limit)
        server.route_prefix("OPTIONS", "/", self.preflight)

    def health(self, request: Request) -> Response:
        return Response(HTTPStatus.OK, b"OK")

    def preflight(self, request: Request) -> Response:
        return Response(HTTPStatus.OK, b"", headers=preflight_headers(request.headers, self.cfg.opt_out_header))

    def _answer(self, request: Request, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8",
                extra: dict[str, str] | None = None) -> Response:
        return Response(status, body, content_type, {**cors_headers(request.headers), **(extra or {})})

    def handle(self, request: Request) -> Response:
        if request.path not in TP1_PATHS and not VENDOR_PATH.match(request.path):
            return self._answer(request, HTTPStatus.NOT_FOUND,
                                f"no endpoint {request.path}: trackers send to /i or /<vendor>/<version> such as "
                                f"{TP2_PATH}\n".encode())
        body: bytes | None = None
        if request.method == "POST":
            encoding = request.headers.get("content-encoding", "identity").strip().lower()
            if encoding == "gzip":
                decoded = gunzip(request.body, self.cfg.max_body_bytes)
                if isinstance(decoded, Refusal):
                    return self._answer(request, decoded.status, decoded.message.encode() + b"\n")
                body = decoded
            elif encoding in ("identity", ""):
                body = request.body
            else:
                return self._answer(request, HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                                    f"Content-Encoding {encoding!r} is not supported; send identity or gzip\n".encode())
        opted_out = self._opt_out in request.headers
        user = network_user(self.cfg.cookie, request.headers, opted_out)
        headers = tuple((name, value) for name, value in request.headers.items()
                        if not (opted_out and name in ADDRESS_HEADERS))
        payload = CollectorPayload(
            method=request.method, path=request.path, querystring=request.raw_query, body=body,
            content_type=request.headers.get("content-type"), collector_tstamp=self._clock(),
            ip=None if opted_out else client_ip(request.client, request.headers.get("x-forwarded-for"),
                                                 self._trusted),
            user_agent=request.headers.get("user-agent"), referer=request.headers.get("referer"),
            network_userid=user.network_userid, hostname=(request.headers.get("host") or "").split(":")[0] or None,
            headers=headers)
        refused = self.accept(payload)
        if refused is not None:
            return Response(refused.status, refused.body, refused.content_type,
                            {**cors_headers(request.headers), **refused.headers})
        extra = {"Set-Cookie": user.set_cookie} if user.set_cookie else {}
        if request.method == "GET" and request.path in TP1_PATHS:
            return self._answer(request, HTTPStatus.OK, PIXEL, "image/gif",
                                {**extra, "Cache-Control": "no-cache, no-store, must-revalidate"})
        return self._answer(request, HTTPStatus.OK, b"ok", extra=extra)
