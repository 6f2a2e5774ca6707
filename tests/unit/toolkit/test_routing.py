"""Filters, field paths, partition keys and projections of derived streams, over hand-made events."""

from __future__ import annotations

import pytest

from iglu_registry.schema_key import SchemaCriterion
from toolkit.config.field_paths import parse_field_path
from toolkit.config.filters import AllOf, AnyOf, Compare, CompareOp, Not, SchemaMatch
from toolkit.config.loading import parse_config
from toolkit.contract.profiles.canonical import to_dict
from toolkit.pipeline.routing import (
    Projection,
    RouteError,
    compile_filter,
    compile_key,
    context_datas,
    event_schema_uri,
    path_values,
)

from .pipeline_events import CHECKOUT, CLICK, CONSENT, DEVICE, PRODUCT, ROOT, event, sdj


def flt(table: dict) -> object:
    """Parse a filter the way the config loader does, and compile it."""
    cfg = parse_config({"source": {"kind": "stdin"}, "iglu": {"resolver_config": "r.json"},
                        "output": {"target": "files:/tmp/x"},
                        "derived": [{"name": "s", "version": 1, "owner": "o", "filter": table}]}, base_dir=ROOT)
    return compile_filter(cfg.derived[0].filter, "derived[s].filter")


SHOP = event(geo_country="DE", br_viewwidth="1280", tr_total="52.50", br_cookies="1",
             useragent="Mozilla/5.0 (compatible; Googlebot/2.1)",
             contexts=[sdj(CONSENT, {"analytics": True, "marketing": False}),
                       sdj(PRODUCT, {"sku": "BOOT-1", "price": 80}), sdj(PRODUCT, {"sku": "HAT-3", "price": 15})],
             derived_contexts=[sdj(DEVICE, {"class": "mobile", "confidence": 0.9}),
                               sdj(PRODUCT, {"sku": "SCARF-7", "price": 20})],
             unstruct_event=sdj(CLICK, {"id": "buy-now", "target_url": "https://www.acme.example/cart"}),
             event="unstruct", event_vendor="com.acme", event_name="button_click")
PLAIN = event(geo_country="FR", domain_userid=None)


def test_atomic_comparisons_use_the_field_type() -> None:
    assert flt({"field": "geo_country", "op": "eq", "value": "DE"})(SHOP)
    assert not flt({"field": "geo_country", "op": "eq", "value": "DE"})(PLAIN)
    assert flt({"field": "geo_country", "op": "ne", "value": "DE"})(PLAIN)
    assert flt({"field": "geo_country", "op": "in", "value": ["NL", "FR"]})(PLAIN)
    assert flt({"field": "br_viewwidth", "op": "gt", "value": 1000})(SHOP)
    assert not flt({"field": "br_viewwidth", "op": "lt", "value": 1000})(SHOP)
    assert not flt({"field": "br_viewwidth", "op": "gt", "value": 1000})(PLAIN)  # empty never compares
    assert flt({"field": "tr_total", "op": "gt", "value": 52.4})(SHOP)
    assert flt({"field": "br_cookies", "op": "eq", "value": True})(SHOP)
    assert flt({"field": "useragent", "op": "regex", "value": "(?i)bot|crawler"})(SHOP)
    assert not flt({"field": "useragent", "op": "regex", "value": "(?i)bot"})(PLAIN)
    assert flt({"field": "domain_userid", "op": "exists"})(SHOP)
    assert not flt({"field": "domain_userid", "op": "exists"})(PLAIN)


def test_timestamps_compare_as_iso_text_in_either_spelling() -> None:
    assert flt({"field": "collector_tstamp", "op": "gt", "value": "2026-11-01T09:59:59.999Z"})(SHOP)
    assert flt({"field": "collector_tstamp", "op": "lt", "value": "2026-11-01 10:00:00.124"})(SHOP)
    assert not flt({"field": "collector_tstamp", "op": "gt", "value": "2026-11-01 10:00:00.123"})(SHOP)


