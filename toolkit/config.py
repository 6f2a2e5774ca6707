"""The pipeline configuration: typed model, strict loading, environment overrides, secrets and hash.

One file per deployment (TOML or YAML) describes a whole pipeline. Parsing happens
here and only here, so every other module receives typed, already-validated
dataclasses and never re-checks a raw dict. The loader is strict on purpose: a
misspelt key in a pipeline that fans out production data is a silent outage, so
unknown keys are rejected with their dotted path and a "did you mean", and wrong
types name the expected type.

Sidecars are configured by the platform rather than by editing files, so every
value can be overridden by an environment variable: ``SPTK_`` followed by the
dotted path in upper case with ``__`` between levels, e.g.
``SPTK_KAFKA__BOOTSTRAP_SERVERS`` or ``SPTK_DERIVED__CLICKS__OWNER`` (derived
streams are addressed by name). Secrets never live in the file: keys ending in
``_env``/``_file`` name where the value comes from, and the value is held in a
:class:`Secret` whose repr, str and the config hash never contain it.

Filters of derived streams are parsed into data (:class:`Compare`,
:class:`SchemaMatch`, :class:`AllOf`, :class:`AnyOf`, :class:`Not`); evaluating
them is the router's job. docs/pipeline.md is the reference for every key.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import hmac
import json
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from iglu_registry.http_server import ServerLimits
from iglu_registry.schema_key import InvalidSchemaKey, SchemaCriterion
from toolkit.fields import BY_NAME, FIELD_NAMES, FieldKind

ENV_PREFIX = "SPTK_"
ENV_SEPARATOR = "__"

#: Partition key when a stream names none: one user's events stay in one partition, in order.
DEFAULT_PARTITION_KEY: tuple[str, ...] = ("domain_userid", "network_userid", "event_id")

#: librdkafka properties whose values are credentials: refused inline in a config file.
SECRET_PROPERTIES = frozenset({
    "sasl.password",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.config",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.keystore.password",
    "ssl_key",
})

#: librdkafka properties the toolkit sets itself, with the reason a passthrough may not change them.
MANAGED_PROPERTIES: dict[str, str] = {
    "bootstrap.servers": "set kafka.bootstrap_servers instead",
    "metadata.broker.list": "set kafka.bootstrap_servers instead",
    "client.id": "set kafka.client_id instead",
    "group.id": "set source.kafka.group_id instead",
    "transactional.id": "set delivery.transactional_id (with delivery.transactional = true) instead",
    "enable.idempotence": "the at-least-once guarantee needs the idempotent producer; it is always on",
    "acks": "the at-least-once guarantee needs acks=all; it is always all",
    "request.required.acks": "the at-least-once guarantee needs acks=all; it is always all",
    "enable.auto.commit": "offsets are committed only after delivery is confirmed; auto commit is always off",
    "enable.auto.offset.store": "offsets are stored only after delivery is confirmed; auto store is always off",
}


# --------------------------------------------------------------------------------------------
# Errors and secrets
# --------------------------------------------------------------------------------------------


class ConfigError(ValueError):
    """A configuration problem, always naming the file (or variable) and the dotted key path."""

    def __init__(self, message: str, *, path: str = "", origin: str = "") -> None:
        self.path = path
        self.origin = origin
        self.reason = message
        where = ": ".join(p for p in (origin, path) if p)
        super().__init__(f"{where}: {message}" if where else message)


class Secret:
    """A credential read from the environment or a file; it never shows itself.

    ``repr``/``str`` print only where the value came from, pickling is refused, and
    the config hash uses the reference, so a secret cannot leak through logs,
    error messages, reports or the ``sp.pipeline`` header by accident.
    """

    __slots__ = ("_value", "reference")

    def __init__(self, value: str, reference: str) -> None:
        self._value = value
        self.reference = reference

    def reveal(self) -> str:
        """The value itself: call this only where it is handed to a client library."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.reference}, value hidden)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self.reference == other.reference and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self.reference)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled: pass its reference, not its value")


# --------------------------------------------------------------------------------------------
# Filter language (data only: the router evaluates it)
# --------------------------------------------------------------------------------------------


class PathKind(Enum):
    """Where a field path starts."""

    ATOMIC = "atomic"  # one of the 131 enriched fields, e.g. domain_userid
    SELF_DESCRIBING = "self_describing"  # contexts / derived_contexts / unstruct_event as raw JSON
    SHREDDED_CONTEXT = "shredded_context"  # contexts_com_acme_product_1: entities of one schema, any source
    SHREDDED_UNSTRUCT = "shredded_unstruct"  # unstruct_event_com_acme_click_1: the event's data object


@dataclass(frozen=True, slots=True)
class AnyIndex:
    """``[]``: any element of an array (the condition holds if it holds for one)."""

    def __str__(self) -> str:
        return "[]"


@dataclass(frozen=True, slots=True)
class Index:
    """``[n]``: the n-th element (0-based) of an array."""

    index: int

    def __str__(self) -> str:
        return f"[{self.index}]"


@dataclass(frozen=True, slots=True)
class Key:
    """``.name``: a key of a JSON object."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


Step = Key | Index | AnyIndex

_PATH_ROOT_RE = re.compile(r"^[a-z][a-z0-9_]*")
_PATH_STEP_RE = re.compile(r"\.([A-Za-z0-9_$@\-]+)|\[(\d*)\]")
_SHREDDED_RE = re.compile(r"^(contexts|unstruct_event)_([a-z0-9_]+)_([1-9][0-9]*)$")


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A path into an enriched event, e.g. ``contexts_com_acme_product_1[].sku``.

    ``shredded_name`` is the ``vendor_name`` part of a shredded root (``com_acme_product``)
    and ``model`` its schema model; the router compares them with each entity's
    schema key the way Snowplow's analytics SDKs name shredded columns.
    """

    text: str
    kind: PathKind
    root: str
    steps: tuple[Step, ...] = ()
    shredded_name: str | None = None
    model: int | None = None

    def __str__(self) -> str:
        return self.text


