"""Derived-stream routing over an :class:`~toolkit.contract.event.EnrichedEvent`: filters, paths, projections, keys.

The config gives filters, projections and partition keys as data (``toolkit.config.filters``, ``.field_paths``);
this module compiles each of them once, at pipeline start, into plain closures, so the
per-event cost is a few attribute reads rather than a walk over the config tree. Every
mistake that can be found without an event (a string compared with an integer field, a
regex on a boolean) is reported here with the config path, before a single record is read.

Paths reach values in four ways (``docs/pipeline.md``, "Field paths"):

* ``domain_userid``: an atomic field, typed (``br_viewwidth`` is an ``int``,
  ``collector_tstamp`` ISO-8601 text ``2024-05-01T10:00:00.123Z``);
* ``contexts_com_acme_product_1[].sku``: the data of every entity of that schema and model,
  custom contexts first, then derived contexts;
* ``unstruct_event_com_acme_click_1.target_url``: the unstructured event's data when its
  schema is that one;
* ``unstruct_event.data.target_url`` / ``contexts[].schema``: the self-describing JSON of the
  field, whatever the schema: ``unstruct_event`` is the event as ``{"schema", "data"}``,
  ``contexts`` and ``derived_contexts`` the list of ``{"schema", "data"}`` entities.

A path can reach several values (``[]``); a comparison holds when one of them satisfies it,
except ``ne``, which is exactly ``not eq``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from iglu_registry.schema_key import SchemaCriterion
from toolkit.config.field_paths import AnyIndex, FieldPath, Key, PathKind, Step
from toolkit.config.filters import AllOf, AnyOf, Compare, CompareOp, Condition, Not, SchemaMatch
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.field_values import PATTERNS, typed_value
from toolkit.contract.fields import BY_NAME, FieldKind
from toolkit.contract.native_codec import NativeEvent

Predicate = Callable[[EnrichedEvent], bool]
Values = Callable[[EnrichedEvent], list[Any]]

_TEXT_KINDS = (FieldKind.STRING, FieldKind.UUID)
_NUMBER_KINDS = (FieldKind.INT, FieldKind.DOUBLE)
_TSV_TSTAMP = re.compile(PATTERNS[FieldKind.TSTAMP], re.ASCII)
_CONTEXT_FIELDS = ("contexts", "derived_contexts")
#: a schema URI seen in a stream is checked against a criterion once; a flood of distinct URIs must not grow memory
_MEMO_LIMIT = 4096


class RouteError(ValueError):
    """A filter, projection or key that cannot work on any event; the message names the config path."""


# --------------------------------------------------------------------------------------------
# Reaching values
# --------------------------------------------------------------------------------------------


def _walk(values: list[Any], steps: Sequence[Step]) -> list[Any]:
    """Follow ``steps`` from each of ``values``; what a step cannot reach is dropped."""
    for step in steps:
        out: list[Any] = []
        if type(step) is Key:
            name = step.name
            for v in values:
                if type(v) is dict and name in v:
                    out.append(v[name])
        elif type(step) is AnyIndex:
            for v in values:
                if type(v) is list or type(v) is tuple:
                    out.extend(v)
        else:
            n = step.index  # type: ignore[union-attr]
            for v in values:
                if (type(v) is list or type(v) is tuple) and n < len(v):
                    out.append(v[n])
        values = out
        if not values:
            break
    return values


def context_datas(event: EnrichedEvent, column: str) -> list[Any]:
    """The data of every entity whose shredded column is ``column``, custom contexts first, then derived ones."""
    out: list[Any] = []
    sdj = event.sdj
    for name in _CONTEXT_FIELDS:
        f = sdj.get(name)
        if f is not None:
            for info, data in zip(f.schemas, f.datas, strict=True):
                if info.contexts_column == column:
                    out.append(data)
    return out


def _root_values(path: FieldPath) -> Values:
    """The values a path's root reaches, before its steps."""
    root = path.root
    if path.kind is PathKind.ATOMIC:
        f = BY_NAME[root]
        pos = f.position
        if f.kind in _TEXT_KINDS:
            return lambda e: [t] if (t := e.fields[pos]) else []
        return lambda e: [typed_value(f, t)] if (t := e.fields[pos]) else []
    if path.kind is PathKind.SHREDDED_CONTEXT:
        def contexts(e: EnrichedEvent) -> list[Any]:
            found = context_datas(e, root)
            return [found] if found else []
        return contexts
    if path.kind is PathKind.SHREDDED_UNSTRUCT:
        def unstruct(e: EnrichedEvent) -> list[Any]:
            f = e.sdj.get("unstruct_event")
            return [f.datas[0]] if f is not None and f.schemas[0].unstruct_column == root else []
        return unstruct

    def self_describing(e: EnrichedEvent) -> list[Any]:
        f = e.sdj.get(root)
        return [] if f is None else [f.data]
    return self_describing


