"""Snowplow Micro's REST API on the collector's port: ``/micro/all``, ``good``, ``bad``, ``reset`` and ``iglu``.

The routes and answers follow Micro's, so a test suite written for Micro runs against
``sptk micro`` by changing its URL: ``GET`` lists everything, ``POST`` takes a JSON filter
(``{"event_type", "schema", "contexts", "limit"}`` for good, ``{"vendor", "version",
"limit"}`` for bad), newest first.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from connectors.collector.cors import cors_headers
from connectors.micro.store import FilterError, MicroStore
from connectors.sidecar.server import HttpServer, Request, Response
from iglu_registry.errors import ResolutionError
from iglu_registry.http_server import parse_json
from iglu_registry.resolver import Resolver
from iglu_registry.schema_key import SchemaKey

#: the largest filter body a query takes
MAX_FILTER_BYTES = 64 * 1024
IGLU_PREFIX = "/micro/iglu/"


class MicroApi:
    """The ``/micro/*`` endpoints over a :class:`MicroStore`; Iglu lookups through ``resolver``."""

    def __init__(self, store: MicroStore, resolver: Resolver) -> None:
        self.store = store
        self.resolver = resolver

    def mount(self, server: HttpServer) -> None:
        for method in ("GET", "POST"):
            server.route(method, "/micro/all", self.all, max_body_bytes=MAX_FILTER_BYTES)
            server.route(method, "/micro/reset", self.reset, max_body_bytes=MAX_FILTER_BYTES)
            server.route(method, "/micro/good", self.good, max_body_bytes=MAX_FILTER_BYTES)
            server.route(method, "/micro/bad", self.bad, max_body_bytes=MAX_FILTER_BYTES)
            server.route_prefix(method, "/micro/", self.unknown, max_body_bytes=MAX_FILTER_BYTES)
        server.route_prefix("GET", IGLU_PREFIX, self.iglu)

    def _json(self, request: Request, payload: Any, status: int = HTTPStatus.OK) -> Response:
        return Response.json(status, payload, cors_headers(request.headers))

    def _filters(self, request: Request) -> dict[str, Any] | Response:
        if request.method != "POST" or not request.body.strip():
            return {}
        try:
            filters = parse_json(request.body)
        except ValueError as exc:
            return self._json(request, {"error": str(exc)}, HTTPStatus.BAD_REQUEST)
        if not isinstance(filters, dict):
            return self._json(request, {"error": "the filter must be a JSON object"}, HTTPStatus.BAD_REQUEST)
        return filters

    def all(self, request: Request) -> Response:
        return self._json(request, self.store.summary())

    def reset(self, request: Request) -> Response:
        return self._json(request, self.store.reset())

    def good(self, request: Request) -> Response:
        return self._query(request, self.store.good)

    def bad(self, request: Request) -> Response:
        return self._query(request, self.store.bad)

    def _query(self, request: Request, query: Any) -> Response:
        filters = self._filters(request)
        if isinstance(filters, Response):
            return filters
        try:
            return self._json(request, query(filters))
        except FilterError as exc:
            return self._json(request, {"error": str(exc)}, HTTPStatus.BAD_REQUEST)

    def unknown(self, request: Request) -> Response:
        return self._json(request, {"error": f"no endpoint {request.path}: Micro's are /micro/all, /micro/good, "
                                             "/micro/bad, /micro/reset and /micro/iglu/<vendor>/<name>/<format>/"
                                             "<version>"}, HTTPStatus.NOT_FOUND)

    def iglu(self, request: Request) -> Response:
        """The schema the resolver finds for ``/micro/iglu/<vendor>/<name>/<format>/<version>``, 404 otherwise."""
        uri = "iglu:" + request.path[len(IGLU_PREFIX):]
        try:
            key = SchemaKey.parse(uri)
        except ValueError as exc:
            return self._json(request, {"error": f"{uri}: {exc}; ask for /micro/iglu/<vendor>/<name>/<format>/"
                                                 "<model>-<revision>-<addition>"}, HTTPStatus.NOT_FOUND)
        found = self.resolver.lookup(key)
        if isinstance(found, ResolutionError):
            status = HTTPStatus.SERVICE_UNAVAILABLE if found.retryable else HTTPStatus.NOT_FOUND
            reason = "a registry did not answer" if found.retryable else "no registry of the resolver has it"
            return self._json(request, {"error": f"{key.uri}: {reason}"}, status)
        return self._json(request, found.schema)
