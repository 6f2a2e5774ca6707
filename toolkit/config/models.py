"""The pipeline configuration: pydantic models, their TOML/YAML/environment sources, secrets and hash.

One file per deployment (TOML or YAML) describes a whole pipeline. It is validated
here and only here, so every other module receives typed, frozen models and never
re-checks a raw dict. The models are strict (``"5"`` is not a number, ``1`` is not
``true``) and closed (``extra="forbid"``) on purpose: a misspelt key in a pipeline that
fans out production data is a silent outage. Pydantic collects every problem of a
file in one pass, and :class:`ConfigError` reports them all at once, each with its
dotted path (derived streams by name) and a "did you mean".

Sidecars are configured by the platform rather than by editing files, so every value
can be overridden by an environment variable: ``SPTK_`` and the dotted path in upper
case with ``__`` between levels (the ``env_prefix``/``env_nested_delimiter`` of
:class:`PipelineConfig`), e.g. ``SPTK_KAFKA__BOOTSTRAP_SERVERS`` or
``SPTK_DERIVED__CLICKS__OWNER``: derived streams are addressed by name, which the
stock pydantic-settings environment source cannot do, hence :class:`SptkEnvironment`.
Secrets never live in the file: ``<key>_env``/``<key>_file`` name where the value
comes from, and it is held in a :class:`Secret` whose repr, str and the config hash
show only that reference.

Filters of derived streams are parsed into data (:class:`Compare`, :class:`SchemaMatch`,
:class:`AllOf`, :class:`AnyOf`, :class:`Not`); evaluating them is the router's job.
The key reference in docs/pipeline.md is generated from these models
(``python -m toolkit.config.reference``) and ``sptk config schema`` prints their JSON Schema.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import hmac
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SecretStr,
    Strict,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
    YamlConfigSettingsSource,
)

from iglu_registry.http_server import ServerLimits
from iglu_registry.schema_key import InvalidSchemaKey, SchemaCriterion
from toolkit.contract.fields import BY_NAME, FIELD_NAMES, FieldKind

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


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration, at a dotted key path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(ValueError):
    """Configuration problems, always naming the file (or variable) and each dotted key path.

    ``problems`` holds every problem found; ``path`` and ``reason`` are the first one's.
    """

    def __init__(self, message: str = "", *, path: str = "", origin: str = "",
                 problems: tuple[Problem, ...] = ()) -> None:
        self.origin = origin
        self.problems = problems or (Problem(path, message),)
        self.path, self.reason = self.problems[0].path, self.problems[0].message
        if len(self.problems) == 1:
            where = ": ".join(p for p in (origin, self.path) if p)
            text = f"{where}: {self.reason}" if where else self.reason
        else:
            head = f"{len(self.problems)} problems:"
            text = "\n".join([f"{origin}: {head}" if origin else head, *(f"  {p}" for p in self.problems)])
        super().__init__(text)


class Secret(SecretStr):
    """A credential read from the environment or a file; it never shows itself.

    ``repr``/``str`` print only where the value came from, pickling is refused, and
    the config hash uses the reference, so a secret cannot leak through logs,
    error messages, reports or the ``sp.pipeline`` header by accident.
    """

    def __init__(self, value: str, reference: str) -> None:
        super().__init__(value)
        self.reference = reference

    def reveal(self) -> str:
        """The value itself: call this only where it is handed to a client library."""
        return self.get_secret_value()

    def __repr__(self) -> str:
        return f"Secret({self.reference}, value hidden)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self.reference == other.reference and hmac.compare_digest(self.reveal(), other.reveal())

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


# --------------------------------------------------------------------------------------------
# Validation plumbing: the load in progress, problems with their place, text from the environment
# --------------------------------------------------------------------------------------------

Loc = tuple[str | int, ...]


@dataclass
class _Load:
    """One load: where relative paths start, which environment secrets and overrides come from."""

    origin: str = "<config>"
    base_dir: Path = field(default_factory=Path.cwd)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    document: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    env_paths: dict[str, str] = field(default_factory=dict)


_LOADING: ContextVar[_Load | None] = ContextVar("sptk_config_load", default=None)


def _load() -> _Load:
    return _LOADING.get() or _Load()


class _EnvStr(str):
    """A value that came from an environment variable: typed keys convert it from text."""

    var: str

    def __new__(cls, value: str, var: str) -> _EnvStr:
        obj = super().__new__(cls, value)
        obj.var = var
        return obj


def _problem(loc: Loc, message: str, value: Any = None) -> InitErrorDetails:
    """A validation error with our wording at ``loc`` below the value being validated."""
    return InitErrorDetails(type=_error(message), loc=loc, input=value)


def _fail(problems: list[InitErrorDetails]) -> NoReturn:
    raise ValidationError.from_exception_data("PipelineConfig", problems)


def _error(message: str, key: str | None = None) -> PydanticCustomError:
    """A validation error with our wording; ``key`` names the file's key when it is not the field's (``x_env``)."""
    return PydanticCustomError("config", "{message}", {"message": message, **({"key": key} if key else {})})


def _type_name(value: Any) -> str:
    if isinstance(value, _EnvStr):
        return repr(str(value))
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
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing (null)"
    return type(value).__name__


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _from_env_text(tp: Any, value: _EnvStr) -> Any:
    """Environment values are text: convert to the key's type, or leave them for the type check to name."""
    tp = bare_type(tp)
    if typing.get_origin(tp) is tuple:
        text = value.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                return value
            return [_EnvStr(str(v), value.var) for v in items] if isinstance(items, list) else value
        return [_EnvStr(part.strip(), value.var) for part in text.split(",") if part.strip()]
    if tp is bool:
        return True if value.lower() in _TRUE else False if value.lower() in _FALSE else value
    with contextlib.suppress(ValueError):
        if tp is int:
            return int(value)
        if tp is float:
            return float(value)
    return value


def bare_type(tp: Any) -> Any:
    """``Annotated[X, ...] | None`` -> ``X``: the type a key holds when it is set."""
    if typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(inner) == 1:
            return bare_type(inner[0])
    return tp


# --------------------------------------------------------------------------------------------
# Value types: how a key's text becomes a typed value, and what the JSON Schema says about it
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    """How docs/pipeline.md shows a key whose type or default needs words rather than a value.

    ``values``: the defaults of a table's keys when they are not the model's own
    (``[topics.defaults]`` shows the built-in topic settings).
    """

    type: str | None = None
    default: str | None = None
    values: BaseModel | None = None


