"""``[source]``: where a pipeline reads: files, a directory, stdin, a Kafka topic, HTTP batches, a collector.

The pipeline's other sections are in :mod:`toolkit.config.models`; these are apart because
each kind of input brings its own table and its own checks.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    Strict,
    field_validator,
    model_validator,
)

from toolkit.config.section import Section
from toolkit.config.validation import fail, problem_at
from toolkit.config.values import ConfigPath, Doc

ProgressMode = Literal["auto", "always", "never"]


class FileSourceConfig(Section):
    """`kind = "file"`: named files."""

    paths: Annotated[tuple[ConfigPath, ...], Doc(type="list of paths")] = Field(
        strict=False, min_length=1, description=(
            "enriched TSV files, plain or gzip (detected by content, not name), read in the order given"))
    checkpoint: Annotated[ConfigPath | None, Doc(default="automatic with Kafka output, none with files output")] = \
        Field(None, description=(
            "JSON file of acknowledged positions, kept like a directory's: a rerun skips what was delivered and "
            "resumes the rest. Without it, Kafka output keeps an automatic one that only resumes an interrupted "
            "run (see [Sources](#sources))"))
    progress: ProgressMode = Field("auto", description=(
        "progress on stderr in input bytes, as `source.dir.progress`: `auto` a bar only when stderr is a terminal "
        "(so `sptk pipeline run --input FILE` at a terminal shows one); `always` also a line every "
        "`SPTK_PROGRESS_INTERVAL_S` seconds otherwise"))


class DirSourceConfig(Section):
    """`kind = "dir"`: a directory of archived enriched files (the legacy layout)."""

    path: ConfigPath = Field(description=(
        "the root; files are found recursively and processed in name order (relative path, byte order); names"
        " starting with `.` or `_` (such as `_SUCCESS`) are skipped"))
    checkpoint: ConfigPath | None = Field(None, description=(
        "JSON file of acknowledged positions; with it a run resumes where the last one stopped. Without it "
        "every run starts from the beginning"))
    pattern: Annotated[str, Doc(type="glob")] = Field("*", description="only file names matching this glob are read")
    progress: ProgressMode = Field("auto", description=(
        "progress on stderr: `auto` draws a bar only when stderr is a terminal (stderr is otherwise the run's "
        "log); `always` also writes a line every `SPTK_PROGRESS_INTERVAL_S` seconds (default 10) when it is not "
        "(what, how far, how fast)"))


class KafkaSourceConfig(Section):
    """`kind = "kafka"`: a topic of enriched TSV."""

    topics: Annotated[tuple[str, ...], Strict(False), Field(min_length=1)] = Field(description="topics to subscribe to")
    group_id: str = Field(description=(
        "consumer group; offsets are committed for this group only after delivery is confirmed"))
    auto_offset_reset: Literal["earliest", "latest"] = Field("earliest", description=(
        "where a group without committed offsets starts"))


class HttpSourceConfig(Section):
    """`kind = "http"`: the sidecar endpoint (served on the sidecar's host and port)."""

    path: str = Field("/v1/enriched", description="the POST endpoint; the body is newline-separated TSV")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1, description=(
        "larger bodies get `413`, and so do gzip bodies that decompress to more (all members together)"))
    max_pending_records: int = Field(50_000, ge=1, description=(
        "records accepted and not yet acknowledged; a batch that would exceed it with what is already waiting gets "
        "`503` (overloaded, retry); a batch larger than it gets `413` (it could never fit)"))
    ack_timeout_s: float = Field(30.0, ge=0.001, description=(
        "how long a request waits for its records to be durably produced before answering `503`"))


class CollectorCookieConfig(Section):
    """The network user id cookie the collector sets (Snowplow's `sp`), `[source.collector.cookie]`."""

    enabled: bool = Field(True, description=(
        "set the cookie and record its value as `network_userid`; off, events carry no `network_userid` unless the "
        "tracker sends one"))
    name: str = Field("sp", pattern=r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$", description="the cookie's name")
    domains: Annotated[tuple[str, ...], Strict(False)] = Field((), description=(
        "domains the cookie may be set for: the first one the request's `Origin` host ends with (or equals) is the "
        "cookie's `Domain`, so one collector serves several sites"))
    fallback_domain: str | None = Field(None, description=(
        "the `Domain` when no entry of `domains` matches the request; without it the cookie has no `Domain` "
        "attribute (it belongs to the collector's own host)"))
    max_age_s: int = Field(365 * 24 * 3600, ge=1, description="the cookie's lifetime (`Max-Age`), renewed by every "
                           "request")
    secure: bool = Field(True, description=(
        "`SameSite=None; Secure`, what browsers require of a third-party cookie; off only for plain-HTTP tests "
        "(`SameSite=Lax` then)"))
    http_only: bool = Field(True, description="`HttpOnly`: page scripts cannot read the cookie")


class CollectorSourceConfig(Section):
    """`kind = "collector"`: the tracker-protocol endpoints (`GET /i`, `POST /com.snowplowanalytics.snowplow/tp2`,
    any `/<vendor>/<version>`), served on the sidecar's host and port; see docs/collector.md."""

    max_body_bytes: int = Field(1024 * 1024, ge=1, description=(
        "larger bodies get `413`, and so do gzip bodies that decompress to more"))
    max_pending_requests: int = Field(10_000, ge=1, description=(
        "requests accepted and not yet durably produced; past it a request gets `503` (retry), which trackers do"))
    ack_timeout_s: float = Field(30.0, ge=0.001, description=(
        "how long a request waits for its events to be durably produced before answering `503`"))
    trusted_proxies: Annotated[tuple[str, ...], Strict(False), Doc(type="list of addresses or CIDR blocks")] = \
        Field((), description=(
            "peers whose `X-Forwarded-For` is believed (a load balancer in front): the client address is the "
            "right-most one in it that is not itself a trusted proxy. Any other peer's header is ignored and its "
            "own address recorded"))
    opt_out_header: str = Field("SP-Anonymous", description=(
        "a request carrying this header (any value) gets no cookie, and its events no `network_userid` and no "
        "IP address"))
    cookie: CollectorCookieConfig = Field(default_factory=CollectorCookieConfig)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR block (10.0.0.0/8, ::1)") from None
        return value


SourceKind = Literal["file", "stdin", "dir", "kafka", "http", "collector"]


class SourceConfig(Section):
    """Where records come from: exactly one source, whose options live in the sub-table named like its kind.
    A sub-table of another kind is an error."""

    kind: SourceKind = Field(description="the source")
    file: FileSourceConfig | None = None
    dir: DirSourceConfig | None = None
    kafka: KafkaSourceConfig | None = None
    http: HttpSourceConfig | None = None
    collector: CollectorSourceConfig | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SourceConfig:
        problems = [problem_at((kind,), f"[source.{kind}] is set but source.kind is {self.kind!r}; remove it or set "
                                        f"kind = {kind!r}") for kind in ("file", "dir", "kafka", "http", "collector")
                    if getattr(self, kind) is not None and self.kind != kind]
        if self.kind in ("file", "dir", "kafka") and getattr(self, self.kind) is None:
            problems.append(problem_at((self.kind,), f"source.kind is {self.kind!r}, which needs a "
                                                     f"[source.{self.kind}] table"))
        if problems:
            fail(problems)
        return self
