"""Where schemas come from: an embedded folder, an in-memory dict, a static HTTP site or an Iglu Server.

Every repository answers two questions, "give me this key" and "which versions of this
model exist", and turns every failure into a :class:`RegistryFailure` of one of four
kinds, so the resolver can decide what to cache and what to retry without knowing about
files, sockets or status codes.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import requests
import requests.adapters

from iglu_registry.errors import ErrorKind, RegistryFailure
from iglu_registry.layout import iter_schema_files, schema_path, schemas_dir
from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey, SchemaVer

#: Snowplow's client queries local repositories before any network one.
LOCAL_CLASS_PRIORITY = 1
HTTP_CLASS_PRIORITY = 100


@dataclass(frozen=True, slots=True)
class RepositoryRef:
    """The part of a resolver-config repository entry that decides lookup order."""

    name: str
    priority: float
    vendor_prefixes: tuple[str, ...] = ()

    def vendor_matched(self, vendor: str) -> bool:
        return any(vendor.startswith(prefix) for prefix in self.vendor_prefixes)


class Repository(Protocol):
    ref: RepositoryRef
    class_priority: int

    def fetch(self, key: SchemaKey) -> dict: ...

    def list_versions(self, vendor: str, name: str, format: str, model: int) -> list[SchemaKey]: ...


def _check_self(key: SchemaKey, schema: object, where: str) -> dict:
    """A repository that answers with a non-object or another key's schema is broken, not "not found"."""
    if not isinstance(schema, dict):
        raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE, f"{where} returned {type(schema).__name__}, not a schema")
    self_block = schema.get("self")
    if isinstance(self_block, dict):
        try:
            named = SchemaKey.from_self(self_block)
        except InvalidSchemaKey as exc:
            raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE, f"{where}: {exc}") from None
        if named != key:
            raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE, f"{where} holds {named.uri}, not {key.uri}")
    return schema


@dataclass
class InMemoryRepository:
    """Schemas given as a dict: tests, and schemas a program ships inside itself."""

    ref: RepositoryRef
    schemas: dict[SchemaKey, dict] = field(default_factory=dict)
    class_priority: int = LOCAL_CLASS_PRIORITY

    def fetch(self, key: SchemaKey) -> dict:
        schema = self.schemas.get(key)
        if schema is None:
            raise RegistryFailure.not_found()
        return schema

    def list_all(self) -> list[SchemaKey]:
        return sorted(self.schemas)

    def list_versions(self, vendor: str, name: str, format: str, model: int) -> list[SchemaKey]:
        found = sorted(k for k in self.schemas if (k.vendor, k.name, k.format, k.version.model)
                       == (vendor, name, format, model))
        if not found:
            raise RegistryFailure.not_found()
        return found


@dataclass
class EmbeddedRepository:
    """A folder holding ``schemas/vendor/name/format/version`` (Snowplow's embedded convention)."""

    ref: RepositoryRef
    path: Path
    class_priority: int = LOCAL_CLASS_PRIORITY

    def fetch(self, key: SchemaKey) -> dict:
        file = schema_path(self.path, key)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RegistryFailure.not_found() from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE, f"cannot read {file}: {exc}") from None
        try:
            schema = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE,
                                     f"{file} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
        return _check_self(key, schema, str(file))

    def list_all(self) -> list[SchemaKey]:
        """Every jsonschema file of the folder, by the layout's walk (a stray file is not a schema)."""
        return sorted(item.key for item in iter_schema_files(self.path) if item.key is not None)

    def list_versions(self, vendor: str, name: str, format: str, model: int) -> list[SchemaKey]:
        folder = schemas_dir(self.path) / vendor / name / format
        found: list[SchemaKey] = []
        if folder.is_dir():
            for file in folder.iterdir():
                try:
                    version = SchemaVer.parse(file.name)
                except InvalidSchemaKey:
                    continue
                if version.model == model and file.is_file():
                    found.append(SchemaKey(vendor, name, format, version))
        if not found:
            raise RegistryFailure.not_found()
        return sorted(found)


@dataclass
class HttpRepository:
    """A static site (``{uri}/schemas/...``) or an Iglu Server (``uri`` ending in ``/api``).

    One pooled session per repository: the resolver calls it from many threads, and a
    fresh TCP (and TLS) handshake per lookup would dominate cold lookups.
    """

    ref: RepositoryRef
    uri: str
    apikey: str | None = None
    timeout: float = 5.0
    class_priority: int = HTTP_CLASS_PRIORITY
    #: replaces requests' HTTP adapter on every session; unit tests pass a fake one, so status
    #: handling is tested without sockets
    transport: requests.adapters.BaseAdapter | None = field(default=None, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def is_iglu_server(self) -> bool:
        return self.uri.rstrip("/").endswith("/api")

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Accept"] = "application/json"
            if self.apikey:
                session.headers["apikey"] = self.apikey
            if self.transport is not None:
                session.mount("http://", self.transport)
                session.mount("https://", self.transport)
            self._local.session = session
        return session

    def _get(self, url: str) -> object:
        try:
            response = self._session().get(url, timeout=self.timeout)
        except requests.Timeout:
            raise RegistryFailure.of(ErrorKind.TIMEOUT, f"no answer from {url} within {self.timeout:g}s") from None
        except requests.ConnectionError as exc:
            raise RegistryFailure.of(ErrorKind.REPO_FAILURE, f"cannot connect to {url}: {_short(exc)}") from None
        except requests.RequestException as exc:
            raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE, f"request to {url} failed: {_short(exc)}") from None
        status = response.status_code
        if status == 404:
            raise RegistryFailure.not_found()
        if status >= 500:
            raise RegistryFailure.of(ErrorKind.REPO_FAILURE, f"{url} answered HTTP {status}")
        if status in (401, 403):
            raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE,
                                     f"{url} answered HTTP {status}: check the repository's apikey")
        if status != 200:
            raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE, f"{url} answered HTTP {status}")
        try:
            return response.json()
        except ValueError:
            raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE, f"{url} answered with a body that is not JSON") from None

    def url_for(self, key: SchemaKey) -> str:
        return f"{self.uri.rstrip('/')}/schemas/{key.path}"

    def fetch(self, key: SchemaKey) -> dict:
        url = self.url_for(key)
        return _check_self(key, self._get(url), url)

    def list_all(self) -> list[SchemaKey]:
        """Every schema an Iglu Server lists (``GET /api/schemas``); a static site cannot be listed."""
        if not self.is_iglu_server:
            raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE,
                                     f"{self.uri} is a static repository, which cannot list its schemas")
        url = f"{self.uri.rstrip('/')}/schemas"
        return sorted(self._keys(url, self._get(url)))

    def _keys(self, url: str, body: object) -> list[SchemaKey]:
        if not isinstance(body, list):
            raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE, f"{url} did not answer with a list of schema URIs")
        keys: list[SchemaKey] = []
        for item in body:
            try:
                keys.append(SchemaKey.parse(item))
            except InvalidSchemaKey as exc:
                raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE, f"{url} listed a bad URI: {exc}") from None
        return keys

    def list_versions(self, vendor: str, name: str, format: str, model: int) -> list[SchemaKey]:
        if not self.is_iglu_server:
            raise RegistryFailure.of(ErrorKind.CLIENT_FAILURE,
                                     f"{self.uri} is a static repository, which cannot list versions")
        url = f"{self.uri.rstrip('/')}/schemas/{vendor}/{name}/{format}/{model}"
        keys = self._keys(url, self._get(url))
        if not keys:
            raise RegistryFailure.not_found()
        return sorted(keys)


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 160 else text[:157] + "..."
