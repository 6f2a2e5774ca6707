"""Pydantic's validation errors in the project's words.

Each becomes a :class:`~toolkit.config.errors.Problem` at the dotted key path a person wrote
(derived streams by name, librdkafka properties quoted), saying what was expected and what was
found, with a "did you mean" for a misspelt key and the environment variable that set the value.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from toolkit.config.errors import Problem, suggest
from toolkit.config.key_types import bare_type, child_type, model_of
from toolkit.config.librdkafka import ClientSettings
from toolkit.config.secrets import Secret, file_keys_of
from toolkit.config.validation import EnvText, Load, Loc, type_name


def _render(loc: Loc, load: Load) -> str:
    """``("derived", 0, "filter")`` -> ``derived[clicks].filter``; librdkafka property names quoted."""
    tp: Any = load.root
    node: Any = load.document
    text = ""
    for part in loc:
        named = node[part].get("name") if isinstance(part, int) and isinstance(node, list) and \
            part < len(node) and isinstance(node[part], Mapping) else None
        if isinstance(part, int):
            model = model_of(child_type(tp, part))
            text += f"[{named}]" if model is not None and "name" in model.model_fields and named else f"[{part}]"
        else:
            quoted = bare_type(tp) is ClientSettings
            text += ("." if text else "") + (f'"{part}"' if quoted else part)
        tp = child_type(tp, part) if bare_type(tp) is not ClientSettings else None
        node = node.get(part) if isinstance(node, Mapping) else \
            node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None
    return text


def problems_of(exc: ValidationError, load: Load) -> list[Problem]:
    out: list[Problem] = []
    errors = exc.errors(include_url=False)
    for e in errors:
        loc: Loc = tuple(e["loc"])
        if e["type"] == "missing" and loc in _misspelt(errors, load):
            continue  # the misspelt key says it better: "unknown key; did you mean ...?"
        context = e.get("ctx") or {}
        if e["type"] == "config" and "key" in context:
            loc = (*loc[:-1], context["key"]) if loc and loc[-1] != context["key"] else (*loc, context["key"])
        path = _render(loc, load)
        message = _message(e["type"], loc, e.get("input"), context, e["msg"], load)
        var = e["input"].var if isinstance(e.get("input"), EnvText) else next(
            (v for p, v in load.env_paths.items() if path == p or path.startswith((f"{p}.", f"{p}["))), None)
        out.append(Problem(path, f"{message} (set by environment variable {var})" if var else message))
    return list(dict.fromkeys(out))


def _misspelt(errors: list[Any], load: Load) -> set[Loc]:
    """Where a key is missing because an unknown key beside it looks like it."""
    out: set[Loc] = set()
    for e in errors:
        if e["type"] == "extra_forbidden":
            parent = model_of(_walk(tuple(e["loc"][:-1]), load))
            close = difflib.get_close_matches(str(e["loc"][-1]), list(parent.model_fields) if parent else [], 1, 0.6)
            out.update((*e["loc"][:-1], c) for c in close)
    return out


def _message(kind: str, loc: Loc, value: Any, context: Mapping[str, Any], default: str, load: Load) -> str:
    got = type_name(value)
    if kind == "config":
        return str(context["message"])
    if kind == "extra_forbidden":
        parent = model_of(_walk(loc[:-1], load))
        accepted = file_keys_of(parent) if parent else []
        where = f"[{_render(loc[:-1], load)}]" if loc[:-1] else "the top level"
        return f"unknown key; {suggest(str(loc[-1]), accepted)}valid keys in {where} are: {', '.join(accepted)}"
    if kind == "missing":
        name = str(loc[-1])
        if bare_type(_walk(loc, load)) is Secret:
            return f"missing: set {name}_env (an environment variable) or {name}_file (a file holding the value)"
        return f"missing required key {name!r}"
    if kind == "literal_error":
        options = [str(o) for o in typing.get_args(bare_type(_walk(loc, load)))]
        listed = ", ".join(map(repr, options))
        if isinstance(value, str):
            return f"{str(value)!r} is not allowed; {suggest(value, options)}expected one of {listed}"
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


def _walk(loc: Loc, load: Load) -> Any:
    tp: Any = load.root
    for part in loc:
        tp = child_type(tp, part)
        if tp is None:
            return None
    return tp
