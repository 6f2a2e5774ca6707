"""The validation stage: every self-describing JSON of an event against its Iglu schema.

An event is valid when its ``contexts``, ``unstruct_event`` and ``derived_contexts``
wrappers and every entity inside them validate. Otherwise the stage says why, as the
``failure.messages`` of a Snowplow ``schema_violations`` bad row: the resolver's lookup
history for a schema that could not be had, the validator's data reports for data that
does not fit.

A registry that cannot answer is not the event's fault. A :class:`ResolutionError` that is
``retryable`` (a repository timed out, answered 5xx, refused the API key) is retried with
backoff; if the registry is still unreachable the event is *quarantined*: it becomes a bad
row marked retryable, which ``sptk pipeline replay-bad`` runs again once the registry is back.
Such an event is never reported as a permanent violation and never dropped. Schemas the
resolver has cached keep validating throughout an outage (the resolver serves them stale).

The retry is per schema and per outage, not per event: once a schema's registry stayed
unreachable through the retries, the schema is *held* until the registry answers for it.
Events needing a held schema are quarantined at once, without asking the registry, for
``hold_s`` seconds; then the next one asks once (no pauses): an answer releases the schema,
no answer holds it again, quietly. So an outage costs one stall of a few seconds per schema
and one warning each, and the stream then runs at full speed however many schemas it
needs; a hold that ran out never starts the pauses again (that made a stream over more
schemas than fit in one hold stall on every event). Retrying helps only after the
resolver's own backoff for the failing repository has passed, hence the default pause of
half a second.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orjson import loads

from iglu_registry import native_engine
from iglu_registry.errors import ResolutionError
from iglu_registry.resolver import Resolver
from iglu_registry.resolver_config import ResolverConfigError, load_resolver_config
from iglu_registry.schema_key import SchemaKey
from iglu_registry.validation import DataReport, SchemaValidator, validation_error_json
from toolkit.config.errors import ConfigError
from toolkit.config.models import IgluConfig
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.native_codec import NativeEvent
from toolkit.contract.sdj import SelfDescribingField

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try a registry that cannot answer before quarantining (``[iglu] unavailable_*``)."""

    retries: int = 2
    backoff_s: float = 0.5
    hold_s: float = 10.0

    @classmethod
    def from_config(cls, cfg: IgluConfig) -> RetryPolicy:
        return cls(cfg.unavailable_retries, cfg.unavailable_backoff_s, cfg.unavailable_hold_s)


def build_resolver(cfg: IgluConfig) -> Resolver:
    """The resolver ``[iglu]`` describes: its resolver config, with the cache size, TTL and API keys of ``[iglu]``.

    ``cache_size``/``cache_ttl_s`` replace the resolver config's ``cacheSize``/``cacheTtl`` so one
    pipeline config decides memory and freshness; API keys come from the environment or files,
    never from the resolver JSON.
    """
    try:
        rc = load_resolver_config(cfg.resolver_config)
    except FileNotFoundError:
        raise ConfigError(f"iglu.resolver_config: {cfg.resolver_config} does not exist") from None
    except (ResolverConfigError, OSError, ValueError) as exc:
        raise ConfigError(f"iglu.resolver_config: {cfg.resolver_config}: {exc}") from None
    keys = {k.repository: k.key.reveal() for k in cfg.api_keys}
    names = {r.name for r in rc.repositories}
    unknown = sorted(set(keys) - names)
    if unknown:
        raise ConfigError(f"iglu.api_keys names repositories {unknown} that {cfg.resolver_config} does not have; "
                          f"its repositories are {sorted(names)}")
    repos = tuple(dataclasses.replace(r, apikey=keys[r.name]) if r.name in keys else r for r in rc.repositories)
    return Resolver.from_config(dataclasses.replace(rc, cache_size=cfg.cache_size, cache_ttl=float(cfg.cache_ttl_s),
                                                    repositories=repos))


@dataclass(frozen=True, slots=True)
class Valid:
    """Every self-describing JSON of the event validated."""

    checked: int


@dataclass(frozen=True, slots=True)
class SchemaViolations:
    """Why the event failed validation, as ``schema_violations`` 2-0-1 ``failure.messages``.

    ``retryable`` is True only when *every* failure is a registry that could not answer:
    one permanent problem (invalid data, a schema no repository has) makes the event a
    permanent violation, because replaying it would fail again.
    """

    messages: tuple[dict[str, Any], ...]
    retryable: bool
    reason: str
    checked: int