def path_values(path: FieldPath) -> Values:
    """Compile a path into a function giving every value it reaches in an event (an empty list when none)."""
    root = _root_values(path)
    steps = path.steps
    if not steps:
        return root
    return lambda e: _walk(root(e), steps)


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """JSON equality: a boolean is never equal to a number (Python says ``True == 1``)."""
    if (type(a) is bool) != (type(b) is bool):
        return False
    return bool(a == b)


def _orderable(a: Any, b: Any) -> bool:
    if type(a) is bool or type(b) is bool:
        return False
    if isinstance(a, int | float):
        return isinstance(b, int | float)
    return isinstance(a, str) and isinstance(b, str)


def _present(v: Any) -> bool:
    return v is not None and v != "" and v != [] and v != {} and v != ()


def _check_atomic_value(f: Any, value: Any, where: str) -> Any:
    """The comparison value in the field's type; :class:`RouteError` when it can never match."""
    kind = f.kind
    if kind in _TEXT_KINDS:
        if not isinstance(value, str):
            raise RouteError(f"{where}: {f.name} is text; write the value as a string, e.g. \"{value}\"")
        return value
    if kind is FieldKind.TSTAMP:
        if not isinstance(value, str):
            raise RouteError(f"{where}: {f.name} is a timestamp; write the value as text such as "
                             "\"2024-05-01T10:00:00.000Z\"")
        if _TSV_TSTAMP.fullmatch(value):  # the TSV spelling works too: compare in one spelling
            return value.replace(" ", "T") + "Z"
        return value
    if kind is FieldKind.BOOL:
        if type(value) is not bool:
            raise RouteError(f"{where}: {f.name} is a boolean; write true or false")
        return value
    if kind in _NUMBER_KINDS:
        if type(value) is bool or not isinstance(value, int | float):
            raise RouteError(f"{where}: {f.name} is a number; write the value without quotes")
        return value
    return value


def _compile_compare(c: Compare, where: str) -> Predicate:
    path, op = c.path, c.op
    values = path_values(path)
    atomic = BY_NAME[path.root] if path.kind is PathKind.ATOMIC else None
    if atomic is not None and op is not CompareOp.EXISTS:
        if op is CompareOp.REGEX:
            pass  # the regex reads the TSV text of any atomic field
        elif op is CompareOp.IN:
            c = Compare(c.path, op, tuple(_check_atomic_value(atomic, v, where) for v in c.value),  # type: ignore
                        c.pattern)
        else:
            c = Compare(c.path, op, _check_atomic_value(atomic, c.value, where), c.pattern)
            if op in (CompareOp.GT, CompareOp.LT) and atomic.kind is FieldKind.BOOL:
                raise RouteError(f"{where}: {atomic.name} is a boolean; gt/lt compare numbers and text")
    target = c.value
    if op is CompareOp.EXISTS:
        if atomic is not None:
            pos = atomic.position
            return lambda e: bool(e.fields[pos])
        return lambda e: any(map(_present, values(e)))
    if op is CompareOp.EQ or op is CompareOp.NE:
        if atomic is not None and atomic.kind in _TEXT_KINDS:
            pos = atomic.position
            if op is CompareOp.EQ:
                return lambda e: e.fields[pos] == target
            return lambda e: e.fields[pos] != target
        if op is CompareOp.EQ:
            return lambda e: any(_same(v, target) for v in values(e))
        return lambda e: not any(_same(v, target) for v in values(e))
    if op is CompareOp.IN:
        options = tuple(target)  # type: ignore[arg-type]
        if atomic is not None and atomic.kind in _TEXT_KINDS:
            pos = atomic.position
            allowed = frozenset(options)
            return lambda e: e.fields[pos] in allowed
        return lambda e: any(_same(v, o) for v in values(e) for o in options)
    if op is CompareOp.REGEX:
        search = (c.pattern or re.compile(str(target))).search
        if atomic is not None:
            pos = atomic.position
            return lambda e: (t := e.fields[pos]) != "" and search(t) is not None
        return lambda e: any(type(v) is str and search(v) is not None for v in values(e))
    if op is CompareOp.GT:
        return lambda e: any(_orderable(v, target) and v > target for v in values(e))
    return lambda e: any(_orderable(v, target) and v < target for v in values(e))


