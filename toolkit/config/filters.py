"""The filter language of derived streams, parsed into data; evaluating it is the router's job.

A filter is a table: a field comparison (:class:`Compare`), a schema match (:class:`SchemaMatch`)
or ``all``/``any``/``not`` of conditions (:class:`AllOf`, :class:`AnyOf`, :class:`Not`). Every
problem of a filter is reported at once, each at its place inside the condition.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError

from iglu_registry.schema_key import SchemaCriterion
from toolkit.config.errors import suggest
from toolkit.config.field_paths import FIELD_PATH_SCHEMA, FieldPath, parse_field_path
from toolkit.config.validation import Loc, fail, problem_at, type_name
from toolkit.config.values import CRITERION_SCHEMA, Doc, parse_criterion


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


_OPS = [op.value for op in CompareOp]
_COMBINATORS = ("all", "any", "not")


def _filter(value: Any) -> Condition:
    problems: list[InitErrorDetails] = []
    condition = _condition(value, (), problems)
    if problems or condition is None:
        fail(problems)
    return condition


def _condition(value: Any, loc: Loc, problems: list[InitErrorDetails]) -> Condition | None:
    """One condition, or ``None`` with its problems added (siblings are still checked)."""
    def bad(where: Loc, message: str, v: Any = None) -> None:
        problems.append(problem_at(where, message, v))

    if not isinstance(value, Mapping):
        bad(loc, "expected a condition table such as { field = \"event_name\", op = \"eq\", value = "
                 f"\"page_view\" }}, got {type_name(value)}", value)
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
            bad((*loc, str(key)), f"unknown key in this condition; {suggest(str(key), options)}allowed here: "
                                  f"{', '.join(options)}", value[key])
    if kind in ("all", "any"):
        items = value[kind]
        if not isinstance(items, list) or not items:
            bad((*loc, kind), f"expected a non-empty list of conditions, got {type_name(items)}", items)
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
            bad((*loc, "scope"), f"expected 'event', 'contexts' or 'any', got {type_name(scope)}", scope)
            scope = None
        try:
            criterion = parse_criterion(value["schema"])
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
        hint = suggest(op_text, _OPS) if isinstance(op_text, str) else ""
        bad((*loc, "op"), f"{hint}expected one of {', '.join(_OPS)}, got {type_name(op_text)}", op_text)
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
            bad(where, f"'in' needs a non-empty list of strings or numbers, got {type_name(v)}", v)
            return None
        v = tuple(v)
    elif op is CompareOp.REGEX:
        if not isinstance(v, str):
            bad(where, f"'regex' needs a pattern string, got {type_name(v)}", v)
            return None
        try:
            compiled = re.compile(v)
        except re.error as exc:
            bad(where, f"invalid regular expression {v!r}: {exc}", v)
            return None
    elif op in (CompareOp.GT, CompareOp.LT):
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            bad(where, f"'{op.value}' needs a number (or a string, compared as text, e.g. a timestamp), "
                       f"got {type_name(v)}", v)
            return None
    elif not _is_scalar(v):
        bad(where, f"'{op.value}' needs a string, number or boolean, got {type_name(v)}", v)
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
CONDITION_REF = {"$ref": "#/$defs/Condition"}
#: The filter language for editors; the loader's parser above is what decides.
CONDITION_SCHEMA: dict[str, Any] = {
    "description": "One condition: a field comparison, a schema match, or all/any/not of conditions.",
    "oneOf": [
        {"type": "object", "additionalProperties": False, "required": ["field", "op"], "properties": {
            "field": FIELD_PATH_SCHEMA, "op": {"enum": _OPS},
            "value": {"anyOf": [_SCALAR_SCHEMA, {"type": "array", "items": _SCALAR_SCHEMA, "minItems": 1}]}}},
        {"type": "object", "additionalProperties": False, "required": ["schema"], "properties": {
            "schema": CRITERION_SCHEMA, "scope": {"enum": ["event", "contexts", "any"]}}},
        {"type": "object", "additionalProperties": False, "required": ["all"],
         "properties": {"all": {"type": "array", "items": CONDITION_REF, "minItems": 1}}},
        {"type": "object", "additionalProperties": False, "required": ["any"],
         "properties": {"any": {"type": "array", "items": CONDITION_REF, "minItems": 1}}},
        {"type": "object", "additionalProperties": False, "required": ["not"], "properties": {"not": CONDITION_REF}},
    ],
}
CONDITION_PLACEHOLDER = {"x-sptk": "condition"}  # pydantic resolves every $ref it meets: set after generation
Filter = Annotated[Condition, PlainValidator(_filter, json_schema_input_type=dict[str, Any]),
                   PlainSerializer(_condition_dict), WithJsonSchema(CONDITION_PLACEHOLDER),
                   Doc(type="condition", default="none (every valid event)")]
