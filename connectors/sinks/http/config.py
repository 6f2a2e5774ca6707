"""The HTTP sink's config file (``sptk sink http --config sink.toml``): one sink, one endpoint, one consumer group.

It is read by the same loader as a pipeline config (:func:`toolkit.config.loading.load_settings`), so the
tables are strict and closed, problems are reported at their dotted key path, and credentials never sit
in the file: a secret header names its value with ``value_env`` or ``value_file``. Every key can be
overridden by ``SPTK_SINK_<TABLE>__<KEY>`` for a sidecar, e.g. ``SPTK_SINK_HTTP__URL``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer, PlainValidator, Strict, WithJsonSchema, field_validator
from pydantic_settings import SettingsConfigDict

from toolkit.config.field_paths import FIELD_PATH_SCHEMA, AnyIndex, FieldPath, PathKind, parse_field_path
from toolkit.config.models import KafkaConfig, SidecarConfig
from toolkit.config.secrets import SecretValue
from toolkit.config.section import Section
from toolkit.config.sources import ENV_SEPARATOR, FileSettings
from toolkit.config.validation import invalid
from toolkit.config.values import Doc

#: overrides of a sink's config: ``SPTK_SINK_HTTP__URL``, ``SPTK_SINK_RETRY__MAX_ATTEMPTS``
SINK_ENV_PREFIX = "SPTK_SINK_"
_NAME_PATTERN = r"^[a-z][a-z0-9_-]*$"


def _json_path(value: Any) -> FieldPath:
    """A path into the canonical enriched JSON: an atomic field or a shredded key, with ``.key``/``[n]`` steps.

    Parsed by the pipeline's own field-path parser (so a misspelt field gets a "did you mean"); the raw
    ``contexts``/``unstruct_event`` roots and ``[]`` are refused because the canonical JSON has neither.
    """
    if isinstance(value, FieldPath):
        return value
    try:
        path = parse_field_path(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    if path.kind is PathKind.SELF_DESCRIBING:
        raise invalid(f"{path.root!r} is not a key of the canonical JSON; name the shredded key instead, e.g. "
                      "contexts_com_acme_product_1[0].sku or unstruct_event_com_acme_click_1.target_url")
    if any(isinstance(step, AnyIndex) for step in path.steps):
        raise invalid(f"{path.text!r}: a mapping takes one value, so name an element with [n] rather than []")
    return path


JsonPath = Annotated[FieldPath, PlainValidator(_json_path, json_schema_input_type=str),
                     PlainSerializer(lambda p: p.text), WithJsonSchema(FIELD_PATH_SCHEMA), Doc(type="field path")]


class SinkSection(Section):
    """What the sink reads and where undeliverable records go."""

    name: Annotated[str, Field(pattern=_NAME_PATTERN)] = Field(description=(
        "the sink's name: part of the consumer group, the dead-letter topic and the metrics' `sink` label"))
    topics: Annotated[tuple[str, ...], Strict(False), Field(min_length=1)] = Field(description=(
        "the enriched or derived topics to read (canonical JSON messages), e.g. `[\"prod.acme.snowplow.enriched\"]`"))
    group_id: str | None = Field(None, description="consumer group; default `sptk-sink-http-<name>`")
    dead_letter_topic: str | None = Field(None, description=(
        "where records go once their retry budget is spent; default `<kafka.topic_prefix>.dlq.http.<name>`"))
    drain_timeout_s: float = Field(30.0, ge=0.0, description=(
        "on SIGTERM/SIGINT: time to finish (or give up) the batch in flight before exiting; what was not "
        "delivered is not committed"))
    poll_timeout_s: float = Field(0.5, gt=0.0, description="how long one read from Kafka waits for messages")


class SecretHeader(Section):
    """A request header whose value is a credential, `[[http.secret_headers]]`."""

    name: str = Field(description="the header, e.g. `Authorization`")
    prefix: str = Field("", description="text before the value, e.g. `Bearer ` or `Basic `")
    value: SecretValue = Field(description="the credential (one of `value_env`/`value_file` is required)")


class HttpSection(Section):
    """The endpoint."""

    url: str = Field(description="where each batch is sent (`http://` or `https://`)")
    method: Literal["POST", "PUT"] = Field("POST", description="the request method")
    timeout_s: float = Field(10.0, gt=0.0, description=(
        "seconds to connect and to wait for the answer; a request that takes longer counts as failed and is retried"))
    headers: Annotated[dict[str, str], Doc(type="table", default="empty")] = Field({}, description=(
        "headers sent with every request (not credentials: use `secret_headers`)"))
    secret_headers: Annotated[tuple[SecretHeader, ...], Strict(False), Doc(type="list of tables",
                                                                            default="empty")] = Field((), description=(
        "headers whose value comes from the environment or a file, `[[http.secret_headers]]`"))
    idempotency_header: str = Field("Idempotency-Key", description=(
        "header that carries the event's idempotency key when a batch holds one event (empty: none)"))
    verify_tls: bool = Field(True, description="check the server's certificate")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise invalid(f"expected an http:// or https:// URL, got {url!r}")
        return url


class BatchSection(Section):
    """When a batch is sent: whichever limit is reached first."""

    max_events: int = Field(100, ge=1, description="events per request")
    max_bytes: int = Field(512 * 1024, ge=1, description=(
        "body bytes per request (an event larger than this is sent alone)"))
    linger_s: float = Field(1.0, ge=0.0, description="how long the first event of a batch waits for more")


class SegmentMapping(Section):
    """`[template.segment]`: each item of `{"batch": [...]}`, its values taken from the canonical JSON by field path."""

    type: str = Field("track", description="the items' `type`")
    event: JsonPath = Field(_json_path("event_name"), description="field whose value is the item's `event`")
    user_id: JsonPath | None = Field(_json_path("user_id"), description="`userId` (left out when the event has none)")
    anonymous_id: JsonPath | None = Field(_json_path("domain_userid"), description="`anonymousId`")
    timestamp: JsonPath = Field(_json_path("derived_tstamp"), description="`timestamp`")
    properties: Annotated[dict[str, JsonPath], Doc(type="table of field paths", default="empty")] = Field(
        {}, description="`properties`: name = field path; a path with no value leaves its property out")


class TemplateSection(Section):
    """The request body."""

    kind: Literal["ndjson", "json_array", "segment"] = Field("ndjson", description=(
        "`ndjson`: one canonical JSON event per line (`application/x-ndjson`); `json_array`: a JSON array of "
        "events; `segment`: `{\"batch\": [...]}` per `[template.segment]`"))
    segment: SegmentMapping = Field(SegmentMapping(), description="the Segment-style mapping")
    idempotency_key: Annotated[tuple[JsonPath, ...], Strict(False), Field(min_length=1)] = Field(
        (_json_path("event_id"), _json_path("event_fingerprint")), description=(
            "fields joined by `:` into each event's idempotency key (the field `_idempotency_key` of a JSON "
            "event, `messageId` of a Segment item)"))


class RetrySection(Section):
    """The retry budget of one batch: retried on 408, 429, 5xx, timeouts and refused connections."""

    max_attempts: int = Field(8, ge=1, description="attempts per batch, the first included")
    max_elapsed_s: float = Field(300.0, gt=0.0, description=(
        "seconds from the first attempt after which no further attempt starts"))
    initial_backoff_s: float = Field(0.5, gt=0.0, description="the first backoff's ceiling (full jitter below it)")
    max_backoff_s: float = Field(30.0, gt=0.0, description="the largest backoff ceiling")
    max_retry_after_s: float = Field(300.0, ge=0.0, description=(
        "the longest `Retry-After` honoured; a longer one spends the budget (the batch goes to the dead-letter "
        "topic)"))


class RateLimitSection(Section):
    """A token bucket over requests, retries included."""

    requests_per_s: float = Field(0.0, ge=0.0, description="requests per second (0: no limit)")
    burst: int = Field(1, ge=1, description="requests that may go at once after a quiet spell")


class HttpSinkConfig(FileSettings):
    """The configuration of one HTTP/CDP sink."""

    model_config = SettingsConfigDict(env_prefix=SINK_ENV_PREFIX, env_nested_delimiter=ENV_SEPARATOR,
                                      case_sensitive=True, strict=True, extra="forbid", frozen=True,
                                      title="sptk HTTP sink configuration")

    kafka: KafkaConfig = Field(description="the cluster; `topic_prefix` names the default dead-letter topic")
    sink: SinkSection = Field(description="what is read, the group, the dead-letter topic, the drain")
    http: HttpSection = Field(description="the endpoint, its headers and credentials")
    batch: BatchSection = Field(BatchSection(), description="batching by count, bytes and linger")
    template: TemplateSection = Field(TemplateSection(), description="the request body and the idempotency key")
    retry: RetrySection = Field(RetrySection(), description="backoff and the retry budget")
    rate_limit: RateLimitSection = Field(RateLimitSection(), description="requests per second")
    sidecar: SidecarConfig = Field(SidecarConfig(), description="`/healthz`, `/readyz`, `/metrics`; logging")

    @property
    def group_id(self) -> str:
        return self.sink.group_id or f"sptk-sink-http-{self.sink.name}"

    @property
    def dead_letter_topic(self) -> str:
        return self.sink.dead_letter_topic or f"{self.kafka.topic_prefix}.dlq.http.{self.sink.name}"