def event_schema_uri(event: EnrichedEvent) -> str | None:
    """The event's own schema URI: its unstructured event's, else ``event_vendor/name/format/version``."""
    if type(event) is NativeEvent:  # the extension has it without building the 131 field strings
        return event.native.event_schema_uri  # type: ignore[no-any-return]
    unstruct = event.sdj.get("unstruct_event")
    if unstruct is not None:
        return unstruct.uris[0]
    fields = event.fields
    parts = (fields[_VENDOR], fields[_NAME], fields[_FORMAT], fields[_VERSION])
    uri = _EVENT_URIS.get(parts)
    if uri is None:
        uri = f"iglu:{parts[0]}/{parts[1]}/{parts[2]}/{parts[3]}" if all(parts) else ""
        if len(_EVENT_URIS) >= _MEMO_LIMIT:
            _EVENT_URIS.clear()
        _EVENT_URIS[parts] = uri
    return uri or None


def collector_tstamp_text(event: EnrichedEvent) -> str:
    """``collector_tstamp`` as the TSV spells it, from the extension when it parsed the line."""
    if type(event) is NativeEvent:
        return event.native.collector_tstamp  # type: ignore[no-any-return]
    return event.fields[_COLLECTOR_TSTAMP]


_COLLECTOR_TSTAMP = BY_NAME["collector_tstamp"].position
_VENDOR, _NAME, _FORMAT, _VERSION = (BY_NAME[n].position for n in
                                     ("event_vendor", "event_name", "event_format", "event_version"))
_EVENT_URIS: dict[tuple[str, str, str, str], str] = {}


class UriMatcher:
    """``criterion.matches`` for schema URIs as written, remembered per distinct URI."""

    __slots__ = ("criterion", "_memo")

    def __init__(self, criterion: SchemaCriterion) -> None:
        self.criterion = criterion
        self._memo: dict[str, bool] = {}

    def __call__(self, uri: str) -> bool:
        hit = self._memo.get(uri)
        if hit is None:
            from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey

            try:
                hit = self.criterion.matches(SchemaKey.parse(uri))
            except InvalidSchemaKey:
                hit = False
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[uri] = hit
        return hit

    def any_entity(self, event: EnrichedEvent, fields: Sequence[str] = _CONTEXT_FIELDS) -> bool:
        """True when an entity of one of ``fields`` has a matching schema."""
        sdj = event.sdj
        for name in fields:
            f = sdj.get(name)
            if f is not None and any(map(self, f.uris)):
                return True
        return False


def _compile_schema(m: SchemaMatch) -> Predicate:
    match = UriMatcher(m.criterion)

    def event_schema(e: EnrichedEvent) -> bool:
        uri = event_schema_uri(e)
        return uri is not None and match(uri)

    if m.scope == "event":
        return event_schema
    if m.scope == "contexts":
        return match.any_entity
    return lambda e: event_schema(e) or match.any_entity(e)


