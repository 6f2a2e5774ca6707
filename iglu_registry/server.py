"""``sptk iglu serve``: a registry that Snowplow's clients (and ours) can use as an Iglu Server.

It serves a static registry folder (``DIR/schemas/vendor/name/format/version``, the layout of
Iglu Central) through both the static path (``/schemas/...``) and the Iglu Server read API
(``/api/schemas/...`` with listings, ``/api/meta/health``), and accepts new versions with
``PUT``/``POST /api/schemas`` under an API key. Unlike Iglu Server, publishing refuses what
would hurt consumers: overwriting a published version, gaps in numbering, and a version bump
smaller than the change's compatibility classification.

The standard library's threading server is enough here: requests are tiny, every schema
is held in memory, and one lock serialises publishing. It runs on the hardened base in
``iglu_registry.http_server`` (bounded threads, request deadlines, lengths checked before
reading), and a publisher's key is checked before its body is read.
"""

from __future__ import annotations

import hmac
import json
import os
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from iglu_registry.compat import CompatReport, compare_schemas
from iglu_registry.http_server import HardenedHandler, HardenedHTTPServer, Refusal, ServerLimits, parse_json
from iglu_registry.layout import load_registry, schema_path
from iglu_registry.meta_schema import check_schema
from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey

MAX_BODY = 1 << 20


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: object

    def encode(self) -> bytes:
        return json.dumps(self.body, indent=None, separators=(",", ":")).encode()


class SchemaStore:
    """The schemas of one registry folder, in memory, with guarded publishing."""

    def __init__(self, root: Path, api_key: str | None = None) -> None:
        self.root = root
        self.api_key = api_key
        self._lock = threading.Lock()
        self.schemas, self.problems = load_registry(root)

    def get(self, key: SchemaKey) -> dict | None:
        return self.schemas.get(key)

    def keys(self, vendor: str | None = None, name: str | None = None, format: str | None = None,
             model: int | None = None) -> list[SchemaKey]:
        return sorted(k for k in list(self.schemas) if (vendor is None or k.vendor == vendor)
                      and (name is None or k.name == name) and (format is None or k.format == format)
                      and (model is None or k.version.model == model))

    def authorised(self, presented: str | None) -> bool:
        if not self.api_key or presented is None:
            return False
        return hmac.compare_digest(_header_bytes(presented), self.api_key.encode("utf-8"))

    def publish(self, schema: object, path_key: SchemaKey | None) -> Answer:
        if not isinstance(schema, dict):
            return Answer(400, {"message": "the body must be a JSON schema object"})
        try:
            key = SchemaKey.from_self(schema.get("self"))
        except InvalidSchemaKey as exc:
            return Answer(400, {"message": f"invalid self block: {exc}"})
        if path_key is not None and path_key != key:
            return Answer(400, {"message": f"the URL names {path_key.uri} but the schema's self block says {key.uri}"})
        if key.format != "jsonschema":
            return Answer(400, {"message": f"only jsonschema schemas can be published, not {key.format}"})
        issues = check_schema(schema)
        if issues:
            return Answer(400, {"message": f"{key.uri} is not a valid Iglu schema",
                                "reasons": [str(i) for i in issues]})
        with self._lock:
            existing = self.schemas.get(key)
            if existing is not None:
                if existing == schema:
                    return Answer(200, {"message": "Schema already published (identical)", "updated": False,
                                        "location": key.uri, "status": 200})
                return Answer(409, {"message": f"{key.uri} is already published with different content; "
                                               "published versions are immutable: publish a new version"})
            lineage = [k for k in self.schemas if (k.vendor, k.name, k.format) == (key.vendor, key.name, key.format)]
            versions = {k.version for k in lineage}
            if not key.version.follows(versions):
                return Answer(409, {"message": f"{key.uri} leaves a gap in numbering: it must follow "
                                               f"{key.version.predecessors_required()}, which is not published"})
            older = [k for k in lineage if k < key]
            compat: CompatReport | None = None
            if older:
                previous = max(older)
                found = compare_schemas(self.schemas[previous], schema)
                compat = CompatReport(found.changes, previous, key)
                if compat.problem:
                    return Answer(409, {"message": f"refused: {compat.problem}", "compat": compat.to_json()})
            newer = [k for k in lineage if k > key]
            if newer:
                successor = min(newer)
                found = compare_schemas(schema, self.schemas[successor])
                after = CompatReport(found.changes, key, successor)
                if after.problem:
                    return Answer(409, {"message": f"refused: {successor.uri} is already published and {after.problem}",
                                        "compat": after.to_json()})
            target = schema_path(self.root, key)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, target)
            self.schemas[key] = schema
        body: dict[str, object] = {"message": "Schema created", "updated": False, "location": key.uri, "status": 201}
        if compat is not None:
            body["compat"] = compat.to_json()
        return Answer(201, body)


def _header_bytes(value: str) -> bytes:
    """The bytes a client sent in a header: ``http.server`` decodes them as ISO-8859-1, which this undoes.

    Comparing bytes (``compare_digest`` refuses non-ASCII text) lets any presented key be
    refused with 401 and a non-ASCII key, sent as UTF-8, match.
    """
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:  # text that never came through a header (route() called directly)
        return value.encode("utf-8")


def _listing(keys: list[SchemaKey], store: SchemaStore, query: dict[str, list[str]]) -> Answer:
    if query.get("repr", ["Uri"])[0].lower() == "canonical":
        return Answer(200, [store.schemas[k] for k in keys if k in store.schemas])
    return Answer(200, [k.uri for k in keys])


