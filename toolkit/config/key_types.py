"""The type a config key holds, found one step down a key path at a time.

The environment source, the error messages, the key list and the key reference all walk the
models by key path (``("derived", 0, "filter")``) and need the same answer for what lies below.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel


def bare_type(tp: Any) -> Any:
    """``Annotated[X, ...] | None`` -> ``X``: the type a key holds when it is set."""
    if typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(inner) == 1:
            return bare_type(inner[0])
    return tp


def child_type(tp: Any, key: str | int) -> Any:
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


def model_of(tp: Any) -> type[BaseModel] | None:
    tp = bare_type(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
