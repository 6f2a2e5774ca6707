"""The fan-out pipeline as a pure function of one record: decode, validate, policy, route.

:meth:`Pipeline.process` takes the bytes of one input line and where it was read, and gives
back an :class:`~toolkit.pipeline.outcomes.Outcome` holding every message to write (stream, topic,
key, value, headers). It does no I/O (the validator's resolver may fetch a schema once, and
sleeps only while a registry cannot answer), so it is tested without sockets and the runner
(:mod:`connectors.runner`) only moves messages.

::

    line ─► raw (the bytes unchanged, always when it fits the topic)
      │
      ▼ decode (toolkit.contract.tsv)                        failure ─► bad: loader_parsing_error
      ▼ validate every self-describing JSON (Iglu)  failure ─► bad: schema_violations
      │                                             registry down ─► bad: schema_violations, retryable
      │   deprecated event schema: counted, flagged (sp.schema.deprecated); past its sunset ─► warn or bad
      ▼ consent: a consent event changes its user's state ─► consent (suppression record, keyed by user)
      ▼ policy (consent, pseudonymise, strip IP) and route
      ├─► enriched (profile JSON)                   no consent ─► filtered
      ├─► derived.<name>.v<N> (filter, projection)  not matching ─► counted per stream and rule
      └─► any message over its topic's limit        ─► bad: size_violation (raw still kept if it fits)

Bad data never raises out of here; exceptions mean a bug or a misconfiguration.

Speed: the config is compiled once (filters, keys, projections, topics, constant header
values); per record the cost is the parser, one validator call per self-describing JSON, one
JSON rendering per profile in use, and a list of messages. Stage latencies are measured on
one record in ``sample_every`` so the measuring does not cost what it measures.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from random import getrandbits
from typing import Any

import orjson

from iglu_registry.governance import Deprecation, DeprecationLookup, GovernanceError, load_governance
from iglu_registry.validation import SchemaValidator
from toolkit.config.errors import ConfigError
from toolkit.config.identity import pipeline_id as config_pipeline_id
from toolkit.config.models import DerivedStream, PipelineConfig, PrivacyConfig
from toolkit.contract.badrows import BadRow, generic_error
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.native_codec import NativeEvent
from toolkit.contract.profiles import ProfileError, profile, python_sdk, to_json
from toolkit.contract.profiles import canonical as canonical_profile
from toolkit.contract.tsv import ParseFailure, parse_line
from toolkit.kafka.headers import (
    COLLECTOR_TSTAMP,
    CONSENT,
    ERROR_STREAM,
    EVENT_ID,
    PIPELINE,
    SCHEMA,
    SCHEMA_DEPRECATED,
    SOURCE,
    TRACE_ID,
    MessageHeaders,
)
from toolkit.kafka.producing import BATCH_OVERHEAD, HEADER_OVERHEAD, RECORD_OVERHEAD, message_size
from toolkit.kafka.topics import bad_topic, consent_topic, derived_topic, enriched_topic, raw_topic
from toolkit.pipeline.bad_rows import (
    SIZE_VIOLATION,
    STREAM_UNAVAILABLE,
    NotReplayable,
    diverted_stream,
    replay_line,
    schema_violations,
    size_violation,
)
from toolkit.pipeline.consent import (
    NO_FACTS,
    ConsentFacts,
    ConsentLedger,
    ConsentState,
    consent_facts,
    consent_header,
    transition,
    user_key,
)
from toolkit.pipeline.outcomes import (
    BAD,
    ENRICHED,
    RAW,
    Filtered,
    Headers,
    Invalid,
    Outcome,
    Output,
    Restored,
    Routed,
    Skipped,
)
from toolkit.pipeline.outcomes import CONSENT as CONSENT_STREAM
from toolkit.pipeline.policy import StreamPolicy
from toolkit.pipeline.routing import (
    KeyFunction,
    Predicate,
    Projection,
    RouteError,
    collector_tstamp_text,
    compile_filter,
    compile_key,
    event_schema_uri,
)
from toolkit.pipeline.validate import EventValidator, RetryPolicy, SchemaViolations, build_resolver

#: librdkafka compresses by default (lz4); an estimate for a compressed batch keeps a margin
DEFAULT_COMPRESSION = "lz4"
#: one record in this many gets its stage latencies measured
SAMPLE_EVERY = 64

REGISTRY_UNAVAILABLE = "RegistryUnavailable"
SCHEMA_VIOLATION = "SchemaViolation"
MESSAGE_TOO_LARGE = "MessageTooLarge"
PROFILE_ERROR = "ProfileError"
SCHEMA_PAST_SUNSET = "SchemaPastSunset"

log = logging.getLogger(__name__)


def derived_id(stream: DerivedStream) -> str:
    """The stream name of a derived stream in outputs, metrics and files: ``derived.<name>.v<N>``."""
    return f"derived.{stream.name}.v{stream.version}"


def declared_limits(cfg: PipelineConfig) -> dict[str, int]:
    """``max.message.bytes`` of every stream as the config declares it (the broker's actual value may differ)."""
    t = cfg.topics
    limits = {RAW: t.resolve(t.raw).max_message_bytes, ENRICHED: t.resolve(t.enriched).max_message_bytes,
              BAD: t.resolve(t.bad).max_message_bytes}
    limits.update({derived_id(d): t.resolve(d.topic).max_message_bytes for d in cfg.derived})
    if cfg.tracks_consent:
        limits[CONSENT_STREAM] = t.resolve_consent().max_message_bytes
    return {k: int(v) for k, v in limits.items() if v is not None}


def stream_topics(cfg: PipelineConfig) -> dict[str, str]:
    """Stream -> Kafka topic (``<prefix>.raw`` ...); without ``[kafka]`` each stream is its own name.

    ``consent`` is a stream when a stream honours withdrawals or requires consent scopes.
    """
    consent = [CONSENT_STREAM] if cfg.tracks_consent else []
    if cfg.kafka is None:
        return {RAW: RAW, ENRICHED: ENRICHED, BAD: BAD, **{derived_id(d): derived_id(d) for d in cfg.derived},
                **{c: c for c in consent}}
    prefix = cfg.kafka.topic_prefix
    return {RAW: raw_topic(prefix), ENRICHED: enriched_topic(prefix), BAD: bad_topic(prefix),
            **{derived_id(d): derived_topic(prefix, d) for d in cfg.derived},
            **{c: consent_topic(prefix) for c in consent}}


def is_compressed(cfg: PipelineConfig) -> bool:
    """Whether the producer compresses (the size estimate keeps a margin for compression overhead)."""
    settings = cfg.kafka.producer_settings() if cfg.kafka is not None else {}
    codec = settings.get("compression.type", settings.get("compression.codec", DEFAULT_COMPRESSION))
    return str(codec) != "none"


def profile_object(event: EnrichedEvent, name: str) -> dict[str, Any]:
    """The profile's JSON object as Python values, for streams that change or cut it.

    The objects it returns may share entity data with the event: never change them in place.
    """
    if name == canonical_profile.NAME:
        if type(event) is NativeEvent:  # reading the extension's JSON is ~15x faster than building it in Python
            return orjson.loads(event.canonical_json)
        return canonical_profile.to_object(event)  # the dict canonical.to_json serialises; no JSON round trip
    if name == python_sdk.NAME:
        return python_sdk.to_dict(event)
    return orjson.loads(to_json(event, name))


class _Stream:
    """One output stream (enriched or derived), compiled."""

    __slots__ = ("name", "label", "topic", "profile", "policy", "changes", "accept", "projection", "key", "limit",
                 "consent")

    def __init__(self, name: str, label: str, topic: str, profile_name: str, policy: StreamPolicy | None,
                 accept: Predicate | None, projection: Projection | None, key: KeyFunction, limit: int) -> None:
        self.name = name
        self.label = label
        self.topic = topic
        self.profile = profile_name
        self.policy = policy
        self.changes = policy is not None and policy.changes_values
        self.accept = accept
        self.projection = projection
        self.key = key
        self.limit = limit
        #: the stream has consent rules: decided per record, and its messages carry ``sp.consent``
        self.consent = policy is not None and policy.reads_consent


def _policy(stream: str, privacy: Mapping[str, PrivacyConfig]) -> StreamPolicy | None:
    cfg = privacy.get(stream)
    return None if cfg is None else StreamPolicy(stream, cfg)


class Pipeline:
    """Decode, validate, apply policy and route one record at a time; see the module docstring.

    Not thread-safe (sampling counters and caches); run one per thread. ``limits`` are the
    ``max.message.bytes`` per stream (the broker's, when producing to Kafka).
    """

    def __init__(self, cfg: PipelineConfig, validator: EventValidator, *, pipeline_id: str,
                 limits: Mapping[str, int] | None = None, topics: Mapping[str, str] | None = None,
                 compressed: bool | None = None, sample_every: int = SAMPLE_EVERY) -> None:
        self.cfg = cfg
        self.validator = validator
        self.pipeline_id = pipeline_id
        self._pid = pipeline_id.encode()
        #: the size of the six sp.* headers without their per-record values (names, framing, sp.pipeline)
        self._header_base = (HEADER_OVERHEAD * 6 + sum(map(len, (EVENT_ID, SCHEMA, COLLECTOR_TSTAMP, SOURCE,
                                                                  PIPELINE, TRACE_ID))) + len(self._pid))
        self.limits = dict(declared_limits(cfg) if limits is None else limits)
        self.topics = dict(stream_topics(cfg) if topics is None else topics)
        self.compressed = is_compressed(cfg) if compressed is None else compressed
        self._raw_topic, self._bad_topic = self.topics[RAW], self.topics[BAD]
        self._raw_limit, self._bad_limit = self.limits.get(RAW, 1 << 62), self.limits.get(BAD, 1 << 62)
        self._key = compile_key(cfg.output.partition_key)
        self.streams = self._compile(cfg)
        self.enriched = self.streams[0]
        self.derived = self.streams[1:]
        self._schema_bytes: dict[str | None, bytes] = {None: b""}
        self.sample_every = max(1, sample_every)
        self._countdown = 1
        #: (stage, seconds) measurements of sampled records, drained by the runner
        self.timings: list[tuple[str, float]] = []
        #: with ``collect_freshness`` (a runner that exports metrics drains it): the collector_tstamp text of
        #: every decoded record, so the freshness histogram counts every record, not a sample
        self.collect_freshness = False
        self.freshness: list[str] = []
        #: events per deprecated schema URI since the runner last drained it (``sptk_deprecated_schema_events``)
        self.deprecated: Counter[str] = Counter()
        self._deprecation = _deprecations(cfg)
        self._refuse_past_sunset = cfg.iglu.past_sunset == "bad"
        self._deprecation_headers: dict[Deprecation, bytes] = {}
        self._warned_sunset: set[str] = set()
        #: the users' suppression state, when a stream needs it (rebuilt by the caller: ``ledger.load``)
        self.ledger = ConsentLedger(cfg.consent.max_users) if cfg.tracks_consent else None
        self._consent_topic = self.topics.get(CONSENT_STREAM, CONSENT_STREAM)
        self._reads_consent = any(s.consent for s in self.streams)
        #: ``sp.consent`` values by (basis, state): a few distinct ones cover nearly every event
        self._consent_flags: dict[tuple[str | None, ConsentState | None], bytes] = {}

    def _compile(self, cfg: PipelineConfig) -> list[_Stream]:
        for name in [cfg.output.enriched_profile, *(d.profile for d in cfg.derived if d.profile)]:
            profile(name)  # the config loader checked these; fail here too for hand-built configs
        policy = _policy(ENRICHED, cfg.privacy)
        key = compile_key(cfg.output.partition_key, policy.key_transforms() if policy else None,
                          policy.stripped if policy else frozenset())
        streams = [_Stream(ENRICHED, ENRICHED, self.topics[ENRICHED], cfg.output.enriched_profile, policy, None, None,
                           key, self.limits.get(ENRICHED, 1 << 62))]
        for d in cfg.derived:
            sid = derived_id(d)
            policy = _policy(d.name, cfg.privacy)
            accept = compile_filter(d.filter, f"derived[{d.name}].filter") if d.filter is not None else None
            projection = Projection(d.projection) if d.projection else None
            if projection and policy and policy.rules and projection.self_describing:
                raise RouteError(f"derived[{d.name}].projection: {', '.join(projection.self_describing)} would "
                                 f"copy the raw self-describing JSON past privacy.{d.name}.pseudonymise; project the "
                                 "shredded columns instead (contexts_<vendor>_<name>_<model>[]...)")
            key = compile_key(d.partition_key, policy.key_transforms() if policy else None,
                              policy.stripped if policy else frozenset())
            streams.append(_Stream(sid, f"{d.name}.v{d.version}", self.topics[sid],
                                   d.profile or cfg.output.enriched_profile, policy, accept, projection, key,
                                   self.limits.get(sid, 1 << 62)))
        return streams

    @classmethod
    def from_config(cls, cfg: PipelineConfig, *, validator: EventValidator | None = None,
                    limits: Mapping[str, int] | None = None, pipeline_id: str | None = None,
                    **kwargs: Any) -> Pipeline:
        """Build the resolver and validator ``[iglu]`` describes (unless given) and compile the config."""
        if validator is None:
            validator = EventValidator(SchemaValidator(build_resolver(cfg.iglu)), RetryPolicy.from_config(cfg.iglu))
        return cls(cfg, validator, pipeline_id=pipeline_id or config_pipeline_id(cfg), limits=limits, **kwargs)

    # -- helpers -----------------------------------------------------------------------------------------------

    def _size(self, value: bytes, key: bytes | None, headers: Headers) -> int:
        return message_size(value, key, headers, self.compressed)

    def _sized(self, value: bytes, key: bytes | None, header_bytes: int) -> int:
        """:func:`~toolkit.kafka.producing.message_size` with the headers' share computed once per record."""
        payload = len(value) + (len(key) if key else 0) + header_bytes
        size = BATCH_OVERHEAD + RECORD_OVERHEAD + payload
        return size + (payload // 128 + 64 if self.compressed else 0)

    def _headers(self, event: EnrichedEvent, source: bytes, trace: bytes) -> Headers:
        uri = event_schema_uri(event)
        schema = self._schema_bytes.get(uri)
        if schema is None:
            if len(self._schema_bytes) > 4096:
                self._schema_bytes = {None: b""}
            schema = self._schema_bytes[uri] = uri.encode()  # type: ignore[union-attr]
        ts = collector_tstamp_text(event)
        return [(EVENT_ID, event.event_id.encode()), (SCHEMA, schema),
                (COLLECTOR_TSTAMP, (ts.replace(" ", "T") + "Z").encode()), (SOURCE, source), (PIPELINE, self._pid),
                (TRACE_ID, trace)]

    def _bad(self, outputs: list[Output], row: BadRow, *, stage: str, error_class: str, reason: str,
             key: bytes | None, headers: Headers, event_id: str, line: str, quarantined: bool = False,
             violated: tuple[str, str] | None = None) -> Invalid:
        """Append the bad row (or, if it cannot fit its topic, a size_violation in its place)."""
        value = row.to_json()
        bad_headers = self._error_headers(headers, stage, error_class, reason, quarantined)
        size = self._size(value, key, bad_headers)
        if size > self._bad_limit:
            return self._too_large(outputs, line, size, self._bad_limit, f"the {row.type} bad row must fit topic "
                                   f"{self._bad_topic}", key=key, headers=headers, event_id=event_id)
        outputs.append(Output(BAD, self._bad_topic, key, value, bad_headers))
        return Invalid(outputs, event_id, row.type, stage, error_class, reason, quarantined, violated)

    def _error_headers(self, headers: Headers, stage: str, error_class: str, reason: str,
                       retryable: bool = False) -> Headers:
        h = dict(headers)
        base = MessageHeaders(h[SOURCE].decode("utf-8", "replace"), self.pipeline_id, h[TRACE_ID].decode(),
                              h[EVENT_ID].decode(), h[SCHEMA].decode(), h[COLLECTOR_TSTAMP].decode())
        return base.with_error(stage, error_class, reason, retryable).to_kafka()

    def _too_large(self, outputs: list[Output], line: str, actual: int, limit: int, expectation: str, *,
                   key: bytes | None, headers: Headers, event_id: str) -> Invalid:
        """A ``size_violation`` holding as much of the line as fits the bad topic."""
        reason = f"{expectation}: about {actual} bytes, limit {limit}"
        bad_headers = self._error_headers(headers, "size", MESSAGE_TOO_LARGE, reason)
        room = max(0, self._bad_limit - 2048)
        cut = line[:room]
        while True:
            row = size_violation(cut, actual, limit, expectation)
            value = row.to_json()
            if self._size(value, key, bad_headers) <= self._bad_limit or not cut:
                break
            cut = cut[: len(cut) // 2]
        outputs.append(Output(BAD, self._bad_topic, key, value, bad_headers))
        return Invalid(outputs, event_id, SIZE_VIOLATION, "size", MESSAGE_TOO_LARGE, reason)

    # -- the stages --------------------------------------------------------------------------------------------

    def process(self, raw: bytes, source: str, trace_id: str | None = None, size: int = -1,
                truncated: bool = False, *, emit_raw: bool = True) -> Outcome:
        """Every message one input line produces, and what became of it. Never raises on bad data.

        ``size``/``truncated`` come from the source: a line longer than the source's cap
        arrives cut, and can only become a ``size_violation``. ``emit_raw=False`` is for
        replays, whose raw copy was written when the record was first read.
        """
        self._countdown -= 1
        clock: Callable[[], float] | None = None
        if self._countdown <= 0:
            self._countdown = self.sample_every
            clock = time.perf_counter
        src = source.encode("utf-8", "backslashreplace")
        trace = (trace_id or f"{getrandbits(128):032x}").encode()
        outputs: list[Output] = []
        if truncated:
            headers = [(EVENT_ID, b""), (SCHEMA, b""), (COLLECTOR_TSTAMP, b""), (SOURCE, src), (PIPELINE, self._pid),
                       (TRACE_ID, trace)]
            return self._too_large(outputs, raw.decode("utf-8", "surrogateescape"), size, self._raw_limit,
                                   f"the record must fit topic {self._raw_topic}; the source cut it at {len(raw)} "
                                   "bytes", key=None, headers=headers, event_id="")
        started = clock() if clock else 0.0
        parsed = parse_line(raw)
        if type(parsed) is ParseFailure:
            headers = [(EVENT_ID, b""), (SCHEMA, b""), (COLLECTOR_TSTAMP, b""), (SOURCE, src), (PIPELINE, self._pid),
                       (TRACE_ID, trace)]
            if emit_raw:
                actual = self._size(raw, None, headers)
                if actual > self._raw_limit:
                    return self._too_large(outputs, parsed.line, actual, self._raw_limit,
                                           f"the record must fit topic {self._raw_topic}", key=None, headers=headers,
                                           event_id="")
                outputs.append(Output(RAW, self._raw_topic, None, raw, headers))
            return self._bad(outputs, parsed.bad_row(), stage="decode", error_class=parsed.kind,
                             reason=parsed.reason, key=None, headers=headers, event_id="", line=parsed.line)
        event: EnrichedEvent = parsed  # type: ignore[assignment]
        headers = self._headers(event, src, trace)
        header_bytes = (self._header_base + len(headers[0][1]) + len(headers[1][1]) + len(headers[2][1]) + len(src)
                        + len(trace))
        key = self._key(event)
        event_id = event.event_id
        if emit_raw:
            actual = self._sized(raw, key, header_bytes)
            if actual > self._raw_limit:
                return self._too_large(outputs, event.line, actual, self._raw_limit,
                                       f"the record must fit topic {self._raw_topic}", key=key, headers=headers,
                                       event_id=event_id)
            outputs.append(Output(RAW, self._raw_topic, key, raw, headers))
        if self.collect_freshness:
            self.freshness.append(collector_tstamp_text(event))
        if clock:
            decoded = clock()
            self.timings.append(("decode", decoded - started))
        verdict = self.validator.validate(event)
        if clock:
            validated = clock()
            self.timings.append(("validate", validated - decoded))
        if type(verdict) is SchemaViolations:
            row = schema_violations(event, verdict.messages)
            cls = REGISTRY_UNAVAILABLE if verdict.retryable else SCHEMA_VIOLATION
            violated = None if verdict.retryable else (event.text("app_id"), _first_schema(verdict))
            return self._bad(outputs, row, stage="validate", error_class=cls, reason=verdict.reason, key=key,
                             headers=headers, event_id=event_id, line=event.line, quarantined=verdict.retryable,
                             violated=violated)
        if self._deprecation is not None:
            uri = event_schema_uri(event)
            deprecation = self._deprecation(uri)
            if deprecation is not None:
                self.deprecated[uri] += 1  # type: ignore[index]
                if deprecation.past_sunset(collector_tstamp_text(event)) and self._past_sunset(uri, deprecation):
                    reason = _sunset_reason(uri, deprecation)  # type: ignore[arg-type]
                    return self._bad(outputs, generic_error(event.line, [reason]), stage="validate",
                                     error_class=SCHEMA_PAST_SUNSET, reason=reason, key=key, headers=headers,
                                     event_id=event_id, line=event.line)
                flag = self._deprecation_headers.get(deprecation)
                if flag is None:
                    flag = self._deprecation_headers[deprecation] = deprecation.header_value().encode()
                headers = [*headers, (SCHEMA_DEPRECATED, flag)]
                header_bytes += HEADER_OVERHEAD + len(SCHEMA_DEPRECATED) + len(flag)
        facts, state = NO_FACTS, None
        if self._reads_consent:
            facts = consent_facts(event)
            if self.ledger is not None:
                state = self._consent_state(event, facts, outputs, headers)
        kept = len(outputs)  # raw, and a suppression record: whatever becomes of the event, the user's choice holds
        try:
            outcome = self._route(event, outputs, key, headers, header_bytes, event_id, raw, facts, state)
        except ProfileError as exc:
            del outputs[kept:]
            outcome = self._bad(outputs, generic_error(event.line, [str(exc)]), stage="render",
                                error_class=PROFILE_ERROR, reason=str(exc), key=key, headers=headers,
                                event_id=event_id, line=event.line)
        if clock:
            self.timings.append(("route", clock() - validated))
        return outcome

    def _render(self, stream: _Stream, event: EnrichedEvent, plain: dict[str, bytes],
                objects: dict[str, dict[str, Any]]) -> bytes:
        name = stream.profile
        if not stream.changes and stream.projection is None:
            value = plain.get(name)
            if value is None:  # canonical JSON of a natively parsed line is ready-made bytes
                value = plain[name] = to_json(event, name)
            return value
        doc = objects.get(name)
        if doc is None:
            doc = objects[name] = profile_object(event, name)
        if stream.changes:
            doc = stream.policy.apply(doc, event)  # type: ignore[union-attr]
        if stream.projection is not None:
            doc = stream.projection.apply(doc, event)
        return orjson.dumps(doc)

    def _consent_state(self, event: EnrichedEvent, facts: ConsentFacts, outputs: list[Output],
                       headers: Headers) -> ConsentState | None:
        """The user's state after this event; a consent event that changes it appends its suppression record.

        The state changes here, before the next record is processed, so a withdrawal applies to the
        user's next event in this run whatever its delivery; the record makes it outlive the run.
        """
        ledger = self.ledger
        assert ledger is not None
        states = ledger.states
        if facts.change is None and not states:
            return None
        user = user_key(event)
        state = states.get(user) if user is not None else None
        if facts.change is None:
            return state
        after = transition(state, facts)
        if after is not state and user is not None:
            value = ledger.record(user, after, event, facts)
            outputs.append(Output(CONSENT_STREAM, self._consent_topic, user.encode("utf-8", "surrogateescape"), value,
                                  headers))
        return after

    def _route(self, event: EnrichedEvent, outputs: list[Output], key: bytes, headers: Headers, header_bytes: int,
               event_id: str, raw: bytes, facts: ConsentFacts = NO_FACTS,
               state: ConsentState | None = None) -> Outcome:
        plain: dict[str, bytes] = {}
        objects: dict[str, dict[str, Any]] = {}
        first = len(outputs)
        consent_headers = headers
        consent_bytes = 0
        if self._reads_consent:
            flag = self._consent_flags.get((facts.basis, state))
            if flag is None:
                if len(self._consent_flags) > 4096:
                    self._consent_flags.clear()
                flag = self._consent_flags[(facts.basis, state)] = consent_header(facts, state).encode()
            consent_headers = [*headers, (CONSENT, flag)]
            consent_bytes = HEADER_OVERHEAD + len(CONSENT) + len(flag)
        enriched = self.enriched
        rule = None
        if enriched.policy is not None:
            rule = enriched.policy.refusal(event, facts, state)
        if rule is None:
            value = self._render(enriched, event, plain, objects)
            outputs.append(Output(ENRICHED, enriched.topic, enriched.key(event) if enriched.policy else key, value,
                                  consent_headers if enriched.consent else headers))
        derived: list[str] = []
        filtered: list[tuple[str, str]] = []
        for d in self.derived:
            if d.accept is not None and not d.accept(event):
                filtered.append((d.label, "filter"))
                continue
            refused = d.policy.refusal(event, facts, state) if d.policy is not None else None
            if refused is not None:
                filtered.append((d.label, refused))
                continue
            outputs.append(Output(d.name, d.topic, d.key(event), self._render(d, event, plain, objects),
                                  consent_headers if d.consent else headers))
            derived.append(d.label)
        limits = self.limits
        for i in range(first, len(outputs)):
            out = outputs[i]
            limit = limits.get(out.stream, 1 << 62)
            actual = self._sized(out.value, out.key, header_bytes + (consent_bytes if out.headers is consent_headers
                                                                     else 0))
            if actual > limit:
                del outputs[first:]
                return self._too_large(outputs, event.line, actual, limit,
                                       f"the {out.stream} message must fit topic {out.topic}", key=key,
                                       headers=headers, event_id=event_id)
        if rule is not None:
            return Filtered(outputs, event_id, rule, tuple(derived), tuple(filtered), raw)
        return Routed(outputs, event_id, tuple(derived), tuple(filtered), raw)

    def diverted(self, out: Output, line: bytes | None, reason: str) -> Output:
        """The bad row that takes the place of a derived message whose stream is diverted (or failed for good).

        A ``generic_error`` holding the input line, whose first error names the stream
        (``StreamUnavailable: derived.<name>.v<N>``), with ``sp.error.retryable: true`` and
        ``sp.error.stream``: ``replay-bad`` processes the line again and writes that stream only.
        """
        text = (line or b"").decode("utf-8", "surrogateescape")
        outputs: list[Output] = []
        self._bad(outputs, generic_error(line or b"", [f"{STREAM_UNAVAILABLE}: {out.stream}", reason]),
                  stage="deliver", error_class=STREAM_UNAVAILABLE, reason=f"{out.stream}: {reason}", key=out.key,
                  headers=out.headers, event_id="", line=text, quarantined=True)
        bad = outputs[-1]
        return bad._replace(headers=[*bad.headers, (ERROR_STREAM, out.stream.encode())])

    # -- collector input ---------------------------------------------------------------------------------------

    def collected(self, line: bytes | None, bad: BadRow | None, payload: bytes | None, source: str,
                  trace_id: str | None = None) -> Outcome:
        """One event a collector request gave: its enriched ``line``, or the ``bad`` row the adapter made instead.

        The raw stream holds what was received, so the request's payload (``payload``, given with
        the request's first event only) is the raw copy rather than the adapter's TSV line, and a
        request is one raw message however many events it carries. A bad row from the adapter is
        the record's outcome as it is (stage ``adapt``, error class its type).
        """
        if bad is None:
            assert line is not None
            outcome = self.process(line, source, trace_id, emit_raw=False)
            if payload is not None:
                first = outcome.outputs[0] if outcome.outputs else None
                headers = first.headers if first is not None else self._bare_headers(source, trace_id)
                outcome.outputs.insert(0, Output(RAW, self._raw_topic, first.key if first else None, payload,
                                                 headers))
            return outcome
        headers = self._bare_headers(source, trace_id)
        outputs: list[Output] = []
        if payload is not None:
            outputs.append(Output(RAW, self._raw_topic, None, payload, headers))
        return self._bad(outputs, bad, stage="adapt", error_class=bad.type, reason=_bad_row_reason(bad), key=None,
                         headers=headers, event_id="", line=(payload or b"").decode("utf-8", "replace"))

    def _bare_headers(self, source: str, trace_id: str | None) -> Headers:
        """The ``sp.*`` headers of a record that is no event (yet): source, pipeline and trace only."""
        trace = (trace_id or f"{getrandbits(128):032x}").encode()
        return [(EVENT_ID, b""), (SCHEMA, b""), (COLLECTOR_TSTAMP, b""),
                (SOURCE, source.encode("utf-8", "backslashreplace")), (PIPELINE, self._pid), (TRACE_ID, trace)]

    def _past_sunset(self, uri: str | None, deprecation: Deprecation) -> bool:
        """True when such events go to bad; with ``past_sunset = "warn"``, one warning per schema and False."""
        if self._refuse_past_sunset:
            return True
        if uri not in self._warned_sunset:
            self._warned_sunset.add(uri)  # type: ignore[arg-type]
            log.warning("%s; events on it still pass because iglu.past_sunset is \"warn\" (set it to \"bad\" to "
                        "send them to the bad stream)", _sunset_reason(uri, deprecation),  # type: ignore[arg-type]
                        extra={"schema": uri, "stage": "validate"})
        return False

    # -- replays -----------------------------------------------------------------------------------------------

    def replay(self, bad: bytes, source: str, trace_id: str | None = None, *, include_all: bool = False) -> Outcome:
        """Run a bad row's original line through the pipeline again (without a raw copy), or say why not.

        Only quarantined rows (the registry could not answer) unless ``include_all``.
        """
        try:
            row = orjson.loads(bad)
        except orjson.JSONDecodeError as exc:
            return Skipped(f"not JSON: {exc}")
        if not isinstance(row, dict):
            return Skipped("not a bad row: expected a JSON object")
        try:
            line = replay_line(row, include_all)
        except NotReplayable as exc:
            return Skipped(str(exc))
        stream = diverted_stream(row)
        if stream is not None and stream not in self.topics:
            return Skipped(f"diverted from {stream}, which this config does not declare")
        outcome = self.process(line, source, trace_id, emit_raw=False)
        if stream is None or outcome.kind in ("bad", "skipped"):
            return outcome
        outputs = [o for o in outcome.outputs if o.stream == stream]  # that stream alone: the others have it
        if not outputs:
            return Skipped(f"diverted from {stream}, which no longer takes this event (its filter or privacy rules)")
        return Restored(outputs, outcome.event_id, stream, line)


def _bad_row_reason(row: BadRow) -> str:
    """A one-line reason for a bad row made before the pipeline (its failure's first message)."""
    messages = row.failure.get("messages") or row.failure.get("errors") or [row.failure]
    first = messages[0] if isinstance(messages, list) and messages else messages
    text = first if isinstance(first, str) else orjson.dumps(first).decode()
    return f"{row.type}: {text}"[:500]

def _deprecations(cfg: PipelineConfig) -> DeprecationLookup | None:
    if cfg.iglu.governance is None:
        return None
    try:
        return DeprecationLookup(load_governance(cfg.iglu.governance))
    except GovernanceError as exc:
        raise ConfigError(f"iglu.governance: {exc}") from None


def _sunset_reason(uri: str, deprecation: Deprecation) -> str:
    instead = f"; send {deprecation.replacement.uri} instead" if deprecation.replacement else ""
    return (f"schema {uri} was deprecated on {deprecation.deprecated.isoformat()} and the event was collected past "
            f"its sunset {deprecation.sunset_text}{instead}")


def _first_schema(verdict: SchemaViolations) -> str:
    """The schema the first failure names (a wrapper or an entity); the event may break several."""
    first = verdict.messages[0] if verdict.messages else {}
    return str(first.get("schemaKey", "")) if isinstance(first, dict) else ""
