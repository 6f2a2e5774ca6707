"""The resolver: which repository to ask, in which order, and what to remember.

Order follows Snowplow's clients: repositories whose ``vendorPrefixes`` match the key's
vendor first, then local ones (embedded, in-memory) before HTTP, then the lowest
``priority``; the first repository that has the schema wins.

What is remembered (see docs/iglu.md, "Cache rules"):

* a found schema for ``cacheTtl`` seconds (forever when ``cacheTtl`` is null), in an LRU
  bounded by ``cacheSize`` entries;
* "not found in any repository" for ``cacheTtl`` as well, so an event stream full of a
  misspelled schema does not hammer the registries;
* timeouts and server errors are never kept as an answer: they are retried within the
  lookup with a short backoff; a repository that still fails is in an *outage*, which is
  the repository's and not the key's: lookups of every key skip it (and say why) until a
  growing backoff interval has passed (0.5 s up to 60 s), then one lookup asks it once,
  and its first answer ends the outage for every key. A dead registry behind a cold cache
  then costs one request per interval, not a round of timeouts per schema;
* when a cached schema expires and the refresh hits a failing repository, the cached
  schema keeps being served;
* concurrent lookups of one key share a single request.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from iglu_registry.cache import LruCache
from iglu_registry.errors import ErrorKind, LookupHistory, RegistryError, RegistryFailure, ResolutionError
from iglu_registry.repositories import (
    EmbeddedRepository,
    HttpRepository,
    InMemoryRepository,
    Repository,
    RepositoryRef,
)
from iglu_registry.resolver_config import ResolverConfig, load_resolver_config, parse_resolver_config
from iglu_registry.schema_key import SchemaCriterion, SchemaKey

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ResolverSettings:
    """Knobs the resolver-config format has no field for; the defaults suit a streaming pipeline."""

    http_timeout: float = 5.0
    #: tries per repository inside one lookup when the repository times out or answers 5xx
    attempts_per_lookup: int = 3
    #: pause before the second in-lookup try; doubles for each further try
    retry_pause: float = 0.1
    #: a failing repository is skipped by later lookups for this long, growing with its failures
    backoff_min: float = 0.5
    backoff_max: float = 60.0
    #: how long "not found" is remembered when cacheTtl is null (schemas then never expire, but a
    #: schema published later must still be picked up without a restart)
    not_found_ttl_without_cache_ttl: float = 300.0


@dataclass(frozen=True, slots=True)
class ResolvedSchema:
    """A schema and where it came from. ``version`` changes whenever the cache refreshes it."""

    key: SchemaKey
    schema: dict
    repository: str
    version: int = 0


@dataclass(slots=True)
class _Entry:
    """A cached answer (a ResolvedSchema, or a listing as a tuple of keys) or, with value None, failures."""

    value: object | None
    fresh_until: float
    failures: dict[str, LookupHistory] = field(default_factory=dict)
    retry_at: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Outage:
    """A repository whose last request failed with a timeout or server error."""

    error: RegistryError
    at: datetime  # when it last failed
    failures: int  # requests that failed in a row
    retry_at: float  # before this, lookups skip it


@dataclass(slots=True)
class ResolverStats:
    hits: int = 0
    requests: int = 0
    stale_served: int = 0


class _Flight:
    __slots__ = ("done", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: object = None


def backoff_seconds(attempts: int, settings: ResolverSettings) -> float:
    """Grows like Snowplow's client (min + 4^n ms) and is capped, so a dead registry costs little."""
    return min(settings.backoff_min + (4 ** min(attempts, 12)) / 1000.0, settings.backoff_max)


