"""Reading a YAML file a person wrote (governance, naming rules): one set of messages for what can go wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class YamlFileError(ValueError):
    """The file cannot be read or is not YAML; the message names the file and, for bad YAML, where."""


def read_yaml(path: Path, what: str) -> Any:
    """The parsed document of ``path``; ``what`` names the file in messages ("governance file")."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlFileError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlFileError(f"cannot read {what} {path}: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise YamlFileError(f"{path}: not valid YAML: {exc}") from None
