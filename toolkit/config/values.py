"""Value types: how a key's text becomes a typed value, and what the JSON Schema and the docs say about it.

Each is an ``Annotated`` type whose validator speaks our wording (paths relative to the config
file, schema criteria, the output target) and whose :class:`Doc` tells docs/pipeline.md how to
show it where a value would read worse than words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, PlainSerializer, PlainValidator, WithJsonSchema

from iglu_registry.schema_key import InvalidSchemaKey, SchemaCriterion
from toolkit.config.validation import current_load, invalid, type_name


@dataclass(frozen=True)
class Doc:
    """How docs/pipeline.md shows a key whose type or default needs words rather than a value.

    ``values``: the defaults of a table's keys when they are not the model's own
    (``[topics.defaults]`` shows the built-in topic settings).
    """

    type: str | None = None
    default: str | None = None
    values: BaseModel | None = None


def resolve_path(value: Any) -> Any:
    if isinstance(value, str) and value:
        p = Path(value).expanduser()
        return p if p.is_absolute() else current_load().base_dir / p
    return value


#: A file or directory; relative paths start at the config file's directory.
ConfigPath = Annotated[Path, BeforeValidator(resolve_path)]


def parse_criterion(value: Any) -> SchemaCriterion:
    if isinstance(value, SchemaCriterion):
        return value
    if not isinstance(value, str):
        raise invalid(f"expected a schema criterion such as \"iglu:com.acme/click/jsonschema/1-*-*\", "
                      f"got {type_name(value)}")
    try:
        return SchemaCriterion.parse(value)
    except InvalidSchemaKey as exc:
        raise invalid(str(exc)) from None


CRITERION_SCHEMA = {"type": "string", "pattern": r"^iglu:[^/]+/[^/]+/[^/]+/(\*|[1-9][0-9]*)-(\*|[0-9]+)-(\*|[0-9]+)$"}
Criterion = Annotated[SchemaCriterion, PlainValidator(parse_criterion, json_schema_input_type=str),
                      PlainSerializer(str), WithJsonSchema(CRITERION_SCHEMA), Doc(type="schema criterion")]


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
            return OutputTarget("files", resolve_path(value[len("files:"):]))
    raise invalid(f"expected \"kafka\" or \"files:DIR\", got {type_name(value)}")


Target = Annotated[OutputTarget, PlainValidator(_output_target, json_schema_input_type=str), PlainSerializer(str),
                   WithJsonSchema({"type": "string", "pattern": "^(kafka|files:.+)$"}),
                   Doc(type="`kafka` or `files:DIR`")]
