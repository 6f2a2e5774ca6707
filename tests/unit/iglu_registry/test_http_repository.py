"""How an HTTP repository turns answers into the four error kinds, and what the resolver then remembers.

A fake requests transport answers instead of a server (no sockets): a 5xx must stay a transient
repository failure that is retried and never remembered as "not found"; only a 404 is. The same rules
run over real HTTP in tests/integration/iglu/test_resolver_http.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import requests
from requests.adapters import BaseAdapter

from iglu_registry.errors import ErrorKind, RegistryFailure, ResolutionError
from iglu_registry.repositories import HttpRepository, RepositoryRef
from iglu_registry.resolver import ResolvedSchema, Resolver, ResolverSettings
from iglu_registry.schema_key import SchemaKey

KEY = SchemaKey.parse("iglu:com.acme/click/jsonschema/1-0-0")
SCHEMA = {"self": {"vendor": "com.acme", "name": "click", "format": "jsonschema", "version": "1-0-0"},
          "type": "object"}
Answer = int | tuple[int, bytes] | Exception


class FakeTransport(BaseAdapter):
    """Answers each request with the next scripted status (the last one repeats), or raises it."""

    def __init__(self, *script: Answer) -> None:
        super().__init__()
        self.script = list(script)
        self.urls: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        self.urls.append(str(request.url))
        answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(answer, Exception):
            raise answer
        status, body = answer if isinstance(answer, tuple) else (answer, json.dumps(SCHEMA).encode())
        response = requests.Response()
        response.status_code = status
        response._content = body
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        pass


def http_repo(transport: FakeTransport, uri: str = "http://registry.invalid/api") -> HttpRepository:
    return HttpRepository(RepositoryRef("registry", 0), uri, transport=transport)


def failure(call: Callable[[], object]) -> RegistryFailure:
    with pytest.raises(RegistryFailure) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(("answer", "kind", "says"), [
    (404, ErrorKind.NOT_FOUND, None),
    (500, ErrorKind.REPO_FAILURE, "answered HTTP 500"),
    (502, ErrorKind.REPO_FAILURE, "answered HTTP 502"),
    (503, ErrorKind.REPO_FAILURE, "answered HTTP 503"),
    (599, ErrorKind.REPO_FAILURE, "answered HTTP 599"),
    (401, ErrorKind.CLIENT_FAILURE, "check the repository's apikey"),
    (403, ErrorKind.CLIENT_FAILURE, "check the repository's apikey"),
    (400, ErrorKind.CLIENT_FAILURE, "answered HTTP 400"),
    (499, ErrorKind.CLIENT_FAILURE, "answered HTTP 499"),
    (204, ErrorKind.CLIENT_FAILURE, "answered HTTP 204"),
    ((200, b"<html>"), ErrorKind.CLIENT_FAILURE, "not JSON"),
    (requests.ConnectTimeout("slow"), ErrorKind.TIMEOUT, "within 5s"),
    (requests.ReadTimeout("slow"), ErrorKind.TIMEOUT, "within 5s"),
    (requests.ConnectionError("refused"), ErrorKind.REPO_FAILURE, "cannot connect"),
    (requests.TooManyRedirects("loop"), ErrorKind.CLIENT_FAILURE, "request to"),
])
def test_each_answer_becomes_one_error_kind(answer: Answer, kind: ErrorKind, says: str | None) -> None:
    transport = FakeTransport(answer)
    error = failure(lambda: http_repo(transport).fetch(KEY)).error
    assert error.kind is kind
    assert error.kind.transient is (kind in (ErrorKind.REPO_FAILURE, ErrorKind.TIMEOUT))
    if says is not None:
        assert says in (error.message or "")
    assert transport.urls == ["http://registry.invalid/api/schemas/com.acme/click/jsonschema/1-0-0"]
    listing = failure(lambda: http_repo(FakeTransport(answer)).list_versions("com.acme", "click", "jsonschema", 1))
    assert listing.error.kind is kind


def test_a_200_schema_is_served() -> None:
    assert http_repo(FakeTransport(200)).fetch(KEY) == SCHEMA
    listed = FakeTransport((200, b'["iglu:com.acme/click/jsonschema/1-0-1", "iglu:com.acme/click/jsonschema/1-0-0"]'))
    assert [str(k.version) for k in http_repo(listed).list_versions("com.acme", "click", "jsonschema", 1)] == [
        "1-0-0", "1-0-1"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def resolver(transport: FakeTransport) -> tuple[Resolver, Clock]:
    clock = Clock()
    return Resolver([http_repo(transport)], cache_ttl=600, settings=ResolverSettings(attempts_per_lookup=2),
                    clock=clock, wall_clock=lambda: datetime(2024, 5, 1, tzinfo=UTC), sleep=clock.sleep), clock


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_retried_and_never_cached_as_not_found(status: int) -> None:
    transport = FakeTransport(status, status, 200)
    lookups, clock = resolver(transport)
    down = lookups.lookup(KEY)
    assert isinstance(down, ResolutionError)
    assert down.retryable and not down.not_found  # the pipeline quarantines and retries; not a bad row
    assert len(transport.urls) == 2  # retried inside the lookup
    clock.now += 61  # past the repository's longest backoff, far inside the 600 s cache TTL
    found = lookups.lookup(KEY)
    assert isinstance(found, ResolvedSchema) and found.schema == SCHEMA
    assert len(transport.urls) == 3


def test_a_404_is_remembered_as_not_found_for_the_ttl() -> None:
    transport = FakeTransport(404, 200)
    lookups, clock = resolver(transport)
    gone = lookups.lookup(KEY)
    assert isinstance(gone, ResolutionError) and gone.not_found
    clock.now += 599
    assert isinstance(lookups.lookup(KEY), ResolutionError)
    assert len(transport.urls) == 1
    clock.now += 2
    assert isinstance(lookups.lookup(KEY), ResolvedSchema)
