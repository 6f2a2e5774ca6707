"""The ``go-sdk`` profiles: Snowplow's Go analytics SDK 0.4.0 ``ParsedEvent.ToJson`` (and ``ToJsonWithGeo``).

What the Go SDK writes, for teams whose consumers read that:

* empty fields are left out; field 122 is ``refr_device_tstamp``; ``se_value`` is a string;
* ``geo_location`` only from ``ToJsonWithGeo`` (profile ``go-sdk-geo``), not ``ToJson``;
* timestamps are Go ``time.Time`` JSON: RFC 3339, fraction with trailing zeros dropped
  (``.880`` becomes ``.88``); Go cannot read negative years, so such events fail;
* every number inside an entity goes through ``float64`` (integers beyond 2^53 lose
  digits) and is spelled as Go spells floats (``100``, ``1e-7``, ``1e+21``);
* entity data must be a JSON object (Go decodes it into ``map[string]interface{}``),
  otherwise the Go SDK rejects the event;
* entity keys split camelCase before *every* capital (``HTTPHeader`` becomes
  ``h_t_t_p_header``) and keep dashes;
* when a custom and a derived context share a key, the derived list replaces the
  custom one, as in the SDK;
* keys are sorted (the SDK's map order is random; sorted is what ``encoding/json`` writes),
  and ``<``, ``>``, ``&`` are not escaped (the SDK turns HTML escaping off).
"""

from __future__ import annotations

from typing import Any

import orjson

from toolkit.contract.event import EnrichedEvent
from toolkit.contract.fields import FIELDS, GEO_LATITUDE, GEO_LONGITUDE, FieldKind
from toolkit.contract.profiles.formats import go_float, go_rfc3339_nano

NAME = "go-sdk"
NAME_WITH_GEO = "go-sdk-geo"


class GoSdkRejects(ValueError):
    """An event the Go SDK itself would refuse to convert; the message says why."""


def _snake_name(name: str) -> str:
    out = []
    previous = ""
    for i, c in enumerate(name):
        if c.isupper() and i > 0 and previous != "_":
            out.append("_")
        out.append(c)
        previous = c
    return "".join(out)


def column(prefix: str, vendor: str, name: str, model: int) -> str:
    """The SDK's ``fixSchema``: vendor dots to underscores, ``_`` before each capital, lower case."""
    return f"{prefix}_{vendor.replace('.', '_')}_{_snake_name(name)}_{model}".lower()


def _go_value(value: Any) -> Any:
    """A decoded JSON value as Go's ``interface{}`` round trip re-encodes it."""
    if type(value) is dict:
        return {k: _go_value(v) for k, v in value.items()}
    if type(value) is list:
        return [_go_value(v) for v in value]
    if type(value) is int or type(value) is float:
        return orjson.Fragment(go_float(float(value)))
    return value


def _entity_data(entity: Any) -> Any:
    if entity.data is not None and type(entity.data) is not dict:
        raise GoSdkRejects(f"{entity.path} ({entity.key.uri}) holds a JSON array or scalar; the Go SDK decodes "
                           "entity data into map[string]interface{} and rejects the event")
    return _go_value(entity.data)


def to_json(event: EnrichedEvent, *, with_geo: bool = False) -> bytes:
    fields, values = event.fields, event.values
    out: dict[str, Any] = {}
    if with_geo and fields[GEO_LATITUDE] and fields[GEO_LONGITUDE]:
        out["geo_location"] = f"{fields[GEO_LATITUDE]},{fields[GEO_LONGITUDE]}"
    for f, text, value in zip(FIELDS, fields, values, strict=True):
        if not text:
            continue
        kind = f.kind
        if kind is FieldKind.CONTEXTS or kind is FieldKind.DERIVED_CONTEXTS:
            grouped: dict[str, list[Any]] = {}
            for entity in value.entities:
                key = column("contexts", entity.key.vendor, entity.key.name, entity.key.version.model)
                grouped.setdefault(key, []).append(_entity_data(entity))
            out.update(grouped)
        elif kind is FieldKind.UNSTRUCT:
            entity = value.entities[0]
            out[column("unstruct_event", entity.key.vendor, entity.key.name, entity.key.version.model)] = \
                _entity_data(entity)
        elif f.name == "se_value" or kind is FieldKind.STRING or kind is FieldKind.UUID:
            out[f.sdk_name] = text
        elif kind is FieldKind.TSTAMP:
            try:
                out[f.sdk_name] = go_rfc3339_nano(value)
            except ValueError as exc:
                raise GoSdkRejects(f"{f.name}: {exc}, so the Go SDK rejects the event") from None
        elif kind is FieldKind.DOUBLE:
            out[f.sdk_name] = orjson.Fragment(go_float(value))
        else:
            out[f.sdk_name] = value
    return orjson.dumps(out, option=orjson.OPT_SORT_KEYS)


def to_json_with_geo(event: EnrichedEvent) -> bytes:
    return to_json(event, with_geo=True)
