"""A small threaded HTTP server with a route table, for probes, metrics and the HTTP source.

The sidecar needs four endpoints and one port, not a web framework: the standard
library's threading server serves each request in its own thread, which matters
because the HTTP source holds a request open until its records are durably
produced while probes must still answer. It runs on the same hardened base as
``sptk iglu serve`` (``iglu_registry.http_server``): bounded threads, a deadline per
request, and lengths checked before a body is read.
"""

from __future__ import annotations

import errno
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from iglu_registry.http_server import BODY_METHODS, HardenedHandler, HardenedHTTPServer, Refusal, ServerLimits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    client: str
    #: the query string as sent, still percent-encoded (``query`` is its parsed form)
    raw_query: str = ""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        return cls(status, json.dumps(payload, sort_keys=True).encode() + b"\n", "application/json",
                   dict(headers or {}))


Handler = Callable[[Request], Response]


class ListenError(OSError):
    """The server cannot listen on its address (the port is taken, or not permitted); says which and what to do."""


@dataclass(frozen=True)
class _Route:
    handler: Handler
    max_body_bytes: int


class HttpServer:
    """Routes ``(method, path)`` to handlers; serves in a daemon thread; ``port=0`` picks a free port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, limits: ServerLimits | None = None) -> None:
        self.host = host
        self._requested_port = port
        self.limits = limits or ServerLimits()
        self._routes: dict[tuple[str, str], _Route] = {}
        #: (method, prefix) routes, tried longest prefix first when no exact route matches
        self._prefixes: dict[tuple[str, str], _Route] = {}
        self._server: HardenedHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def route(self, method: str, path: str, handler: Handler, max_body_bytes: int = 0) -> None:
        self._routes[(method.upper(), path)] = _Route(handler, max_body_bytes)

    def route_prefix(self, method: str, prefix: str, handler: Handler, max_body_bytes: int = 0) -> None:
        """Serve every path under ``prefix`` that no exact route takes (the collector's vendor paths, Micro's Iglu
        lookups); the longest matching prefix wins."""
        self._prefixes[(method.upper(), prefix)] = _Route(handler, max_body_bytes)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def bind(self) -> None:
        """Claim the address now (:class:`ListenError` if it cannot be had); requests are answered from :meth:`start`.

        Callers bind before their slow start-up steps, so a port in use stops the start at once;
        until :meth:`start`, connections wait in the listen queue.
        """
        if self._server is not None:
            return
        routes, prefixes = self._routes, self._prefixes  # routes may still be added until start (a mounted source)

        def find(method: str, path: str) -> _Route | None:
            route = routes.get((method, path))
            if route is not None:
                return route
            matching = [(len(p), r) for (m, p), r in list(prefixes.items()) if m == method and path.startswith(p)]
            return max(matching, key=lambda item: item[0])[1] if matching else None

        def allowed_methods(path: str) -> list[str]:
            return sorted({m for m, p in routes if p == path} | {m for m, p in prefixes if path.startswith(p)})

        class _Handler(HardenedHandler):
            server_version = "sptk-sidecar"

            def _send(self, response: Response) -> None:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for k, v in response.headers.items():
                    self.send_header(k, v)
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            def _refused(self, refusal: Refusal) -> Response:
                payload: dict[str, object] = {"error": refusal.message}
                if self.command in BODY_METHODS:
                    payload["accepted"] = 0  # what the HTTP source's callers read
                return Response.json(refusal.status, payload)

            def _handle(self) -> None:
                url = urlsplit(self.path)
                route = find(self.command, url.path)
                if route is None:
                    self.close_connection = True  # a body, if any, is not read
                    allowed = allowed_methods(url.path)
                    if allowed:
                        self._send(Response.json(HTTPStatus.METHOD_NOT_ALLOWED,
                                                 {"error": f"{self.command} is not supported on {url.path}; use "
                                                  f"{', '.join(allowed)}"}, {"Allow": ", ".join(allowed)}))
                    else:
                        self._send(Response.json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {url.path}"}))
                    return
                length = self.body_length(route.max_body_bytes)
                body = self.read_body(length) if isinstance(length, int) else length
                if isinstance(body, Refusal):
                    self._send(self._refused(body))
                    return
                request = Request(self.command, url.path, parse_qs(url.query),
                                  {k.lower(): v for k, v in self.headers.items()}, body, self.client_address[0],
                                  url.query)
                try:
                    response = route.handler(request)
                except Exception:
                    log.exception("handler for %s %s failed", self.command, url.path)
                    response = Response.json(HTTPStatus.INTERNAL_SERVER_ERROR,
                                             {"error": "internal error; see the sidecar log"})
                self._send(response)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_OPTIONS = _handle  # noqa: N815

        try:
            server = HardenedHTTPServer((self.host, self._requested_port), _Handler, self.limits)
        except OSError as exc:
            address = f"{self.host}:{self._requested_port}"
            if exc.errno == errno.EADDRINUSE:
                raise ListenError(f"cannot listen on {address}: the port is in use by another process (stop it, or "
                                  "choose another port)") from None
            raise ListenError(f"cannot listen on {address}: {exc.strerror or exc}") from None
        self._server = server

    def start(self) -> None:
        """Bind (unless :meth:`bind` did) and answer requests from a daemon thread."""
        self.bind()
        if self._thread is not None:
            return
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.serve_forever, name="sptk-http", daemon=True)
        self._thread.start()
        log.info("HTTP server listening on %s", self.url)

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:  # shutdown() waits for serve_forever, which a bound-only server never ran
                self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
