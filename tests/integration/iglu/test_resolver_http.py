"""Cache rules over real HTTP: a scripted server on 127.0.0.1 that answers 404, 500, hangs, then recovers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from iglu_registry.errors import ErrorKind, ResolutionError
from iglu_registry.repositories import HttpRepository, RepositoryRef
from iglu_registry.resolver import ResolvedSchema, Resolver, ResolverSettings
from iglu_registry.schema_key import SchemaKey

KEY = SchemaKey.parse("iglu:com.acme/click/jsonschema/1-0-0")
SCHEMA = {"self": {"vendor": "com.acme", "name": "click", "format": "jsonschema", "version": "1-0-0"},
          "type": "object"}


def schema_at(path: str) -> dict:
    """The schema the registry has at ``/api/schemas/<vendor>/<name>/<format>/<version>``."""
    vendor, name, format, version = path.rsplit("/", 4)[1:]
    return {**SCHEMA, "self": {"vendor": vendor, "name": name, "format": format, "version": version}}


class Script:
    """What the fake server answers next: "404", "500", "hang", "ok" (the last entry repeats)."""

    def __init__(self) -> None:
        self.plan: list[str] = ["ok"]
        self.requests: list[tuple[str, str | None]] = []
        self.lock = threading.Lock()

    def next(self, path: str, apikey: str | None) -> str:
        with self.lock:
            self.requests.append((path, apikey))
            return self.plan.pop(0) if len(self.plan) > 1 else self.plan[0]


@pytest.fixture
def fake() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802
            action = script.next(self.path, self.headers.get("apikey"))
            if action == "hang":
                time.sleep(1.0)  # longer than the client's timeout
            status, body = {"404": (404, b'{"message":"The schema is not found"}'),
                            "500": (500, b'{"message":"boom"}'),
                            "badjson": (200, b"<html>")}.get(action, (200, json.dumps(schema_at(self.path)).encode()))
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api", script
    server.shutdown()
    server.server_close()


def make(uri: str, ttl: float | None = 60, **settings: float) -> Resolver:
    settings = {"http_timeout": 0.3, "retry_pause": 0.01, "backoff_min": 0.2, **settings}
    repo = HttpRepository(RepositoryRef("fake", 0), uri, apikey="k3y", timeout=settings["http_timeout"])
    return Resolver([repo], cache_size=100, cache_ttl=ttl, settings=ResolverSettings(**settings))  # type: ignore[arg-type]


def test_found_schemas_are_cached_and_the_apikey_is_sent(fake: tuple[str, Script]) -> None:
    uri, script = fake
    resolver = make(uri)
    for _ in range(5):
        assert isinstance(resolver.lookup(KEY), ResolvedSchema)
    assert script.requests == [("/api/schemas/com.acme/click/jsonschema/1-0-0", "k3y")]


def test_404_is_cached_as_not_found(fake: tuple[str, Script]) -> None:
    uri, script = fake
    script.plan = ["404", "ok"]
    resolver = make(uri)
    first = resolver.lookup(KEY)
    assert isinstance(first, ResolutionError) and first.not_found and not first.retryable
    assert isinstance(resolver.lookup(KEY), ResolutionError)
    assert len(script.requests) == 1


def test_500_is_retried_within_the_lookup(fake: tuple[str, Script]) -> None:
    uri, script = fake
    script.plan = ["500", "500", "ok"]
    result = make(uri, attempts_per_lookup=3).lookup(KEY)
    assert isinstance(result, ResolvedSchema)
    assert len(script.requests) == 3


def test_timeouts_and_500s_fail_retryably_then_recover(fake: tuple[str, Script]) -> None:
    uri, script = fake
    script.plan = ["hang", "500", "ok"]
    resolver = make(uri, attempts_per_lookup=2)
    failed = resolver.lookup(KEY)
    assert isinstance(failed, ResolutionError) and failed.retryable
    kinds = {e.kind for e in failed.history[0].errors}
    assert kinds == {ErrorKind.TIMEOUT, ErrorKind.REPO_FAILURE} and failed.history[0].attempts == 2
    assert failed.to_json()["lookupHistory"][0]["errors"][0]["error"] == "RepoFailure"
    assert resolver.lookup(KEY) == failed  # within the backoff: answered without a request
    assert len(script.requests) == 2
    time.sleep(0.3)
    assert isinstance(resolver.lookup(KEY), ResolvedSchema)  # the failure was not cached: retried, recovered
    assert len(script.requests) == 3


def test_cached_schema_keeps_serving_while_the_server_is_down(fake: tuple[str, Script]) -> None:
    uri, script = fake
    script.plan = ["ok", "500", "500", "500", "ok"]
    resolver = make(uri, ttl=0.2, attempts_per_lookup=1)
    assert isinstance(resolver.lookup(KEY), ResolvedSchema)
    time.sleep(0.25)
    stale = resolver.lookup(KEY)
    assert isinstance(stale, ResolvedSchema) and resolver.stats.stale_served == 1
    assert len(script.requests) == 2


def test_a_non_json_answer_is_a_client_failure(fake: tuple[str, Script]) -> None:
    uri, script = fake
    script.plan = ["badjson"]
    result = make(uri).lookup(KEY)
    assert isinstance(result, ResolutionError)
    assert result.history[0].errors[0].kind is ErrorKind.CLIENT_FAILURE
    assert "not JSON" in (result.history[0].errors[0].message or "")


def test_a_refused_connection_is_a_retryable_repo_failure() -> None:
    result = make("http://127.0.0.1:9/api", attempts_per_lookup=1).lookup(KEY)
    assert isinstance(result, ResolutionError) and result.retryable
    assert result.history[0].errors[0].kind is ErrorKind.REPO_FAILURE


def test_concurrent_lookups_make_one_http_request(fake: tuple[str, Script]) -> None:
    uri, script = fake
    resolver = make(uri)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(resolver.lookup(KEY))) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 16 and all(isinstance(r, ResolvedSchema) for r in results)
    assert len(script.requests) == 1


def test_a_hanging_registry_costs_one_round_of_timeouts_per_outage_not_one_per_schema(
        fake: tuple[str, Script]) -> None:
    uri, script = fake
    script.plan = ["hang"]
    resolver = make(uri, attempts_per_lookup=3, backoff_min=0.5)
    keys = [SchemaKey.parse(f"iglu:com.acme/s{i}/jsonschema/1-0-0") for i in range(9)]
    for key in keys:
        failed = resolver.lookup(key)
        assert isinstance(failed, ResolutionError) and failed.retryable
        assert failed.history[0].errors[0].kind is ErrorKind.TIMEOUT
    assert len(script.requests) == 3  # the first key's tries; the other eight skip the registry in its outage
    script.plan = ["ok"]
    time.sleep(0.7)  # the backoff after three failures: 0.5 s + 4^3 ms
    assert all(isinstance(resolver.lookup(key), ResolvedSchema) for key in keys)
    assert len(script.requests) == 3 + 9  # the first answer ended the outage for every key