def test_a_value_of_the_wrong_type_is_refused_before_any_event() -> None:
    with pytest.raises(RouteError, match=r"derived\[s\]\.filter: geo_country is text; write the value as a string"):
        flt({"field": "geo_country", "op": "eq", "value": 5})
    with pytest.raises(RouteError, match="br_viewwidth is a number"):
        flt({"field": "br_viewwidth", "op": "gt", "value": "1000"})
    with pytest.raises(RouteError, match=r"all\[1\]: br_cookies is a boolean"):
        flt({"all": [{"field": "app_id", "op": "exists"}, {"field": "br_cookies", "op": "eq", "value": 1}]})


def test_schema_criteria_match_the_event_or_its_contexts() -> None:
    assert flt({"schema": "iglu:com.acme/button_click/jsonschema/1-*-*"})(SHOP)
    assert not flt({"schema": "iglu:com.acme/button_click/jsonschema/2-*-*"})(SHOP)
    assert not flt({"schema": "iglu:com.acme/product/jsonschema/1-*-*"})(SHOP)  # event scope by default
    assert flt({"schema": "iglu:com.acme/product/jsonschema/1-*-*", "scope": "contexts"})(SHOP)
    assert flt({"schema": "iglu:com.acme/device_class/jsonschema/1-0-*", "scope": "any"})(SHOP)
    assert not flt({"schema": "iglu:com.acme/device_class/jsonschema/1-0-*", "scope": "contexts"})(PLAIN)
    # a page view's schema comes from event_vendor/name/format/version
    assert flt({"schema": "iglu:com.snowplowanalytics.snowplow/page_view/jsonschema/1-*-*"})(PLAIN)
    assert event_schema_uri(PLAIN) == "iglu:com.snowplowanalytics.snowplow/page_view/jsonschema/1-0-0"
    assert event_schema_uri(SHOP) == CLICK


def test_paths_into_contexts_reach_custom_then_derived_entities() -> None:
    assert [d["sku"] for d in context_datas(SHOP, "contexts_com_acme_product_1")] == ["BOOT-1", "HAT-3", "SCARF-7"]
    assert path_values(parse_field_path("contexts_com_acme_product_1[].sku"))(SHOP) == ["BOOT-1", "HAT-3", "SCARF-7"]
    assert path_values(parse_field_path("contexts_com_acme_product_1[1].price"))(SHOP) == [15]
    assert path_values(parse_field_path("contexts_com_acme_product_1[9].price"))(SHOP) == []
    assert path_values(parse_field_path("unstruct_event_com_acme_button_click_1.id"))(SHOP) == ["buy-now"]
    assert path_values(parse_field_path("unstruct_event_com_acme_checkout_step_1.step"))(SHOP) == []
    assert path_values(parse_field_path("unstruct_event.data.target_url"))(SHOP) == ["https://www.acme.example/cart"]
    assert path_values(parse_field_path("unstruct_event.schema"))(SHOP) == [CLICK]
    assert path_values(parse_field_path("contexts[].schema"))(SHOP) == [CONSENT, PRODUCT, PRODUCT]
    assert path_values(parse_field_path("br_viewwidth"))(SHOP) == [1280]


def test_comparisons_inside_json_hold_when_one_value_does() -> None:
    assert flt({"field": "contexts_com_acme_product_1[].sku", "op": "eq", "value": "SCARF-7"})(SHOP)
    assert flt({"field": "contexts_com_acme_product_1[].price", "op": "gt", "value": 79})(SHOP)
    assert not flt({"field": "contexts_com_acme_product_1[].price", "op": "gt", "value": 80})(SHOP)
    assert flt({"field": "contexts_com_acme_consent_1[].analytics", "op": "eq", "value": True})(SHOP)
    assert not flt({"field": "contexts_com_acme_consent_1[].analytics", "op": "eq", "value": 1})(SHOP)  # bool != 1
    assert flt({"field": "contexts_com_acme_product_1[].sku", "op": "ne", "value": "NOPE"})(SHOP)
    assert not flt({"field": "contexts_com_acme_product_1[].sku", "op": "ne", "value": "HAT-3"})(SHOP)  # = not eq
    assert flt({"field": "unstruct_event.data.target_url", "op": "regex", "value": "^https://"})(SHOP)
    assert flt({"field": "unstruct_event.data.target_url", "op": "exists"})(SHOP)
    assert not flt({"field": "unstruct_event.data.target_url", "op": "exists"})(PLAIN)
    assert flt({"not": {"field": "contexts_com_acme_product_1", "op": "exists"}})(PLAIN)


