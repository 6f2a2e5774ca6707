"""Tracker protocol to enriched events: what Snowplow's collector adapters and enrich do, for one request.

:func:`adapt` takes one :class:`~connectors.collector.payload.CollectorPayload` and gives enriched
TSV lines, one per tracker event, and bad rows for what it cannot use; it never raises on bad
input. The lines are exactly what the toolkit's parser accepts (each is parsed before it is
returned), so they then go through the existing pipeline unchanged: parse, validate every entity
against Iglu, route.

What becomes which bad row, each carrying the request:

* ``collector_payload_format_violation``: a POST body that is not UTF-8 JSON;
* ``adapter_failures``: a path no adapter serves (only the tracker protocol's ``/i``, ``/ice.png``
  and ``/com.snowplowanalytics.snowplow/tp2`` are);
* ``tracker_protocol_violations``: a body that fails ``payload_data``'s schema (the whole batch,
  as enrich does), or one event whose parameters break the protocol (that event alone: the rest
  of its batch still comes out).

Entities themselves (``cx``/``co``, ``ue_px``/``ue_pr``) are validated later, by the pipeline's
validation stage, as enrich validates them after its adapters.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from connectors.collector import campaigns, referers, urls, useragent
from connectors.collector.params import BY_PARAM, EVENT_TYPES, OUTRANKED, Invalid, tstamp
from connectors.collector.payload import TP1_PATHS, TP2_PATH, CollectorPayload
from iglu_registry.errors import ResolutionError
from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey
from iglu_registry.validation import SchemaValidator, validation_error_json
from toolkit.contract.badrows import TOOLKIT_PROCESSOR, BadRow, bad_row, timestamp
from toolkit.contract.fields import FIELDS
from toolkit.contract.sdj import compact_text
from toolkit.contract.tsv import ParseFailure, parse_line

PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
_PAYLOAD_DATA_PREFIX = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-"
CONTEXTS_OUT = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
_CONTEXTS_PREFIX = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-"
_UNSTRUCT_PREFIX = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-"
#: the bad-row schema versions emitted here (Iglu Central's latest of each)
BAD_ROW_VERSIONS = {"collector_payload_format_violation": "1-0-0", "adapter_failures": "1-0-0",
                    "tracker_protocol_violations": "1-0-1"}
#: enrich's default ``event_fingerprint_config``: parameters a resend changes, so they stay out of the hash
FINGERPRINT_EXCLUDED = frozenset({"cv", "eid", "nuid", "stm"})
V_ETL = f"sptk-adapter-{TOOLKIT_PROCESSOR.version}"
_INDEX = {f.name: f.position for f in FIELDS}


@dataclass(slots=True)
class Adapted:
    """What one request became: enriched TSV lines (one per tracker event) and bad rows."""

    events: list[str] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)


class RegistryUnavailable(RuntimeError):
    """No repository could answer for the body's ``payload_data`` schema (down, timing out, refusing a key).

    Not the request's fault and not permanent, so it is no bad row: the collector answers ``503``
    with ``Retry-After`` and writes nothing, and the tracker, which keeps unsent events, sends the
    batch again.
    """


def adapt(payload: CollectorPayload, validator: SchemaValidator, *, etl_tstamp: datetime | None = None) -> Adapted:
    """Turn one collector request into enriched events and bad rows; never raises on bad input.

    Raises :class:`RegistryUnavailable` when a POST body's schema cannot be resolved for now.
    """
    etl = tstamp(etl_tstamp or datetime.now(UTC))
    out = Adapted()
    if payload.path == TP2_PATH:
        events = _tp2_events(payload, validator, out)
    elif payload.path in TP1_PATHS:
        events = [payload.parameters()] if payload.querystring else None
        if events is None:
            out.bad_rows.append(_violations(payload, [{"field": "querystring", "value": None,
                                                       "expectation": "a non-empty querystring with the event"}]))
    else:
        out.bad_rows.append(_adapter_failure(payload, [{
            "field": "path", "value": payload.path,
            "expectation": f"a tracker-protocol path: {', '.join(TP1_PATHS)} (GET) or {TP2_PATH} (POST)"}]))
        events = None
    for index, params in enumerate(events or ()):
        where = f"data[{index}]." if payload.path == TP2_PATH and payload.body is not None else ""
        result = event_line(params, payload, etl, where=where)
        if isinstance(result, str):
            out.events.append(result)
        else:
            out.bad_rows.append(_violations(payload, result, params=params))
    return out


# --- POST bodies -------------------------------------------------------------------------------------------


def _tp2_events(payload: CollectorPayload, validator: SchemaValidator, out: Adapted
                ) -> list[list[tuple[str, str]]] | None:
    """The events of a tp2 request (querystring parameters apply to each), or None after a bad row."""
    query = payload.parameters()
    if payload.body is None or not payload.body.strip():
        if query:
            return [query]  # tp2 over GET: one event in the querystring
        out.bad_rows.append(_format_violation(payload, "the request has neither a body nor a querystring"))
        return None
    try:
        document = orjson.loads(payload.body)
    except orjson.JSONDecodeError as exc:
        out.bad_rows.append(_format_violation(payload, f"the body is not UTF-8 JSON text: {exc}"[:512]))
        return None
    schema = document.get("schema") if isinstance(document, dict) else None
    if not isinstance(schema, str) or not schema.startswith(_PAYLOAD_DATA_PREFIX) or set(document) != {"schema",
                                                                                                        "data"}:
        out.bad_rows.append(_violations(payload, [{
            "field": "body", "value": payload.body_text()[:1024],  # type: ignore[index]
            "expectation": f"self-describing JSON {{\"schema\": \"{PAYLOAD_DATA}\" (or 1-0-0 to 1-0-3), "
                           "\"data\": [events]}"}]))
        return None
    try:
        key = SchemaKey.parse(schema)
    except InvalidSchemaKey as exc:
        out.bad_rows.append(_violations(payload, [{"field": "body.schema", "value": schema,
                                                   "expectation": str(exc)[:256]}]))
        return None
    result = validator.validate(key, document["data"])
    if isinstance(result, ResolutionError):
        if result.retryable:
            raise RegistryUnavailable(f"the tracker protocol's schema cannot be checked now: {result.message}")
        out.bad_rows.append(_violations(payload, [{"schemaKey": key.uri, "error": result.to_json()}]))
        return None
    if result:
        out.bad_rows.append(_violations(payload, [{"schemaKey": key.uri, "error": validation_error_json(result)}]))
        return None
    return [query + [(str(k), str(v)) for k, v in event.items()] for event in document["data"]]


# --- one event ---------------------------------------------------------------------------------------------


def event_line(params: Sequence[tuple[str, str]], payload: CollectorPayload, etl: str, *, where: str = ""
               ) -> str | list[dict[str, Any]]:
    """One event's enriched TSV line, or the ``tracker_protocol_violations`` messages that say why not."""
    given = dict(params)  # as enrich reads them: the last of a repeated name wins
    values: dict[str, str] = {}
    sdj: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []

    def fail(name: str, value: str | None, expectation: str) -> None:
        errors.append({"field": f"{where}{name}"[:64], "value": value, "expectation": expectation[:256]})

    for name, value in given.items():
        p = BY_PARAM.get(name)
        if p is None or value == "" or (name in OUTRANKED and given.get(OUTRANKED[name])):
            continue
        try:
            converted = p.convert(value)
        except Invalid as exc:
            fail(name, value, exc.expectation)
            continue
        if isinstance(converted, tuple):
            values.update(zip(p.fields, converted, strict=True))
        elif isinstance(converted, str):
            values[p.fields[0]] = converted
        else:
            sdj[p.fields[0]] = (name, converted)
    code = given.get("e", "")
    if not code:
        fail("e", None, "an event type code (e=pv, pp, se, ue, tr or ti)")
    schema = EVENT_TYPES.get(code, ("", None))[1]
    if "contexts" in sdj:
        name, doc = sdj["contexts"]
        try:
            values["contexts"] = _contexts(doc)
        except Invalid as exc:
            fail(name, _shown(doc), exc.expectation)
    if "unstruct_event" in sdj:
        name, doc = sdj["unstruct_event"]
        try:
            values["unstruct_event"], schema = _unstruct(doc)
        except Invalid as exc:
            fail(name, _shown(doc), exc.expectation)
    elif code == "ue":
        fail("ue_px", None, "the self-describing event, in ue_px (base64) or ue_pr (JSON text), with e=ue")
    if schema:
        key = SchemaKey.parse(schema)
        values.update(event_vendor=key.vendor, event_name=key.name, event_format=key.format,
                      event_version=str(key.version))
    _request_fields(values, payload, etl)
    page = _exploded(values, "page_url", "url", fail)
    refr = _exploded(values, "page_referrer", "refr", fail)
    _enrich(values, page, refr)
    values["event_fingerprint"] = fingerprint(given)
    if errors:
        return errors
    line = "\t".join(values.get(f.name, "") for f in FIELDS)
    parsed = parse_line(line)
    if isinstance(parsed, ParseFailure):  # a value the enriched format cannot hold (too long, out of range)
        return [{"field": f"{where}{e.field}"[:64], "value": e.value, "expectation": e.message[:256]}
                for e in parsed.errors] or [{"field": "event", "value": None, "expectation": parsed.reason[:256]}]
    return line