def compile_filter(condition: Condition, where: str = "filter") -> Predicate:
    """Compile a filter into ``event -> bool``; :class:`RouteError` (naming ``where``) when it cannot work."""
    if isinstance(condition, Compare):
        return _compile_compare(condition, where)
    if isinstance(condition, SchemaMatch):
        return _compile_schema(condition)
    if isinstance(condition, AllOf):
        parts = tuple(compile_filter(c, f"{where}.all[{i}]") for i, c in enumerate(condition.conditions))
        return lambda e: all(p(e) for p in parts)
    if isinstance(condition, AnyOf):
        parts = tuple(compile_filter(c, f"{where}.any[{i}]") for i, c in enumerate(condition.conditions))
        return lambda e: any(p(e) for p in parts)
    if isinstance(condition, Not):
        inner = compile_filter(condition.condition, f"{where}.not")
        return lambda e: not inner(e)
    raise RouteError(f"{where}: unknown condition {condition!r}")


# --------------------------------------------------------------------------------------------
# Partition keys
# --------------------------------------------------------------------------------------------


def key_text(value: Any) -> str:
    """How a value becomes message-key text: strings as they are, other JSON as compact JSON."""
    if type(value) is str:
        return value
    return orjson.dumps(value).decode()


KeyFunction = Callable[[EnrichedEvent], bytes]
#: atomic fields every event answers as a property (``None`` when empty)
_ID_PROPERTIES = frozenset({"domain_userid", "network_userid", "event_id", "event_fingerprint"})


def compile_key(paths: Sequence[FieldPath], transform: Mapping[str, Callable[[str], str]] | None = None,
                skip: frozenset[str] = frozenset()) -> KeyFunction:
    """The message key: the text of the first path with a non-empty value, else the event id.

    Atomic fields give their TSV text (the same key whatever the output profile).
    ``transform`` maps a path's text to a function applied to its value first (the
    stream's pseudonymisation, so a key never reveals what the value hides), and paths in
    ``skip`` are never used (fields the stream strips).
    """
    transform = transform or {}
    usable = [p for p in paths if p.text not in skip]
    if all(p.text in _ID_PROPERTIES for p in usable) and not any(p.text in transform for p in usable):
        # the default key: event properties the compiled parser answers without building every field
        getters = tuple(operator.attrgetter(p.text) for p in usable)

        def id_key(e: EnrichedEvent) -> bytes:
            for get in getters:
                value = get(e)
                if value:
                    return value.encode()  # type: ignore[no-any-return]
            return e.event_id.encode()
        return id_key
    if all(p.kind is PathKind.ATOMIC for p in usable) and not any(p.text in transform for p in usable):
        positions = tuple(BY_NAME[p.root].position for p in usable)
        event_id = BY_NAME["event_id"].position

        def atomic_key(e: EnrichedEvent) -> bytes:
            fields = e.fields
            for pos in positions:
                text = fields[pos]
                if text:
                    return text.encode()
            return fields[event_id].encode()
        return atomic_key
    getters = [(path_values(p), transform.get(p.text)) for p in usable]

    def key(e: EnrichedEvent) -> bytes:
        for values, change in getters:
            for v in values(e):
                if _present(v):
                    text = key_text(v)
                    return (change(text) if change else text).encode()
        return e.event_id.encode()
    return key


# --------------------------------------------------------------------------------------------
# Projections
# --------------------------------------------------------------------------------------------

_ALL = None  # a leaf of a selection: keep the whole value


class _Selection:
    """What to keep of one JSON value: keys of an object, and elements of an array."""

    __slots__ = ("keys", "any", "indexes")

    def __init__(self) -> None:
        self.keys: dict[str, _Selection | None] = {}
        self.any: _Selection | None | bool = False  # False: no [] selection
        self.indexes: dict[int, _Selection | None] = {}


def _add(sel: _Selection | None, steps: Sequence[Step]) -> _Selection | None:
    """Merge one path's steps into a selection; a path that ends keeps everything below it."""
    if sel is _ALL and steps:
        return _ALL  # already keeping the whole value
    if not steps:
        return _ALL
    step, rest = steps[0], steps[1:]
    if type(step) is Key:
        current = sel.keys.get(step.name, False)
        sel.keys[step.name] = _add(_Selection() if current is False else current, rest)  # type: ignore[arg-type]
    elif type(step) is AnyIndex:
        sel.any = _add(_Selection() if sel.any is False else sel.any, rest)  # type: ignore[arg-type]
    else:
        n = step.index  # type: ignore[union-attr]
        current = sel.indexes.get(n, False)
        sel.indexes[n] = _add(_Selection() if current is False else current, rest)  # type: ignore[arg-type]
    return sel