def refusal_before_body(store: SchemaStore, method: str, raw_path: str, headers: dict[str, str]) -> Answer | None:
    """What refuses a publishing request from its headers alone, so an unauthorised body is never read."""
    parts = [p for p in urlsplit(raw_path).path.split("/") if p]
    if method not in ("PUT", "POST") or parts[:2] != ["api", "schemas"]:
        return None
    if not store.api_key:
        return Answer(403, {"message": "publishing is disabled: start the server with --api-key "
                                       "(or SPTK_IGLU_API_KEY) to accept new schemas"})
    if not store.authorised(headers.get("apikey")):
        return Answer(401, {"message": "Not authorized: send the registry's API key in the 'apikey' header"})
    return None


def route(store: SchemaStore, method: str, raw_path: str, headers: dict[str, str], body: bytes | None) -> Answer:
    """Pure request -> answer mapping, so the API can be tested without sockets."""
    refused = refusal_before_body(store, method, raw_path, headers)
    if refused is not None:
        return refused
    url = urlsplit(raw_path)
    parts = [p for p in url.path.split("/") if p]
    query = parse_qs(url.query)
    if method == "GET":
        if parts == ["api", "meta", "health"]:
            return Answer(200, "OK")
        if parts == ["api", "meta", "server"]:
            return Answer(200, {"version": "sptk", "authInfo": {"vendor": "", "schema": None, "key": []},
                                "database": "filesystem", "schemaCount": len(store.schemas), "debug": False,
                                "patchesAllowed": False})
        if parts[:1] == ["schemas"] and len(parts) == 5:
            return _schema_answer(store, "/".join(parts[1:]))
        if parts[:2] == ["api", "schemas"]:
            rest = parts[2:]
            if len(rest) == 4 and not rest[3].isdigit():
                return _schema_answer(store, "/".join(rest))
            if len(rest) <= 4:
                model = int(rest[3]) if len(rest) == 4 else None
                keys = store.keys(*(rest[:3] + [None] * (3 - len(rest[:3]))), model=model)  # type: ignore[misc]
                if not keys and rest:
                    return Answer(404, {"message": "The schema is not found"})
                return _listing(keys, store, query)
        return Answer(404, {"message": f"no such resource: {url.path}"})
    if method in ("PUT", "POST") and parts[:2] == ["api", "schemas"]:
        path_key: SchemaKey | None = None
        if method == "PUT":
            if len(parts) != 6:
                return Answer(404, {"message": "PUT /api/schemas/{vendor}/{name}/{format}/{version}"})
            try:
                path_key = SchemaKey.from_path("/".join(parts[2:]))
            except InvalidSchemaKey as exc:
                return Answer(400, {"message": str(exc)})
        elif len(parts) != 2:
            return Answer(404, {"message": "POST /api/schemas with the schema as the body"})
        try:
            schema = parse_json(body or b"")
        except ValueError as exc:
            return Answer(400, {"message": str(exc)})
        if isinstance(schema, dict) and set(schema) == {"json"} and isinstance(schema["json"], dict):
            schema = schema["json"]  # older igluctl wraps the schema as {"json": ...}
        return store.publish(schema, path_key)
    return Answer(405, {"message": f"{method} is not supported on {url.path}"})


def _schema_answer(store: SchemaStore, path: str) -> Answer:
    try:
        key = SchemaKey.from_path(path)
    except InvalidSchemaKey as exc:
        return Answer(400, {"message": str(exc)})
    schema = store.get(key)
    if schema is None:
        return Answer(404, {"message": "The schema is not found"})
    return Answer(200, schema)


class _Handler(HardenedHandler):
    server_version = "sptk-iglu"
    store: SchemaStore
    quiet = True

    def _handle(self) -> None:
        answer = self._answer()
        if isinstance(answer.body, str):
            payload, ctype = answer.body.encode(), "text/plain; charset=utf-8"
        else:
            payload, ctype = answer.encode(), "application/json"
        self.send_response(answer.status, HTTPStatus(answer.status).phrase)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _answer(self) -> Answer:
        length = self.body_length(MAX_BODY)
        if isinstance(length, Refusal):
            return Answer(length.status, {"message": length.message})
        headers = {k.lower(): v for k, v in self.headers.items()}
        refused = refusal_before_body(self.store, self.command, self.path, headers)
        if refused is not None:
            if length:
                self.close_connection = True  # the body stays unread
            return refused
        body = self.read_body(length) if length else b""
        if isinstance(body, Refusal):
            return Answer(body.status, {"message": body.message})
        try:
            return route(self.store, self.command, self.path, headers, body or None)
        except Exception as exc:  # never kill the connection without an answer
            return Answer(500, {"message": f"internal error: {type(exc).__name__}: {exc}"})

    do_GET = do_PUT = do_POST = do_DELETE = _handle

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        if not self.quiet:
            BaseHTTPRequestHandler.log_message(self, format, *args)


def make_server(root: Path, host: str = "127.0.0.1", port: int = 8080, api_key: str | None = None,
                quiet: bool = True, limits: ServerLimits | None = None) -> HardenedHTTPServer:
    store = SchemaStore(root, api_key)
    handler = type("Handler", (_Handler,), {"store": store, "quiet": quiet})
    server = HardenedHTTPServer((host, port), handler, limits)
    server.store = store  # type: ignore[attr-defined]
    return server
