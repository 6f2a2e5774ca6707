"""Paths into an enriched event: ``domain_userid``, ``contexts_com_acme_product_1[].sku``, ``unstruct_event.data.x``.

Filters, projections, partition keys and pseudonymised fields all name fields this way, so the
config parses each path once into :class:`FieldPath` data (the routing and policy stages evaluate it)
and a misspelt field is a config error with a "did you mean", not a silently empty value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, PlainValidator, Strict, WithJsonSchema

from toolkit.config.errors import suggest
from toolkit.config.validation import fail, invalid, problem_at
from toolkit.config.values import Doc
from toolkit.contract.fields import BY_NAME, FIELD_NAMES, FieldKind

#: Partition key when a stream names none: one user's events stay in one partition, in order.
DEFAULT_PARTITION_KEY: tuple[str, ...] = ("domain_userid", "network_userid", "event_id")


class PathKind(Enum):
    """Where a field path starts."""

    ATOMIC = "atomic"  # one of the 131 enriched fields, e.g. domain_userid
    SELF_DESCRIBING = "self_describing"  # contexts / derived_contexts / unstruct_event as raw JSON
    SHREDDED_CONTEXT = "shredded_context"  # contexts_com_acme_product_1: entities of one schema, any source
    SHREDDED_UNSTRUCT = "shredded_unstruct"  # unstruct_event_com_acme_click_1: the event's data object


@dataclass(frozen=True, slots=True)
class AnyIndex:
    """``[]``: any element of an array (the condition holds if it holds for one)."""

    def __str__(self) -> str:
        return "[]"


@dataclass(frozen=True, slots=True)
class Index:
    """``[n]``: the n-th element (0-based) of an array."""

    index: int

    def __str__(self) -> str:
        return f"[{self.index}]"


@dataclass(frozen=True, slots=True)
class Key:
    """``.name``: a key of a JSON object."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


Step = Key | Index | AnyIndex

_PATH_ROOT_RE = re.compile(r"^[a-z][a-z0-9_]*")
_PATH_STEP_RE = re.compile(r"\.([A-Za-z0-9_$@\-]+)|\[(\d*)\]")
_SHREDDED_RE = re.compile(r"^(contexts|unstruct_event)_([a-z0-9_]+)_([1-9][0-9]*)$")


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A path into an enriched event, e.g. ``contexts_com_acme_product_1[].sku``.

    ``shredded_name`` is the ``vendor_name`` part of a shredded root (``com_acme_product``)
    and ``model`` its schema model; the router compares them with each entity's
    schema key the way Snowplow's analytics SDKs name shredded columns.
    """

    text: str
    kind: PathKind
    root: str
    steps: tuple[Step, ...] = ()
    shredded_name: str | None = None
    model: int | None = None

    def __str__(self) -> str:
        return self.text


def parse_field_path(text: str) -> FieldPath:
    """Parse ``domain_userid``, ``contexts_com_acme_product_1[].sku`` or ``unstruct_event.data.target_url``.

    Raises ``ValueError`` with the reason; the config loader adds the key path.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("expected a field path such as \"domain_userid\" or \"contexts_com_acme_product_1[].sku\"")
    m = _PATH_ROOT_RE.match(text)
    if m is None:
        raise ValueError(f"{text!r} does not start with a field name (lower case letters, digits and '_')")
    root = m.group(0)
    steps: list[Step] = []
    pos = m.end()
    while pos < len(text):
        sm = _PATH_STEP_RE.match(text, pos)
        if sm is None:
            raise ValueError(f"cannot read {text!r} at character {pos + 1} ({text[pos:]!r}): after the field "
                             "name use .key, [] (any element) or [n] (n-th element)")
        if sm.group(1) is not None:
            steps.append(Key(sm.group(1)))
        elif sm.group(2):
            steps.append(Index(int(sm.group(2))))
        else:
            steps.append(AnyIndex())
        pos = sm.end()
    shredded = _SHREDDED_RE.match(root)
    if root in BY_NAME and BY_NAME[root].name == root:
        kind = PathKind.SELF_DESCRIBING if BY_NAME[root].kind in (
            FieldKind.CONTEXTS, FieldKind.UNSTRUCT, FieldKind.DERIVED_CONTEXTS) else PathKind.ATOMIC
        if kind is PathKind.ATOMIC and steps:
            raise ValueError(f"{root!r} is a plain field; only contexts, derived_contexts, unstruct_event and "
                             "shredded contexts_<vendor>_<name>_<model> / unstruct_event_<vendor>_<name>_<model> "
                             "roots take a path after them")
        return FieldPath(text, kind, root, tuple(steps))
    if shredded is not None:
        prefix, name, model = shredded.group(1), shredded.group(2), int(shredded.group(3))
        if prefix == "contexts":
            if steps and not isinstance(steps[0], AnyIndex | Index):
                raise ValueError(f"{root!r} is a list of entities: continue with [] (any) or [n], e.g. "
                                 f"{root}[]{''.join(map(str, steps))}")
            return FieldPath(text, PathKind.SHREDDED_CONTEXT, root, tuple(steps), name, model)
        return FieldPath(text, PathKind.SHREDDED_UNSTRUCT, root, tuple(steps), name, model)
    raise ValueError(f"unknown field {root!r}; {suggest(root, list(FIELD_NAMES))}use one of the 131 enriched "
                     "fields (docs/pipeline.md), or contexts_<vendor>_<name>_<model> / "
                     "unstruct_event_<vendor>_<name>_<model> for self-describing data")


def _field_path(value: Any) -> FieldPath:
    if isinstance(value, FieldPath):
        return value
    try:
        return parse_field_path(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None


def _no_repeats(paths: tuple[FieldPath, ...]) -> tuple[FieldPath, ...]:
    seen: set[str] = set()
    problems = []
    for i, p in enumerate(paths):
        if p.text in seen:
            problems.append(problem_at((i,), f"{p.text!r} is listed twice", p.text))
        seen.add(p.text)
    if problems:
        fail(problems)
    return paths


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _some(paths: tuple[FieldPath, ...]) -> tuple[FieldPath, ...]:
    if not paths:
        raise invalid("must name at least one field (the first non-empty one becomes the message key)")
    return paths


def default_partition_key() -> tuple[FieldPath, ...]:
    return tuple(parse_field_path(name) for name in DEFAULT_PARTITION_KEY)


FIELD_PATH_SCHEMA = {"type": "string", "pattern": r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_$@\-]+|\[\d*\])*$"}
FieldPathValue = Annotated[FieldPath, PlainValidator(_field_path, json_schema_input_type=str),
                           PlainSerializer(lambda p: p.text), WithJsonSchema(FIELD_PATH_SCHEMA)]
FieldPaths = Annotated[tuple[FieldPathValue, ...], Strict(False), AfterValidator(_no_repeats),
                       Doc(type="list of field paths")]
PartitionKey = Annotated[tuple[FieldPathValue, ...], BeforeValidator(_one_or_many), Strict(False),
                         AfterValidator(_no_repeats), AfterValidator(_some),
                         WithJsonSchema({"anyOf": [FIELD_PATH_SCHEMA, {"type": "array", "items": FIELD_PATH_SCHEMA,
                                                                       "minItems": 1}]}),
                         Doc(type="field path or list", default=f"`{json.dumps(list(DEFAULT_PARTITION_KEY))}`")]
