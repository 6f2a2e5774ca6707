"""Self-describing JSON in the three enriched fields ``contexts``, ``unstruct_event`` and ``derived_contexts``.

An enriched event carries its custom entities, its unstructured event and the
entities enrichments derived as self-describing JSON: a wrapper
(``iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-x`` around a list,
``iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0`` around one
object) whose ``data`` holds ``{"schema": <Iglu URI>, "data": ...}`` entities.

Decoding checks the *shape* (strict RFC 8259 JSON, a wrapper object with a valid
Iglu URI and ``data`` of the right type, entities with a valid URI and ``data``)
and keeps both the wrapper and every entity, because the validator checks the
wrapper against its schema as well as each entity. It does not insist the wrapper
is the expected Snowplow schema: a wrong wrapper (as in the Python SDK's own
fixture) is a schema violation, which the validation stage reports as such.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, NamedTuple

import orjson

from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey

CONTEXTS_FIELD = "contexts"
UNSTRUCT_FIELD = "unstruct_event"
DERIVED_CONTEXTS_FIELD = "derived_contexts"

#: The column prefix each field's entities get in the shredded (warehouse / SDK) JSON.
CONTEXTS_PREFIX = "contexts"
UNSTRUCT_PREFIX = "unstruct_event"


class Entity(NamedTuple):
    """One entity of a self-describing field: ``key, data = entity[:2]``.

    A tuple rather than a dataclass because the hot path builds one per entity,
    and an event routinely carries twenty.
    """

    key: SchemaKey
    data: Any
    field: str
    #: position in the wrapper's ``data`` list; ``None`` for the unstructured event
    position: int | None
    #: the canonical (warehouse) column the entity lands in, e.g. ``contexts_org_w3_performance_timing_1``
    column: str
    #: the schema URI exactly as written (``key.uri`` spells the same, but is built on every call)
    uri: str

    @property
    def path(self) -> str:
        """Where the entity sits, for error messages: ``contexts.data[2]`` or ``unstruct_event.data``."""
        return f"{self.field}.data" if self.position is None else f"{self.field}.data[{self.position}]"


class SelfDescribingJson(NamedTuple):
    """Any self-describing JSON of an event, wrapper or entity, as the validator sees it."""

    key: SchemaKey
    data: Any
    #: ``contexts``, ``contexts.data[0]``, ``unstruct_event.data``, ...
    path: str


class SelfDescribingField(NamedTuple):
    """A decoded ``contexts``, ``derived_contexts`` or ``unstruct_event`` field (immutable).

    Entities are kept as parallel lists (URIs, parsed schemas, data) because the
    hot path only needs those; :attr:`entities` builds :class:`Entity` tuples
    for callers that want them.
    """

    field: str
    #: the field's text exactly as it stood in the TSV line
    text: str
    wrapper: SchemaKey
    wrapper_uri: str
    #: the wrapper's ``data`` as decoded: the list of entity objects, or the one entity object
    data: Any
    #: each entity's schema URI exactly as written
    uris: tuple[str, ...]
    #: each entity's ``data``
    datas: tuple[Any, ...]
    #: each entity's parsed schema and columns, cached per distinct URI
    schemas: tuple[SchemaInfo, ...]
    #: True when :func:`compact_text` of the wrapper and entities spells :attr:`text` exactly,
    #: so canonical JSON can rebuild the field without keeping its text
    compact: bool

    @property
    def entities(self) -> tuple[Entity, ...]:
        """Each entity as an :class:`Entity` (key, data, field, position, canonical column, URI)."""
        unstruct = self.field == UNSTRUCT_FIELD
        return tuple(
            Entity(info.key, data, self.field, None if unstruct else i,
                   info.unstruct_column if unstruct else info.contexts_column, uri)
            for i, (uri, data, info) in enumerate(zip(self.uris, self.datas, self.schemas, strict=True)))

    def self_describing(self) -> list[SelfDescribingJson]:
        """The wrapper first, then each entity, each with its path."""
        out = [SelfDescribingJson(self.wrapper, self.data, self.field)]
        out.extend(SelfDescribingJson(e.key, e.data, e.path) for e in self.entities)
        return out


def compact_text(field: str, wrapper_uri: str, entities: list[tuple[str, Any]]) -> bytes:
    """Serialise a self-describing field compactly: the one spelling canonical JSON rebuilds."""
    if field == UNSTRUCT_FIELD:
        uri, data = entities[0]
        inner: Any = {"schema": uri, "data": data}
    else:
        inner = [{"schema": uri, "data": data} for uri, data in entities]
    return orjson.dumps({"schema": wrapper_uri, "data": inner})


# --- shredded column names ---------------------------------------------------------------------------------


def snake_case_vendor(vendor: str) -> str:
    """``com.acme-corp`` -> ``com_acme_corp``, as Snowplow's Scala SDK and shredder spell vendors."""
    return vendor.replace(".", "_").replace("-", "_").lower()