ValidationResult = Valid | SchemaViolations


def _texts(native: Any) -> tuple[tuple[str | None, bool], ...]:
    """The self-describing JSON texts of a natively parsed event, in TSV order, and which is ``unstruct_event``."""
    return (native.contexts, False), (native.unstruct_event, True), (native.derived_contexts, False)


def _reason(key: SchemaKey, path: str, result: list[DataReport] | ResolutionError) -> str:
    if isinstance(result, ResolutionError):
        return f"{path}: {result.message}"
    first = result[0].message
    more = f" (and {len(result) - 1} more)" if len(result) > 1 else ""
    return f"{path} ({key.uri}): {first}{more}"


class EventValidator:
    """Validates whole events through a shared :class:`~iglu_registry.validation.SchemaValidator`.

    Single-threaded use per instance (the hold table is not locked); the underlying
    validator and resolver are thread-safe and may be shared.
    """

    def __init__(self, validator: SchemaValidator, retry: RetryPolicy = RetryPolicy(), *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.validator = validator
        self.retry = retry
        self._sleep = sleep
        self._clock = clock
        #: schemas whose registry did not answer through the retries: (ask again after, the last answer)
        self._held: dict[SchemaKey, tuple[float, ResolutionError]] = {}
        self.lookups = 0
        self.quarantined_keys = 0
        #: schema lookups asked again because the registry could not answer (the sidecar's retry counter)
        self.retries = 0
        #: schema URI as written -> (fast check, resolver-clock expiry): see SchemaValidator.lease
        self._leases: dict[str, tuple[Callable[[object], bool], float]] = {}
        #: the same for the native engine, held in Rust (``sptk_native.Leases``); None without sptk_native
        self._native_leases: Any = native_engine.MODULE.Leases() if native_engine.MODULE is not None else None
        #: self-describing JSONs of valid events decided natively, without Python objects
        self.native_checked = 0
        self._resolver = validator.resolver
        self._now = validator.resolver.clock
        self._generation = validator.resolver.generation

    def validate(self, event: EnrichedEvent) -> ValidationResult:
        """Check the wrappers and every entity, in TSV order; never raises on bad data.

        Why three paths: a natively parsed event whose every schema holds a native lease (see
        :meth:`~iglu_registry.validation.SchemaValidator.native_lease`) is checked in one call
        into ``sptk_native``, on the JSON texts of the line, with no Python object per entity.
        Failing that, one whose every schema holds a lease (see
        :meth:`~iglu_registry.validation.SchemaValidator.lease`) and whose every entity passes
        the fast check is valid, decided with one dict lookup and one jsonschema-rs call per
        entity. Anything else (a line the extension declined, a schema not seen yet or no longer
        fresh, data the fast check rejects, a check that raises) runs :meth:`_validate_fully`,
        which gives the reference answer and takes the leases for next time.
        """
        if type(event) is not NativeEvent:  # lines the extension declined are rare: the full path serves them
            return self._validate_fully(event.sdj)
        resolver = self._resolver
        if resolver.generation != self._generation:
            self._leases.clear()
            if self._native_leases is not None:
                self._native_leases.clear()
            self._generation = resolver.generation
        leases = self._leases
        now = self._now()
        if self._native_leases is not None:
            checked = self._native_leases.check(event.native, now)
            if checked is not None:
                self.native_checked += checked
                self.lookups += checked
                resolver.stats.hits += checked  # what the lookups the leases stood in for would have counted
                return Valid(checked)
        checked = 0
        try:  # the JSON texts as they stand: no SelfDescribingField to build
            for text, unstruct in _texts(event.native):
                if text is None:
                    continue
                doc = loads(text)
                data = doc["data"]
                lease = leases.get(doc["schema"])
                if lease is None or now >= lease[1] or not lease[0](data):
                    return self._validate_fully(event.sdj)
                entities = (data,) if unstruct else data
                for entity in entities:
                    lease = leases.get(entity["schema"])
                    if lease is None or now >= lease[1] or not lease[0](entity["data"]):
                        return self._validate_fully(event.sdj)
                checked += 1 + len(entities)
        except Exception:  # malformed JSON or a check that raised: the full path says what is wrong
            return self._validate_fully(event.sdj)
        self.lookups += checked
        resolver.stats.hits += checked  # what the lookups the leases stood in for would have counted
        return Valid(checked)

    def _take_lease(self, uri: str, key: SchemaKey) -> None:
        lease = self.validator.lease(key)
        if lease is not None:
            self._leases[uri] = lease
        if self._native_leases is not None:
            native = self.validator.native_lease(key)
            if native is not None:
                self._native_leases.put(uri, *native)

    def _validate_fully(self, sdj: dict[str, SelfDescribingField]) -> ValidationResult:
        check = self._check if self._held else self.validator.validate
        failures: list[tuple[SchemaKey, str, list[DataReport] | ResolutionError]] | None = None
        checked = 0
        for name, f in sdj.items():
            checked += 1 + len(f.datas)
            result = check(f.wrapper, f.data)
            if result:
                result = self._settle(f.wrapper, f.data, result)
                if result:
                    failures = failures or []
                    failures.append((f.wrapper, name, result))
            else:
                self._take_lease(f.wrapper_uri, f.wrapper)
            for i, (uri, info, data) in enumerate(zip(f.uris, f.schemas, f.datas)):  # noqa: B905 - parallel
                result = check(info.key, data)
                if result:
                    result = self._settle(info.key, data, result)
                    if result:
                        failures = failures or []
                        failures.append((info.key, f"{name}.data" if name == "unstruct_event" else f"{name}.data[{i}]",
                                         result))
                else:
                    self._take_lease(uri, info.key)
        self.lookups += checked
        if failures is None:
            return Valid(checked)
        messages = []
        retryable = True
        for key, _, result in failures:
            if isinstance(result, ResolutionError):
                messages.append({"schemaKey": key.uri, "error": result.to_json()})
                retryable = retryable and result.retryable
            else:
                messages.append({"schemaKey": key.uri,
                                 "error": validation_error_json(result, self.validator.superseded_by(key))})
                retryable = False
        reason = "; ".join(_reason(k, p, r) for k, p, r in failures[:3])
        if len(failures) > 3:
            reason += f"; and {len(failures) - 3} more"
        return SchemaViolations(tuple(messages), retryable, reason, checked)

    @property
    def unavailable(self) -> bool:
        """True while a schema is held because its registry did not answer (what ``sptk_registry_available`` shows)."""
        return bool(self._held)

    def _check(self, key: SchemaKey, data: Any) -> list[DataReport] | ResolutionError:
        """:meth:`SchemaValidator.validate`, except for a held schema: its last answer until the hold runs out."""
        held = self._held.get(key)
        if held is None:
            return self.validator.validate(key, data)
        if self._clock() < held[0]:
            return held[1]
        result = self.validator.validate(key, data)
        if not isinstance(result, ResolutionError) or not result.retryable:
            del self._held[key]
            log.info("schema %s resolves again; events that needed it are no longer quarantined (`sptk pipeline "
                     "replay-bad` runs the quarantined ones)", key.uri, extra={"schema": key.uri, "stage": "validate"})
        return result

    def _settle(self, key: SchemaKey, data: Any, result: list[DataReport] | ResolutionError
                ) -> list[DataReport] | ResolutionError:
        """Retry a registry that could not answer, with backoff, unless this schema is already held."""
        if not isinstance(result, ResolutionError) or not result.retryable:
            return result
        held = self._held.get(key)
        if held is not None:  # still no answer: hold on, without pausing the stream or warning again
            if self._clock() >= held[0]:
                self._held[key] = (self._clock() + self.retry.hold_s, result)
            return result
        pause = self.retry.backoff_s
        for _ in range(self.retry.retries):
            self._sleep(pause)
            pause *= 2
            self.retries += 1
            result = self.validator.validate(key, data)
            if not isinstance(result, ResolutionError) or not result.retryable:
                return result
        self._held[key] = (self._clock() + self.retry.hold_s, result)
        self.quarantined_keys += 1
        log.warning("schema %s: the registry could not answer after %d retries (%s); events that need it are "
                    "quarantined to the bad stream as retryable until it answers (asked again every %gs, without "
                    "pausing the stream), and `sptk pipeline replay-bad` runs them again once the registry is back",
                    key.uri, self.retry.retries, result.message, self.retry.hold_s,
                    extra={"schema": key.uri, "stage": "validate"})
        return result