def test_combinations() -> None:
    eu_clicks = flt({"all": [{"schema": "iglu:com.acme/button_click/jsonschema/1-*-*"},
                             {"field": "geo_country", "op": "in", "value": ["DE", "FR"]},
                             {"not": {"field": "useragent", "op": "regex", "value": "(?i)bot"}}]})
    assert not eu_clicks(SHOP)  # a bot
    either = flt({"any": [{"field": "geo_country", "op": "eq", "value": "FR"},
                          {"schema": CHECKOUT.replace("1-0-0", "1-*-*")}]})
    assert either(PLAIN) and not either(SHOP)


def test_compiled_conditions_built_by_hand_work_too() -> None:
    path = parse_field_path("geo_country")
    not_german = compile_filter(AllOf((Not(Compare(path, CompareOp.EQ, "DE")), Compare(path, CompareOp.EXISTS))))
    assert not not_german(SHOP) and not_german(PLAIN)
    clicks = SchemaMatch(SchemaCriterion.parse("iglu:com.acme/button_click/jsonschema/1-*-*"))
    clicks_or_french = compile_filter(AnyOf((clicks, Compare(path, CompareOp.EQ, "FR"))))
    assert clicks_or_french(SHOP) and clicks_or_french(PLAIN)


def test_partition_keys_take_the_first_non_empty_path() -> None:
    default = compile_key([parse_field_path(p) for p in ("domain_userid", "network_userid", "event_id")])
    assert default(SHOP) == b"d-user-1"
    assert default(PLAIN) == b"n-user-1"
    nothing = event(domain_userid=None, network_userid=None)
    assert default(nothing) == nothing.event_id.encode()
    by_sku = compile_key([parse_field_path("contexts_com_acme_product_1[].sku"), parse_field_path("user_id")])
    assert by_sku(SHOP) == b"BOOT-1"
    assert by_sku(PLAIN) == PLAIN.event_id.encode()  # nothing found: the event id keeps keys spread
    hidden = compile_key([parse_field_path("domain_userid")], {"domain_userid": lambda t: f"h({t})"})
    assert hidden(SHOP) == b"h(d-user-1)"
    skipping = compile_key([parse_field_path("user_ipaddress"), parse_field_path("domain_userid")],
                           skip=frozenset({"user_ipaddress"}))
    assert skipping(SHOP) == b"d-user-1"


def test_projection_keeps_the_listed_paths_in_their_shape() -> None:
    doc = to_dict(SHOP)
    projection = Projection([parse_field_path(p) for p in (
        "event_id", "geo_country", "contexts_com_acme_product_1[].sku", "contexts_com_acme_product_1[].price",
        "unstruct_event_com_acme_button_click_1.id", "user_id", "unstruct_event.data.target_url")])
    out = projection.apply(doc, SHOP)
    assert out == {
        "event_id": SHOP.event_id, "geo_country": "DE",
        "contexts_com_acme_product_1": [{"sku": "BOOT-1", "price": 80}, {"sku": "HAT-3", "price": 15},
                                        {"sku": "SCARF-7", "price": 20}],
        "unstruct_event_com_acme_button_click_1": {"id": "buy-now"},
        "unstruct_event": {"data": {"target_url": "https://www.acme.example/cart"}},
    }
    first_only = Projection([parse_field_path("contexts_com_acme_product_1[0]"),
                             parse_field_path("contexts_com_acme_product_1[2].sku")]).apply(doc, SHOP)
    assert first_only == {"contexts_com_acme_product_1": [{"sku": "BOOT-1", "price": 80}, {"sku": "SCARF-7"}]}
    whole = Projection([parse_field_path("contexts_com_acme_device_class_1"),
                        parse_field_path("contexts_com_acme_device_class_1[].class")]).apply(doc, SHOP)
    assert whole == {"contexts_com_acme_device_class_1": [{"class": "mobile", "confidence": 0.9}]}
    assert doc == to_dict(SHOP)  # the profile object was not changed