class CompareOp(Enum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    EXISTS = "exists"
    REGEX = "regex"
    GT = "gt"
    LT = "lt"


Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Compare:
    """An atomic comparison: ``{ field = PATH, op = OP, value = V }``.

    ``value`` is a scalar for eq/ne/gt/lt, a tuple for ``in``, the pattern text for
    ``regex`` (compiled once into ``pattern``) and ``None`` for ``exists``.
    """

    path: FieldPath
    op: CompareOp
    value: Scalar | tuple[Scalar, ...] | None = None
    pattern: re.Pattern[str] | None = field(default=None, compare=False)


SchemaScope = Literal["event", "contexts", "any"]


@dataclass(frozen=True, slots=True)
class SchemaMatch:
    """``{ schema = "iglu:com.acme/click/jsonschema/1-*-*", scope = "event" }``.

    ``event`` matches the event's own schema (its unstruct event), ``contexts`` any
    attached or derived context, ``any`` either.
    """

    criterion: SchemaCriterion
    scope: SchemaScope = "event"


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition


Condition = Compare | SchemaMatch | AllOf | AnyOf | Not


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------

SettingValue = str | int | float | bool | Secret


@dataclass(frozen=True)
class ClientSettings:
    """librdkafka properties passed through as they are (``"linger.ms" = 20``).

    Secret properties come as ``"sasl.password_env" = "VAR"`` or
    ``"sasl.password_file" = "/path"`` and are stored under their real name as a
    :class:`Secret`.
    """

    values: Mapping[str, SettingValue] = field(default_factory=lambda: types.MappingProxyType({}))

    def resolved(self) -> dict[str, str | int | float | bool]:
        """The properties with secrets revealed, ready for a client constructor."""
        return {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in self.values.items()}


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap_servers: str
    topic_prefix: str
    client_id: str = "sptk"
    common: ClientSettings = field(default_factory=ClientSettings, metadata={"parse": "client_settings"})
    producer: ClientSettings = field(default_factory=ClientSettings, metadata={"parse": "client_settings"})
    consumer: ClientSettings = field(default_factory=ClientSettings, metadata={"parse": "client_settings"})

    def producer_settings(self) -> dict[str, str | int | float | bool]:
        """``[kafka.common]`` then ``[kafka.producer]``, secrets revealed, plus ``client.id``."""
        return {"client.id": self.client_id, **self.common.resolved(), **self.producer.resolved()}

    def consumer_settings(self) -> dict[str, str | int | float | bool]:
        return {"client.id": self.client_id, **self.common.resolved(), **self.consumer.resolved()}

    def admin_settings(self) -> dict[str, str | int | float | bool]:
        return {"client.id": self.client_id, **self.common.resolved()}


CleanupPolicy = Literal["delete", "compact", "compact,delete"]


@dataclass(frozen=True)
class TopicSettings:
    """Declared settings of one topic; ``None`` inherits from ``[topics.defaults]``."""

    partitions: int | None = field(default=None, metadata={"min": 1})
    replication: int | None = field(default=None, metadata={"min": 1})
    retention_ms: int | None = field(default=None, metadata={"min": -1})
    cleanup_policy: CleanupPolicy | None = None
    max_message_bytes: int | None = field(default=None, metadata={"min": 1024})
    min_insync_replicas: int | None = field(default=None, metadata={"min": 1})

    def overlay(self, other: TopicSettings) -> TopicSettings:
        """These settings with every value ``other`` sets replacing ours."""
        return dataclasses.replace(
            self, **{f.name: getattr(other, f.name) for f in dataclasses.fields(other)
                     if getattr(other, f.name) is not None})


#: What a topic gets when neither ``[topics.defaults]`` nor its own table says otherwise.
BUILTIN_TOPIC_DEFAULTS = TopicSettings(
    partitions=3,
    replication=3,
    retention_ms=7 * 24 * 3600 * 1000,
    cleanup_policy="delete",
    max_message_bytes=1048588,
    min_insync_replicas=None,
)


@dataclass(frozen=True)
class TopicsConfig:
    allow_drift: bool = False
    defaults: TopicSettings = field(default_factory=TopicSettings)
    raw: TopicSettings = field(default_factory=TopicSettings)
    enriched: TopicSettings = field(default_factory=TopicSettings)
    bad: TopicSettings = field(default_factory=TopicSettings)

    def resolve(self, own: TopicSettings) -> TopicSettings:
        """Built-in defaults, then ``[topics.defaults]``, then the stream's own table."""
        return BUILTIN_TOPIC_DEFAULTS.overlay(self.defaults).overlay(own)


@dataclass(frozen=True)
class FileSourceConfig:
    paths: tuple[Path, ...] = field(metadata={"nonempty": True})


ProgressMode = Literal["auto", "always", "never"]


@dataclass(frozen=True)
class DirSourceConfig:
    path: Path
    checkpoint: Path | None = None
    pattern: str = "*"
    progress: ProgressMode = "auto"


@dataclass(frozen=True)
class KafkaSourceConfig:
    topics: tuple[str, ...] = field(metadata={"nonempty": True})
    group_id: str
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"


@dataclass(frozen=True)
class HttpSourceConfig:
    path: str = "/v1/enriched"
    max_body_bytes: int = field(default=10 * 1024 * 1024, metadata={"min": 1})
    max_pending_records: int = field(default=50_000, metadata={"min": 1})
    ack_timeout_s: float = field(default=30.0, metadata={"min": 0.001})


SourceKind = Literal["file", "stdin", "dir", "kafka", "http"]


@dataclass(frozen=True)
class SourceConfig:
    kind: SourceKind
    file: FileSourceConfig | None = None
    dir: DirSourceConfig | None = None
    kafka: KafkaSourceConfig | None = None
    http: HttpSourceConfig | None = None


@dataclass(frozen=True)
class IgluApiKey:
    repository: str
    key: Secret = field(metadata={"secret": True})


@dataclass(frozen=True)
class IgluConfig:
    resolver_config: Path
    cache_size: int = field(default=1000, metadata={"min": 0})
    cache_ttl_s: int = field(default=600, metadata={"min": 0})
    api_keys: tuple[IgluApiKey, ...] = ()
    #: a registry that cannot answer: retries (with doubling pauses) before the event is quarantined
    unavailable_retries: int = field(default=2, metadata={"min": 0})
    unavailable_backoff_s: float = field(default=0.5, metadata={"min": 0.0})
    #: after the retries failed, events needing that schema are quarantined at once for this long
    unavailable_hold_s: float = field(default=10.0, metadata={"min": 0.0})


@dataclass(frozen=True)
class OutputTarget:
    """``kafka`` or ``files:DIR`` (one file per stream under DIR, for dry runs and replays)."""

    kind: Literal["kafka", "files"]
    directory: Path | None = None

    def __str__(self) -> str:
        return "kafka" if self.kind == "kafka" else f"files:{self.directory}"


@dataclass(frozen=True)
class OutputConfig:
    target: OutputTarget = field(default_factory=lambda: OutputTarget("kafka"), metadata={"parse": "output_target"})
    enriched_profile: str = field(default="canonical", metadata={"pattern": r"^[a-z][a-z0-9_-]*$"})
    partition_key: tuple[FieldPath, ...] = field(
        default=tuple(), metadata={"parse": "partition_key"})

    def __post_init__(self) -> None:
        if not self.partition_key:
            object.__setattr__(self, "partition_key", _default_partition_key())


@dataclass(frozen=True)
class DerivedStream:
    name: str = field(metadata={"pattern": r"^[a-z][a-z0-9_]*$"})
    version: int = field(metadata={"min": 1})
    owner: str = field(metadata={"nonempty": True})
    description: str = ""
    filter: Condition | None = field(default=None, metadata={"parse": "filter"})
    projection: tuple[FieldPath, ...] = field(default=(), metadata={"parse": "paths"})
    partition_key: tuple[FieldPath, ...] = field(default=(), metadata={"parse": "partition_key"})
    profile: str | None = field(default=None, metadata={"pattern": r"^[a-z][a-z0-9_-]*$"})
    topic: TopicSettings = field(default_factory=TopicSettings)

    def __post_init__(self) -> None:
        if not self.partition_key:
            object.__setattr__(self, "partition_key", _default_partition_key())

    @property
    def stream_id(self) -> str:
        """``name.vN``: unique among derived streams (two majors may run side by side)."""
        return f"{self.name}.v{self.version}"


CONSENT_DOCUMENT = "iglu:com.snowplowanalytics.snowplow/consent_document/jsonschema/1-*-*"


@dataclass(frozen=True)
class PrivacyConfig:
    require_consent: bool = False
    consent_schema: SchemaCriterion = field(default_factory=lambda: SchemaCriterion.parse(CONSENT_DOCUMENT),
                                            metadata={"parse": "criterion"})
    pseudonymise: tuple[FieldPath, ...] = field(default=(), metadata={"parse": "paths"})
    pseudonymisation_key: Secret | None = field(default=None, metadata={"secret": True})
    strip_ip: bool = False


@dataclass(frozen=True)
class DeliveryConfig:
    drain_timeout_s: float = field(default=30.0, metadata={"min": 0.0})
    max_in_flight: int = field(default=10_000, metadata={"min": 1})
    commit_interval_s: float = field(default=1.0, metadata={"min": 0.0})
    enqueue_timeout_s: float = field(default=60.0, metadata={"min": 0.0})
    max_delivery_attempts: int = field(default=5, metadata={"min": 1})
    transactional: bool = False
    transactional_id: str | None = None


@dataclass(frozen=True)
class SidecarConfig:
    host: str = "127.0.0.1"
    port: int = field(default=8080, metadata={"min": 0, "max": 65535})
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: seconds a client has to send one whole request (and may stay idle between keep-alive requests)
    request_timeout_s: float = field(default=ServerLimits.request_timeout_s, metadata={"min": 0.001})
    #: connections served at once, one thread each; more wait in the listen backlog
    max_connections: int = field(default=ServerLimits.max_connections, metadata={"min": 1})

    @property
    def limits(self) -> ServerLimits:
        return ServerLimits(request_timeout_s=self.request_timeout_s, max_connections=self.max_connections)


@dataclass(frozen=True)
class PipelineConfig:
    source: SourceConfig
    iglu: IgluConfig
    kafka: KafkaConfig | None = None
    topics: TopicsConfig = field(default_factory=TopicsConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    derived: tuple[DerivedStream, ...] = ()
    privacy: Mapping[str, PrivacyConfig] = field(default_factory=dict, metadata={"parse": "privacy"})
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    sidecar: SidecarConfig = field(default_factory=SidecarConfig)

    def require_kafka(self) -> KafkaConfig:
        """``[kafka]``, which cross-validation guarantees whenever Kafka is used."""
        if self.kafka is None:
            raise ConfigError("this pipeline has no [kafka] section, but a Kafka client was asked for", path="kafka")
        return self.kafka

    def derived_stream(self, stream_id: str) -> DerivedStream:
        for d in self.derived:
            if d.stream_id == stream_id:
                return d
        raise KeyError(f"no derived stream {stream_id!r}; configured: {[d.stream_id for d in self.derived]}")


def _default_partition_key() -> tuple[FieldPath, ...]:
    return tuple(parse_field_path(name) for name in DEFAULT_PARTITION_KEY)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


class _EnvStr(str):
    """A value that came from an environment variable: typed fields coerce it from text."""

    var: str

    def __new__(cls, value: str, var: str) -> _EnvStr:
        obj = super().__new__(cls, value)
        obj.var = var
        return obj


@dataclass
class _Ctx:
    origin: str
    base_dir: Path
    environ: Mapping[str, str]
    env_paths: dict[str, str] = field(default_factory=dict)

    def error(self, message: str, path: str, value: Any = None) -> ConfigError:
        var = value.var if isinstance(value, _EnvStr) else self.env_paths.get(path)
        if var:
            message = f"{message} (set by environment variable {var})"
        return ConfigError(message, path=path, origin=self.origin)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> PipelineConfig:
    """Read a ``.toml``/``.yaml``/``.yml`` pipeline config, apply ``SPTK_*`` overrides, validate it.

    Relative paths inside the file are resolved against the file's directory, so a
    config keeps working from any working directory.
    """
    import os

    p = Path(path)
    origin = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist", origin=origin) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}", origin=origin) from None
    suffix = p.suffix.lower()
    if suffix == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", origin=origin) from None
    elif suffix in (".yaml", ".yml"):
        data = _load_yaml(text, origin)
    else:
        raise ConfigError(f"unsupported config file type {p.suffix!r}: use .toml, .yaml or .yml", origin=origin)
    if data is None:
        data = {}
    return parse_config(data, origin=origin, base_dir=p.resolve().parent,
                        environ=os.environ if environ is None else environ)


def _load_yaml(text: str, origin: str) -> Any:
    import yaml

    class _StrictLoader(yaml.SafeLoader):
        """SafeLoader that refuses duplicate keys, which plain YAML silently lets win."""

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        seen: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}", origin=origin)
            seen[key] = loader.construct_object(value_node, deep=deep)
        return seen

    _StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", origin=origin) from None