def _resolve_path(value: Any) -> Any:
    if isinstance(value, str) and value:
        p = Path(value).expanduser()
        return p if p.is_absolute() else _load().base_dir / p
    return value


#: A file or directory; relative paths start at the config file's directory.
ConfigPath = Annotated[Path, BeforeValidator(_resolve_path)]


def _field_path(value: Any) -> FieldPath:
    if isinstance(value, FieldPath):
        return value
    try:
        return parse_field_path(value)
    except ValueError as exc:
        raise _error(str(exc)) from None


def _no_repeats(paths: tuple[FieldPath, ...]) -> tuple[FieldPath, ...]:
    seen: set[str] = set()
    problems = []
    for i, p in enumerate(paths):
        if p.text in seen:
            problems.append(_problem((i,), f"{p.text!r} is listed twice", p.text))
        seen.add(p.text)
    if problems:
        _fail(problems)
    return paths


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _some(paths: tuple[FieldPath, ...]) -> tuple[FieldPath, ...]:
    if not paths:
        raise _error("must name at least one field (the first non-empty one becomes the message key)")
    return paths


def _default_partition_key() -> tuple[FieldPath, ...]:
    return tuple(parse_field_path(name) for name in DEFAULT_PARTITION_KEY)


_FIELD_PATH_SCHEMA = {"type": "string", "pattern": r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_$@\-]+|\[\d*\])*$"}
FieldPathValue = Annotated[FieldPath, PlainValidator(_field_path, json_schema_input_type=str),
                           PlainSerializer(lambda p: p.text), WithJsonSchema(_FIELD_PATH_SCHEMA)]
FieldPaths = Annotated[tuple[FieldPathValue, ...], Strict(False), AfterValidator(_no_repeats),
                       Doc(type="list of field paths")]
PartitionKey = Annotated[tuple[FieldPathValue, ...], BeforeValidator(_one_or_many), Strict(False),
                         AfterValidator(_no_repeats), AfterValidator(_some),
                         WithJsonSchema({"anyOf": [_FIELD_PATH_SCHEMA, {"type": "array", "items": _FIELD_PATH_SCHEMA,
                                                                        "minItems": 1}]}),
                         Doc(type="field path or list", default=f"`{json.dumps(list(DEFAULT_PARTITION_KEY))}`")]


def _criterion(value: Any) -> SchemaCriterion:
    if isinstance(value, SchemaCriterion):
        return value
    if not isinstance(value, str):
        raise _error(f"expected a schema criterion such as \"iglu:com.acme/click/jsonschema/1-*-*\", "
                     f"got {_type_name(value)}")
    try:
        return SchemaCriterion.parse(value)
    except InvalidSchemaKey as exc:
        raise _error(str(exc)) from None


_CRITERION_SCHEMA = {"type": "string", "pattern": r"^iglu:[^/]+/[^/]+/[^/]+/(\*|[1-9][0-9]*)-(\*|[0-9]+)-(\*|[0-9]+)$"}
Criterion = Annotated[SchemaCriterion, PlainValidator(_criterion, json_schema_input_type=str),
                      PlainSerializer(str), WithJsonSchema(_CRITERION_SCHEMA), Doc(type="schema criterion")]


@dataclass(frozen=True)
class OutputTarget:
    """``kafka`` or ``files:DIR`` (one file per stream under DIR, for dry runs and replays)."""

    kind: Literal["kafka", "files"]
    directory: Path | None = None

    def __str__(self) -> str:
        return "kafka" if self.kind == "kafka" else f"files:{self.directory}"


def _output_target(value: Any) -> OutputTarget:
    if isinstance(value, OutputTarget):
        return value
    if isinstance(value, str):
        if value == "kafka":
            return OutputTarget("kafka")
        if value.startswith("files:") and len(value) > len("files:"):
            return OutputTarget("files", _resolve_path(value[len("files:"):]))
    raise _error(f"expected \"kafka\" or \"files:DIR\", got {_type_name(value)}")


Target = Annotated[OutputTarget, PlainValidator(_output_target, json_schema_input_type=str), PlainSerializer(str),
                   WithJsonSchema({"type": "string", "pattern": "^(kafka|files:.+)$"}),
                   Doc(type="`kafka` or `files:DIR`")]


# ------------------------------------------------------------------------------------ secrets


@dataclass(frozen=True)
class _SecretRef:
    """What the file said about a secret key, before the value is read."""

    name: str
    env: Any = None
    file: Any = None
    inline: Any = None


def _secret_from_env(var: Any, key: str) -> Secret:
    if not isinstance(var, str) or not var:
        raise _error(f"expected the name of an environment variable, got {_type_name(var)}", key)
    value = _load().environ.get(var)
    if not value:
        raise _error(f"environment variable {var} is {'empty' if value == '' else 'not set'}; export it (or use "
                     "the matching _file key to read the value from a file)", key)
    return Secret(value, f"env:{var}")


def _secret_from_file(name: Any, key: str) -> Secret:
    if not isinstance(name, str) or not name:
        raise _error(f"expected a file path, got {_type_name(name)}", key)
    p = _resolve_path(name)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _error(f"secret file {p} does not exist", key) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(f"cannot read secret file {p}: {type(exc).__name__}", key) from None
    value = text.rstrip("\r\n")
    if not value:
        raise _error(f"secret file {p} is empty", key)
    return Secret(value, f"file:{p}")


def _secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, _SecretRef):  # only reachable by building a model in code
        raise _error("expected a Secret")
    name = value.name
    if value.inline is not None:
        raise _error(f"a credential may not be written in a config file; use {name}_env = \"VARIABLE\" or "
                     f"{name}_file = \"/path/to/file\"")
    if value.env is not None and value.file is not None:
        raise _error(f"set either {name}_env or {name}_file, not both")
    if value.env is not None:
        return _secret_from_env(value.env, f"{name}_env")
    return _secret_from_file(value.file, f"{name}_file")


#: A credential: the file names where it comes from with ``<key>_env`` or ``<key>_file``.
SecretValue = Annotated[Secret, PlainValidator(_secret), PlainSerializer(lambda s: {"secret": s.reference})]


# ----------------------------------------------------------------------- librdkafka passthrough

SettingValue = str | int | float | bool | Secret
_PROPERTY_RE = re.compile(r"^[a-z][a-z0-9_.\-]*$")


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


