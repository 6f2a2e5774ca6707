"""The ``canonical`` JSON profile: the toolkit's own documented contract, and the warehouse row.

One JSON object per event:

* every non-empty atomic field under its ``atomic.events`` column name, typed
  (strings, integers, doubles, booleans; timestamps as ISO-8601 UTC text with ``T``
  and ``Z`` and the TSV's own precision); empty fields are left out;
* ``geo_location``: ``"<lat>,<lon>"`` when both are set (Elasticsearch geo-point text);
* one key per entity type: ``contexts_<vendor>_<name>_<model>`` holding the list of
  entity data objects (custom contexts first, then derived contexts: both kept),
  and ``unstruct_event_<vendor>_<name>_<model>`` holding the event's data object;
* ``_schemas``: per self-describing field, the wrapper's URI then each entity's
  full URI in TSV order, so the exact version and the field of every entity survive;
* ``_tsv``: only when needed, the original text of fields whose JSON value does not
  spell the TSV back (``12.50`` read as ``12.5``, JSON with spaces or ``\\/`` escapes).

That is enough to rebuild the TSV line byte for byte (:func:`parse_canonical`).
``docs/event-contract.md`` has the full description and an example.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import call, itemgetter
from typing import Any

import orjson

from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey
from toolkit.contract.badrows import escape_line
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.fields import (
    BY_NAME,
    CONTEXTS,
    DERIVED_CONTEXTS,
    FIELD_NAMES,
    FIELDS,
    GEO_LATITUDE,
    GEO_LONGITUDE,
    UNSTRUCT_EVENT,
    FieldKind,
)
from toolkit.contract.native_codec import NativeEvent
from toolkit.contract.sdj import (
    CONTEXTS_PREFIX,
    UNSTRUCT_FIELD,
    UNSTRUCT_PREFIX,
    compact_text,
    shredded_column,
)
from toolkit.contract.tsv import FieldError, ParseFailure, layout_of, parse_line

NAME = "canonical"
GEO_LOCATION = "geo_location"
SCHEMAS = "_schemas"
TSV = "_tsv"
#: keys a canonical object may hold besides atomic columns and entity columns
EXTRA_KEYS = (GEO_LOCATION, SCHEMAS, TSV)
ENTITY_PREFIXES = (CONTEXTS_PREFIX + "_", UNSTRUCT_PREFIX + "_")

_SDJ_POSITIONS = (CONTEXTS, UNSTRUCT_EVENT, DERIVED_CONTEXTS)
_SDJ_NAMES = tuple(FIELD_NAMES[i] for i in _SDJ_POSITIONS)


_CONTEXTS_COLUMN = itemgetter(1)  # SchemaInfo.contexts_column
_BOOL_OF = {"1": True, "0": False}


def to_object(event: EnrichedEvent) -> dict[str, Any]:
    """The canonical object, ready for ``orjson.dumps``, built from the parser's layout in few Python steps.

    Keys come in this order: strings, numbers, timestamps, booleans (each group in
    TSV order), then ``geo_location``, the entity columns, ``_schemas`` and ``_tsv``.
    Entity columns hold tuples: orjson writes them as arrays, and ``zip`` builds
    them without a Python call each.
    """
    fields = event.fields
    layout = event.layout or layout_of(fields)
    out = dict(zip(layout.string_names, layout.strings(fields), strict=True))
    tsv = None
    if layout.number_names:
        texts = layout.numbers(fields)
        values = tuple(map(call, layout.number_types, texts))
        out.update(zip(layout.number_names, values, strict=True))
        if tuple(map(repr, values)) != texts:
            tsv = _respelled(layout, texts, values)
    if layout.tstamp_names:
        isos = "\t".join(layout.tstamps(fields)).replace(" ", "T").replace("\t", "Z\t") + "Z"
        out.update(zip(layout.tstamp_names, isos.split("\t"), strict=True))
    if layout.bool_names:
        out.update(zip(layout.bool_names, map(_BOOL_OF.__getitem__, layout.bools(fields)), strict=True))
    out.update(_rest(event, layout, tsv))
    return out


def _respelled(layout: Any, texts: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, str]:
    """Number fields whose text is not the value's default spelling ("12.50", "+3", "007"), for ``_tsv``."""
    return {name: text for name, text, value in zip(layout.number_names, texts, values, strict=True)
            if repr(value) != text}