def snake_case_name(name: str) -> str:
    """``PerformanceTiming`` -> ``performance_timing``; ``my-event`` -> ``my_event``.

    Snowplow's shredder inserts ``_`` between a character that is neither an
    upper-case letter nor ``_`` and the upper-case letter after it, matching
    non-overlapping pairs left to right (Java's and Python's ``replaceAll``/``re.sub``),
    so ``HTTPHeader`` stays ``httpheader`` and ``aBC`` becomes ``a_bc``.
    """
    name = name.replace(".", "_").replace("-", "_")
    out: list[str] = []
    i, n = 0, len(name)
    while i < n:
        c = name[i]
        if i + 1 < n and not ("A" <= c <= "Z" or c == "_") and "A" <= name[i + 1] <= "Z":
            out.append(c + "_" + name[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out).lower()


def shredded_column(prefix: str, key: SchemaKey) -> str:
    """The canonical column for an entity: ``contexts_<vendor>_<name>_<model>`` or ``unstruct_event_...``."""
    return f"{prefix}_{snake_case_vendor(key.vendor)}_{snake_case_name(key.name)}_{key.version.model}"


# --- decoding -------------------------------------------------------------------------------------------------


class SchemaInfo(NamedTuple):
    """An entity schema URI, parsed once, with the canonical column each field prefix gives it."""

    key: SchemaKey
    contexts_column: str
    unstruct_column: str


_SCHEMAS: dict[str, SchemaInfo] = {}
_SCHEMAS_LIMIT = 16_384  # a stream names a few hundred schemas; a flood of distinct URIs must not grow memory


def _schema(uri: Any, where: str) -> SchemaInfo:
    """Parse an Iglu URI once per distinct string; raise :class:`SdjError` naming where it was."""
    if type(uri) is str:
        info = _SCHEMAS.get(uri)
        if info is not None:
            return info
        try:
            key = SchemaKey.parse(uri)
        except InvalidSchemaKey as exc:
            raise SdjError(f"{where}.schema: {exc}") from None
        if len(_SCHEMAS) >= _SCHEMAS_LIMIT:
            _SCHEMAS.clear()
        info = _SCHEMAS[uri] = SchemaInfo(key, shredded_column(CONTEXTS_PREFIX, key),
                                           shredded_column(UNSTRUCT_PREFIX, key))
        return info
    raise SdjError(f"{where}.schema must be an Iglu URI string such as iglu:com.acme/click/jsonschema/1-0-0, "
                   f"got {_json_type(uri)}")


class SdjError(ValueError):
    """A self-describing field whose text is not what Snowplow writes there; the message says where and why."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _load(field: str, text: str) -> tuple[dict[str, Any], Any, SchemaInfo]:
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        hint = ""
        if "'" in text[max(0, exc.pos - 1): exc.pos + 2]:
            hint = " (single quotes are not JSON: a lenient parser such as .NET's accepts them, RFC 8259 does not)"
        raise SdjError(f"{field} is not valid JSON: {exc}{hint}") from None
    if type(doc) is not dict:
        raise SdjError(f"{field} must be a self-describing JSON object "
                       f'{{"schema": "iglu:...", "data": ...}}, got {_json_type(doc)}')
    if "schema" not in doc or "data" not in doc:
        missing = " and ".join(k for k in ("schema", "data") if k not in doc)
        raise SdjError(f"{field} is not self-describing JSON: it has no {missing!r} key "
                       f'(expected {{"schema": "iglu:...", "data": ...}})')
    return doc, doc["data"], _schema(doc["schema"], field)


def _spelled_compactly(field: str, doc: dict[str, Any], text: str) -> bool:
    """Whether ``text`` is exactly orjson's compact spelling of ``doc``.

    orjson reads deeper nesting than it writes (1024 against 254 levels); such a
    field could never be written back out as JSON, so it is refused here with a
    reason rather than failing later in a serialiser.
    """
    try:
        return orjson.dumps(doc) == text.encode()
    except orjson.JSONEncodeError:
        raise SdjError(f"{field} nests JSON more than 254 levels deep, which no JSON output of this toolkit "
                       "can write back; flatten the entity's data") from None


def _plain(obj: dict[str, Any]) -> bool:
    """Exactly the keys ``schema`` then ``data``: what :func:`compact_text` writes."""
    return len(obj) == 2 and next(iter(obj)) == "schema"


_SCHEMA_OF = itemgetter("schema")
_DATA_OF = itemgetter("data")
_TWO = (2).__eq__
_IS_SCHEMA = "schema".__eq__


def decode_contexts(field: str, text: str) -> SelfDescribingField:
    """Decode a ``contexts`` or ``derived_contexts`` field; raise :class:`SdjError` with every problem found.

    The first attempt does everything at C speed (every lookup raises on anything
    unexpected); any exception sends the field to :func:`_decode_contexts_carefully`,
    which looks at each part and says what is wrong, or fills the schema cache.
    """
    try:
        doc = orjson.loads(text)
        wrapper = _SCHEMAS[doc["schema"]]
        data = doc["data"]
        if type(data) is not list:
            raise TypeError
        uris = tuple(map(_SCHEMA_OF, data))
        datas = tuple(map(_DATA_OF, data))
        schemas = tuple(map(_SCHEMAS.__getitem__, uris))
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return _decode_contexts_carefully(field, text)
    compact = (len(doc) == 2 and next(iter(doc)) == "schema" and all(map(_TWO, map(len, data)))
               and all(map(_IS_SCHEMA, map(next, map(iter, data)))))
    compact = _spelled_compactly(field, doc, text) and compact
    return SelfDescribingField(field, text, wrapper.key, doc["schema"], data, uris, datas, schemas, compact)


def _decode_contexts_carefully(field: str, text: str) -> SelfDescribingField:
    doc, data, wrapper = _load(field, text)
    if type(data) is not list:
        raise SdjError(f"{field}.data must be an array of self-describing entities, got {_json_type(data)}")
    uris, datas, schemas = _entities_one_by_one(field, data)
    compact = _spelled_compactly(field, doc, text) and _plain(doc) and all(map(_plain, data))
    return SelfDescribingField(field, text, wrapper.key, doc["schema"], data, uris, datas, schemas, compact)


def _entities_one_by_one(field: str, data: list[Any]) -> tuple[tuple[str, ...], tuple[Any, ...],
                                                                 tuple[SchemaInfo, ...]]:
    uris, datas, schemas, problems = [], [], [], []
    for i, item in enumerate(data):
        try:
            if type(item) is not dict or "schema" not in item or "data" not in item:
                raise SdjError(f"{field}.data[{i}] must be an object with 'schema' and 'data' keys, "
                               f"got {_describe_entity(item)}")
            schemas.append(_schema(item["schema"], f"{field}.data[{i}]"))
        except SdjError as exc:
            problems.extend(exc.messages)
            continue
        uris.append(item["schema"])
        datas.append(item["data"])
    if problems:
        raise SdjError(*problems)
    return tuple(uris), tuple(datas), tuple(schemas)


def decode_unstruct(field: str, text: str) -> SelfDescribingField:
    """Decode an ``unstruct_event`` field; raise :class:`SdjError` saying what is wrong."""
    doc, data, wrapper = _load(field, text)
    if type(data) is not dict or "schema" not in data or "data" not in data:
        raise SdjError(f"{field}.data must be the event as an object with 'schema' and 'data' keys, "
                       f"got {_describe_entity(data)}")
    uri = data["schema"]
    info = _schema(uri, f"{field}.data")
    compact = _spelled_compactly(field, doc, text) and _plain(doc) and _plain(data)
    return SelfDescribingField(field, text, wrapper.key, doc["schema"], data, (uri,), (data["data"],), (info,),
                               compact)


def _describe_entity(value: Any) -> str:
    if type(value) is dict:
        missing = " and ".join(repr(k) for k in ("schema", "data") if k not in value)
        return f"an object without {missing}"
    return _json_type(value)
