"""The ``scala-sdk`` profile: Snowplow's Scala analytics SDK 3.x ``Event.toJson(lossy = true)``.

What the Scala SDK (3.2.1; RDB Loader's wide-row JSON and Snowplow's own tests)
writes, for teams whose consumers read that:

* every atomic field is present, ``null`` when empty; names are the warehouse's
  (``refr_dvce_tstamp``);
* ``se_value`` and every double are JSON numbers spelled as the JVM does
  (``100.0``, ``1.0E7``); ``geo_location`` joins the two doubles that way too;
* timestamps are ``java.time.Instant`` text (fraction in groups of three digits,
  none when zero), ``event_id`` is a lower-case UUID;
* each context object gains ``"_schema_version": "<M-R-A>"`` as its first key
  (3.2.0+; not the unstructured event, not non-object data);
* when a custom and a derived context share a column, the derived list replaces
  the custom one (``Map ++``): the custom entities are lost, as in the SDK.

Key order: the SDK builds a hash map, so its order is arbitrary; this profile
writes ``geo_location`` first and then the fields in TSV order, like the SDK's
own test expectations.
"""

from __future__ import annotations

from typing import Any

import orjson

from toolkit.contract.event import EnrichedEvent
from toolkit.contract.fields import FIELDS, GEO_LATITUDE, GEO_LONGITUDE, FieldKind
from toolkit.contract.profiles.formats import java_double, java_instant

NAME = "scala-sdk"


def _versioned(entity_version: str, data: Any) -> Any:
    if type(data) is dict:
        return {"_schema_version": entity_version, **{k: v for k, v in data.items() if k != "_schema_version"}}
    return data


def to_json(event: EnrichedEvent) -> bytes:
    fields, values = event.fields, event.values
    out: dict[str, Any] = {}
    if fields[GEO_LATITUDE] and fields[GEO_LONGITUDE]:
        out["geo_location"] = f"{java_double(values[GEO_LATITUDE])},{java_double(values[GEO_LONGITUDE])}"
    for f, text, value in zip(FIELDS, fields, values, strict=True):
        kind = f.kind
        if kind.is_self_describing:
            if value is None:
                continue
            if kind is FieldKind.UNSTRUCT:
                entity = value.entities[0]
                out[entity.column] = entity.data
                continue
            grouped: dict[str, list[Any]] = {}
            for entity in value.entities:
                grouped.setdefault(entity.column, []).append(_versioned(str(entity.key.version), entity.data))
            out.update(grouped)
        elif not text:
            out[f.name] = None
        elif kind is FieldKind.DOUBLE:
            out[f.name] = orjson.Fragment(java_double(value))
        elif kind is FieldKind.TSTAMP:
            out[f.name] = java_instant(value)
        elif kind is FieldKind.UUID:
            out[f.name] = text.lower()
        else:
            out[f.name] = value
    return orjson.dumps(out)
