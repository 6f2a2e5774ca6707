"""The adapter's mapping rules, one request at a time (pure: no sockets)."""

from __future__ import annotations

from connectors.collector.adapter import adapt
from iglu_registry.validation import SchemaValidator
from tests.unit.connectors.collector.conftest import get
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.tsv import parse_line


def _one(validator: SchemaValidator, querystring: str, **request: object) -> EnrichedEvent:
    adapted = adapt(get(querystring, **request), validator)
    assert adapted.bad_rows == [], [b.to_dict() for b in adapted.bad_rows]
    assert len(adapted.events) == 1
    event = parse_line(adapted.events[0])
    assert isinstance(event, EnrichedEvent)
    return event


def test_a_page_view_fills_the_event_fields_and_its_fixed_schema(validator: SchemaValidator) -> None:
    event = _one(validator, "e=pv&p=web&aid=shop&tv=js-3.0&page=Caf%C3%A9&url=https%3A%2F%2Fwww.acme.com%2Fa",
                 ip="10.0.0.1", user_agent="curl/8.0")
    assert event.get("event") == "page_view"
    assert (event.get("event_vendor"), event.get("event_name"), event.get("event_format"),
            event.get("event_version")) == ("com.snowplowanalytics.snowplow", "page_view", "jsonschema", "1-0-0")
    assert event.get("page_title") == "Café"
    assert event.get("app_id") == "shop" and event.get("platform") == "web" and event.get("v_tracker") == "js-3.0"
    assert event.get("user_ipaddress") == "10.0.0.1" and event.get("useragent") == "curl/8.0"
    assert event.text("collector_tstamp") == "2024-03-01 12:00:00.250"
