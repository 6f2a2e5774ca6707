"""The ``python-sdk`` profile: exactly what ``snowplow_analytics_sdk.event_transformer.transform`` returns.

For teams whose consumers run Snowplow's Python analytics SDK 0.2.3 (the last
release, 2017), bugs included, so moving them onto this toolkit changes nothing
they see:

* field 122 is ``refr_device_tstamp`` (the warehouse says ``refr_dvce_tstamp``);
* ``se_value`` is the TSV text, a string (the warehouse has a double);
* empty fields are left out;
* entity keys keep dashes (``contexts_com_acme-corp_...``) and only vendors' dots
  become underscores;
* when a custom and a derived context share a column, the derived list replaces
  the custom one: the custom entities are lost;
* JSON inside the three self-describing fields is read with Python's ``json``
  module, as the SDK reads it (so integers keep every digit).

:func:`to_json` gives ``json.dumps(transform(line))`` byte for byte.
"""

from __future__ import annotations

import json
import re
from typing import Any

from toolkit.contract.event import EnrichedEvent
from toolkit.contract.fields import FIELDS, GEO_LATITUDE, GEO_LONGITUDE, FieldKind

NAME = "python-sdk"
_CAMEL = re.compile("([^A-Z_])([A-Z])")
_KEYS: dict[tuple[str, str], str] = {}


def column(prefix: str, uri: str) -> str:
    """The SDK's ``fix_schema``: vendor dots to underscores, camelCase split, dashes kept, lower case."""
    key = _KEYS.get((prefix, uri))
    if key is None:
        vendor, name, _, version = uri[len("iglu:"):].split("/")
        snake_name = _CAMEL.sub(r"\1_\2", name).lower()
        key = f"{prefix}_{vendor.replace('.', '_').lower()}_{snake_name}_{version.split('-')[0]}"
        if len(_KEYS) < 16_384:
            _KEYS[(prefix, uri)] = key
    return key


def to_dict(event: EnrichedEvent) -> dict[str, Any]:
    """The dictionary ``transform(event.line)`` returns."""
    fields, values = event.fields, event.values
    out: dict[str, Any] = {}
    if fields[GEO_LATITUDE] and fields[GEO_LONGITUDE]:
        out["geo_location"] = f"{fields[GEO_LATITUDE]},{fields[GEO_LONGITUDE]}"
    for f, text, value in zip(FIELDS, fields, values, strict=True):
        if not text:
            continue
        kind = f.kind
        if kind is FieldKind.CONTEXTS or kind is FieldKind.DERIVED_CONTEXTS:
            grouped: dict[str, list[Any]] = {}
            for item in json.loads(text)["data"]:
                grouped.setdefault(column("contexts", item["schema"]), []).append(item["data"])
            out.update(grouped)  # a derived column replaces a custom one of the same name, as in the SDK
        elif kind is FieldKind.UNSTRUCT:
            inner = json.loads(text)["data"]
            out[column("unstruct_event", inner["schema"])] = inner["data"]
        elif f.name == "se_value" or kind is FieldKind.STRING or kind is FieldKind.UUID:
            out[f.sdk_name] = text
        elif kind is FieldKind.TSTAMP:
            out[f.sdk_name] = str(value)
        else:
            out[f.sdk_name] = value
    return out


def to_json(event: EnrichedEvent) -> bytes:
    """``json.dumps(transform(line))``: Python's default separators and ASCII escapes."""
    return json.dumps(to_dict(event)).encode()