def parse_config(data: Mapping[str, Any], *, origin: str = "<config>", base_dir: Path | None = None,
                 environ: Mapping[str, str] | None = None) -> PipelineConfig:
    """Validate an already-parsed mapping (TOML/YAML/JSON alike) into a :class:`PipelineConfig`."""
    ctx = _Ctx(origin=origin, base_dir=base_dir or Path.cwd(), environ=environ or {})
    if not isinstance(data, Mapping):
        raise ConfigError(f"the top level must be a table of sections, got {_type_name(data)}", origin=origin)
    raw = _deep_copy(data)
    _apply_env_overrides(raw, ctx)
    cfg = _decode_dataclass(PipelineConfig, raw, "", ctx)
    _cross_validate(cfg, ctx)
    return cfg


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {value!r}"
    if isinstance(value, int):
        return f"integer {value!r}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return type(value).__name__


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _accepted_keys(cls: type) -> list[str]:
    keys: list[str] = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("secret"):
            keys += [f"{f.name}_env", f"{f.name}_file"]
        else:
            keys.append(f.name)
    return keys


def _decode_dataclass(cls: type, value: Any, path: str, ctx: _Ctx) -> Any:
    if not isinstance(value, Mapping):
        raise ctx.error(f"expected a table, got {_type_name(value)}", path or "(top level)", value)
    accepted = _accepted_keys(cls)
    for key in value:
        if not isinstance(key, str):
            raise ctx.error(f"keys must be strings, got {_type_name(key)}", path)
        if key not in accepted:
            where = f"[{path}]" if path else "the top level"
            raise ctx.error(f"unknown key; {_suggest(key, accepted)}valid keys in {where} are: "
                            f"{', '.join(accepted)}", _join(path, key), value[key])
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        fpath = _join(path, f.name)
        if f.metadata.get("secret"):
            secret = _decode_secret_ref(value, f.name, path, ctx)
            if secret is not None:
                kwargs[f.name] = secret
            elif not _is_optional(hints[f.name]) and f.default is dataclasses.MISSING:
                raise ctx.error(f"missing: set {f.name}_env (an environment variable) or {f.name}_file "
                                "(a file holding the value)", fpath)
            continue
        if f.name not in value:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ctx.error(f"missing required key {f.name!r}", fpath)
            continue
        raw = value[f.name]
        parser = f.metadata.get("parse")
        decoded = (_CUSTOM[parser](raw, fpath, ctx) if parser
                   else _decode(hints[f.name], raw, fpath, ctx))
        _check_constraints(f, decoded, fpath, ctx, raw)
        kwargs[f.name] = decoded
    return cls(**kwargs)