def _merge(a: _Selection | None, b: _Selection | None) -> _Selection | None:
    if a is _ALL or b is _ALL:
        return _ALL
    out = _Selection()
    for k in a.keys.keys() | b.keys.keys():
        out.keys[k] = _merge(a.keys[k], b.keys[k]) if k in a.keys and k in b.keys else a.keys.get(k, b.keys.get(k))
    if a.any is not False and b.any is not False:
        out.any = _merge(a.any, b.any)  # type: ignore[arg-type]
    else:
        out.any = a.any if a.any is not False else b.any
    for n in a.indexes.keys() | b.indexes.keys():
        if n in a.indexes and n in b.indexes:
            out.indexes[n] = _merge(a.indexes[n], b.indexes[n])
        else:
            out.indexes[n] = a.indexes.get(n, b.indexes.get(n))
    return out


_MISSING = object()


def _apply(sel: _Selection | None, value: Any) -> Any:
    """The part of ``value`` the selection keeps (same shape), or ``_MISSING``."""
    if sel is _ALL:
        return value
    if type(value) is dict:
        out = {}
        for k, sub in sel.keys.items():
            if k in value:
                kept = _apply(sub, value[k])
                if kept is not _MISSING:
                    out[k] = kept
        return out if out else _MISSING
    if type(value) is list or type(value) is tuple:
        if sel.any is False and not sel.indexes:
            return _MISSING
        kept_items = []
        for i, item in enumerate(value):
            sub = sel.indexes.get(i, False)
            if sel.any is not False:
                sub = sel.any if sub is False else _merge(sel.any, sub)  # type: ignore[arg-type]
            if sub is False:
                continue
            kept = _apply(sub, item)  # type: ignore[arg-type]
            if kept is not _MISSING:
                kept_items.append(kept)
        return kept_items if kept_items else _MISSING
    return _MISSING


class Projection:
    """Keep only the listed paths of a profile's JSON object, in the shape they had.

    ``event_id`` keeps that key, ``contexts_com_acme_product_1[].sku`` keeps the column as a
    list of ``{"sku": ...}`` objects, ``unstruct_event.data.target_url`` keeps
    ``{"unstruct_event": {"data": {"target_url": ...}}}`` (taken from the event itself,
    since profiles spread the self-describing fields over their shredded columns).
    Absent values are left out, never written as null.
    """

    def __init__(self, paths: Sequence[FieldPath]) -> None:
        self._roots: dict[str, tuple[PathKind, _Selection | None]] = {}
        for p in paths:
            kind, sel = self._roots.get(p.root, (p.kind, False))
            steps = p.steps
            self._roots[p.root] = (kind, _add(_Selection() if sel is False else sel, steps)  # type: ignore[arg-type]
                                   if steps else _ALL)
        self.self_describing = tuple(r for r, (k, _) in self._roots.items() if k is PathKind.SELF_DESCRIBING)

    def apply(self, doc: Mapping[str, Any], event: EnrichedEvent) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for root, (kind, sel) in self._roots.items():
            if kind is PathKind.SELF_DESCRIBING:
                f = event.sdj.get(root)
                value: Any = _MISSING if f is None else f.data
            elif kind is PathKind.ATOMIC:
                value = doc.get(root, _MISSING)
                if value is _MISSING:
                    alias = BY_NAME[root].sdk_name
                    value = doc.get(alias, _MISSING)
                    if value is not _MISSING:
                        root = alias
            else:
                key = shredded_key(doc, root)
                if key is None:
                    continue
                root, value = key, doc[key]
            if value is _MISSING or value is None:
                continue
            kept = _apply(sel, value)
            if kept is not _MISSING:
                out[root] = kept
        return out


def shredded_key(doc: Mapping[str, Any], column: str) -> str | None:
    """The key a profile gives a shredded column: the canonical spelling, or the Python SDK's (dashes kept)."""
    if column in doc:
        return column
    for k in doc:
        if "-" in k and k.replace("-", "_") == column:
            return k
    return None