class Resolver:
    """Thread-safe schema lookups over ordered repositories with the cache rules above."""

    def __init__(self, repositories: Sequence[Repository], cache_size: int = 500, cache_ttl: float | None = None,
                 settings: ResolverSettings | None = None, *, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        names = [r.ref.name for r in repositories]
        if len(set(names)) != len(names):
            raise ValueError(f"repository names must be unique, got {names}")
        self.repositories = tuple(repositories)
        self.cache_ttl = cache_ttl
        self.settings = settings or ResolverSettings()
        self._clock = clock
        self._wall = wall_clock
        self._sleep = sleep
        self._schemas: LruCache[SchemaKey, _Entry] = LruCache(cache_size)
        self._lists: LruCache[tuple[str, str, str, int], _Entry] = LruCache(cache_size)
        self._flights: dict[object, _Flight] = {}
        self._guard = threading.Lock()
        self._order: dict[str, tuple[Repository, ...]] = {}
        self._outages: dict[str, _Outage] = {}
        self._versions = 0
        #: bumped by :meth:`invalidate`, so callers holding leases (see :meth:`fresh`) drop them
        self.generation = 0
        self.stats = ResolverStats()

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: ResolverConfig | dict | str | Path,
                    settings: ResolverSettings | None = None, **kwargs: object) -> Resolver:
        """From a parsed config, a resolver-config dict, or a path to the JSON file."""
        if isinstance(config, str | Path):
            config = load_resolver_config(Path(config))
        elif isinstance(config, dict):
            config = parse_resolver_config(config)
        settings = settings or ResolverSettings()
        repos: list[Repository] = []
        for rc in config.repositories:
            ref = RepositoryRef(rc.name, rc.priority, rc.vendor_prefixes)
            if rc.embedded_path is not None:
                repos.append(EmbeddedRepository(ref, Path(rc.embedded_path)))
            else:
                repos.append(HttpRepository(ref, rc.http_uri or "", rc.apikey, timeout=settings.http_timeout))
        return cls(repos, config.cache_size, config.cache_ttl, settings, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def in_memory(cls, schemas: dict[SchemaKey, dict], name: str = "in-memory", **kwargs: object) -> Resolver:
        return cls([InMemoryRepository(RepositoryRef(name, 0), dict(schemas))], **kwargs)  # type: ignore[arg-type]

    # --- lookups ------------------------------------------------------------------------------

    def lookup(self, key: SchemaKey) -> ResolvedSchema | ResolutionError:
        """The schema for ``key``, or why it cannot be had. Never raises for a missing schema."""
        entry = self._schemas.get(key)
        if entry is not None and entry.value is not None and self._clock() < entry.fresh_until:
            self.stats.hits += 1
            return entry.value  # type: ignore[return-value]
        return self._once(key, lambda: self._resolve(key))  # type: ignore[return-value]

    def fresh(self, key: SchemaKey) -> tuple[ResolvedSchema, float] | None:
        """The cached schema for ``key`` and the :attr:`clock` time it stays fresh until; None if not fresh.

        Lets a hot caller skip :meth:`lookup` until then: it must look up again after that time, or
        once :attr:`generation` changes.
        """
        entry = self._schemas.get(key)
        if entry is None or entry.value is None or self._clock() >= entry.fresh_until:
            return None
        return entry.value, entry.fresh_until  # type: ignore[return-value]

    @property
    def clock(self) -> Callable[[], float]:
        """The monotonic clock cache freshness is measured on."""
        return self._clock

    def lookup_criterion(self, criterion: SchemaCriterion) -> ResolvedSchema | ResolutionError:
        """The newest schema matching ``1-*-*`` style criteria (a model number is required to list)."""
        if criterion.model is None:
            return ResolutionError(str(criterion), (LookupHistory(
                "resolver", (RegistryError(ErrorKind.CLIENT_FAILURE, "a criterion needs a MODEL number to list"),),
                0, self._wall()),))
        listed = self.list_versions(criterion.vendor, criterion.name, criterion.model, criterion.format)
        if isinstance(listed, ResolutionError):
            return listed
        matching = [k for k in listed if criterion.matches(k)]
        if not matching:
            return ResolutionError(str(criterion), tuple(
                LookupHistory(r.ref.name, (RegistryError(ErrorKind.NOT_FOUND),), 1, self._wall())
                for r in self._ordered(criterion.vendor)))
        return self.lookup(max(matching))

    def list_versions(self, vendor: str, name: str, model: int,
                      format: str = "jsonschema") -> list[SchemaKey] | ResolutionError:
        """Every version of one model, oldest first, from the first repository that can list it."""
        lkey = (vendor, name, format, model)
        entry = self._lists.get(lkey)
        if entry is not None and entry.value is not None and self._clock() < entry.fresh_until:
            return list(entry.value)  # type: ignore[call-overload]
        return self._once(lkey, lambda: self._resolve_list(lkey))  # type: ignore[return-value]

    def latest(self, vendor: str, name: str, model: int, format: str = "jsonschema") -> SchemaKey | ResolutionError:
        listed = self.list_versions(vendor, name, model, format)
        return listed if isinstance(listed, ResolutionError) else listed[-1]

    def invalidate(self, key: SchemaKey | None = None) -> None:
        """Forget one key (or everything), for example after publishing a new version."""
        self.generation += 1
        if key is None:
            self._schemas.clear()
            self._lists.clear()
        else:
            self._schemas.pop(key)

    # --- internals ----------------------------------------------------------------------------

    def _ordered(self, vendor: str) -> tuple[Repository, ...]:
        order = self._order.get(vendor)
        if order is None:
            order = tuple(sorted(self.repositories, key=lambda r: (not r.ref.vendor_matched(vendor),
                                                                    r.class_priority, r.ref.priority)))
            if len(self._order) < 10_000:
                self._order[vendor] = order
        return order

    def _once(self, flight_key: object, work: Callable[[], T]) -> T:
        with self._guard:
            flight = self._flights.get(flight_key)
            leader = flight is None
            if leader:
                flight = self._flights[flight_key] = _Flight()
        assert flight is not None
        if not leader:
            flight.done.wait()
            return flight.result  # type: ignore[return-value]
        try:
            flight.result = work()
            return flight.result  # type: ignore[return-value]
        finally:
            with self._guard:
                del self._flights[flight_key]
            flight.done.set()

    def _not_found_until(self, now: float) -> float:
        ttl = self.cache_ttl if self.cache_ttl is not None else self.settings.not_found_ttl_without_cache_ttl
        return now + ttl

    def _fresh_until(self, now: float) -> float:
        return math.inf if self.cache_ttl is None else now + self.cache_ttl

    def _traverse(self, vendor: str, entry: _Entry | None, now: float,
                  get: Callable[[Repository], T]) -> tuple[Repository, T] | tuple[None, _Entry]:
        """Ask repositories in order; returns the first hit, or the updated failure record.

        A repository in an outage is skipped until its backoff ends (its error is recorded for
        this key without an attempt), then asked once, without the in-lookup retries.
        """
        failures = dict(entry.failures) if entry is not None else {}
        retry_at = dict(entry.retry_at) if entry is not None else {}
        for repo in self._ordered(vendor):
            name = repo.ref.name
            history = failures.get(name)
            if history is not None and history.not_found:
                continue
            if history is not None and now < retry_at.get(name, 0.0):
                continue
            outage = self._outages.get(name)
            if outage is not None and now < outage.retry_at:
                failures[name] = history.noting(outage.error) if history is not None \
                    else LookupHistory(name, (outage.error,), 0, outage.at)
                continue
            tries = 1 if outage is not None else max(1, self.settings.attempts_per_lookup)
            for attempt in range(tries):
                try:
                    self.stats.requests += 1
                    found = repo, get(repo)
                except RegistryFailure as failure:
                    error = failure.error
                except Exception as exc:  # a repository bug must not take the pipeline down
                    error = RegistryError(ErrorKind.CLIENT_FAILURE, f"{type(exc).__name__}: {exc}")
                else:
                    self._outages.pop(name, None)
                    return found
                base = history if history is not None else LookupHistory(name, (), 0, self._wall())
                history = base.with_error(error, self._wall())
                if not error.kind.transient or isinstance(repo, EmbeddedRepository | InMemoryRepository):
                    break
                if attempt + 1 < tries:
                    self._sleep(self.settings.retry_pause * (2 ** attempt))
            assert history is not None
            failures[name] = history
            if error.kind.transient and not isinstance(repo, EmbeddedRepository | InMemoryRepository):
                failed = (outage.failures if outage is not None else 0) + tries
                self._outages[name] = _Outage(error, history.last_attempt, failed,
                                              self._clock() + backoff_seconds(failed, self.settings))
            else:
                self._outages.pop(name, None)  # it answered, if not with the schema
                retry_at[name] = self._clock() + backoff_seconds(history.attempts, self.settings)
        return None, _Entry(None, 0.0, failures, retry_at)

    def _resolve(self, key: SchemaKey) -> ResolvedSchema | ResolutionError:
        now = self._clock()
        entry = self._schemas.get(key)
        if entry is not None:
            if entry.value is not None and now < entry.fresh_until:
                return entry.value  # type: ignore[return-value]  # filled by the flight just before ours
            if entry.value is None and now >= entry.fresh_until:
                entry = None  # the remembered "not found" has expired: start afresh
        stale: ResolvedSchema | None = entry.value if entry is not None else None  # type: ignore[assignment]
        prior = None if stale is not None else entry
        repo, outcome = self._traverse(key.vendor, prior, now, lambda r: r.fetch(key))
        if repo is not None:
            with self._guard:
                self._versions += 1
                version = self._versions
            resolved = ResolvedSchema(key, outcome, repo.ref.name, version)  # type: ignore[arg-type]
            self._schemas.put(key, _Entry(resolved, self._fresh_until(self._clock())))
            return resolved
        failed: _Entry = outcome  # type: ignore[assignment]
        history = tuple(failed.failures.values())
        error = ResolutionError(key.uri, history)
        if stale is not None and error.retryable:
            self.stats.stale_served += 1
            attempts = max((h.attempts for h in history), default=1)
            stale_entry = _Entry(stale, self._clock() + backoff_seconds(attempts, self.settings))
            self._schemas.put(key, stale_entry)
            return stale
        failed.fresh_until = entry.fresh_until if entry is not None and entry.value is None \
            else self._not_found_until(now)
        self._schemas.put(key, failed)
        return error

    def _resolve_list(self, lkey: tuple[str, str, str, int]) -> list[SchemaKey] | ResolutionError:
        vendor, name, format, model = lkey
        now = self._clock()
        entry = self._lists.get(lkey)
        if entry is not None and entry.value is None and now >= entry.fresh_until:
            entry = None
        if entry is not None and entry.value is not None and now < entry.fresh_until:
            return list(entry.value)  # type: ignore[call-overload]
        prior = entry if entry is not None and entry.value is None else None
        repo, outcome = self._traverse(vendor, prior, now, lambda r: r.list_versions(vendor, name, format, model))
        if repo is not None:
            keys = tuple(sorted(outcome))  # type: ignore[call-overload]
            self._lists.put(lkey, _Entry(keys, self._fresh_until(self._clock())))
            return list(keys)
        failed: _Entry = outcome  # type: ignore[assignment]
        failed.fresh_until = self._not_found_until(now)
        self._lists.put(lkey, failed)
        return ResolutionError(f"iglu:{vendor}/{name}/{format}/{model}-*-*", tuple(failed.failures.values()))