def _shown(doc: object) -> str:
    return orjson.dumps(doc).decode()[:1024]


def _contexts(doc: object) -> str:
    if not (isinstance(doc, dict) and isinstance(doc.get("schema"), str) and doc["schema"].startswith(
            _CONTEXTS_PREFIX) and isinstance(doc.get("data"), list)):
        raise Invalid(f"{{\"schema\": \"{_CONTEXTS_PREFIX}<n>\", \"data\": [entities]}}")
    entities = []
    for entity in doc["data"]:
        if not (isinstance(entity, dict) and isinstance(entity.get("schema"), str) and "data" in entity):
            raise Invalid("each entity {\"schema\": \"iglu:...\", \"data\": ...}")
        entities.append((entity["schema"], entity["data"]))
    return compact_text("contexts", CONTEXTS_OUT, entities).decode()


def _unstruct(doc: object) -> tuple[str, str]:
    inner = doc.get("data") if isinstance(doc, dict) else None
    if not (isinstance(doc, dict) and isinstance(doc.get("schema"), str) and doc["schema"].startswith(
            _UNSTRUCT_PREFIX) and isinstance(inner, dict) and isinstance(inner.get("schema"), str)
            and "data" in inner):
        raise Invalid(f"{{\"schema\": \"{_UNSTRUCT_PREFIX}<n>\", \"data\": {{\"schema\": \"iglu:...\", "
                      "\"data\": ...}}}")
    try:
        SchemaKey.parse(inner["schema"])
    except InvalidSchemaKey as exc:
        raise Invalid(f"the event's schema as iglu:vendor/name/format/M-R-A ({exc})") from None
    return compact_text("unstruct_event", doc["schema"], [(inner["schema"], inner["data"])]).decode(), inner["schema"]


