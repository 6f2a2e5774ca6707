"""What the config's validators share: the load in progress, text from the environment, our error wording.

A load (:class:`Load`, set in :data:`LOADING` while :mod:`toolkit.config.loading` validates a
document) tells validators where relative paths start and which environment secrets come from.
Values set by ``SPTK_`` variables arrive as :class:`EnvText`, so the strict models can still take
``"5"`` for an integer key from the environment and name the variable when a value does not fit.
Validators raise :func:`invalid`, or collect :func:`problem_at` and :func:`fail` with all of them,
so every problem of a table is reported together rather than the first one alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import typing
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from toolkit.config.errors import Problem
from toolkit.config.key_types import bare_type

Loc = tuple[str | int, ...]


@dataclass
class Load:
    """One load: where relative paths start, which environment secrets and overrides come from."""

    origin: str = "<config>"
    base_dir: Path = field(default_factory=Path.cwd)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    document: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    env_paths: dict[str, str] = field(default_factory=dict)
    #: the settings class being validated (a pipeline's, a sink's): problems name key paths from it
    root: Any = None


LOADING: ContextVar[Load | None] = ContextVar("sptk_config_load", default=None)


def current_load() -> Load:
    return LOADING.get() or Load()


class EnvText(str):
    """A value that came from an environment variable: typed keys convert it from text."""

    var: str

    def __new__(cls, value: str, var: str) -> EnvText:
        obj = super().__new__(cls, value)
        obj.var = var
        return obj


def problem_at(loc: Loc, message: str, value: Any = None) -> InitErrorDetails:
    """A validation error with our wording at ``loc`` below the value being validated."""
    return InitErrorDetails(type=invalid(message), loc=loc, input=value)


def fail(problems: list[InitErrorDetails]) -> NoReturn:
    raise ValidationError.from_exception_data("PipelineConfig", problems)


def invalid(message: str, key: str | None = None) -> PydanticCustomError:
    """A validation error with our wording; ``key`` names the file's key when it is not the field's (``x_env``)."""
    return PydanticCustomError("config", "{message}", {"message": message, **({"key": key} if key else {})})


def type_name(value: Any) -> str:
    if isinstance(value, EnvText):
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


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def from_env_text(tp: Any, value: EnvText) -> Any:
    """Environment values are text: convert to the key's type, or leave them for the type check to name."""
    tp = bare_type(tp)
    if typing.get_origin(tp) is tuple:
        text = value.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                return value
            return [EnvText(str(v), value.var) for v in items] if isinstance(items, list) else value
        return [EnvText(part.strip(), value.var) for part in text.split(",") if part.strip()]
    if tp is bool:
        return True if value.lower() in _TRUE else False if value.lower() in _FALSE else value
    with contextlib.suppress(ValueError):
        if tp is int:
            return int(value)
        if tp is float:
            return float(value)
    return value
