"""Loading a pipeline config: :func:`load_config` reads a file, :func:`parse_config` validates a parsed mapping.

Both apply the ``SPTK_`` overrides and raise one :class:`~toolkit.config.errors.ConfigError`
with every problem of the file; relative paths in the file start at the file's directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from toolkit.config.errors import ConfigError, Problem
from toolkit.config.messages import problems_of
from toolkit.config.models import PipelineConfig
from toolkit.config.sources import FileSettings, TomlFile, YamlFile, top_level
from toolkit.config.validation import LOADING, Load, type_name

S = TypeVar("S", bound=FileSettings)


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
    return load_settings(path, PipelineConfig, environ)


def parse_config(data: Mapping[str, Any], *, origin: str = "<config>", base_dir: Path | None = None,
                 environ: Mapping[str, str] | None = None) -> PipelineConfig:
    """Validate an already-parsed mapping (TOML/YAML/JSON alike) into a :class:`PipelineConfig`."""
    return parse_settings(data, PipelineConfig, origin=origin, base_dir=base_dir, environ=environ)


def load_settings(path: str | Path, model: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Read any config file of the project (a pipeline's, a sink's) into ``model``, with its prefix's overrides.

    One reader and one wording of problems for every file an operator writes: the same
    ``_env``/``_file`` secrets, closed tables, dotted key paths and "did you mean".
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
        source = TomlFile(model, p) if suffix == ".toml" else YamlFile(model, p)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}", origin=origin) from None
    return parse_settings(source(), model, origin=origin, base_dir=p.resolve().parent,
                          environ=os.environ if environ is None else environ)


def parse_settings(data: Mapping[str, Any], model: type[S], *, origin: str = "<config>",
                   base_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> S:
    """Validate an already-parsed mapping into ``model``, every problem of the document in one :class:`ConfigError`."""
    problems: list[Problem] = []
    load = Load(origin, base_dir or Path.cwd(), environ or {}, _text_keys(top_level(data, origin), "", problems),
                problems, root=model)
    token = LOADING.set(load)
    try:
        cfg = model()
    except ValidationError as exc:
        raise ConfigError(origin=origin, problems=(*load.problems, *problems_of(exc, load))) from None
    finally:
        LOADING.reset(token)
    if load.problems:
        raise ConfigError(origin=origin, problems=tuple(load.problems))
    return cfg