def _request_fields(values: dict[str, str], payload: CollectorPayload, etl: str) -> None:
    """What the request itself says, where the tracker did not say it, and the timestamps enrich derives."""
    values["collector_tstamp"] = tstamp(payload.collector_tstamp)
    values["etl_tstamp"] = etl
    values["v_etl"] = V_ETL
    values.setdefault("v_collector", payload.collector)
    values.setdefault("event_id", str(uuid.uuid4()))
    for name, value in (("user_ipaddress", payload.ip), ("useragent", payload.user_agent),
                        ("network_userid", payload.network_userid), ("page_url", payload.referer)):
        if value and name not in values:
            values[name] = value
    derived = derived_tstamp(values.get("dvce_sent_tstamp"), values.get("dvce_created_tstamp"),
                             values["collector_tstamp"], values.get("true_tstamp"))
    values["derived_tstamp"] = derived


def derived_tstamp(sent: str | None, created: str | None, collector: str, true: str | None) -> str:
    """Enrich's ``getDerivedTimestamp``: the true timestamp if set; else the collector's, moved back by how long
    the device held the event (sent - created) when both device timestamps are there and in that order."""
    if true:
        return true
    if sent and created and created < sent:
        held = _moment(sent) - _moment(created)
        return tstamp(_moment(collector) - held)
    return collector


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


def _exploded(values: dict[str, str], name: str, param: str, fail: Callable[[str, str | None, str], None]
              ) -> urls.UrlParts | None:
    """The parts of the page or referrer URL, or None (with a failure when it is no URL)."""
    if not values.get(name):
        return None
    try:
        return urls.explode(values[name])
    except Invalid as exc:
        fail(param, values[name], exc.expectation)
        return None


def _enrich(values: dict[str, str], page: urls.UrlParts | None, refr: urls.UrlParts | None) -> None:
    """The enrichments that read the URLs and the user agent."""
    if page is not None:
        values.update(page.fields("page"))
        values.update(campaigns.attribution(page.query))
        values.update(campaigns.cross_domain(page.query))
    if refr is not None:
        values.update(refr.fields("refr"))
        values.update(referers.classify(refr, page.host if page else None))
    if values.get("useragent"):
        values.update(useragent.fields(values["useragent"]))


def fingerprint(params: Mapping[str, str], excluded: frozenset[str] = FINGERPRINT_EXCLUDED) -> str:
    """Enrich's ``EventFingerprintEnrichment``: MD5 of ``name\\x1fvalue\\x1f`` over the sorted parameters."""
    text = "".join(f"{k}\x1f{v}\x1f" for k, v in sorted(params.items()) if k not in excluded)
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


# --- bad rows ----------------------------------------------------------------------------------------------


def _violations(payload: CollectorPayload, messages: list[dict[str, Any]],
                params: Sequence[tuple[str, str]] | None = None) -> BadRow:
    vendor, version = payload.vendor_version
    failure = {"timestamp": timestamp(), "vendor": vendor, "version": version, "messages": messages}
    alone = None if params is None or payload.body is None else list(params)  # one event of a batch: it alone
    return bad_row("tracker_protocol_violations", failure, payload.bad_row_payload(alone),
                   version=BAD_ROW_VERSIONS["tracker_protocol_violations"])


def _adapter_failure(payload: CollectorPayload, messages: list[dict[str, Any]]) -> BadRow:
    vendor, version = payload.vendor_version
    failure = {"timestamp": timestamp(), "vendor": vendor, "version": version, "messages": messages}
    return bad_row("adapter_failures", failure, payload.bad_row_payload(), version=BAD_ROW_VERSIONS["adapter_failures"])


def _format_violation(payload: CollectorPayload, error: str) -> BadRow:
    """The schema wants the payload as a string: the raw stream's JSON record, which reads back whole."""
    failure = {"timestamp": timestamp(), "loader": "ndjson", "message": {"error": error[:512]}}
    return bad_row("collector_payload_format_violation", failure, orjson.dumps(payload.to_json()).decode(),
                   version=BAD_ROW_VERSIONS["collector_payload_format_violation"])
