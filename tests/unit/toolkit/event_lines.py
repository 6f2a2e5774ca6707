"""Enriched TSV lines for tests: a minimal valid event, built field by field, and hypothesis strategies.

The strategies generate what the contract calls valid (docs/event-contract.md),
in every spelling the contract accepts: numbers with and without the shortest
text, JSON with and without spaces or escapes, entity names in camelCase and
with dashes, custom and derived contexts sharing a schema.
"""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

from hypothesis import strategies as st

from toolkit.contract.fields import BY_NAME, FIELD_COUNT, FIELDS, FieldKind

CONTEXTS_WRAPPER = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0"
DERIVED_WRAPPER = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
UNSTRUCT_WRAPPER = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"

MINIMAL = {
    "app_id": "shop",
    "platform": "web",
    "collector_tstamp": "2026-11-01 12:00:00.123",
    "event": "page_view",
    "event_id": "c6ef3124-b53a-4b13-a233-0088f79dcbcb",
    "v_collector": "ssc-3.2.0-kafka",
    "v_etl": "snowplow-enrich-kafka-5.1.0",
}


def sdj(schema: str, data: Any) -> dict[str, Any]:
    return {"schema": schema, "data": data}


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def line(**values: Any) -> str:
    """A TSV line: MINIMAL overridden by ``values`` (``None`` empties a field; dicts become compact JSON)."""
    row = [""] * FIELD_COUNT
    for name, value in {**MINIMAL, **values}.items():
        if value is None:
            continue
        row[BY_NAME[name].position] = compact(value) if isinstance(value, dict) else str(value)
    return "\t".join(row)


# --- hypothesis -------------------------------------------------------------------------------------------------
# Hypothesis draws one seeded ``random.Random`` per line and the line is built from it: drawing 131
# fields one by one through hypothesis costs seconds per hundred lines, and the tests want thousands.

_CHARS = "abcXYZ019 -_./:?&=%+'\"\\<>{}[]éü€中😀\u2028\r"
_VENDORS = ["com.acme", "com.acme-corp", "org.w3", "io.Example_Vendor", "plg"]
_NAMES = ["web_page", "WebPage", "PerformanceTiming", "HTTPHeader", "my-event", "aBC", "link_click", "v2Event", "x"]
_VERSIONS = ["1-0-0", "1-0-1", "2-1-3", "10-0-12"]
_KEYS = ["id", "name", "value", "targetUrl", "n", "flag", "nested"]


def _text(rng: random.Random, max_size: int) -> str:
    return "".join(rng.choice(_CHARS) for _ in range(rng.randint(1, max(1, max_size))))


def _schema(rng: random.Random) -> str:
    return f"iglu:{rng.choice(_VENDORS)}/{rng.choice(_NAMES)}/jsonschema/{rng.choice(_VERSIONS)}"


def _json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 2 and roll < 0.15:
        return [_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 2 and roll < 0.3:
        return {rng.choice(_KEYS): _json(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return rng.choice([
        None, True, False, rng.randint(-(2**63), 2**63 - 1), rng.randint(-1000, 1000), rng.uniform(-1e6, 1e6),
        rng.choice([0.1, 1e-7, 1e21, 5e-324, -0.0, 1.5e300]), _text(rng, 10),
    ])


def _data(rng: random.Random) -> dict[str, Any]:
    return {rng.choice(_KEYS): _json(rng) for _ in range(rng.randint(0, 4))}


def _spell(rng: random.Random, obj: Any) -> str:
    style = rng.choice(["compact", "compact", "compact", "spaced", "ascii"])
    if style == "spaced":
        return json.dumps(obj, indent=2).replace("\n", " ")
    if style == "ascii":
        return json.dumps(obj, separators=(",", ":")).replace("/", "\\/")
    return compact(obj)


def _tstamp(rng: random.Random) -> str:
    month = rng.randint(1, 12)
    day = rng.randint(1, 29 if month == 2 else 31 if month in (1, 3, 5, 7, 8, 10, 12) else 30)
    year = rng.choice([2024, 2000, 1972]) if (month, day) == (2, 29) else rng.randint(1970, 2099)
    fraction = rng.choice(["", ".1", ".123", ".000", ".120", ".123456", ".123456789"])
    return f"{year:04d}-{month:02d}-{day:02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:" \
           f"{rng.randint(0, 59):02d}{fraction}"


def _value(rng: random.Random, kind: FieldKind, max_length: int | None) -> str:
    if kind is FieldKind.STRING:
        return _text(rng, min(max_length or 40, 40))
    if kind is FieldKind.UUID:
        value = str(uuid.UUID(int=rng.getrandbits(128)))
        return value.upper() if rng.random() < 0.1 else value
    if kind is FieldKind.INT:
        return rng.choice([str(rng.randint(-(2**31), 2**31 - 1)), str(rng.randint(0, 2000)), "+7", "007", "-0"])
    if kind is FieldKind.DOUBLE:
        x = rng.uniform(-1e6, 1e6)
        return rng.choice([repr(x), f"{x:.2f}", str(rng.randint(-999, 999)), "1e5", "-0.0", "0.10", "2.50",
                           repr(rng.uniform(-1, 1) * 1e-9)])
    if kind is FieldKind.BOOL:
        return rng.choice(["0", "1"])
    return _tstamp(rng)


def random_line(rng: random.Random) -> str:
    """A valid enriched TSV line: any mix of empty and set fields, all three JSON fields possible."""
    schemas = [_schema(rng) for _ in range(rng.randint(1, 3))]  # shared by custom and derived contexts
    fill = rng.choice([0.2, 0.5, 0.9])
    row = []
    for f in FIELDS:
        if f.kind is FieldKind.CONTEXTS or f.kind is FieldKind.DERIVED_CONTEXTS:
            wrapper = CONTEXTS_WRAPPER if f.kind is FieldKind.CONTEXTS else DERIVED_WRAPPER
            entities = [sdj(rng.choice(schemas), _data(rng)) for _ in range(rng.randint(0, 4))]
            row.append(_spell(rng, sdj(wrapper, entities)) if rng.random() < 0.7 else "")
        elif f.kind is FieldKind.UNSTRUCT:
            row.append(_spell(rng, sdj(UNSTRUCT_WRAPPER, sdj(_schema(rng), _data(rng)))) if rng.random() < 0.5 else "")
        elif f.required or rng.random() < fill:
            row.append(_value(rng, f.kind, f.max_length))
        else:
            row.append("")
    return "\t".join(row)


enriched_lines = st.randoms(use_true_random=True).map(random_line)
