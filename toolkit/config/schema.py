"""What a config file may hold, for editors and tests: its JSON Schema (``sptk config schema``) and every key."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from iglu_registry.schema_key import SchemaCriterion
from toolkit.config.field_paths import FieldPath
from toolkit.config.filters import CONDITION_PLACEHOLDER, CONDITION_REF, CONDITION_SCHEMA
from toolkit.config.key_types import bare_type, model_of
from toolkit.config.librdkafka import ClientSettings, settings_dict
from toolkit.config.models import PipelineConfig
from toolkit.config.secrets import secret_fields
from toolkit.config.values import OutputTarget


def config_keys() -> list[str]:
    """Every documented key as a dotted path (``derived.filter``, ``privacy.<stream>.strip_ip``)."""
    out: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        secrets = secret_fields(model)
        for name, f in model.model_fields.items():
            path = f"{prefix}.{name}" if prefix else name
            out.extend([f"{path}_env", f"{path}_file"] if name in secrets else [path])
            inner = bare_type(f.annotation)
            if typing.get_origin(inner) is dict:
                walk(typing.get_args(inner)[1], f"{path}.<stream>")
            elif typing.get_origin(inner) is tuple and model_of(typing.get_args(inner)[0]):
                walk(typing.get_args(inner)[0], path)
            elif model_of(inner):
                walk(inner, path)

    walk(PipelineConfig, "")
    return out


SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, for editors (completion, checking) and ``sptk config schema``."""
    def tidy(node: Any) -> Any:
        if node == CONDITION_PLACEHOLDER:
            return CONDITION_REF
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
        return settings_dict(value)
    return [as_written(v) for v in value] if isinstance(value, tuple | list) else value