def _check_constraints(f: dataclasses.Field[Any], value: Any, path: str, ctx: _Ctx, raw: Any) -> None:
    if value is None:
        return
    low = f.metadata.get("min")
    high = f.metadata.get("max")
    if low is not None and value < low:
        raise ctx.error(f"must be at least {low}, got {value!r}", path, raw)
    if high is not None and value > high:
        raise ctx.error(f"must be at most {high}, got {value!r}", path, raw)
    if f.metadata.get("nonempty") and len(value) == 0:
        raise ctx.error("must not be empty", path, raw)
    pattern = f.metadata.get("pattern")
    if pattern and not re.match(pattern, value):
        raise ctx.error(f"{value!r} does not match {pattern} (lower case letters, digits, '_' and '-')", path, raw)


def _is_optional(tp: Any) -> bool:
    return _union_args(tp) is not None and type(None) in _union_args(tp)  # type: ignore[operator]


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return typing.get_args(tp)
    return None


def _decode(tp: Any, value: Any, path: str, ctx: _Ctx) -> Any:
    args = _union_args(tp)
    if args is not None:
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _decode(inner[0], value, path, ctx)
        raise TypeError(f"config model type {tp} at {path} needs a custom parser")
    origin = typing.get_origin(tp)
    if origin is Literal:
        options = [str(o) for o in typing.get_args(tp)]
        if not isinstance(value, str):
            raise ctx.error(f"expected one of {', '.join(map(repr, options))}, got {_type_name(value)}", path, value)
        if value not in options:
            raise ctx.error(f"{value!r} is not allowed; {_suggest(value, options)}expected one of "
                            f"{', '.join(map(repr, options))}", path, value)
        return str(value)
    if origin is tuple:
        item_tp = typing.get_args(tp)[0]
        items = _as_list(value, path, ctx)
        if dataclasses.is_dataclass(item_tp):
            return tuple(_decode(item_tp, v, _item_path(path, i, v), ctx) for i, v in enumerate(items))
        return tuple(_decode(item_tp, v, f"{path}[{i}]", ctx) for i, v in enumerate(items))
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, value, path, ctx)  # type: ignore[arg-type]
    if tp is bool:
        return _decode_bool(value, path, ctx)
    if tp is int:
        return _decode_int(value, path, ctx)
    if tp is float:
        return _decode_float(value, path, ctx)
    if tp is str:
        if not isinstance(value, str):
            raise ctx.error(f"expected a string, got {_type_name(value)}", path, value)
        return str(value)
    if tp is Path:
        if not isinstance(value, str) or not value:
            raise ctx.error(f"expected a file or directory path (a string), got {_type_name(value)}", path, value)
        return _resolve_path(value, ctx)
    raise TypeError(f"config model type {tp} at {path} has no decoder")


def _item_path(path: str, i: int, item: Any) -> str:
    name = item.get("name") if isinstance(item, Mapping) else None
    return f"{path}[{name}]" if isinstance(name, str) and name else f"{path}[{i}]"


def _resolve_path(text: str, ctx: _Ctx) -> Path:
    p = Path(text).expanduser()
    return p if p.is_absolute() else (ctx.base_dir / p)


def _as_list(value: Any, path: str, ctx: _Ctx) -> list[Any]:
    if isinstance(value, _EnvStr):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ctx.error(f"expected a JSON list or comma-separated values: {exc}", path, value) from None
            return [_EnvStr(str(v), value.var) if not isinstance(v, str) else _EnvStr(v, value.var) for v in parsed]
        return [_EnvStr(part.strip(), value.var) for part in text.split(",") if part.strip()]
    if not isinstance(value, list):
        raise ctx.error(f"expected a list, got {_type_name(value)}", path, value)
    return value


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _decode_bool(value: Any, path: str, ctx: _Ctx) -> bool:
    if isinstance(value, _EnvStr):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ctx.error(f"expected a boolean (true/false), got {str(value)!r}", path, value)
    if not isinstance(value, bool):
        raise ctx.error(f"expected a boolean (true or false), got {_type_name(value)}", path, value)
    return value


def _decode_int(value: Any, path: str, ctx: _Ctx) -> int:
    if isinstance(value, _EnvStr):
        try:
            return int(value)
        except ValueError:
            raise ctx.error(f"expected an integer, got {str(value)!r}", path, value) from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.error(f"expected an integer, got {_type_name(value)}", path, value)
    return value