def _client_settings(value: Any) -> ClientSettings:
    if isinstance(value, ClientSettings):
        return value
    if not isinstance(value, Mapping):
        raise _error(f"expected a table of librdkafka properties, got {_type_name(value)}")
    out: dict[str, SettingValue] = {}
    problems: list[InitErrorDetails] = []
    for key, v in value.items():
        try:
            prop, setting = _client_setting(key, v, out)
        except PydanticCustomError as exc:
            problems.append(_problem((str(key),), exc.context["message"] if exc.context else exc.message(), v))
            continue
        out[prop] = setting
    if problems:
        _fail(problems)
    return ClientSettings(types.MappingProxyType(out))


def _client_setting(key: Any, v: Any, seen: Mapping[str, SettingValue]) -> tuple[str, SettingValue]:
    if not isinstance(key, str) or not _PROPERTY_RE.match(key):
        raise _error("not a librdkafka property name (lower case, dot separated, e.g. \"linger.ms\")")
    prop, kind = key, "inline"
    for suffix in ("_env", "_file"):
        if key.endswith(suffix):
            prop, kind = key[: -len(suffix)], suffix[1:]
    if prop in MANAGED_PROPERTIES:
        raise _error(f"the toolkit manages {prop!r}: {MANAGED_PROPERTIES[prop]}")
    if prop in seen:
        raise _error(f"{prop!r} is set more than once (inline, _env or _file: pick one)")
    if kind == "env":
        return prop, _secret_from_env(v, key)
    if kind == "file":
        return prop, _secret_from_file(v, key)
    if isinstance(v, _EnvStr):
        return prop, Secret(str(v), f"env:{v.var}") if prop in SECRET_PROPERTIES else str(v)
    if prop in SECRET_PROPERTIES:
        raise _error(f"{prop!r} is a credential and may not be written in a config file; use "
                     f'"{prop}_env" = "VARIABLE" or "{prop}_file" = "/path/to/file"')
    if not isinstance(v, str | int | float | bool):
        raise _error(f"expected a string, number or boolean, got {_type_name(v)}")
    return prop, v


def _settings_dict(settings: ClientSettings) -> dict[str, Any]:
    return {k: ({"secret": v.reference} if isinstance(v, Secret) else v) for k, v in sorted(settings.values.items())}


_REFUSED_INLINE = sorted({*MANAGED_PROPERTIES, *(f"{p}_{s}" for p in MANAGED_PROPERTIES for s in ("env", "file")),
                          *SECRET_PROPERTIES})
LibrdkafkaProperties = Annotated[
    ClientSettings, PlainValidator(_client_settings, json_schema_input_type=dict[str, Any]),
    PlainSerializer(_settings_dict),
    WithJsonSchema({"type": "object",
                    "propertyNames": {"pattern": _PROPERTY_RE.pattern, "not": {"enum": _REFUSED_INLINE}},
                    "additionalProperties": {"type": ["string", "number", "boolean"]}}),
    Doc(type="table", default="empty")]


# --------------------------------------------------------------------------------------- filters

_OPS = [op.value for op in CompareOp]
_COMBINATORS = ("all", "any", "not")


def _filter(value: Any) -> Condition:
    problems: list[InitErrorDetails] = []
    condition = _condition(value, (), problems)
    if problems or condition is None:
        _fail(problems)
    return condition


def _condition(value: Any, loc: Loc, problems: list[InitErrorDetails]) -> Condition | None:
    """One condition, or ``None`` with its problems added (siblings are still checked)."""
    def bad(where: Loc, message: str, v: Any = None) -> None:
        problems.append(_problem(where, message, v))

    if not isinstance(value, Mapping):
        bad(loc, "expected a condition table such as { field = \"event_name\", op = \"eq\", value = "
                 f"\"page_view\" }}, got {_type_name(value)}", value)
        return None
    kinds = [k for k in ("field", "schema", *_COMBINATORS) if k in value]
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "none of them"
        bad(loc, f"a condition needs exactly one of field, schema, all, any, not (found {found})", value)
        return None
    kind = kinds[0]
    allowed = {"all": {"all"}, "any": {"any"}, "not": {"not"}, "schema": {"schema", "scope"},
               "field": {"field", "op", "value"}}[kind]
    for key in value:
        if key not in allowed:
            options = sorted(allowed)
            bad((*loc, str(key)), f"unknown key in this condition; {_suggest(str(key), options)}allowed here: "
                                  f"{', '.join(options)}", value[key])
    if kind in ("all", "any"):
        items = value[kind]
        if not isinstance(items, list) or not items:
            bad((*loc, kind), f"expected a non-empty list of conditions, got {_type_name(items)}", items)
            return None
        parts = [_condition(c, (*loc, kind, i), problems) for i, c in enumerate(items)]
        conditions = tuple(c for c in parts if c is not None)
        return None if len(conditions) != len(parts) else AllOf(conditions) if kind == "all" else AnyOf(conditions)
    if kind == "not":
        inner = _condition(value["not"], (*loc, "not"), problems)
        return None if inner is None else Not(inner)
    if kind == "schema":
        scope = value.get("scope", "event")
        if scope not in ("event", "contexts", "any"):
            bad((*loc, "scope"), f"expected 'event', 'contexts' or 'any', got {_type_name(scope)}", scope)
            scope = None
        try:
            criterion = _criterion(value["schema"])
        except PydanticCustomError as exc:
            bad((*loc, "schema"), exc.message(), value["schema"])
            return None
        return SchemaMatch(criterion, scope) if scope else None
    return _compare(value, loc, bad)


