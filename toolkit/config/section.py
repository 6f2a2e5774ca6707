"""The base of every table of a config file: strict, closed, frozen, with secrets by ``_env``/``_file``.

Its own module so that each group of sections (the pipeline's, the inputs', a sink's) can
build on it without importing the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from toolkit.config.secrets import Secret, SecretRef, secret_fields
from toolkit.config.validation import EnvText, from_env_text


def _file_keys(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """JSON Schema shows what a file holds: a secret ``x`` as ``x_env``/``x_file``, never ``x`` itself."""
    props = schema.get("properties", {})
    for name in secret_fields(cls):
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
        for name in secret_fields(cls):
            env, file = data.pop(f"{name}_env", None), data.pop(f"{name}_file", None)
            inline = data.get(name)
            if env is not None or file is not None or not (inline is None or isinstance(inline, Secret)):
                data[name] = SecretRef(name, env, file, inline)
        for name, value in data.items():
            if isinstance(value, EnvText) and name in cls.model_fields:
                data[name] = from_env_text(cls.model_fields[name].annotation, value)
        return data