def _decode_float(value: Any, path: str, ctx: _Ctx) -> float:
    if isinstance(value, _EnvStr):
        try:
            return float(value)
        except ValueError:
            raise ctx.error(f"expected a number, got {str(value)!r}", path, value) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.error(f"expected a number, got {_type_name(value)}", path, value)
    return float(value)


def _decode_secret_ref(table: Mapping[str, Any], name: str, path: str, ctx: _Ctx) -> Secret | None:
    env_key, file_key = f"{name}_env", f"{name}_file"
    if env_key in table and file_key in table:
        raise ctx.error(f"set either {env_key} or {file_key}, not both", _join(path, name))
    if env_key in table:
        return _secret_from_env(table[env_key], _join(path, env_key), ctx)
    if file_key in table:
        return _secret_from_file(table[file_key], _join(path, file_key), ctx)
    return None


def _secret_from_env(var: Any, path: str, ctx: _Ctx) -> Secret:
    if not isinstance(var, str) or not var:
        raise ctx.error(f"expected the name of an environment variable, got {_type_name(var)}", path, var)
    value = ctx.environ.get(var)
    if not value:
        raise ctx.error(f"environment variable {var} is {'empty' if value == '' else 'not set'}; export it "
                        "(or use the matching _file key to read the value from a file)", path, var)
    return Secret(value, f"env:{var}")