def _compare(value: Mapping[str, Any], loc: Loc, bad: typing.Callable[..., None]) -> Compare | None:
    try:
        path = parse_field_path(value["field"])
    except ValueError as exc:
        bad((*loc, "field"), str(exc), value["field"])
        path = None
    op_text = value.get("op")
    if op_text not in _OPS:
        hint = _suggest(op_text, _OPS) if isinstance(op_text, str) else ""
        bad((*loc, "op"), f"{hint}expected one of {', '.join(_OPS)}, got {_type_name(op_text)}", op_text)
        return None
    op = CompareOp(op_text)
    where = (*loc, "value")
    if op is CompareOp.EXISTS:
        if "value" in value:
            bad(where, "'exists' takes no value (wrap it in { not = ... } to test absence)")
            return None
        return Compare(path, op) if path else None
    if "value" not in value:
        bad(where, f"'{op.value}' needs a value")
        return None
    v = value["value"]
    compiled = None
    if op is CompareOp.IN:
        if not isinstance(v, list) or not v or not all(_is_scalar(x) for x in v):
            bad(where, f"'in' needs a non-empty list of strings or numbers, got {_type_name(v)}", v)
            return None
        v = tuple(v)
    elif op is CompareOp.REGEX:
        if not isinstance(v, str):
            bad(where, f"'regex' needs a pattern string, got {_type_name(v)}", v)
            return None
        try:
            compiled = re.compile(v)
        except re.error as exc:
            bad(where, f"invalid regular expression {v!r}: {exc}", v)
            return None
    elif op in (CompareOp.GT, CompareOp.LT):
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            bad(where, f"'{op.value}' needs a number (or a string, compared as text, e.g. a timestamp), "
                       f"got {_type_name(v)}", v)
            return None
    elif not _is_scalar(v):
        bad(where, f"'{op.value}' needs a string, number or boolean, got {_type_name(v)}", v)
        return None
    return Compare(path, op, v, compiled) if path else None


def _is_scalar(v: Any) -> bool:
    return isinstance(v, str | int | float | bool)


def _condition_dict(c: Condition) -> dict[str, Any]:
    if isinstance(c, AllOf | AnyOf):
        return {"all" if isinstance(c, AllOf) else "any": [_condition_dict(x) for x in c.conditions]}
    if isinstance(c, Not):
        return {"not": _condition_dict(c.condition)}
    if isinstance(c, SchemaMatch):
        return {"schema": str(c.criterion), "scope": c.scope}
    out: dict[str, Any] = {"field": c.path.text, "op": c.op.value}
    if c.op is not CompareOp.EXISTS:
        out["value"] = list(c.value) if isinstance(c.value, tuple) else c.value
    return out


_SCALAR_SCHEMA = {"type": ["string", "number", "boolean"]}
_CONDITION_REF = {"$ref": "#/$defs/Condition"}
#: The filter language for editors; the loader's parser above is what decides.
CONDITION_SCHEMA: dict[str, Any] = {
    "description": "One condition: a field comparison, a schema match, or all/any/not of conditions.",
    "oneOf": [
        {"type": "object", "additionalProperties": False, "required": ["field", "op"], "properties": {
            "field": _FIELD_PATH_SCHEMA, "op": {"enum": _OPS},
            "value": {"anyOf": [_SCALAR_SCHEMA, {"type": "array", "items": _SCALAR_SCHEMA, "minItems": 1}]}}},
        {"type": "object", "additionalProperties": False, "required": ["schema"], "properties": {
            "schema": _CRITERION_SCHEMA, "scope": {"enum": ["event", "contexts", "any"]}}},
        {"type": "object", "additionalProperties": False, "required": ["all"],
         "properties": {"all": {"type": "array", "items": _CONDITION_REF, "minItems": 1}}},
        {"type": "object", "additionalProperties": False, "required": ["any"],
         "properties": {"any": {"type": "array", "items": _CONDITION_REF, "minItems": 1}}},
        {"type": "object", "additionalProperties": False, "required": ["not"], "properties": {"not": _CONDITION_REF}},
    ],
}
_CONDITION_PLACEHOLDER = {"x-sptk": "condition"}  # pydantic resolves every $ref it meets: set after generation
Filter = Annotated[Condition, PlainValidator(_filter, json_schema_input_type=dict[str, Any]),
                   PlainSerializer(_condition_dict), WithJsonSchema(_CONDITION_PLACEHOLDER),
                   Doc(type="condition", default="none (every valid event)")]


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