def _rest(event: EnrichedEvent, layout: Any, tsv: dict[str, str] | None) -> dict[str, Any]:
    """Everything after the atomic columns: ``geo_location``, entity columns, ``_schemas``, ``_tsv``."""
    fields = event.fields
    out: dict[str, Any] = {}
    if layout.geo:
        out[GEO_LOCATION] = f"{fields[GEO_LATITUDE]},{fields[GEO_LONGITUDE]}"
    sdj = event.sdj
    if sdj:
        schemas = {}
        columns: tuple[str, ...] = ()
        datas: tuple[Any, ...] = ()
        unstruct = None
        for name in _SDJ_NAMES:
            field = sdj.get(name)
            if field is None:
                continue
            schemas[name] = [field.wrapper_uri, *field.uris]
            if not field.compact:
                tsv = tsv or {}
                tsv[name] = field.text
            if name == UNSTRUCT_FIELD:
                unstruct = field
            else:
                columns += tuple(map(_CONTEXTS_COLUMN, field.schemas))
                datas += field.datas
        if len(set(columns)) == len(columns):
            out.update(zip(columns, zip(datas), strict=True))
        else:  # several entities of one type: one list each, custom contexts before derived ones
            for column, data in zip(columns, datas, strict=True):
                out.setdefault(column, []).append(data)
        if unstruct is not None:
            out[unstruct.schemas[0].unstruct_column] = unstruct.datas[0]
        out[SCHEMAS] = schemas
    if tsv:
        out[TSV] = tsv
    return out


def to_json(event: EnrichedEvent) -> bytes:
    """The canonical JSON of an event, compact, UTF-8. This is the pipeline's hot path.

    An event the compiled fast path parsed carries these bytes already (byte-identical, proven by
    ``tests/unit/toolkit/test_native_parity.py``).
    """
    if type(event) is NativeEvent:
        return event.native.canonical_json
    return orjson.dumps(to_object(event))


def to_dict(event: EnrichedEvent) -> dict[str, Any]:
    """The canonical object as plain Python values, entity columns as lists (what a warehouse loader inserts)."""
    return orjson.loads(to_json(event))


_object = to_object  # the name the pipeline first imported; use to_object


# --- canonical JSON back to an event ---------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, key: str, value: Any, message: str) -> None:
        shown = value if isinstance(value, str) else orjson.dumps(value, default=repr).decode()
        self.errors.append(FieldError(key, shown[:1024], message))


def parse_canonical(data: str | bytes | Mapping[str, Any]) -> EnrichedEvent | ParseFailure:
    """Rebuild the event a canonical JSON object describes; never raises on bad data.

    The result is checked by converting it back: if the object holds anything the
    event would not reproduce (an unknown key, an entity ``_schemas`` does not
    account for, a stale ``_tsv`` text), the answer is a :class:`ParseFailure`
    naming the key, never a silently different event. The failure's payload is
    the JSON as given.
    """
    if isinstance(data, Mapping):  # through JSON, so tuples, subclasses and the like compare as JSON would
        data = orjson.dumps(data, default=repr)
    payload = data if isinstance(data, str) else bytes(data).decode("utf-8", "surrogateescape")  # bytes kept
    try:
        obj: Any = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return _failure(payload, [FieldError("line", escape_line(payload)[:1024], f"not valid JSON: {exc}")])
    if not isinstance(obj, Mapping):
        return _failure(payload, [FieldError("line", payload[:1024],
                                             "a canonical event must be a JSON object keyed by atomic.events "
                                             "column")])
    problems = _Problems()
    texts = _atomic_texts(obj, problems)
    _self_describing_texts(obj, texts, problems)
    if problems.errors:
        return _failure(payload, problems.errors)
    result = parse_line("\t".join(texts))
    if isinstance(result, ParseFailure):
        return ParseFailure(payload, result.kind, result.field_count, result.errors)
    _compare(obj, to_dict(result), problems)
    if problems.errors:
        return _failure(payload, problems.errors)
    return result


def _failure(payload: str, errors: list[FieldError]) -> ParseFailure:
    return ParseFailure(payload, "RowDecodingError", 0, tuple(errors))


def _atomic_texts(obj: Mapping[str, Any], problems: _Problems) -> list[str]:
    texts = [""] * len(FIELDS)
    tsv = obj.get(TSV, {})
    if not isinstance(tsv, Mapping) or not all(isinstance(v, str) for v in tsv.values()):
        problems.add(TSV, tsv, f"{TSV} must be an object of field name to original TSV text")
        tsv = {}
    for key, value in obj.items():
        f = BY_NAME.get(key)
        if f is None or f.name != key:
            if key not in EXTRA_KEYS and not key.startswith(ENTITY_PREFIXES):
                hint = (f" (that is the Python/Go SDK's name; canonical JSON says {f.name})" if f is not None
                        else "")
                problems.add(key, value, f"unknown key {key!r}{hint}: canonical JSON holds atomic.events columns, "
                                         f"contexts_*/unstruct_event_* entity columns and {', '.join(EXTRA_KEYS)}")
            continue
        if f.kind.is_self_describing:
            problems.add(key, value, f"{key} does not appear as such in canonical JSON: its entities go under "
                                     f"contexts_*/unstruct_event_* columns, listed in {SCHEMAS}")
            continue
        try:
            texts[f.position] = _text(f.kind, value)
        except ValueError as exc:
            problems.add(key, value, f"{key} {exc}")
            continue
        original = tsv.get(key)
        if original is not None:
            texts[f.position] = original  # the final comparison proves it still says the same value
    for key in tsv:
        f = BY_NAME.get(key)
        if f is None or f.name != key:
            problems.add(TSV, key, f"{TSV} names {key!r}, which is not an enriched-event field")
        elif not f.kind.is_self_describing and key not in obj:
            problems.add(TSV, key, f"{TSV} holds text for {key}, but the object has no {key} value")
    return texts