def _secret_from_file(name: Any, path: str, ctx: _Ctx) -> Secret:
    if not isinstance(name, str) or not name:
        raise ctx.error(f"expected a file path, got {_type_name(name)}", path, name)
    p = _resolve_path(name, ctx)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ctx.error(f"secret file {p} does not exist", path, name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ctx.error(f"cannot read secret file {p}: {type(exc).__name__}", path, name) from None
    value = text.rstrip("\r\n")
    if not value:
        raise ctx.error(f"secret file {p} is empty", path, name)
    return Secret(value, f"file:{p}")


# --------------------------------------------------------------------------------------------
# Custom parsers
# --------------------------------------------------------------------------------------------

_PROPERTY_RE = re.compile(r"^[a-z][a-z0-9_.\-]*$")


def _parse_client_settings(value: Any, path: str, ctx: _Ctx) -> ClientSettings:
    if not isinstance(value, Mapping):
        raise ctx.error(f"expected a table of librdkafka properties, got {_type_name(value)}", path, value)
    out: dict[str, SettingValue] = {}
    for key, v in value.items():
        kpath = f'{path}."{key}"'
        if not isinstance(key, str) or not _PROPERTY_RE.match(key):
            raise ctx.error("not a librdkafka property name (lower case, dot separated, e.g. \"linger.ms\")",
                            kpath, v)
        prop, kind = key, "inline"
        for suffix in ("_env", "_file"):
            if key.endswith(suffix):
                prop, kind = key[: -len(suffix)], suffix[1:]
        if prop in MANAGED_PROPERTIES:
            raise ctx.error(f"the toolkit manages {prop!r}: {MANAGED_PROPERTIES[prop]}", kpath, v)
        if prop in out:
            raise ctx.error(f"{prop!r} is set more than once (inline, _env or _file: pick one)", kpath, v)
        if kind == "env":
            out[prop] = _secret_from_env(v, kpath, ctx)
        elif kind == "file":
            out[prop] = _secret_from_file(v, kpath, ctx)
        elif prop in SECRET_PROPERTIES:
            if isinstance(v, _EnvStr):
                out[prop] = Secret(str(v), f"env:{v.var}")
            else:
                raise ctx.error(f"{prop!r} is a credential and may not be written in a config file; use "
                                f'"{prop}_env" = "VARIABLE" or "{prop}_file" = "/path/to/file"', kpath)
        elif isinstance(v, _EnvStr):
            out[prop] = str(v)
        elif isinstance(v, str | int | float | bool):
            out[prop] = v
        else:
            raise ctx.error(f"expected a string, number or boolean, got {_type_name(v)}", kpath, v)
    return ClientSettings(types.MappingProxyType(out))


def _parse_output_target(value: Any, path: str, ctx: _Ctx) -> OutputTarget:
    if isinstance(value, str):
        if value == "kafka":
            return OutputTarget("kafka")
        if value.startswith("files:") and len(value) > len("files:"):
            return OutputTarget("files", _resolve_path(value[len("files:"):], ctx))
    raise ctx.error(f"expected \"kafka\" or \"files:DIR\", got {_type_name(value)}", path, value)


def _parse_criterion(value: Any, path: str, ctx: _Ctx) -> SchemaCriterion:
    if not isinstance(value, str):
        raise ctx.error(f"expected a schema criterion such as \"iglu:com.acme/click/jsonschema/1-*-*\", "
                        f"got {_type_name(value)}", path, value)
    try:
        return SchemaCriterion.parse(value)
    except InvalidSchemaKey as exc:
        raise ctx.error(str(exc), path, value) from None


def parse_field_path(text: str) -> FieldPath:
    """Parse ``domain_userid``, ``contexts_com_acme_product_1[].sku`` or ``unstruct_event.data.target_url``.

    Raises ``ValueError`` with the reason; the config loader adds the key path.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("expected a field path such as \"domain_userid\" or \"contexts_com_acme_product_1[].sku\"")
    m = _PATH_ROOT_RE.match(text)
    if m is None:
        raise ValueError(f"{text!r} does not start with a field name (lower case letters, digits and '_')")
    root = m.group(0)
    steps: list[Step] = []
    pos = m.end()
    while pos < len(text):
        sm = _PATH_STEP_RE.match(text, pos)
        if sm is None:
            raise ValueError(f"cannot read {text!r} at character {pos + 1} ({text[pos:]!r}): after the field "
                             "name use .key, [] (any element) or [n] (n-th element)")
        if sm.group(1) is not None:
            steps.append(Key(sm.group(1)))
        elif sm.group(2):
            steps.append(Index(int(sm.group(2))))
        else:
            steps.append(AnyIndex())
        pos = sm.end()
    shredded = _SHREDDED_RE.match(root)
    if root in BY_NAME and BY_NAME[root].name == root:
        kind = PathKind.SELF_DESCRIBING if BY_NAME[root].kind in (
            FieldKind.CONTEXTS, FieldKind.UNSTRUCT, FieldKind.DERIVED_CONTEXTS) else PathKind.ATOMIC
        if kind is PathKind.ATOMIC and steps:
            raise ValueError(f"{root!r} is a plain field; only contexts, derived_contexts, unstruct_event and "
                             "shredded contexts_<vendor>_<name>_<model> / unstruct_event_<vendor>_<name>_<model> "
                             "roots take a path after them")
        return FieldPath(text, kind, root, tuple(steps))
    if shredded is not None:
        prefix, name, model = shredded.group(1), shredded.group(2), int(shredded.group(3))
        if prefix == "contexts":
            if steps and not isinstance(steps[0], AnyIndex | Index):
                raise ValueError(f"{root!r} is a list of entities: continue with [] (any) or [n], e.g. "
                                 f"{root}[]{''.join(map(str, steps))}")
            return FieldPath(text, PathKind.SHREDDED_CONTEXT, root, tuple(steps), name, model)
        return FieldPath(text, PathKind.SHREDDED_UNSTRUCT, root, tuple(steps), name, model)
    raise ValueError(f"unknown field {root!r}; {_suggest(root, list(FIELD_NAMES))}use one of the 131 enriched "
                     "fields (docs/pipeline.md), or contexts_<vendor>_<name>_<model> / "
                     "unstruct_event_<vendor>_<name>_<model> for self-describing data")


def _path(value: Any, path: str, ctx: _Ctx) -> FieldPath:
    try:
        return parse_field_path(value)
    except ValueError as exc:
        raise ctx.error(str(exc), path, value) from None


def _parse_paths(value: Any, path: str, ctx: _Ctx) -> tuple[FieldPath, ...]:
    items = _as_list(value, path, ctx)
    out = tuple(_path(v, f"{path}[{i}]", ctx) for i, v in enumerate(items))
    seen: set[str] = set()
    for i, p in enumerate(out):
        if p.text in seen:
            raise ctx.error(f"{p.text!r} is listed twice", f"{path}[{i}]", value)
        seen.add(p.text)
    return out


def _parse_partition_key(value: Any, path: str, ctx: _Ctx) -> tuple[FieldPath, ...]:
    if isinstance(value, str) and not isinstance(value, _EnvStr):
        value = [value]
    out = _parse_paths(value, path, ctx)
    if not out:
        raise ctx.error("must name at least one field (the first non-empty one becomes the message key)",
                        path, value)
    return out


_OPS = [op.value for op in CompareOp]
_COMBINATORS = ("all", "any", "not")


def _parse_filter(value: Any, path: str, ctx: _Ctx) -> Condition:
    if not isinstance(value, Mapping):
        raise ctx.error(f"expected a condition table such as {{ field = \"event_name\", op = \"eq\", value = "
                        f"\"page_view\" }}, got {_type_name(value)}", path, value)
    kinds = [k for k in ("field", "schema", *_COMBINATORS) if k in value]
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "none of them"
        raise ctx.error(f"a condition needs exactly one of field, schema, all, any, not (found {found})",
                        path, value)
    kind = kinds[0]
    if kind in ("all", "any"):
        _only(value, {kind}, path, ctx)
        items = value[kind]
        if not isinstance(items, list) or not items:
            raise ctx.error(f"expected a non-empty list of conditions, got {_type_name(items)}",
                            f"{path}.{kind}", items)
        conditions = tuple(_parse_filter(c, f"{path}.{kind}[{i}]", ctx) for i, c in enumerate(items))
        return AllOf(conditions) if kind == "all" else AnyOf(conditions)
    if kind == "not":
        _only(value, {"not"}, path, ctx)
        return Not(_parse_filter(value["not"], f"{path}.not", ctx))
    if kind == "schema":
        _only(value, {"schema", "scope"}, path, ctx)
        scope = value.get("scope", "event")
        if scope not in ("event", "contexts", "any"):
            raise ctx.error(f"expected 'event', 'contexts' or 'any', got {_type_name(scope)}", f"{path}.scope", scope)
        return SchemaMatch(_parse_criterion(value["schema"], f"{path}.schema", ctx), scope)
    _only(value, {"field", "op", "value"}, path, ctx)
    fpath = _path(value["field"], f"{path}.field", ctx)
    op_text = value.get("op")
    if op_text not in _OPS:
        hint = _suggest(op_text, _OPS) if isinstance(op_text, str) else ""
        raise ctx.error(f"{hint}expected one of {', '.join(_OPS)}, got {_type_name(op_text)}", f"{path}.op", op_text)
    op = CompareOp(op_text)
    vpath = f"{path}.value"
    if op is CompareOp.EXISTS:
        if "value" in value:
            raise ctx.error("'exists' takes no value (wrap it in { not = ... } to test absence)", vpath)
        return Compare(fpath, op)
    if "value" not in value:
        raise ctx.error(f"'{op.value}' needs a value", vpath)
    v = value["value"]
    if op is CompareOp.IN:
        if not isinstance(v, list) or not v or not all(_is_scalar(x) for x in v):
            raise ctx.error(f"'in' needs a non-empty list of strings or numbers, got {_type_name(v)}", vpath, v)
        return Compare(fpath, op, tuple(v))
    if op is CompareOp.REGEX:
        if not isinstance(v, str):
            raise ctx.error(f"'regex' needs a pattern string, got {_type_name(v)}", vpath, v)
        try:
            compiled = re.compile(v)
        except re.error as exc:
            raise ctx.error(f"invalid regular expression {v!r}: {exc}", vpath, v) from None
        return Compare(fpath, op, v, compiled)
    if op in (CompareOp.GT, CompareOp.LT):
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise ctx.error(f"'{op.value}' needs a number (or a string, compared as text, e.g. a timestamp), "
                            f"got {_type_name(v)}", vpath, v)
        return Compare(fpath, op, v)
    if not _is_scalar(v):
        raise ctx.error(f"'{op.value}' needs a string, number or boolean, got {_type_name(v)}", vpath, v)
    return Compare(fpath, op, v)


def _is_scalar(v: Any) -> bool:
    return isinstance(v, str | int | float | bool)


def _only(table: Mapping[str, Any], allowed: set[str], path: str, ctx: _Ctx) -> None:
    for key in table:
        if key not in allowed:
            options = sorted(allowed)
            raise ctx.error(f"unknown key in this condition; {_suggest(str(key), options)}allowed here: "
                            f"{', '.join(options)}", _join(path, str(key)), table[key])


def _parse_privacy(value: Any, path: str, ctx: _Ctx) -> Mapping[str, PrivacyConfig]:
    if not isinstance(value, Mapping):
        raise ctx.error(f"expected a table of streams ([privacy.enriched], [privacy.<derived name>]), "
                        f"got {_type_name(value)}", path, value)
    out = {}
    for stream, table in value.items():
        out[str(stream)] = _decode_dataclass(PrivacyConfig, table, _join(path, str(stream)), ctx)
    return types.MappingProxyType(out)


_CUSTOM: dict[str, Callable[[Any, str, _Ctx], Any]] = {
    "client_settings": _parse_client_settings,
    "output_target": _parse_output_target,
    "criterion": _parse_criterion,
    "paths": _parse_paths,
    "partition_key": _parse_partition_key,
    "filter": _parse_filter,
    "privacy": _parse_privacy,
}


# --------------------------------------------------------------------------------------------
# Environment overrides
# --------------------------------------------------------------------------------------------


def _apply_env_overrides(raw: dict[str, Any], ctx: _Ctx) -> None:
    for var in sorted(ctx.environ):
        if not var.startswith(ENV_PREFIX) or ENV_SEPARATOR not in var:
            continue
        segments = [s.lower() for s in var[len(ENV_PREFIX):].split(ENV_SEPARATOR)]
        if any(not s for s in segments):
            raise ConfigError(f"environment variable {var}: empty level between '__' separators", origin=ctx.origin)
        _apply_one(raw, segments, _EnvStr(ctx.environ[var], var), ctx)


def _apply_one(raw: dict[str, Any], segments: list[str], value: _EnvStr, ctx: _Ctx) -> None:
    cls: Any = PipelineConfig
    node: dict[str, Any] = raw
    path = ""
    i = 0
    while i < len(segments):
        seg = segments[i]
        last = i == len(segments) - 1
        accepted = _accepted_keys(cls)
        if seg not in accepted:
            raise ConfigError(f"environment variable {value.var} names unknown key {seg!r}; "
                              f"{_suggest(seg, accepted)}valid keys in [{path or 'top level'}] are: "
                              f"{', '.join(accepted)}", path=_join(path, seg), origin=ctx.origin)
        fields_by_name = {f.name: f for f in dataclasses.fields(cls)}
        f = fields_by_name.get(seg)
        tp = _hints(cls)[f.name] if f else str
        parser = f.metadata.get("parse") if f else None
        fpath = _join(path, seg)
        inner = _dataclass_of(tp)
        if parser == "client_settings":
            if last or i + 2 != len(segments):
                raise ConfigError(f"environment variable {value.var}: name one librdkafka property after "
                                  f"{seg.upper()}, e.g. SPTK_KAFKA__PRODUCER__LINGER_MS", path=fpath,
                                  origin=ctx.origin)
            prop = _env_property_name(segments[i + 1])
            table = node.setdefault(seg, {})
            table[prop] = value
            ctx.env_paths[f'{fpath}."{prop}"'] = value.var
            return
        if parser == "privacy":
            if i + 2 >= len(segments):
                raise ConfigError(f"environment variable {value.var}: expected SPTK_PRIVACY__<STREAM>__<KEY>",
                                  path=fpath, origin=ctx.origin)
            node = node.setdefault(seg, {}).setdefault(segments[i + 1], {})
            path, cls, i = f"{fpath}.{segments[i + 1]}", PrivacyConfig, i + 2
            continue
        if parser == "filter":
            raise ConfigError(f"environment variable {value.var}: {fpath} is a structured condition and can "
                              "only be set in the config file", path=fpath, origin=ctx.origin)
        if parser is not None:
            inner = None  # parsed from text (a path list, a criterion, a target): a leaf for overrides
        if inner is not None and typing.get_origin(tp) is tuple:
            if i + 2 >= len(segments):
                raise ConfigError(f"environment variable {value.var}: expected SPTK_{seg.upper()}__<NAME>__<KEY> "
                                  "(entries are addressed by their name)", path=fpath, origin=ctx.origin)
            entries = node.get(seg, [])
            name = segments[i + 1]
            match = [e for e in entries if isinstance(e, Mapping) and str(e.get("name", "")).lower() == name]
            if not match:
                names = [str(e.get("name")) for e in entries if isinstance(e, Mapping)]
                raise ConfigError(f"environment variable {value.var}: no [[{seg}]] entry named {name!r} "
                                  f"({_suggest(name, names)}configured: {', '.join(names) or 'none'})",
                                  path=fpath, origin=ctx.origin)
            node, path, cls, i = match[0], f"{fpath}[{match[0]['name']}]", inner, i + 2
            continue
        if inner is not None and not last:
            child = node.setdefault(seg, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment variable {value.var}: {fpath} is not a table in the file",
                                  path=fpath, origin=ctx.origin)
            node, path, cls, i = child, fpath, inner, i + 1
            continue
        if not last:
            raise ConfigError(f"environment variable {value.var}: {fpath} is a single value; nothing lies below it",
                              path=fpath, origin=ctx.origin)
        if inner is not None:
            raise ConfigError(f"environment variable {value.var}: {fpath} is a table; name one of its keys",
                              path=fpath, origin=ctx.origin)
        node[seg] = value
        ctx.env_paths[fpath] = value.var
        return


def _dataclass_of(tp: Any) -> Any:
    args = _union_args(tp)
    if args is not None:
        inner = [a for a in args if a is not type(None)]
        tp = inner[0] if len(inner) == 1 else None
    if typing.get_origin(tp) is tuple:
        tp = typing.get_args(tp)[0]
    return tp if tp is not None and dataclasses.is_dataclass(tp) else None


#: librdkafka properties whose names contain ``_`` (everything else is dot separated).
_UNDERSCORE_PROPERTIES = frozenset({"log_level"})


def _env_property_name(segment: str) -> str:
    """``SASL_PASSWORD_FILE`` -> ``sasl.password_file``; ``LINGER_MS`` -> ``linger.ms``; ``LOG_LEVEL`` stays."""
    suffix = next((s for s in ("_env", "_file") if segment.endswith(s)), "")
    name = segment[: len(segment) - len(suffix)]
    return (name if name in _UNDERSCORE_PROPERTIES else name.replace("_", ".")) + suffix


# --------------------------------------------------------------------------------------------
# Cross-field validation
# --------------------------------------------------------------------------------------------

_TOPIC_PREFIX_RE = re.compile(r"^[a-zA-Z0-9_\-]+(\.[a-zA-Z0-9_\-]+)*$")
_MAX_TOPIC_NAME = 249


def _cross_validate(cfg: PipelineConfig, ctx: _Ctx) -> None:
    src = cfg.source
    for kind in ("file", "dir", "kafka", "http"):
        if getattr(src, kind) is not None and src.kind != kind:
            raise ctx.error(f"[source.{kind}] is set but source.kind is {src.kind!r}; remove it or set "
                            f"kind = {kind!r}", f"source.{kind}")
    if src.kind in ("file", "dir", "kafka") and getattr(src, src.kind) is None:
        raise ctx.error(f"source.kind is {src.kind!r}, which needs a [source.{src.kind}] table", f"source.{src.kind}")
    uses_kafka = cfg.output.target.kind == "kafka" or src.kind == "kafka"
    if uses_kafka and cfg.kafka is None:
        reason = "output.target is kafka" if cfg.output.target.kind == "kafka" else "source.kind is kafka"
        raise ctx.error(f"missing [kafka] section ({reason}); it needs at least bootstrap_servers and topic_prefix",
                        "kafka")
    if cfg.kafka is not None:
        prefix = cfg.kafka.topic_prefix
        if not _TOPIC_PREFIX_RE.match(prefix):
            raise ctx.error(f"{prefix!r} is not a valid topic prefix: use letters, digits, '_', '-' and single dots "
                            "between parts, e.g. \"prod.acme.snowplow\"", "kafka.topic_prefix")
        for d in cfg.derived:
            name = f"{prefix}.derived.{d.name}.v{d.version}"
            if len(name) > _MAX_TOPIC_NAME:
                raise ctx.error(f"topic name {name!r} is {len(name)} characters; Kafka allows {_MAX_TOPIC_NAME}",
                                f"derived[{d.name}].name")
    from toolkit.profiles import PROFILES

    profiles = list(PROFILES)
    wanted = [("output.enriched_profile", cfg.output.enriched_profile)]
    wanted += [(f"derived[{d.name}].profile", d.profile) for d in cfg.derived if d.profile is not None]
    for path, name in wanted:
        if name not in PROFILES:
            raise ctx.error(f"unknown JSON profile {name!r}; {_suggest(name, profiles)}choose one of: "
                            f"{', '.join(profiles)}", path, name)
    seen: set[str] = set()
    for d in cfg.derived:
        if d.stream_id in seen:
            raise ctx.error(f"derived stream {d.name!r} version {d.version} is declared twice",
                            f"derived[{d.name}].version")
        seen.add(d.stream_id)
    derived_names = {d.name for d in cfg.derived}
    for stream, privacy in cfg.privacy.items():
        ppath = f"privacy.{stream}"
        if stream == "raw":
            raise ctx.error("the raw stream carries input lines byte for byte and cannot be pseudonymised or "
                            "filtered; apply privacy rules to enriched or derived streams", ppath)
        if stream not in derived_names and stream != "enriched":
            options = ["enriched", *sorted(derived_names)]
            raise ctx.error(f"unknown stream {stream!r}; {_suggest(stream, options)}privacy applies to: "
                            f"{', '.join(options)}", ppath)
        if privacy.pseudonymise and privacy.pseudonymisation_key is None:
            raise ctx.error("pseudonymise lists fields but no key is configured: set pseudonymisation_key_env "
                            "or pseudonymisation_key_file (HMAC-SHA256 needs a secret key)",
                            f"{ppath}.pseudonymisation_key")
    dlv = cfg.delivery
    if dlv.transactional:
        if src.kind != "kafka" or cfg.output.target.kind != "kafka":
            raise ctx.error("transactions give exactly-once only from a Kafka source to Kafka output; "
                            f"this pipeline reads {src.kind!r} and writes {cfg.output.target}",
                            "delivery.transactional")
        if not dlv.transactional_id:
            raise ctx.error("delivery.transactional = true needs a transactional_id that is stable across restarts "
                            "of this instance (and unique among instances)", "delivery.transactional_id")
    elif dlv.transactional_id:
        raise ctx.error("transactional_id is set but delivery.transactional is false; remove it or enable "
                        "transactions", "delivery.transactional_id")


# --------------------------------------------------------------------------------------------
# Reports, hash, key listing
# --------------------------------------------------------------------------------------------


def config_to_dict(cfg: Any) -> Any:
    """A JSON-ready view of the config (or any part of it) with secrets shown only as references."""
    if isinstance(cfg, Secret):
        return {"secret": cfg.reference}
    if isinstance(cfg, FieldPath):
        return cfg.text
    if isinstance(cfg, SchemaCriterion | Path | OutputTarget):
        return str(cfg)
    if isinstance(cfg, Enum):
        return cfg.value
    if isinstance(cfg, ClientSettings):
        return {k: config_to_dict(v) for k, v in sorted(cfg.values.items())}
    if isinstance(cfg, AllOf | AnyOf):
        return {"all" if isinstance(cfg, AllOf) else "any": [config_to_dict(c) for c in cfg.conditions]}
    if isinstance(cfg, Not):
        return {"not": config_to_dict(cfg.condition)}
    if isinstance(cfg, SchemaMatch):
        return {"schema": str(cfg.criterion), "scope": cfg.scope}
    if isinstance(cfg, Compare):
        out: dict[str, Any] = {"field": cfg.path.text, "op": cfg.op.value}
        if cfg.op is not CompareOp.EXISTS:
            out["value"] = list(cfg.value) if isinstance(cfg.value, tuple) else cfg.value
        return out
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: config_to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg) if f.compare}
    if isinstance(cfg, Mapping):
        return {str(k): config_to_dict(v) for k, v in sorted(cfg.items())}
    if isinstance(cfg, tuple | list):
        return [config_to_dict(v) for v in cfg]
    return cfg


def config_hash(cfg: PipelineConfig) -> str:
    """SHA-256 of the canonical JSON of the config: same settings, same hash, whatever the file format.

    Secrets enter only as their reference (``env:NAME``/``file:PATH``), so rotating a
    password does not change the hash and the hash reveals nothing about it.
    """
    canonical = json.dumps(config_to_dict(cfg), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def toolkit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("snowplow-kafka-toolkit")
    except PackageNotFoundError:
        return "0+unknown"


def pipeline_id(cfg: PipelineConfig) -> str:
    """The ``sp.pipeline`` header value: toolkit version and a short config hash."""
    return f"sptk/{toolkit_version()} config/{config_hash(cfg)[:16]}"


def config_keys() -> list[str]:
    """Every documented key as a dotted path (``derived.filter``, ``privacy.<stream>.strip_ip``)."""
    out: list[str] = []

    def walk(cls: Any, prefix: str) -> None:
        hints = _hints(cls)
        for f in dataclasses.fields(cls):
            names = [f"{f.name}_env", f"{f.name}_file"] if f.metadata.get("secret") else [f.name]
            for name in names:
                path = _join(prefix, name)
                out.append(path)
            parser = f.metadata.get("parse")
            if parser == "privacy":
                walk(PrivacyConfig, f"{_join(prefix, f.name)}.<stream>")
                continue
            if parser:
                continue
            inner = _dataclass_of(hints[f.name])
            if inner is not None:
                walk(inner, _join(prefix, f.name))

    walk(PipelineConfig, "")
    return out
