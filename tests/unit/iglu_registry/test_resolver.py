"""Resolution order and cache rules, with scripted repositories and a fake clock (no sockets).

The same rules are exercised over real HTTP in tests/integration/iglu/test_resolver_http.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from iglu_registry.errors import ErrorKind, RegistryFailure, ResolutionError
from iglu_registry.repositories import HTTP_CLASS_PRIORITY, LOCAL_CLASS_PRIORITY, RepositoryRef
from iglu_registry.resolver import ResolvedSchema, Resolver, ResolverSettings
from iglu_registry.schema_key import SchemaCriterion, SchemaKey

KEY = SchemaKey.parse("iglu:com.acme/click/jsonschema/1-0-0")


def schema_for(key: SchemaKey, marker: str = "") -> dict:
    return {"self": {"vendor": key.vendor, "name": key.name, "format": key.format, "version": str(key.version)},
            "type": "object", "description": marker}


@dataclass
class Scripted:
    """A repository that answers from a script: each call pops the next answer (the last one repeats)."""

    ref: RepositoryRef
    script: list[object] = field(default_factory=list)
    class_priority: int = HTTP_CLASS_PRIORITY
    calls: list[SchemaKey] = field(default_factory=list)
    gate: threading.Event | None = None

    def fetch(self, key: SchemaKey) -> dict:
        self.calls.append(key)
        if self.gate is not None:
            self.gate.wait(5)
        answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(answer, ErrorKind):
            raise RegistryFailure.not_found() if answer is ErrorKind.NOT_FOUND else RegistryFailure.of(answer, "boom")
        return schema_for(key, str(answer))

    def list_versions(self, vendor: str, name: str, format: str, model: int) -> list[SchemaKey]:
        self.calls.append(KEY)
        answer = self.script[0]
        if isinstance(answer, ErrorKind):
            raise RegistryFailure.not_found()
        return [KEY.with_version(KEY.version.__class__(model, 0, a)) for a in (1, 0, 2)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def make(repos: list[Scripted], *, ttl: float | None = 60, size: int = 100,
         **settings: float) -> tuple[Resolver, Clock]:
    clock = Clock()
    resolver = Resolver(repos, cache_size=size, cache_ttl=ttl, settings=ResolverSettings(**settings),  # type: ignore[arg-type]
                        clock=clock, wall_clock=lambda: datetime(2024, 5, 1, 12, 0, tzinfo=UTC), sleep=clock.sleep)
    return resolver, clock


def repo(name: str, *script: object, priority: float = 0, prefixes: tuple[str, ...] = (),
         local: bool = False) -> Scripted:
    return Scripted(RepositoryRef(name, priority, prefixes), list(script),
                    LOCAL_CLASS_PRIORITY if local else HTTP_CLASS_PRIORITY)


def test_order_is_vendor_prefix_then_local_before_http_then_priority() -> None:
    misses = [repo(n, ErrorKind.NOT_FOUND, priority=p, local=loc, prefixes=pre) for n, p, loc, pre in [
        ("http-low", 0, False, ()), ("http-high", 5, False, ()), ("embedded", 9, True, ()),
        ("acme-http", 7, False, ("com.acme",)), ("other-prefix", 0, True, ("com.other",))]]
    resolver, _ = make(misses)
    result = resolver.lookup(KEY)
    assert isinstance(result, ResolutionError)
    assert [h.repository for h in result.history] == ["acme-http", "other-prefix", "embedded", "http-low",
                                                       "http-high"]


def test_first_hit_wins_and_later_repositories_are_not_asked() -> None:
    first, second, third = repo("a", ErrorKind.NOT_FOUND, priority=0), repo("b", "from-b", priority=1), \
        repo("c", "from-c", priority=2)
    resolver, _ = make([third, second, first])
    result = resolver.lookup(KEY)
    assert isinstance(result, ResolvedSchema)
    assert (result.repository, result.schema["description"]) == ("b", "from-b")
    assert len(first.calls) == 1 and len(second.calls) == 1 and third.calls == []


def test_hits_are_served_from_cache_for_the_ttl_then_refetched() -> None:
    source = repo("a", "v1", "v2")
    resolver, clock = make([source], ttl=60)
    assert resolver.lookup(KEY).schema["description"] == "v1"  # type: ignore[union-attr]
    clock.now += 59
    assert resolver.lookup(KEY).schema["description"] == "v1"  # type: ignore[union-attr]
    assert len(source.calls) == 1
    clock.now += 2
    assert resolver.lookup(KEY).schema["description"] == "v2"  # type: ignore[union-attr]
    assert len(source.calls) == 2
    assert resolver.stats.hits == 1


def test_null_ttl_keeps_schemas_forever() -> None:
    source = repo("a", "v1", "v2")
    resolver, clock = make([source], ttl=None)
    resolver.lookup(KEY)
    clock.now += 10 ** 9
    assert resolver.lookup(KEY).schema["description"] == "v1"  # type: ignore[union-attr]


def test_cache_size_bounds_the_number_of_cached_keys() -> None:
    source = repo("a", "x")
    resolver, _ = make([source], size=2)
    keys = [KEY.with_version(KEY.version.__class__(1, 0, a)) for a in range(3)]
    for k in keys:
        resolver.lookup(k)
    resolver.lookup(keys[2])
    resolver.lookup(keys[1])
    assert len(source.calls) == 3
    resolver.lookup(keys[0])  # evicted (least recently used) -> asked again
    assert len(source.calls) == 4


def test_cache_size_zero_caches_nothing() -> None:
    source = repo("a", "x")
    resolver, _ = make([source], size=0)
    resolver.lookup(KEY)
    resolver.lookup(KEY)
    assert len(source.calls) == 2


def test_not_found_is_cached_for_the_ttl() -> None:
    source = repo("a", ErrorKind.NOT_FOUND, ErrorKind.NOT_FOUND, "published")
    resolver, clock = make([source], ttl=30)
    first = resolver.lookup(KEY)
    assert isinstance(first, ResolutionError) and first.not_found and not first.retryable
    assert isinstance(resolver.lookup(KEY), ResolutionError)
    assert len(source.calls) == 1
    clock.now += 31
    assert isinstance(resolver.lookup(KEY), ResolutionError)
    clock.now += 31
    assert resolver.lookup(KEY).schema["description"] == "published"  # type: ignore[union-attr]


def test_server_errors_are_retried_with_backoff_inside_the_lookup() -> None:
    source = repo("a", ErrorKind.REPO_FAILURE, ErrorKind.TIMEOUT, "ok")
    resolver, clock = make([source], attempts_per_lookup=3, retry_pause=0.1)
    result = resolver.lookup(KEY)
    assert isinstance(result, ResolvedSchema)
    assert len(source.calls) == 3
    assert clock.slept == [0.1, 0.2]


def test_failures_are_not_cached_but_a_failing_repository_is_given_a_rest() -> None:
    source = repo("a", ErrorKind.REPO_FAILURE, ErrorKind.REPO_FAILURE, "recovered")
    resolver, clock = make([source], attempts_per_lookup=1, backoff_min=0.5)
    failed = resolver.lookup(KEY)
    assert isinstance(failed, ResolutionError) and failed.retryable
    assert resolver.lookup(KEY) == failed  # inside the backoff window: no new request
    assert len(source.calls) == 1
    clock.now += 1
    again = resolver.lookup(KEY)
    assert isinstance(again, ResolutionError)
    assert again.history[0].attempts == 2  # history accumulates across lookups
    clock.now += 1
    assert resolver.lookup(KEY).schema["description"] == "recovered"  # type: ignore[union-attr]


def test_a_failing_repository_does_not_stop_the_next_one() -> None:
    down, up = repo("down", ErrorKind.TIMEOUT, priority=0), repo("up", "found", priority=1)
    resolver, _ = make([down, up], attempts_per_lookup=2)
    assert resolver.lookup(KEY).repository == "up"  # type: ignore[union-attr]
    assert len(down.calls) == 2


def test_cached_schemas_keep_serving_while_the_repository_is_down() -> None:
    source = repo("a", "cached", ErrorKind.REPO_FAILURE, ErrorKind.REPO_FAILURE, "fresh")
    resolver, clock = make([source], ttl=10, attempts_per_lookup=1)
    resolver.lookup(KEY)
    clock.now += 11
    assert resolver.lookup(KEY).schema["description"] == "cached"  # type: ignore[union-attr]
    assert resolver.stats.stale_served == 1
    assert resolver.lookup(KEY).schema["description"] == "cached"  # type: ignore[union-attr]
    assert len(source.calls) == 2  # within the backoff: the stale copy is served without asking
    clock.now += 1
    resolver.lookup(KEY)
    clock.now += 2
    assert resolver.lookup(KEY).schema["description"] == "fresh"  # type: ignore[union-attr]


def test_a_schema_removed_from_every_repository_stops_being_served() -> None:
    source = repo("a", "cached", ErrorKind.NOT_FOUND)
    resolver, clock = make([source], ttl=10)
    resolver.lookup(KEY)
    clock.now += 11
    assert isinstance(resolver.lookup(KEY), ResolutionError)


def test_concurrent_lookups_of_one_key_make_one_request() -> None:
    gate = threading.Event()
    source = repo("a", "x")
    source.gate = gate
    resolver, _ = make([source])
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(resolver.lookup(KEY))) for _ in range(8)]
    for t in threads:
        t.start()
    while not source.calls:
        threading.Event().wait(0.01)
    threading.Event().wait(0.05)
    gate.set()
    for t in threads:
        t.join(5)
    assert len(source.calls) == 1
    assert len(results) == 8 and all(isinstance(r, ResolvedSchema) for r in results)


def test_the_failure_history_has_the_bad_row_shape(shared_dir: Path) -> None:
    resolver, _ = make([repo("Iglu Central", ErrorKind.NOT_FOUND), repo("mirror", ErrorKind.TIMEOUT, priority=1),
                        repo("broken", ErrorKind.CLIENT_FAILURE, priority=2)], attempts_per_lookup=2)
    error = resolver.lookup(KEY)
    assert isinstance(error, ResolutionError) and error.retryable
    body = error.to_json()
    assert body["error"] == "ResolutionError"
    assert body["lookupHistory"] == [
        {"repository": "Iglu Central", "errors": [{"error": "NotFound"}], "attempts": 1,
         "lastAttempt": "2024-05-01T12:00:00.000Z"},
        {"repository": "mirror", "errors": [{"error": "RepoFailure", "message": "timeout: boom"}], "attempts": 2,
         "lastAttempt": "2024-05-01T12:00:00.000Z"},
        {"repository": "broken", "errors": [{"error": "ClientFailure", "message": "boom"}], "attempts": 1,
         "lastAttempt": "2024-05-01T12:00:00.000Z"},
    ]
    assert "mirror: Timeout: boom (2 attempts)" in error.message
    # and it validates against the published bad-row schema's ResolutionError branch
    import json

    from jsonschema import Draft4Validator
    badrow = json.loads((shared_dir / "iglu-central/schemas/com.snowplowanalytics.snowplow.badrows/"
                         "schema_violations/jsonschema/2-0-1").read_text())
    branch = badrow["properties"]["failure"]["properties"]["messages"]["items"]["anyOf"][3]
    message = {"schemaKey": KEY.uri, "error": body}
    assert list(Draft4Validator(branch).iter_errors(message)) == []


def test_listing_latest_and_criteria() -> None:
    source = repo("a", "x")
    resolver, _ = make([source])
    assert [str(k.version) for k in resolver.list_versions("com.acme", "click", 1)] == ["1-0-0", "1-0-1",  # type: ignore[union-attr]
                                                                                        "1-0-2"]
    assert str(resolver.latest("com.acme", "click", 1).version) == "1-0-2"  # type: ignore[union-attr]
    resolved = resolver.lookup_criterion(SchemaCriterion.parse("iglu:com.acme/click/jsonschema/1-0-*"))
    assert isinstance(resolved, ResolvedSchema) and str(resolved.key.version) == "1-0-2"
    missing = resolver.lookup_criterion(SchemaCriterion.parse("iglu:com.acme/click/jsonschema/1-1-*"))
    assert isinstance(missing, ResolutionError) and missing.key == "iglu:com.acme/click/jsonschema/1-1-*"


def test_repository_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        make([repo("a", "x"), repo("a", "y")])


OTHER = SchemaKey.parse("iglu:com.acme/view/jsonschema/1-0-0")
THIRD = SchemaKey.parse("iglu:com.acme/buy/jsonschema/1-0-0")


def test_a_repository_that_failed_is_skipped_by_lookups_of_every_key_until_its_backoff_ends() -> None:
    """An outage is the repository's, not one key's: nine cold keys must not each pay the timeouts."""
    source = repo("a", ErrorKind.TIMEOUT)
    resolver, clock = make([source], attempts_per_lookup=3, retry_pause=0.1, backoff_min=0.5)
    first = resolver.lookup(KEY)
    assert isinstance(first, ResolutionError) and first.retryable and len(source.calls) == 3
    slept = list(clock.slept)
    for key in (OTHER, THIRD):
        skipped = resolver.lookup(key)
        assert isinstance(skipped, ResolutionError) and skipped.retryable
        assert skipped.history[0].errors == first.history[0].errors  # the repository's error, said again
        assert skipped.history[0].attempts == 0
    assert len(source.calls) == 3 and clock.slept == slept  # no request, no pause


def test_a_repository_in_an_outage_is_asked_once_per_backoff_and_its_answer_ends_the_outage() -> None:
    source = repo("a", ErrorKind.REPO_FAILURE, ErrorKind.REPO_FAILURE, ErrorKind.REPO_FAILURE, ErrorKind.REPO_FAILURE,
                  "back")
    resolver, clock = make([source], attempts_per_lookup=3, retry_pause=0.1, backoff_min=0.5)
    assert isinstance(resolver.lookup(KEY), ResolutionError) and len(source.calls) == 3
    clock.now += 61
    slept = list(clock.slept)
    assert isinstance(resolver.lookup(OTHER), ResolutionError)
    assert len(source.calls) == 4 and clock.slept == slept  # one request, without the in-lookup pauses
    assert isinstance(resolver.lookup(THIRD), ResolutionError) and len(source.calls) == 4  # backoff again
    clock.now += 61
    assert resolver.lookup(THIRD).repository == "a"  # type: ignore[union-attr]
    # the repository answers again: keys that failed during the outage are asked at once, not after their own rest
    assert resolver.lookup(KEY).repository == "a" and resolver.lookup(OTHER).repository == "a"  # type: ignore[union-attr]
    assert len(source.calls) == 7