def _text(kind: FieldKind, value: Any) -> str:
    """The TSV spelling of one JSON value; ``ValueError`` says what type was expected."""
    if value is None:
        return ""
    if kind is FieldKind.STRING or kind is FieldKind.UUID:
        if isinstance(value, str):
            return value
        raise ValueError("must be a string")
    if kind is FieldKind.INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise ValueError("must be an integer")
    if kind is FieldKind.DOUBLE:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return repr(float(value))
        raise ValueError("must be a number")
    if kind is FieldKind.BOOL:
        if isinstance(value, bool):
            return "1" if value else "0"
        raise ValueError("must be true or false")
    if isinstance(value, str) and len(value) > 1 and value.endswith("Z") and "T" in value:
        return value[:-1].replace("T", " ", 1)
    raise ValueError("must be an ISO-8601 UTC timestamp string such as 2013-11-26T00:02:05.123Z")


def _self_describing_texts(obj: Mapping[str, Any], texts: list[str], problems: _Problems) -> None:
    schemas = obj.get(SCHEMAS, {})
    tsv = obj.get(TSV, {})
    if not isinstance(tsv, Mapping):
        tsv = {}  # already reported by _atomic_texts
    if not isinstance(schemas, Mapping):
        problems.add(SCHEMAS, schemas, f"{SCHEMAS} must be an object of field name to a list of schema URIs")
        return
    taken: dict[str, int] = {}
    for position, name in zip(_SDJ_POSITIONS, _SDJ_NAMES, strict=True):
        uris = schemas.get(name)
        if uris is None:
            if isinstance(tsv.get(name), str):
                texts[position] = tsv[name]
            continue
        count_ok = isinstance(uris, list) and (len(uris) == 2 if name == UNSTRUCT_FIELD else len(uris) >= 1)
        if not count_ok or not all(isinstance(u, str) for u in uris):
            shape = "[wrapper URI, event URI]" if name == UNSTRUCT_FIELD else "[wrapper URI, entity URIs...]"
            problems.add(SCHEMAS, uris, f"{SCHEMAS}.{name} must be a list {shape}")
            continue
        entities = []
        for uri in uris[1:]:
            try:
                key = SchemaKey.parse(uri)
            except InvalidSchemaKey as exc:
                problems.add(SCHEMAS, uri, f"{SCHEMAS}.{name}: {exc}")
                continue
            prefix = UNSTRUCT_PREFIX if name == UNSTRUCT_FIELD else CONTEXTS_PREFIX
            column = shredded_column(prefix, key)
            if column not in obj:
                problems.add(column, None, f"{SCHEMAS}.{name} lists {uri}, but the object has no {column} column")
                continue
            if name == UNSTRUCT_FIELD:
                entities.append((uri, obj[column]))
                continue
            items = obj[column]
            used = taken.get(column, 0)
            if not isinstance(items, list) or used >= len(items):
                problems.add(column, items, f"{column} must be a list holding an entity for each of its "
                                            f"{SCHEMAS} entries (custom contexts first, then derived contexts)")
                continue
            entities.append((uri, items[used]))
            taken[column] = used + 1
        if isinstance(tsv.get(name), str):
            texts[position] = tsv[name]
        else:
            try:
                texts[position] = compact_text(name, uris[0], entities).decode()
            except (TypeError, orjson.JSONEncodeError) as exc:
                problems.add(name, None, f"cannot serialise {name} from its columns: {exc}")


def _compare(given: Mapping[str, Any], rebuilt: dict[str, Any], problems: _Problems) -> None:
    """Every key must say what the rebuilt event says, so nothing in the input is silently dropped."""
    ignored = (GEO_LOCATION, TSV)
    for key in sorted(set(given) | set(rebuilt)):
        if key in ignored:
            continue
        if key not in rebuilt:
            problems.add(key, given[key], f"{key} is not reproduced by the rebuilt event; for an entity column, "
                                          f"{SCHEMAS} must list one schema URI per entity")
        elif key not in given:
            problems.add(key, rebuilt[key], f"{key} is missing from the JSON but its {TSV} or {SCHEMAS} text "
                                            "implies it")
        elif given[key] != rebuilt[key]:
            problems.add(key, given[key], f"{key} does not match the event rebuilt from it (an edited value "
                                          f"with a stale {TSV} text, or a value the TSV cannot carry)")