def _file_keys(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """JSON Schema shows what a file holds: a secret ``x`` as ``x_env``/``x_file``, never ``x`` itself."""
    props = schema.get("properties", {})
    for name in _secret_fields(cls):
        about = props.pop(name, {}).get("description", "")
        props[f"{name}_env"] = {"type": "string", "description": f"environment variable holding {about}"}
        props[f"{name}_file"] = {"type": "string", "description": f"file holding {about}"}
        rule = {"not": {"required": [f"{name}_env", f"{name}_file"]}}
        if name in schema.get("required", []):
            schema["required"].remove(name)
            rule = {"oneOf": [{"required": [f"{name}_env"]}, {"required": [f"{name}_file"]}]}
        schema.setdefault("allOf", []).append(rule)


class Section(BaseModel):
    """A table of the config file: strict, closed to unknown keys, frozen once loaded."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, json_schema_extra=_file_keys)

    @model_validator(mode="before")
    @classmethod
    def _file_shape(cls, data: Any) -> Any:
        """Secrets named by ``<key>_env``/``<key>_file``; environment text converted to each key's type."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for name in _secret_fields(cls):
            env, file = data.pop(f"{name}_env", None), data.pop(f"{name}_file", None)
            inline = data.get(name)
            if env is not None or file is not None or not (inline is None or isinstance(inline, Secret)):
                data[name] = _SecretRef(name, env, file, inline)
        for name, value in data.items():
            if isinstance(value, _EnvStr) and name in cls.model_fields:
                data[name] = _from_env_text(cls.model_fields[name].annotation, value)
        return data


_SECRET_FIELDS: dict[type, tuple[str, ...]] = {}


def _secret_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    if cls not in _SECRET_FIELDS:
        _SECRET_FIELDS[cls] = tuple(name for name, f in cls.model_fields.items()
                                    if bare_type(f.annotation) is Secret)
    return _SECRET_FIELDS[cls]


_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
_PROFILE_PATTERN = r"^[a-z][a-z0-9_-]*$"


def _known_profile(name: str | None) -> str | None:
    from toolkit.contract.profiles import PROFILES

    if name is not None and name not in PROFILES:
        profiles = list(PROFILES)
        raise _error(f"unknown JSON profile {name!r}; {_suggest(name, profiles)}choose one of: {', '.join(profiles)}")
    return name


_TOPIC_PREFIX_RE = re.compile(r"^[a-zA-Z0-9_\-]+(\.[a-zA-Z0-9_\-]+)*$")
_MAX_TOPIC_NAME = 249


def _topic_prefix(prefix: str) -> str:
    if not _TOPIC_PREFIX_RE.match(prefix):
        raise _error(f"{prefix!r} is not a valid topic prefix: use letters, digits, '_', '-' and single dots "
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

    def resolve(self, own: TopicSettings) -> TopicSettings:
        """Built-in defaults, then ``[topics.defaults]``, then the stream's own table."""
        return BUILTIN_TOPIC_DEFAULTS.overlay(self.defaults).overlay(own)


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


SourceKind = Literal["file", "stdin", "dir", "kafka", "http"]


class SourceConfig(Section):
    """Where records come from: exactly one source, whose options live in the sub-table named like its kind.
    A sub-table of another kind is an error."""

    kind: SourceKind = Field(description="the source")
    file: FileSourceConfig | None = None
    dir: DirSourceConfig | None = None
    kafka: KafkaSourceConfig | None = None
    http: HttpSourceConfig | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SourceConfig:
        problems = [_problem((kind,), f"[source.{kind}] is set but source.kind is {self.kind!r}; remove it or set "
                                      f"kind = {kind!r}") for kind in ("file", "dir", "kafka", "http")
                    if getattr(self, kind) is not None and self.kind != kind]
        if self.kind in ("file", "dir", "kafka") and getattr(self, self.kind) is None:
            problems.append(_problem((self.kind,), f"source.kind is {self.kind!r}, which needs a "
                                                   f"[source.{self.kind}] table"))
        if problems:
            _fail(problems)
        return self


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


ProfileName = Annotated[str, Field(pattern=_PROFILE_PATTERN), AfterValidator(_known_profile)]


class OutputConfig(Section):
    """Where results go."""

    target: Target = Field(OutputTarget("kafka"), description=(
        "`files:DIR` writes one file per stream under DIR instead of producing (dry runs, replays, tests; see"
        " [Outputs](#outputs-messages-keys-headers-files))"))
    enriched_profile: ProfileName = Field("canonical", description=(
        "JSON profile of `<prefix>.enriched`: one of the profiles in `toolkit.contract.profiles` (`canonical`, "
        "`python-sdk`, `scala-sdk`, `go-sdk`, `go-sdk-geo`), checked when the config loads"))
    partition_key: PartitionKey = Field(default_factory=_default_partition_key, description=(
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
    partition_key: PartitionKey = Field(default_factory=_default_partition_key, description=(
        "message key: the first non-empty path wins; see [Partition keys](#partition-keys)"))
    profile: Annotated[ProfileName | None, Doc(default="`output.enriched_profile`")] = Field(
        None, description="JSON profile of the stream")
    topic: TopicSettings = Field(TopicSettings(), description="topic settings, inheriting from `[topics.defaults]`")

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
            _fail([_problem(("pseudonymisation_key",), "pseudonymise lists fields but no key is configured: set "
                            "pseudonymisation_key_env or pseudonymisation_key_file (HMAC-SHA256 needs a secret key)")])
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
    transactional: bool = Field(False, description=(
        "exactly-once for Kafka → Kafka: outputs and source offsets commit in one transaction"))
    transactional_id: str | None = Field(None, description=(
        "required with `transactional`: stable across restarts of one instance, unique across instances"))

    @model_validator(mode="after")
    def _transactions(self) -> DeliveryConfig:
        if self.transactional and not self.transactional_id:
            _fail([_problem(("transactional_id",), "delivery.transactional = true needs a transactional_id that is "
                            "stable across restarts of this instance (and unique among instances)")])
        if not self.transactional and self.transactional_id:
            _fail([_problem(("transactional_id",), "transactional_id is set but delivery.transactional is false; "
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
Target = Annotated[float, Field(gt=0.0, lt=1.0)]


class StreamObjectives(Section):
    """Objectives of one stream or sink, `[slo.streams.<stream>]`; a key left out takes the `[slo]` default."""

    freshness_threshold_s: Annotated[float | None, Field(gt=0.0), _INHERITED] = Field(None, description=(
        "age (now - `collector_tstamp`) a record may have when it is written"))
    freshness_target: Annotated[Target | None, _INHERITED] = Field(None, description=(
        "share of records written within `freshness_threshold_s`"))
    delivery_target: Annotated[Target | None, _INHERITED] = Field(None, description=(
        "share of messages confirmed by the broker on their first delivery report"))


class SloConfig(Section):
    """Service-level objectives, from which `sptk monitor rules` writes the Prometheus alert rules.

    The defaults are objectives a team can adopt unchanged (docs/operations.md says why each);
    a stream or a sink that needs others names them in `[slo.streams.<stream>]`, keyed by the
    `stream` label of its metrics (`enriched`, `raw`, `bad`, `derived.<name>.v<N>`). Changing an
    objective changes the alerts, not the pipeline, so it leaves the config hash alone.
    """

    freshness_threshold_s: float = Field(300.0, gt=0.0, description=(
        "age (now - `collector_tstamp`) a record may have when it is written; a bucket bound of "
        "`sptk_freshness_seconds`"))
    freshness_target: Target = Field(0.95, description=(
        "share of records written within `freshness_threshold_s` (0.95: the p95 age stays within it)"))
    delivery_target: Target = Field(0.999, description=(
        "share of messages confirmed by the broker on their first delivery report"))
    invalid_rate_max: float = Field(0.01, gt=0.0, lt=1.0, description=(
        "share of records that may turn into bad rows (the invalid-rate budget), overall and per app and schema"))
    availability_target: Target = Field(0.999, description=(
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


class PipelineConfig(BaseSettings):
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
    delivery: DeliveryConfig = Field(DeliveryConfig(), description="delivery guarantees and backpressure")
    sidecar: SidecarConfig = Field(SidecarConfig(), description=(
        "the HTTP server and logging of a long-running pipeline"))
    slo: SloConfig = Field(SloConfig(), description=(
        "service-level objectives for `sptk monitor rules`; see docs/operations.md"))

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The file's document with ``SPTK_…`` variables applied onto it; no ``.env`` file, no secrets directory.

        :func:`parse_config` puts the document and the environment in the load in progress;
        a config built in code (``PipelineConfig(**values)``) is exactly the values given.
        """
        load = _LOADING.get()
        return (init_settings,) if load is None else (SptkEnvironment(settings_cls, load),)

    @field_validator("kafka")
    @classmethod
    def _kafka_when_used(cls, kafka: KafkaConfig | None, info: ValidationInfo) -> KafkaConfig | None:
        output, source = info.data.get("output"), info.data.get("source")
        uses = [why for why, used in (("output.target is kafka", output and output.target.kind == "kafka"),
                                      ("source.kind is kafka", source and source.kind == "kafka")) if used]
        if kafka is None and uses and output is not None and source is not None:
            raise _error(f"missing [kafka] section ({uses[0]}); it needs at least bootstrap_servers and topic_prefix")
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
                problems.append(_problem((i, "version"), f"derived stream {d.name!r} version {d.version} is "
                                                         "declared twice"))
            seen.add(d.stream_id)
            topic = f"{kafka.topic_prefix}.derived.{d.name}.v{d.version}" if kafka else ""
            if len(topic) > _MAX_TOPIC_NAME:
                problems.append(_problem((i, "name"), f"topic name {topic!r} is {len(topic)} characters; Kafka "
                                                      f"allows {_MAX_TOPIC_NAME}"))
        if problems:
            _fail(problems)
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
                problems.append(_problem((stream,), "the raw stream carries input lines byte for byte and cannot be "
                                         "pseudonymised or filtered; apply privacy rules to enriched or derived "
                                         "streams"))
            elif derived is not None and stream != "enriched" and stream not in names:
                options = ["enriched", *sorted(names)]
                problems.append(_problem((stream,), f"unknown stream {stream!r}; {_suggest(stream, options)}privacy "
                                                    f"applies to: {', '.join(options)}"))
        if problems:
            _fail(problems)
        return privacy

    @field_validator("delivery")
    @classmethod
    def _transactions_need_kafka(cls, delivery: DeliveryConfig, info: ValidationInfo) -> DeliveryConfig:
        source, output = info.data.get("source"), info.data.get("output")
        if delivery.transactional and source is not None and output is not None and \
                (source.kind != "kafka" or output.target.kind != "kafka"):
            _fail([_problem(("transactional",), "transactions give exactly-once only from a Kafka source to Kafka "
                            f"output; this pipeline reads {source.kind!r} and writes {output.target}")])
        return delivery

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


# --------------------------------------------------------------------------------------------
# Walking the models by key path (environment overrides, error paths, the key list)
# --------------------------------------------------------------------------------------------


def _child_type(tp: Any, key: str | int) -> Any:
    """The type one step below ``tp``: a model's key, a list's item, a table-of-tables' entry."""
    tp = bare_type(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        f = tp.model_fields.get(str(key))
        return f.annotation if f is not None else None
    origin = typing.get_origin(tp)
    if origin is tuple and isinstance(key, int):
        return bare_type(typing.get_args(tp)[0])
    if origin is dict and isinstance(key, str):
        return bare_type(typing.get_args(tp)[1])
    return None


def _model(tp: Any) -> type[BaseModel] | None:
    tp = bare_type(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _file_keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a file may write in this table (a secret ``x`` as ``x_env`` and ``x_file``)."""
    secrets = _secret_fields(model)
    return [k for name in model.model_fields for k in ([f"{name}_env", f"{name}_file"] if name in secrets else [name])]


def _render(loc: Loc, document: Any) -> str:
    """``("derived", 0, "filter")`` -> ``derived[clicks].filter``; librdkafka property names quoted."""
    tp: Any = PipelineConfig
    node = document
    text = ""
    for part in loc:
        named = node[part].get("name") if isinstance(part, int) and isinstance(node, list) and \
            part < len(node) and isinstance(node[part], Mapping) else None
        if isinstance(part, int):
            model = _model(_child_type(tp, part))
            text += f"[{named}]" if model is not None and "name" in model.model_fields and named else f"[{part}]"
        else:
            quoted = bare_type(tp) is ClientSettings
            text += ("." if text else "") + (f'"{part}"' if quoted else part)
        tp = _child_type(tp, part) if bare_type(tp) is not ClientSettings else None
        node = node.get(part) if isinstance(node, Mapping) else \
            node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None
    return text


# --------------------------------------------------------------------------------------------
# Sources: the file (TOML or YAML) and the environment
# --------------------------------------------------------------------------------------------


class TomlFile(TomlConfigSettingsSource):
    """A ``.toml`` config file; a syntax error names the file."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            return tomllib.loads(Path(file_path).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", origin=str(file_path)) from None


class YamlFile(YamlConfigSettingsSource):
    """A ``.yaml``/``.yml`` config file, read with duplicate keys refused (plain YAML silently lets the last win)."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        import yaml

        origin = str(file_path)

        class StrictLoader(yaml.SafeLoader):
            pass

        def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            loader.flatten_mapping(node)
            seen: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=deep)
                if key in seen:
                    raise ConfigError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}", origin=origin)
                seen[key] = loader.construct_object(value_node, deep=deep)
            return seen

        StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
        try:
            data = yaml.load(Path(file_path).read_text(encoding="utf-8"), Loader=StrictLoader)  # noqa: S506
        except yaml.YAMLError as exc:
            raise ConfigError(f"not valid YAML: {exc}", origin=origin) from None
        return _table(data, origin)


def _table(data: Any, origin: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"the top level must be a table of sections, got {_type_name(data)}", origin=origin)
    return dict(data)


#: librdkafka properties whose names contain ``_`` (everything else is dot separated).
_UNDERSCORE_PROPERTIES = frozenset({"log_level"})


class SptkEnvironment(PydanticBaseSettingsSource):
    """``SPTK_<KEY>__<KEY>`` variables applied onto the file's document.

    Only variables with the prefix *and* the delimiter are overrides (``SPTK_POSTGRES_URL``
    is left alone). Entries of a list of tables are addressed by their ``name``, so the
    overrides are applied onto the document rather than merged beside it. A variable that
    names no key becomes a problem of the load, reported with the file's own.
    """

    def __init__(self, settings_cls: type[BaseSettings], load: _Load) -> None:
        super().__init__(settings_cls)
        self.prefix, self.separator = self.config["env_prefix"], self.config["env_nested_delimiter"]
        self.load = load

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the whole document is built at once in __call__

    def __call__(self) -> dict[str, Any]:
        """The load's document (its own copy) with the overrides applied in place."""
        environ = self.load.environ
        for var in sorted(environ):
            if var.startswith(self.prefix) and self.separator in var:
                segments = [s.lower() for s in var[len(self.prefix):].split(self.separator)]
                problem = self._apply(self.load.document, segments, _EnvStr(environ[var], var)) if all(segments) \
                    else Problem("", f"environment variable {var}: empty level between '{self.separator}' separators")
                if problem is not None:
                    self.load.problems.append(problem)
        return self.load.document

    def _apply(self, node: dict[str, Any], segments: list[str], value: _EnvStr) -> Problem | None:
        tp: Any = PipelineConfig
        path = ""
        i = 0
        while i < len(segments):
            seg, last = segments[i], i == len(segments) - 1
            model = _model(tp)
            assert model is not None
            accepted = _file_keys_of(model)
            here = f"{path}.{seg}" if path else seg
            if seg not in accepted:
                return Problem(here, f"environment variable {value.var} names unknown key {seg!r}; "
                                     f"{_suggest(seg, accepted)}valid keys in [{path or 'top level'}] are: "
                                     f"{', '.join(accepted)}")
            child = _child_type(model, seg) if seg in model.model_fields else str
            inner = bare_type(child)
            if inner is ClientSettings:
                if last or i + 2 != len(segments):
                    return Problem(here, f"environment variable {value.var}: name one librdkafka property after "
                                         f"{seg.upper()}, e.g. SPTK_KAFKA__PRODUCER__LINGER_MS")
                prop = _env_property_name(segments[i + 1])
                table = _subtable(node, seg)
                if table is None:
                    return Problem(here, f"environment variable {value.var}: {here} is not a table in the file")
                table[prop] = value
                self.load.env_paths[f'{here}."{prop}"'] = value.var
                return None
            if inner is Condition:
                return Problem(here, f"environment variable {value.var}: {here} is a structured condition and can "
                                     "only be set in the config file")
            origin = typing.get_origin(inner)
            if origin is dict:
                if i + 2 >= len(segments):
                    return Problem(here, f"environment variable {value.var}: expected "
                                         f"SPTK_{seg.upper()}__<NAME>__<KEY>")
                table = _subtable(node, seg)
                entry = _subtable(table, segments[i + 1]) if table is not None else None
                if entry is None:
                    return Problem(here, f"environment variable {value.var}: {here} is not a table of tables in the "
                                         "file")
                node, path, tp, i = entry, f"{here}.{segments[i + 1]}", typing.get_args(inner)[1], i + 2
                continue
            if origin is tuple and _model(typing.get_args(inner)[0]) is not None:
                if i + 2 >= len(segments):
                    return Problem(here, f"environment variable {value.var}: expected SPTK_{seg.upper()}__<NAME>__"
                                         "<KEY> (entries are addressed by their name)")
                entries = node.get(seg) if isinstance(node.get(seg), list) else []
                name = segments[i + 1]
                match = [e for e in entries if isinstance(e, dict) and str(e.get("name", "")).lower() == name]
                if not match:
                    names = [str(e.get("name")) for e in entries if isinstance(e, Mapping)]
                    return Problem(here, f"environment variable {value.var}: no [[{seg}]] entry named {name!r} "
                                         f"({_suggest(name, names)}configured: {', '.join(names) or 'none'})")
                node, path, tp, i = match[0], f"{here}[{match[0]['name']}]", typing.get_args(inner)[0], i + 2
                continue
            if _model(inner) is not None:
                if last:
                    return Problem(here, f"environment variable {value.var}: {here} is a table; name one of its keys")
                table = _subtable(node, seg)
                if table is None:
                    return Problem(here, f"environment variable {value.var}: {here} is not a table in the file")
                node, path, tp, i = table, here, inner, i + 1
                continue
            if not last:
                return Problem(here, f"environment variable {value.var}: {here} is a single value; nothing lies "
                                     "below it")
            node[seg] = value
            self.load.env_paths[here] = value.var
            return None
        return None


def _subtable(node: dict[str, Any], key: str) -> dict[str, Any] | None:
    """``node[key]``, made an empty table when absent; ``None`` when the file holds something else there."""
    table = node.setdefault(key, {})
    return table if isinstance(table, dict) else None


def _env_property_name(segment: str) -> str:
    """``SASL_PASSWORD_FILE`` -> ``sasl.password_file``; ``LINGER_MS`` -> ``linger.ms``; ``LOG_LEVEL`` stays."""
    suffix = next((s for s in ("_env", "_file") if segment.endswith(s)), "")
    name = segment[: len(segment) - len(suffix)]
    return (name if name in _UNDERSCORE_PROPERTIES else name.replace("_", ".")) + suffix


def _text_keys(value: Any, path: str, problems: list[Problem]) -> Any:
    """A copy of the document whose table keys are all text; YAML allows others, which are problems here."""
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str):
                problems.append(Problem(here, f"keys must be text, got {_type_name(key)}"))
            out[str(key)] = _text_keys(item, here, problems)
        return out
    return [_text_keys(v, f"{path}[{i}]", problems) for i, v in enumerate(value)] if isinstance(value, list) else value


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> PipelineConfig:
    """Read a ``.toml``/``.yaml``/``.yml`` pipeline config, apply ``SPTK_*`` overrides, validate it.

    Relative paths inside the file are resolved against the file's directory, so a
    config keeps working from any working directory.
    """
    p = Path(path)
    origin = str(p)
    suffix = p.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"unsupported config file type {p.suffix!r}: use .toml, .yaml or .yml", origin=origin)
    try:
        p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist", origin=origin) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}", origin=origin) from None
    try:
        source = TomlFile(PipelineConfig, p) if suffix == ".toml" else YamlFile(PipelineConfig, p)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}", origin=origin) from None
    return parse_config(source(), origin=origin, base_dir=p.resolve().parent,
                        environ=os.environ if environ is None else environ)


def parse_config(data: Mapping[str, Any], *, origin: str = "<config>", base_dir: Path | None = None,
                 environ: Mapping[str, str] | None = None) -> PipelineConfig:
    """Validate an already-parsed mapping (TOML/YAML/JSON alike) into a :class:`PipelineConfig`."""
    problems: list[Problem] = []
    load = _Load(origin, base_dir or Path.cwd(), environ or {}, _text_keys(_table(data, origin), "", problems),
                 problems)
    token = _LOADING.set(load)
    try:
        cfg = PipelineConfig()
    except ValidationError as exc:
        raise ConfigError(origin=origin, problems=(*load.problems, *_problems(exc, load))) from None
    finally:
        _LOADING.reset(token)
    if load.problems:
        raise ConfigError(origin=origin, problems=tuple(load.problems))
    return cfg


def _problems(exc: ValidationError, load: _Load) -> list[Problem]:
    out: list[Problem] = []
    errors = exc.errors(include_url=False)
    for e in errors:
        loc: Loc = tuple(e["loc"])
        if e["type"] == "missing" and loc in _misspelt(errors):
            continue  # the misspelt key says it better: "unknown key; did you mean ...?"
        context = e.get("ctx") or {}
        if e["type"] == "config" and "key" in context:
            loc = (*loc[:-1], context["key"]) if loc and loc[-1] != context["key"] else (*loc, context["key"])
        path = _render(loc, load.document)
        message = _message(e["type"], loc, e.get("input"), context, e["msg"], load)
        var = e["input"].var if isinstance(e.get("input"), _EnvStr) else next(
            (v for p, v in load.env_paths.items() if path == p or path.startswith((f"{p}.", f"{p}["))), None)
        out.append(Problem(path, f"{message} (set by environment variable {var})" if var else message))
    return list(dict.fromkeys(out))


def _misspelt(errors: list[Any]) -> set[Loc]:
    """Where a key is missing because an unknown key beside it looks like it."""
    out: set[Loc] = set()
    for e in errors:
        if e["type"] == "extra_forbidden":
            parent = _model(_walk(tuple(e["loc"][:-1])))
            close = difflib.get_close_matches(str(e["loc"][-1]), list(parent.model_fields) if parent else [], 1, 0.6)
            out.update((*e["loc"][:-1], c) for c in close)
    return out


def _message(kind: str, loc: Loc, value: Any, context: Mapping[str, Any], default: str, load: _Load) -> str:
    got = _type_name(value)
    if kind == "config":
        return str(context["message"])
    if kind == "extra_forbidden":
        parent = _model(_walk(loc[:-1]))
        accepted = _file_keys_of(parent) if parent else []
        where = f"[{_render(loc[:-1], load.document)}]" if loc[:-1] else "the top level"
        return f"unknown key; {_suggest(str(loc[-1]), accepted)}valid keys in {where} are: {', '.join(accepted)}"
    if kind == "missing":
        name = str(loc[-1])
        if bare_type(_walk(loc)) is Secret:
            return f"missing: set {name}_env (an environment variable) or {name}_file (a file holding the value)"
        return f"missing required key {name!r}"
    if kind == "literal_error":
        options = [str(o) for o in typing.get_args(bare_type(_walk(loc)))]
        listed = ", ".join(map(repr, options))
        if isinstance(value, str):
            return f"{str(value)!r} is not allowed; {_suggest(value, options)}expected one of {listed}"
        return f"expected one of {listed}, got {got}"
    simple = {
        "int_type": "expected an integer", "int_parsing": "expected an integer",
        "float_type": "expected a number", "float_parsing": "expected a number",
        "bool_type": "expected a boolean (true or false)", "bool_parsing": "expected a boolean (true or false)",
        "string_type": "expected a string", "model_type": "expected a table", "model_attributes_type":
        "expected a table", "dict_type": "expected a table", "tuple_type": "expected a list",
        "list_type": "expected a list", "is_instance_of": "expected a file or directory path (a string)",
        "path_type": "expected a file or directory path (a string)",
    }
    if kind in simple:
        return f"{simple[kind]}, got {got}"
    if kind == "greater_than_equal":
        return f"must be at least {context['ge']}, got {value!r}"
    if kind == "less_than_equal":
        return f"must be at most {context['le']}, got {value!r}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        return f"{str(value)!r} does not match {context['pattern']} (lower case letters, digits, '_' and '-')"
    return default.removeprefix("Value error, ")


def _walk(loc: Loc) -> Any:
    tp: Any = PipelineConfig
    for part in loc:
        tp = _child_type(tp, part)
        if tp is None:
            return None
    return tp


# --------------------------------------------------------------------------------------------
# Reports, hash, key listing, JSON Schema
# --------------------------------------------------------------------------------------------


def config_to_dict(cfg: BaseModel) -> Any:
    """A JSON-ready view of the config (or a section of it) with secrets shown only as references."""
    return cfg.model_dump(mode="json")


#: sections that change how the pipeline is watched, not what it does, so not its ``sp.pipeline`` header
_NOT_HASHED = frozenset({"slo"})


def config_hash(cfg: PipelineConfig) -> str:
    """SHA-256 of the canonical JSON of the config: same settings, same hash, whatever the file format.

    Secrets enter only as their reference (``env:NAME``/``file:PATH``), so rotating a
    password does not change the hash and the hash reveals nothing about it.
    """
    described = {k: v for k, v in config_to_dict(cfg).items() if k not in _NOT_HASHED}
    canonical = json.dumps(described, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
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

    def walk(model: type[BaseModel], prefix: str) -> None:
        secrets = _secret_fields(model)
        for name, f in model.model_fields.items():
            path = f"{prefix}.{name}" if prefix else name
            out.extend([f"{path}_env", f"{path}_file"] if name in secrets else [path])
            inner = bare_type(f.annotation)
            if typing.get_origin(inner) is dict:
                walk(typing.get_args(inner)[1], f"{path}.<stream>")
            elif typing.get_origin(inner) is tuple and _model(typing.get_args(inner)[0]):
                walk(typing.get_args(inner)[0], path)
            elif _model(inner):
                walk(inner, path)

    walk(PipelineConfig, "")
    return out


SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, for editors (completion, checking) and ``sptk config schema``."""
    def tidy(node: Any) -> Any:
        if node == _CONDITION_PLACEHOLDER:
            return _CONDITION_REF
        if isinstance(node, dict):  # one-line descriptions; no titles made up from key names
            return {k: " ".join(v.split()) if k == "description" and isinstance(v, str) else tidy(v)
                    for k, v in node.items() if not (k == "title" and isinstance(v, str))}
        return [tidy(v) for v in node] if isinstance(node, list) else node

    schema = tidy(PipelineConfig.model_json_schema(mode="validation", schema_generator=_FileSchema))
    schema["$defs"]["Condition"] = CONDITION_SCHEMA
    return {"$schema": SCHEMA_DIALECT, "title": PipelineConfig.model_config["title"], **schema}


class _FileSchema(GenerateJsonSchema):
    """Defaults shown the way a file writes them (``"kafka"``, ``["domain_userid", ...]``), not as objects."""

    def encode_default(self, dflt: Any) -> Any:
        return super().encode_default(as_written(dflt))


def as_written(value: Any) -> Any:
    """A default value the way a config file writes it."""
    if isinstance(value, FieldPath):
        return value.text
    if isinstance(value, OutputTarget | SchemaCriterion):
        return str(value)
    if isinstance(value, ClientSettings):
        return _settings_dict(value)
    return [as_written(v) for v in value] if isinstance(value, tuple | list) else value

