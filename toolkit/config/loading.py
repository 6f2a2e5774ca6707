"""Loading a pipeline config: :func:`load_config` reads a file, :func:`parse_config` validates a parsed mapping.

Both apply the ``SPTK_`` overrides and raise one :class:`~toolkit.config.errors.ConfigError`
with every problem of the file; relative paths in the file start at the file's directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.config.errors import ConfigError, Problem
from toolkit.config.messages import problems_of
from toolkit.config.models import PipelineConfig
from toolkit.config.sources import TomlFile, YamlFile, top_level
from toolkit.config.validation import LOADING, Load, type_name


def _text_keys(value: Any, path: str, problems: list[Problem]) -> Any:
    """A copy of the document whose table keys are all text; YAML allows others, which are problems here."""
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str):
                problems.append(Problem(here, f"keys must be text, got {type_name(key)}"))
            out[str(key)] = _text_keys(item, here, problems)
        return out
    return [_text_keys(v, f"{path}[{i}]", problems) for i, v in enumerate(value)] if isinstance(value, list) else value


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
    load = Load(origin, base_dir or Path.cwd(), environ or {}, _text_keys(top_level(data, origin), "", problems),
                problems)
    token = LOADING.set(load)
    try:
        cfg = PipelineConfig()
    except ValidationError as exc:
        raise ConfigError(origin=origin, problems=(*load.problems, *problems_of(exc, load))) from None
    finally:
        LOADING.reset(token)
    if load.problems:
        raise ConfigError(origin=origin, problems=tuple(load.problems))
    return cfg
