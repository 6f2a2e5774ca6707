"""The sections of a pipeline config and :class:`PipelineConfig`, the whole of one deployment's file.

One file per deployment (TOML or YAML) describes a whole pipeline. It is validated
here and only here, so every other module receives typed, frozen models and never
re-checks a raw dict. The models are strict (``"5"`` is not a number, ``1`` is not
``true``) and closed (``extra="forbid"``) on purpose: a misspelt key in a pipeline that
fans out production data is a silent outage. A check that spans sections runs in the
validator of the later key, so it is reported together with every other problem of the file.

The key reference in docs/pipeline.md is generated from these models
(``python -m toolkit.config.reference``) and ``sptk config schema`` prints their JSON Schema.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict

from iglu_registry.http_server import ServerLimits
from iglu_registry.schema_key import SchemaCriterion
from toolkit.config.consent import Bases, ConsentConfig, Names
from toolkit.config.errors import ConfigError, suggest
from toolkit.config.field_paths import FieldPaths, PartitionKey, default_partition_key
from toolkit.config.filters import Filter
from toolkit.config.inputs import (
    SourceConfig,
)
from toolkit.config.librdkafka import ClientSettings, LibrdkafkaProperties
from toolkit.config.secrets import SecretValue
from toolkit.config.section import Section
from toolkit.config.sources import ENV_PREFIX, ENV_SEPARATOR, FileSettings
from toolkit.config.validation import fail, invalid, problem_at
from toolkit.config.values import ConfigPath, Criterion, Doc, OutputTarget, Target

_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
_PROFILE_PATTERN = r"^[a-z][a-z0-9_-]*$"


def _known_profile(name: str | None) -> str | None:
    from toolkit.contract.profiles import PROFILES

    if name is not None and name not in PROFILES:
        profiles = list(PROFILES)
        raise invalid(f"unknown JSON profile {name!r}; {suggest(name, profiles)}choose one of: {', '.join(profiles)}")
    return name


_TOPIC_PREFIX_RE = re.compile(r"^[a-zA-Z0-9_\-]+(\.[a-zA-Z0-9_\-]+)*$")
_MAX_TOPIC_NAME = 249


def _topic_prefix(prefix: str) -> str:
    if not _TOPIC_PREFIX_RE.match(prefix):
        raise invalid(f"{prefix!r} is not a valid topic prefix: use letters, digits, '_', '-' and single dots "
                      "between parts, e.g. \"prod.acme.snowplow\"")
    return prefix


class KafkaConfig(Section):
    """The cluster and its clients. Needed when `output.target` is `kafka` or `source.kind` is `kafka`."""

    bootstrap_servers: str = Field(description="comma-separated `host:port` list")
    topic_prefix: Annotated[str, AfterValidator(_topic_prefix)] = Field(description=(
        "prefix of every topic; carries environment and tenant, e.g. `prod.acme.snowplow`. Letters, digits, "
        "`_`, `-`, single dots between parts"))
    client_id: str = Field("sptk", description="librdkafka `client.id`, visible in broker logs and quotas")
    common: LibrdkafkaProperties = Field(default_factory=ClientSettings, description=(
        "librdkafka properties for every client (producer, consumer, admin): security, SASL, TLS; see "
        "[librdkafka properties](#librdkafka-properties)"))
    producer: LibrdkafkaProperties = Field(default_factory=ClientSettings, description=(
        "librdkafka producer properties: compression, batching, queue sizes"))
    consumer: LibrdkafkaProperties = Field(default_factory=ClientSettings, description=(
        "librdkafka consumer properties: fetch sizes, session timeouts"))

    def producer_settings(self) -> dict[str, str | int | float | bool]:
        """``[kafka.common]`` then ``[kafka.producer]``, secrets revealed, plus ``client.id``."""
        return {"client.id": self.client_id, **self.common.resolved(), **self.producer.resolved()}

    def consumer_settings(self) -> dict[str, str | int | float | bool]:
        return {"client.id": self.client_id, **self.common.resolved(), **self.consumer.resolved()}

    def admin_settings(self) -> dict[str, str | int | float | bool]:
        return {"client.id": self.client_id, **self.common.resolved()}


CleanupPolicy = Literal["delete", "compact", "compact,delete"]
_INHERITED = Doc(default="inherited")


class TopicSettings(Section):
    """Declared settings of one topic; a key left out inherits from `[topics.defaults]`."""

    partitions: Annotated[int | None, Field(ge=1), _INHERITED] = Field(None, description=(
        "partition count; can only grow"))
    replication: Annotated[int | None, Field(ge=1), _INHERITED] = Field(None, description=(
        "replication factor; never changed by the toolkit"))
    retention_ms: Annotated[int | None, Field(ge=-1), _INHERITED] = Field(None, description=(
        "Kafka `retention.ms`; `-1` keeps forever"))
    cleanup_policy: Annotated[CleanupPolicy | None, _INHERITED] = Field(None, description="Kafka `cleanup.policy`")
    max_message_bytes: Annotated[int | None, Field(ge=1024), _INHERITED] = Field(None, description=(
        "Kafka `max.message.bytes`; the producer refuses larger records *before* sending, so the pipeline can"
        " turn them into `size_violation` bad rows"))
    min_insync_replicas: Annotated[int | None, Field(ge=1), _INHERITED] = Field(None, description=(
        "Kafka `min.insync.replicas` (none: the broker's); with `acks=all` this is how many replicas must "
        "have a write"))

    def overlay(self, other: TopicSettings) -> TopicSettings:
        """These settings with every value ``other`` sets replacing ours."""
        return self.model_copy(update={k: v for k, v in other if v is not None})


#: What a topic gets when neither ``[topics.defaults]`` nor its own table says otherwise.
BUILTIN_TOPIC_DEFAULTS = TopicSettings(
    partitions=3,
    replication=3,
    retention_ms=7 * 24 * 3600 * 1000,
    cleanup_policy="delete",
    max_message_bytes=1048588,
    min_insync_replicas=None,
)


#: what ``<prefix>.consent`` is whatever ``[topics.defaults]`` says: compacted (the latest record per user is the
#: user's state) and never deleted by age (a withdrawal holds until it is lifted)
CONSENT_TOPIC_DEFAULTS = TopicSettings(cleanup_policy="compact", retention_ms=-1)


_PRINCIPAL_PATTERN = r"^[A-Za-z][A-Za-z0-9]*:[^\s]+$"
_GROUP_PATTERN = r"^[A-Za-z0-9._\-]+\*?$"


class TopicAcl(Section):
    """What one principal may do with this pipeline's topics, `[[topics.acls]]`; applied by `sptk topics apply`
    (see [Topic ACLs](#topic-acls))."""

    principal: Annotated[str, Field(pattern=_PRINCIPAL_PATTERN)] = Field(description=(
        "the Kafka principal, e.g. `User:reader` (SASL user name) or `User:CN=app,O=acme` (TLS)"))
    host: str = Field("*", description="the client host the grant is limited to; `*` is any host")
    read: Annotated[tuple[str, ...], Strict(False), Doc(type="list of streams", default="empty")] = Field(
        (), description="streams it may consume: `raw`, `enriched`, `bad`, `derived.<name>.v<N>`")
    write: Annotated[tuple[str, ...], Strict(False), Doc(type="list of streams", default="empty")] = Field(
        (), description="streams it may produce to (the pipeline's own principal writes all of them)")
    groups: Annotated[tuple[Annotated[str, Field(pattern=_GROUP_PATTERN)], ...], Strict(False),
                      Doc(type="list of group ids", default="empty")] = Field((), description=(
        "consumer groups it may use (READ on the group); a trailing `*` grants every group with that prefix"))


class TopicsConfig(Section):
    """Declared topic settings, applied by `sptk topics apply` and checked at pipeline start (see [Topics](#topics)).
    Each stream's table inherits from `[topics.defaults]`, which inherits from the built-in defaults."""

    allow_drift: bool = Field(False, description=(
        "start even when a topic's settings differ from the declaration (the drift is logged)"))
    defaults: Annotated[TopicSettings, Doc(default="built in", values=BUILTIN_TOPIC_DEFAULTS)] = Field(
        TopicSettings(), description="settings every topic inherits; a key left out has the built-in default")
    raw: TopicSettings = Field(TopicSettings(), description="`<prefix>.raw`, every input line byte for byte")
    enriched: TopicSettings = Field(TopicSettings(), description="`<prefix>.enriched`, validated events as JSON")
    bad: TopicSettings = Field(TopicSettings(), description="`<prefix>.bad`, Snowplow bad rows")
    consent: Annotated[TopicSettings, Doc(default="compacted, kept forever", values=CONSENT_TOPIC_DEFAULTS)] = Field(
        TopicSettings(), description=(
            "`<prefix>.consent`, one suppression record per user keyed by user, declared when a stream honours "
            "withdrawals or requires consent scopes; `cleanup_policy` must stay `compact` (see "
            "[Consent](privacy.md#consent))"))
    acls: Annotated[tuple[TopicAcl, ...], Strict(False), Doc(type="list of tables", default="empty (ACLs are not "
                                                                                    "managed)")] = Field(
        (), description=("who may read and write each stream, `[[topics.acls]]`; with at least one entry, `sptk "
                         "topics plan|apply` manage the ACL bindings of this pipeline's topics and of the groups named "
                         "(see [Topic ACLs](#topic-acls))"))

    @field_validator("consent")
    @classmethod
    def _consent_stays_compacted(cls, consent: TopicSettings) -> TopicSettings:
        if consent.cleanup_policy not in (None, "compact"):
            raise invalid(f"cleanup_policy {consent.cleanup_policy!r} would delete suppression records by age, and "
                          "with them users' withdrawals; the consent topic is compacted: remove the key or set it to "
                          "\"compact\"")
        return consent

    def resolve(self, own: TopicSettings) -> TopicSettings:
        """Built-in defaults, then ``[topics.defaults]``, then the stream's own table."""
        return BUILTIN_TOPIC_DEFAULTS.overlay(self.defaults).overlay(own)

    def resolve_consent(self) -> TopicSettings:
        """As :meth:`resolve`, with the consent topic's compaction and unlimited retention over the defaults."""
        return BUILTIN_TOPIC_DEFAULTS.overlay(self.defaults).overlay(CONSENT_TOPIC_DEFAULTS).overlay(self.consent)


class IgluApiKey(Section):
    """An API key for a private registry."""

    repository: str = Field(description="the repository's `name` in the resolver config")
    key: SecretValue = Field(description="the key (one of `key_env`/`key_file` is required)")


class IgluConfig(Section):
    """Schema resolution."""

    resolver_config: ConfigPath = Field(
        description="Iglu resolver configuration, as Snowplow keeps it: JSON or HOCON (see docs/iglu.md)")
    cache_size: int = Field(1000, ge=0, description="schemas kept in memory")
    cache_ttl_s: int = Field(600, ge=0, description=(
        "seconds a cached schema (or a cached \"not found\") is trusted; the validator's leases on compiled "
        "schemas end with it, so a schema edited in a registry applies after at most this long (ADR 0004)"))
    api_keys: Annotated[tuple[IgluApiKey, ...], Strict(False)] = Field((), description=(
        "API keys for private registries, `[[iglu.api_keys]]`"))
    unavailable_retries: int = Field(2, ge=0, description=(
        "when a registry cannot answer (timeout, 5xx, refused API key) and the schema is not cached: how many"
        " more times the event's validation is tried, with doubling pauses, before it is quarantined (see "
        "[Registry outages](#registry-outages))"))
    unavailable_backoff_s: float = Field(0.5, ge=0.0, description=(
        "the first pause between those tries; it doubles each time"))
    unavailable_hold_s: float = Field(10.0, ge=0.0, description=(
        "once a schema's registry stayed unreachable through the retries, the schema is held until the registry "
        "answers: events needing it are quarantined at once, without asking the registry, for this long; then the "
        "next one asks once (no pauses): an answer releases the schema, no answer holds it again without a new "
        "warning"))
    governance: ConfigPath | None = Field(None, description=(
        "the schema repository's governance file (YAML: owners and deprecations, see docs/governance.md); with "
        "it, events whose schema is deprecated carry the `sp.schema.deprecated` header and are counted in "
        "`sptk_deprecated_schema_events_total`"))
    past_sunset: Literal["warn", "bad"] = Field("warn", description=(
        "an event on a deprecated schema collected after the schema's sunset date: `warn` lets it through (one "
        "warning per schema), `bad` sends it to the bad stream as a `generic_error` with the reason"))


ProfileName = Annotated[str, Field(pattern=_PROFILE_PATTERN), AfterValidator(_known_profile)]


class OutputConfig(Section):
    """Where results go."""

    target: Target = Field(OutputTarget("kafka"), description=(
        "`files:DIR` writes one file per stream under DIR instead of producing (dry runs, replays, tests; see"
        " [Outputs](#outputs-messages-keys-headers-files))"))
    enriched_profile: ProfileName = Field("canonical", description=(
        "JSON profile of `<prefix>.enriched`: one of the profiles in `toolkit.contract.profiles` (`canonical`, "
        "`python-sdk`, `scala-sdk`, `go-sdk`, `go-sdk-geo`), checked when the config loads"))
    partition_key: PartitionKey = Field(default_factory=default_partition_key, description=(
        "message key of raw, enriched and bad messages: the first non-empty field wins, so one user's events "
        "stay in one partition, in order"))


class DerivedStream(Section):
    """Each entry declares a stream `<prefix>.derived.<name>.v<version>` for one consumer team. Two major versions
    of one stream may run side by side during a migration."""

    name: Annotated[str, Field(pattern=_NAME_PATTERN)] = Field(description=(
        "`snake_case` name (lower case letters, digits, `_`); part of the topic name and of env overrides"))
    version: int = Field(ge=1, description=(
        "the major version: a breaking change to filter or projection gets a new version and a new topic"))
    owner: str = Field(min_length=1, description="the team that owns the stream and its consumers")
    description: str = Field("", description="what the stream is for")
    filter: Filter | None = Field(None, description="which events go to the stream; see [Filters](#filters)")
    projection: Annotated[FieldPaths, Doc(default="empty (all fields)")] = Field((), description=(
        "the fields to keep; see [Projections](#projections)"))
    partition_key: PartitionKey = Field(default_factory=default_partition_key, description=(
        "message key: the first non-empty path wins; see [Partition keys](#partition-keys)"))
    profile: Annotated[ProfileName | None, Doc(default="`output.enriched_profile`")] = Field(
        None, description="JSON profile of the stream")
    topic: TopicSettings = Field(TopicSettings(), description="topic settings, inheriting from `[topics.defaults]`")
    failure_budget: Annotated[int | None, Field(ge=1), Doc(default="`delivery.derived_failure_budget`")] = Field(
        None, description="failed deliveries within `delivery.derived_failure_window_s` before this stream is "
        "diverted to the bad stream; see [Failure budgets](#failure-budgets-of-derived-streams)")

    @property
    def stream_id(self) -> str:
        """``name.vN``: unique among derived streams (two majors may run side by side)."""
        return f"{self.name}.v{self.version}"


CONSENT_DOCUMENT = "iglu:com.snowplowanalytics.snowplow/consent_document/jsonschema/1-*-*"


class PrivacyConfig(Section):
    """Rules for the `enriched` stream or a derived stream (by name, applying to all its versions). The raw stream
    carries input lines byte for byte and takes no privacy rules."""

    require_consent: bool = Field(False, description=(
        "only events carrying an entity (custom context, derived context or the unstructured event) whose "
        "schema matches `consent_schema` reach the stream; the others are counted as filtered with the rule "
        "`privacy.<stream>.require_consent`"))
    consent_schema: Criterion = Field(SchemaCriterion.parse(CONSENT_DOCUMENT), description="what counts as consent")
    consent_basis: Bases = Field((), description=(
        "the lawful bases the stream accepts: only events carrying Snowplow's `gdpr` context with one of these "
        "`basisForProcessing` values (`consent`, `contract`, `legal_obligation`, `vital_interests`, `public_task`, "
        "`legitimate_interests`) reach it (rule `privacy.<stream>.consent_basis`)"))
    consent_scopes: Names = Field((), description=(
        "consent-preferences scopes the stream needs (`analytics`): a user whose last `consent_preferences` "
        "allowed other scopes only, or who withdrew all consent, is kept out (rule `privacy.<stream>.consent_scopes`)"
        "; a user with no recorded choice passes"))
    honour_withdrawals: bool = Field(False, description=(
        "drop the events of users whose suppression covers this stream: a `consent_withdrawn` with `all: true`, "
        "or one naming a document of `consent_documents`, until a `consent_granted` lifts it (rule "
        "`privacy.<stream>.honour_withdrawals`; see [Consent](privacy.md#consent))"))
    consent_documents: Names = Field((), description=(
        "ids of the consent documents (`consent_document` entity `id`) the stream's processing rests on; a "
        "withdrawal naming one of them covers the stream"))
    pseudonymise: FieldPaths = Field((), description=(
        "fields replaced by the hex HMAC-SHA256 of their value, so joins still work but values cannot be "
        "reversed without the key: atomic fields (`user_id`) and values inside entities by their column "
        "(`contexts_com_acme_user_1[].email`, `unstruct_event_com_acme_signup_1.email`); see "
        "[Privacy](#privacy)"))
    pseudonymisation_key: SecretValue | None = Field(None, description="the HMAC key (required with `pseudonymise`)")
    strip_ip: bool = Field(False, description="remove `user_ipaddress`")

    @model_validator(mode="after")
    def _key_for_pseudonyms(self) -> PrivacyConfig:
        if self.pseudonymise and self.pseudonymisation_key is None:
            fail([problem_at(("pseudonymisation_key",), "pseudonymise lists fields but no key is configured: set "
                             "pseudonymisation_key_env or pseudonymisation_key_file (HMAC-SHA256 needs a secret key)")])
        return self

    @model_validator(mode="after")
    def _documents_need_withdrawals(self) -> PrivacyConfig:
        if self.consent_documents and not self.honour_withdrawals:
            fail([problem_at(("consent_documents",), "consent_documents names the documents whose withdrawal covers "
                             "this stream, but honour_withdrawals is false: set honour_withdrawals = true, or remove "
                             "consent_documents")])
        return self


class DeliveryConfig(Section):
    """Delivery guarantees and backpressure."""

    drain_timeout_s: float = Field(30.0, ge=0.0, description=(
        "on SIGTERM/SIGINT: time to stop reading, flush and commit before exiting"))
    max_in_flight: int = Field(10_000, ge=1, description=(
        "source records read and not yet fully confirmed; reading pauses at this bound"))
    commit_interval_s: float = Field(1.0, ge=0.0, description=(
        "how often confirmed positions are committed (Kafka offsets, checkpoint file)"))
    enqueue_timeout_s: float = Field(60.0, ge=0.0, description=(
        "how long a produce call waits for room in the producer queue before failing"))
    max_delivery_attempts: int = Field(5, ge=1, description=(
        "attempts per message (each after librdkafka's own retries) before the pipeline stops without "
        "committing"))
    derived_failure_budget: int = Field(10, ge=1, description=(
        "failed deliveries of one derived stream (each after librdkafka's own retries) within "
        "`derived_failure_window_s` before the stream is diverted: its records go to the bad stream as retryable "
        "bad rows and everything else keeps moving; `[[derived]] failure_budget` overrides it per stream. raw, "
        "enriched and bad have no budget: their failures stop the run"))
    derived_failure_window_s: float = Field(60.0, gt=0.0, description=(
        "the window of `derived_failure_budget`, in seconds"))
    derived_probe_interval_s: float = Field(30.0, gt=0.0, description=(
        "how often a diverted derived stream lets one record through to its topic; a confirmed delivery restores "
        "the stream"))
    transactional: bool = Field(False, description=(
        "exactly-once for Kafka → Kafka: outputs and source offsets commit in one transaction"))
    transactional_id: str | None = Field(None, description=(
        "required with `transactional`: stable across restarts of one instance, unique across instances"))

    @model_validator(mode="after")
    def _transactions(self) -> DeliveryConfig:
        if self.transactional and not self.transactional_id:
            fail([problem_at(("transactional_id",), "delivery.transactional = true needs a transactional_id that is "
                             "stable across restarts of this instance (and unique among instances)")])
        if not self.transactional and self.transactional_id:
            fail([problem_at(("transactional_id",), "transactional_id is set but delivery.transactional is false; "
                             "remove it or enable transactions")])
        return self


class SidecarConfig(Section):
    """The HTTP server and logging of a long-running pipeline."""

    host: str = Field("127.0.0.1", description="listen address; `0.0.0.0` in a pod so the kubelet can probe it")
    port: int = Field(8080, ge=0, le=65535, description="port of `/healthz`, `/readyz`, `/metrics` and the HTTP source")
    log_format: Literal["json", "text"] = Field("json", description=(
        "structured JSON lines or human-readable text on stderr"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="the least severe level logged")
    request_timeout_s: float = Field(ServerLimits.request_timeout_s, ge=0.001, description=(
        "seconds a client has to send one whole request (head and body), and may stay idle between keep-alive "
        "requests; slower clients are disconnected (`408` if their body was late). Also bounds each write of an "
        "answer"))
    max_connections: int = Field(ServerLimits.max_connections, ge=1, description=(
        "connections served at once, one thread each; further connections wait in the listen backlog (1,024 deep) "
        "until one finishes. Requests of the HTTP source hold theirs until their records are acknowledged, so keep "
        "it above the number of concurrent senders"))

    @property
    def limits(self) -> ServerLimits:
        return ServerLimits(request_timeout_s=self.request_timeout_s, max_connections=self.max_connections)


#: A share of records or of time that must be good: above 0 and below 1 (1 would leave no error budget).
Share = Annotated[float, Field(gt=0.0, lt=1.0)]


class StreamObjectives(Section):
    """Objectives of one stream or sink, `[slo.streams.<stream>]`; a key left out takes the `[slo]` default."""

    freshness_threshold_s: Annotated[float | None, Field(gt=0.0), _INHERITED] = Field(None, description=(
        "age (now - `collector_tstamp`) a record may have when it is written"))
    freshness_target: Annotated[Share | None, _INHERITED] = Field(None, description=(
        "share of records written within `freshness_threshold_s`"))
    delivery_target: Annotated[Share | None, _INHERITED] = Field(None, description=(
        "share of messages confirmed by the broker on their first delivery report"))


class SloConfig(Section):
    """Service-level objectives, from which `sptk monitor rules` writes the Prometheus alert rules
    and `sptk monitor dashboard` the Grafana dashboard.

    The defaults are objectives a team can adopt unchanged (docs/operations.md says why each);
    a stream or a sink that needs others names them in `[slo.streams.<stream>]`, keyed by the
    `stream` label of its metrics (`enriched`, `raw`, `bad`, `derived.<name>.v<N>`). Changing an
    objective changes the alerts, not the pipeline, so it leaves the config hash alone.
    """

    freshness_threshold_s: float = Field(300.0, gt=0.0, description=(
        "age (now - `collector_tstamp`) a record may have when it is written; a bucket bound of "
        "`sptk_freshness_seconds`"))
    freshness_target: Share = Field(0.95, description=(
        "share of records written within `freshness_threshold_s` (0.95: the p95 age stays within it)"))
    delivery_target: Share = Field(0.999, description=(
        "share of messages confirmed by the broker on their first delivery report"))
    invalid_rate_max: float = Field(0.01, gt=0.0, lt=1.0, description=(
        "share of records that may turn into bad rows (the invalid-rate budget), overall and per app and schema"))
    availability_target: Share = Field(0.999, description=(
        "share of scrapes at which the sidecar answers `/metrics` (Prometheus' `up`)"))
    window_days: int = Field(28, ge=1, description="the SLO window over which each error budget is spent")
    selector: str = Field('job="sptk"', description=(
        "PromQL label matchers that select this deployment's series in every rule (`job=\"sptk\",env=\"prod\"`)"))
    streams: Annotated[dict[str, StreamObjectives], Doc(type="table of tables", default="empty")] = Field(
        {}, description="objectives of one stream or sink, `[slo.streams.<stream>]`")

    def for_stream(self, stream: str) -> SloConfig:
        """The objectives that hold for ``stream``: its own where it names them, the defaults elsewhere."""
        own = self.streams.get(stream)
        if own is None:
            return self
        return self.model_copy(update={k: v for k, v in own.model_dump().items() if v is not None})


class PipelineConfig(FileSettings):
    """The configuration of one deployment of the fan-out pipeline.

    Keys are declared in the order their checks need: a cross-section check runs in the
    validator of the later key and sees the earlier sections that validated
    (``info.data``), so it is reported together with every other problem of the file.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_SEPARATOR, case_sensitive=True,
                                      strict=True, extra="forbid", frozen=True,
                                      title="sptk pipeline configuration")

    source: SourceConfig = Field(description="where records come from")
    iglu: IgluConfig = Field(description="schema resolution")
    output: OutputConfig = Field(OutputConfig(), description="where results go")
    kafka: Annotated[KafkaConfig | None, Field(validate_default=True)] = Field(None, description=(
        "the cluster and client settings"))
    topics: TopicsConfig = Field(TopicsConfig(), description="topic declarations")
    derived: Annotated[tuple[DerivedStream, ...], Doc(type="list of tables", default="empty")] = Field(
        (), strict=False, description="derived streams, `[[derived]]`")
    privacy: Annotated[dict[str, PrivacyConfig], Doc(type="table of tables", default="empty")] = Field(
        {}, description="rules per stream, `[privacy.<stream>]`")
    consent: ConsentConfig = Field(ConsentConfig(), description=(
        "the users' suppression state, for streams that honour withdrawals or require consent scopes"))
    delivery: DeliveryConfig = Field(DeliveryConfig(), description="delivery guarantees and backpressure")
    sidecar: SidecarConfig = Field(SidecarConfig(), description=(
        "the HTTP server and logging of a long-running pipeline"))
    slo: SloConfig = Field(SloConfig(), description=(
        "service-level objectives for `sptk monitor rules` and `sptk monitor dashboard`; see docs/operations.md"))

    @field_validator("kafka")
    @classmethod
    def _kafka_when_used(cls, kafka: KafkaConfig | None, info: ValidationInfo) -> KafkaConfig | None:
        output, source = info.data.get("output"), info.data.get("source")
        uses = [why for why, used in (("output.target is kafka", output and output.target.kind == "kafka"),
                                      ("source.kind is kafka", source and source.kind == "kafka")) if used]
        if kafka is None and uses and output is not None and source is not None:
            raise invalid(f"missing [kafka] section ({uses[0]}); it needs at least bootstrap_servers and topic_prefix")
        return kafka

    @field_validator("derived")
    @classmethod
    def _streams_are_distinct(cls, derived: tuple[DerivedStream, ...],
                              info: ValidationInfo) -> tuple[DerivedStream, ...]:
        problems = []
        seen: set[str] = set()
        kafka = info.data.get("kafka")
        for i, d in enumerate(derived):
            if d.stream_id in seen:
                problems.append(problem_at((i, "version"), f"derived stream {d.name!r} version {d.version} is "
                                                           "declared twice"))
            seen.add(d.stream_id)
            topic = f"{kafka.topic_prefix}.derived.{d.name}.v{d.version}" if kafka else ""
            if len(topic) > _MAX_TOPIC_NAME:
                problems.append(problem_at((i, "name"), f"topic name {topic!r} is {len(topic)} characters; Kafka "
                                                        f"allows {_MAX_TOPIC_NAME}"))
        if problems:
            fail(problems)
        return derived

    @field_validator("privacy")
    @classmethod
    def _privacy_streams_exist(cls, privacy: dict[str, PrivacyConfig],
                               info: ValidationInfo) -> dict[str, PrivacyConfig]:
        problems = []
        derived = info.data.get("derived")
        names = {d.name for d in derived or ()}
        for stream in privacy:
            if stream == "raw":
                problems.append(problem_at((stream,), "the raw stream carries input lines byte for byte and cannot be "
                                           "pseudonymised or filtered; apply privacy rules to enriched or derived "
                                           "streams"))
            elif derived is not None and stream != "enriched" and stream not in names:
                options = ["enriched", *sorted(names)]
                problems.append(problem_at((stream,), f"unknown stream {stream!r}; {suggest(stream, options)}privacy "
                                                      f"applies to: {', '.join(options)}"))
        if problems:
            fail(problems)
        return privacy

    @field_validator("delivery")
    @classmethod
    def _transactions_need_kafka(cls, delivery: DeliveryConfig, info: ValidationInfo) -> DeliveryConfig:
        source, output = info.data.get("source"), info.data.get("output")
        if delivery.transactional and source is not None and output is not None and \
                (source.kind != "kafka" or output.target.kind != "kafka"):
            fail([problem_at(("transactional",), "transactions give exactly-once only from a Kafka source to Kafka "
                             f"output; this pipeline reads {source.kind!r} and writes {output.target}")])
        return delivery

    @model_validator(mode="after")
    def _acl_streams_exist(self) -> PipelineConfig:
        streams = ["raw", "enriched", "bad", *(f"derived.{d.stream_id}" for d in self.derived),
                   *(["consent"] if self.tracks_consent else [])]
        problems = [problem_at(("topics", "acls", i, op), f"unknown stream {name!r}; {suggest(name, streams)}the "
                                                          f"streams are: {', '.join(streams)}")
                    for i, acl in enumerate(self.topics.acls) for op in ("read", "write")
                    for name in getattr(acl, op) if name not in streams]
        if problems:
            fail(problems)
        return self

    @property
    def tracks_consent(self) -> bool:
        """Whether a stream needs the users' suppression state (and so ``<prefix>.consent`` exists)."""
        return any(p.honour_withdrawals or p.consent_scopes for p in self.privacy.values())

    def require_kafka(self) -> KafkaConfig:
        """``[kafka]``, which validation guarantees whenever Kafka is used."""
        if self.kafka is None:
            raise ConfigError("this pipeline has no [kafka] section, but a Kafka client was asked for", path="kafka")
        return self.kafka

    def derived_stream(self, stream_id: str) -> DerivedStream:
        for d in self.derived:
            if d.stream_id == stream_id:
                return d
        raise KeyError(f"no derived stream {stream_id!r}; configured: {[d.stream_id for d in self.derived]}")
