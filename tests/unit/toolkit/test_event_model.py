"""The event model: typed access by name, immutability, timestamps, and every self-describing JSON with its path."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from iglu_registry.schema_key import SchemaKey
from tests.unit.toolkit.event_lines import CONTEXTS_WRAPPER, DERIVED_WRAPPER, UNSTRUCT_WRAPPER, line, sdj
from toolkit.contract.event import EnrichedEvent, Timestamp
from toolkit.contract.sdj import snake_case_name
from toolkit.contract.tsv import parse_line

TEXT = line(
    txn_id="42", geo_latitude="52.5", br_cookies="1", dvce_ismobile="0", user_id="u1",
    domain_userid="d-1", network_userid="n-1", event_fingerprint="fp", refr_dvce_tstamp="2026-11-01 11:00:00",
    contexts=sdj(CONTEXTS_WRAPPER, [sdj("iglu:com.acme/product/jsonschema/1-0-0", {"sku": "A"}),
                                    sdj("iglu:com.acme/product/jsonschema/1-1-0", {"sku": "B"})]),
    unstruct_event=sdj(UNSTRUCT_WRAPPER, sdj("iglu:com.acme/button_click/jsonschema/1-0-0", {"id": "buy"})),
    derived_contexts=sdj(DERIVED_WRAPPER, [sdj("iglu:com.acme/device_class/jsonschema/1-0-0", {"class": "pc"})]),
)


@pytest.fixture
def event() -> EnrichedEvent:
    result = parse_line(TEXT)
    assert isinstance(result, EnrichedEvent)
    return result


def test_typed_access_by_warehouse_and_sdk_name(event: EnrichedEvent) -> None:
    assert (event.get("txn_id"), event.txn_id, event.geo_latitude, event.br_cookies, event.dvce_ismobile) == \
        (42, 42, 52.5, True, False)
    assert event.get("refr_device_tstamp") == event.refr_dvce_tstamp == "2026-11-01T11:00:00Z"
    assert isinstance(event.refr_dvce_tstamp, Timestamp)
    assert event.get("tr_total") is None and event.text("tr_total") == ""
    assert event.text("txn_id") == "42"
    assert (event.event_id, event.domain_userid, event.network_userid, event.event_fingerprint) == \
        ("c6ef3124-b53a-4b13-a233-0088f79dcbcb", "d-1", "n-1", "fp")
    assert event.collector_tstamp.to_datetime() == datetime(2026, 11, 1, 12, 0, 0, 123000, tzinfo=UTC)
    with pytest.raises(KeyError, match="unknown enriched-event field 'colour'; known fields are: app_id"):
        event.get("colour")
    with pytest.raises(AttributeError, match="no field or attribute 'colour'"):
        _ = event.colour


def test_values_typed_and_verbatim(event: EnrichedEvent) -> None:
    values = event.values
    assert len(values) == 131 and values[0] == "shop" and values[7] == 42 and values[2] is None
    assert list(event.typed)[:3] == ["app_id", "platform", "collector_tstamp"]
    assert event.verbatim == {}
    odd = parse_line(line(tr_total="12.50", txn_id="+3"))
    assert isinstance(odd, EnrichedEvent) and odd.verbatim == {"txn_id": "+3", "tr_total": "12.50"}


def test_the_event_is_immutable(event: EnrichedEvent) -> None:
    with pytest.raises(AttributeError, match="immutable"):
        event.line = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del event.fields
    assert hash(event) == hash(parse_line(TEXT)) and event == parse_line(TEXT)


def test_entities_and_every_self_describing_json_with_its_path(event: EnrichedEvent) -> None:
    entities = event.entities
    assert [(str(e.key), e.data, e.field, e.position, e.column) for e in entities] == [
        ("iglu:com.acme/product/jsonschema/1-0-0", {"sku": "A"}, "contexts", 0, "contexts_com_acme_product_1"),
        ("iglu:com.acme/product/jsonschema/1-1-0", {"sku": "B"}, "contexts", 1, "contexts_com_acme_product_1"),
        ("iglu:com.acme/button_click/jsonschema/1-0-0", {"id": "buy"}, "unstruct_event", None,
         "unstruct_event_com_acme_button_click_1"),
        ("iglu:com.acme/device_class/jsonschema/1-0-0", {"class": "pc"}, "derived_contexts", 0,
         "contexts_com_acme_device_class_1"),
    ]
    key, data = entities[0][:2]
    assert key == SchemaKey.parse("iglu:com.acme/product/jsonschema/1-0-0") and data == {"sku": "A"}
    paths = [(s.path, str(s.key)) for s in event.self_describing()]
    assert paths == [
        ("contexts", CONTEXTS_WRAPPER), ("contexts.data[0]", "iglu:com.acme/product/jsonschema/1-0-0"),
        ("contexts.data[1]", "iglu:com.acme/product/jsonschema/1-1-0"),
        ("unstruct_event", UNSTRUCT_WRAPPER), ("unstruct_event.data", "iglu:com.acme/button_click/jsonschema/1-0-0"),
        ("derived_contexts", DERIVED_WRAPPER),
        ("derived_contexts.data[0]", "iglu:com.acme/device_class/jsonschema/1-0-0"),
    ]
    wrapper = event.self_describing()[0]
    assert wrapper.data == [sdj("iglu:com.acme/product/jsonschema/1-0-0", {"sku": "A"}),
                            sdj("iglu:com.acme/product/jsonschema/1-1-0", {"sku": "B"})]
    assert event.event_schema == SchemaKey.parse("iglu:com.acme/button_click/jsonschema/1-0-0")
    plain = parse_line(line(event_vendor="com.snowplowanalytics.snowplow", event_name="page_view",
                            event_format="jsonschema", event_version="1-0-0"))
    assert str(plain.event_schema) == "iglu:com.snowplowanalytics.snowplow/page_view/jsonschema/1-0-0"
    assert plain.entities == () and plain.contexts is None


def test_timestamps_keep_precision_and_years_datetime_cannot_hold() -> None:
    ts = Timestamp.from_tsv("2021-10-13 20:22:10.423072674")
    assert (ts, ts.tsv, ts.nanosecond) == ("2021-10-13T20:22:10.423072674Z", "2021-10-13 20:22:10.423072674",
                                           423072674)
    assert ts.to_datetime() == datetime(2021, 10, 13, 20, 22, 10, 423072, tzinfo=UTC)
    ancient = Timestamp.from_tsv("-2006-10-15 09:06:35")
    assert ancient.parts[:3] == (-2006, 10, 15)
    with pytest.raises(ValueError, match="outside the years 1 to 9999"):
        ancient.to_datetime()


@pytest.mark.parametrize(("name", "snake"), [
    ("PerformanceTiming", "performance_timing"), ("WebPage", "web_page"), ("HTTPHeader", "httpheader"),
    ("my-event", "my_event"), ("aBC", "a_bc"), ("v2Event", "v2_event"), ("ua_parser_context", "ua_parser_context"),
    ("already_Snake", "already_snake"),
])
def test_entity_names_become_snake_case_as_snowplows_shredder_writes_them(name: str, snake: str) -> None:
    assert snake_case_name(name) == snake
