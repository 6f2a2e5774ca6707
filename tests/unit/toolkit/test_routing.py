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
    UriMatcher,
    compile_filter,
    compile_key,
    context_datas,
    event_schema_uri,
    path_values,
    shredded_key,
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


@pytest.mark.parametrize(("field", "at", "below", "above"), [
    ("br_viewwidth", 1280, 1279, 1281),  # integer column
    ("tr_total", 52.5, 52.49, 52.51),  # decimal column
    ("geo_country", "DE", "DD", "DF"),  # text column
    ("collector_tstamp", "2026-11-01T10:00:00.123Z", "2026-11-01 10:00:00.122", "2026-11-01T10:00:00.124Z"),
    ("contexts_com_acme_product_1[].price", 15, 14, 81),  # JSON values 80, 15, 20: the smallest and largest
])
def test_gt_and_lt_are_strict_at_equality(field: str, at: object, below: object, above: object) -> None:
    top = 80 if field.startswith("contexts") else at  # the largest value, for gt
    assert not flt({"field": field, "op": "lt", "value": at})(SHOP)
    assert not flt({"field": field, "op": "gt", "value": top})(SHOP)
    assert flt({"field": field, "op": "lt", "value": above})(SHOP)
    assert flt({"field": field, "op": "gt", "value": below})(SHOP)


def test_timestamps_compare_as_iso_text_in_either_spelling() -> None:
    assert flt({"field": "collector_tstamp", "op": "eq", "value": "2026-11-01 10:00:00.123"})(SHOP)
    assert flt({"field": "collector_tstamp", "op": "eq", "value": "2026-11-01T10:00:00.123Z"})(SHOP)
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


NESTED = event(unstruct_event=sdj(CLICK, {
    "id": "buy-now", "meta": {"a": 1, "b": 2, "c": 3},
    "items": [{"a": {"b": 1, "c": 2, "d": 3}, "e": 9}, {"a": {"b": 4, "c": 5, "d": 6}, "e": 8}],
    "m": [[1, 2, 3], [4, 5, 6]], "n": [[{"x": 1, "y": 2, "z": 3}], [{"x": 4, "y": 5, "z": 6}]], "p": [[1, 2], [3, 4]],
    "empty": "", "list": [], "object": {}, "null": None, "zero": 0, "false": False}),
    contexts=[sdj(PRODUCT, {"sku": "A", "price": 1, "name": "a"}), sdj(PRODUCT, {"sku": "B", "price": 2, "name": "b"})])
CLICK_COLUMN = "unstruct_event_com_acme_button_click_1"


def project(*paths: str, doc: dict | None = None, source: object = NESTED) -> dict:
    return Projection([parse_field_path(p) for p in paths]).apply(to_dict(source) if doc is None else doc,
                                                                 source)  # type: ignore[arg-type]


def test_projection_merges_overlapping_paths_at_every_depth() -> None:
    c = CLICK_COLUMN
    out = project(f"{c}.meta.a", f"{c}.meta.c", f"{c}.items[].a.b", f"{c}.items[0].a.c", f"{c}.items[1].e",
                  f"{c}.m[][0]", f"{c}.m[1][2]", f"{c}.m[1][0]", f"{c}.n[][].x", f"{c}.n[0][].y", f"{c}.p[][0]",
                  f"{c}.p[1][]", "contexts_com_acme_product_1[].sku", "contexts_com_acme_product_1[].price",
                  "contexts_com_acme_product_1[1].name", "contexts_com_acme_product_1[1].sku")
    assert out == {
        c: {"meta": {"a": 1, "c": 3},
            "items": [{"a": {"b": 1, "c": 2}}, {"a": {"b": 4}, "e": 8}],
            "m": [[1], [4, 6]], "n": [[{"x": 1, "y": 2}], [{"x": 4}]], "p": [[1], [3, 4]]},
        "contexts_com_acme_product_1": [{"sku": "A", "price": 1}, {"sku": "B", "price": 2, "name": "b"}],
    }


def test_projection_leaves_out_what_is_absent_empty_or_of_another_shape() -> None:
    c = CLICK_COLUMN
    assert project(f"{c}.nope", "contexts_com_acme_product_1[].nope", f"{c}.id[]", f"{c}.id[0]",
                   "contexts_com_acme_absent_1", "event_id") == {
        "event_id": NESTED.event_id}
    assert project("unstruct_event.data.target_url", "event_id", source=PLAIN) == {"event_id": PLAIN.event_id}


@pytest.mark.parametrize("profile", ["python-sdk", "scala-sdk"])
def test_projection_finds_fields_under_the_sdks_own_names(profile: str) -> None:
    import orjson

    from toolkit.contract.profiles import PROFILES

    e = event(refr_dvce_tstamp="2026-11-01 09:00:00.000", user_id=None,
              contexts=[sdj("iglu:com.acme-corp/product/jsonschema/1-0-0", {"sku": "A"})])
    doc = orjson.loads(PROFILES[profile].render(e))
    out = project("refr_dvce_tstamp", "user_id", "contexts_com_acme_corp_product_1[].sku", doc=doc, source=e)
    sdk_column = next(k for k in doc if k.startswith("contexts_com_acme"))
    name = "refr_device_tstamp" if "refr_device_tstamp" in doc else "refr_dvce_tstamp"
    assert out == {name: doc[name], sdk_column: [{"sku": "A"}]}


def test_shredded_keys_in_either_spelling() -> None:
    assert shredded_key({"contexts_com_acme-corp_product_1": []}, "contexts_com_acme_corp_product_1") == \
        "contexts_com_acme-corp_product_1"
    assert shredded_key({"contexts_com_acme_corp_product_1": []}, "contexts_com_acme_corp_product_1") == \
        "contexts_com_acme_corp_product_1"
    assert shredded_key({"contexts_com_acme-corp_product_2": [], "contexts_com_acme_corp": []},
                        "contexts_com_acme_corp_product_1") is None


def test_projection_names_its_raw_self_describing_roots() -> None:
    paths = [parse_field_path(p) for p in ("unstruct_event.data.id", "event_id", "contexts_com_acme_product_1[].sku")]
    assert Projection(paths).self_describing == ("unstruct_event",)


def test_paths_through_values_of_another_shape_find_nothing() -> None:
    c = CLICK_COLUMN
    for path in (f"{c}.id.u", f"{c}.id[]", f"{c}.id[0]", f"{c}.meta[]", "contexts_com_acme_product_1[2].sku"):
        assert path_values(parse_field_path(path))(NESTED) == [], path


def test_exists_needs_a_non_empty_value() -> None:
    c = CLICK_COLUMN
    for name in ("empty", "list", "object", "null", "absent"):
        assert not flt({"field": f"{c}.{name}", "op": "exists"})(NESTED), name
    for name in ("zero", "false", "id"):
        assert flt({"field": f"{c}.{name}", "op": "exists"})(NESTED), name


def test_order_comparisons_never_mix_booleans_numbers_and_text() -> None:
    assert not flt({"field": "contexts_com_acme_consent_1[].analytics", "op": "gt", "value": 0})(SHOP)
    assert not flt({"field": "contexts_com_acme_consent_1[].marketing", "op": "lt", "value": 1})(SHOP)
    price = parse_field_path("contexts_com_acme_product_1[].price")  # the config refuses this; built by hand
    assert not compile_filter(Compare(price, CompareOp.GT, True))(SHOP)
    assert not flt({"field": "contexts_com_acme_product_1[].sku", "op": "gt", "value": 5})(SHOP)
    assert not flt({"field": "contexts_com_acme_product_1[].price", "op": "lt", "value": "z"})(SHOP)


def test_a_contexts_scope_ignores_the_events_own_schema() -> None:
    assert not flt({"schema": "iglu:com.acme/button_click/jsonschema/1-*-*", "scope": "contexts"})(SHOP)
    assert flt({"schema": "iglu:com.acme/button_click/jsonschema/1-*-*", "scope": "any"})(SHOP)


def test_a_malformed_uri_never_matches() -> None:
    matcher = UriMatcher(SchemaCriterion.parse("iglu:com.acme/button_click/jsonschema/1-*-*"))
    assert matcher("iglu:com.acme/button_click/jsonschema/1-0-0")
    assert not matcher("not a uri") and not matcher("not a uri")


def test_projection_merges_index_and_any_selections_inside_nested_lists() -> None:
    c = CLICK_COLUMN
    data = {"q": [[{"x": 1, "y": 2, "z": 3}], [{"x": 4, "y": 5, "z": 6}]],
            "r": [[{"x": 1, "y": 2}, {"x": 3, "y": 4}], [{"x": 5, "y": 6}, {"x": 7, "y": 8, "z": 9}]],
            "p2": [[{"x": 1, "y": 2}], [{"x": 3, "y": 4}, {"x": 5, "y": 6}]],
            "p3": [[{"x": 1, "y": 2}], [{"x": 3, "y": 4}, {"x": 5, "y": 6}]],
            "s": [{"x": 1, "y": 2}, {"x": 3, "y": 4}],
            "items": [{"a": {"b": 1}, "f": {"g": 1, "h": 2}}, {"a": {"b": 2}, "f": {"g": 3, "h": 4}}]}
    e = event(unstruct_event=sdj(CLICK, data))
    out = project(f"{c}.q[][0].x", f"{c}.q[1][0].y", f"{c}.r[][0].x", f"{c}.r[1][1].y", f"{c}.p2[][0]",
                  f"{c}.p2[1][].x", f"{c}.p3[][].x", f"{c}.p3[1][0].y", f"{c}.s[]", f"{c}.s[0].x",
                  f"{c}.items[].a.b", f"{c}.items[1].f.g", source=e)
    assert out == {c: {
        "q": [[{"x": 1}], [{"x": 4, "y": 5}]],
        "r": [[{"x": 1}], [{"x": 5}, {"y": 8}]],
        "p2": [[{"x": 1, "y": 2}], [{"x": 3, "y": 4}, {"x": 5}]],
        "p3": [[{"x": 1}], [{"x": 3, "y": 4}, {"x": 5}]],
        "s": [{"x": 1, "y": 2}, {"x": 3, "y": 4}],
        "items": [{"a": {"b": 1}}, {"a": {"b": 2}, "f": {"g": 3}}]}}


def test_roots_with_nothing_give_no_values() -> None:
    empty = event(geo_country=None, br_viewwidth=None)
    for path in ("geo_country", "br_viewwidth", "contexts_com_acme_product_1", CLICK_COLUMN,
                 "unstruct_event_com_acme_checkout_step_1"):
        assert path_values(parse_field_path(path))(empty) == [], path
    assert path_values(parse_field_path("unstruct_event_com_acme_checkout_step_1"))(SHOP) == []
    assert not flt({"field": "geo_country", "op": "lt", "value": "Z"})(empty)  # empty text never compares


def test_in_and_regex_over_json_values_and_empty_fields() -> None:
    assert flt({"field": "contexts_com_acme_product_1[].sku", "op": "in", "value": ["HAT-3", "X"]})(SHOP)
    assert not flt({"field": "contexts_com_acme_product_1[].sku", "op": "in", "value": ["X", "Y"]})(SHOP)
    assert flt({"field": "contexts_com_acme_product_1[].price", "op": "in", "value": [15, 16]})(SHOP)
    no_user = event(user_id=None)
    assert flt({"field": "user_id", "op": "eq", "value": ""})(no_user)  # text fields compare as their TSV text
    assert flt({"field": "user_id", "op": "in", "value": ["", "x"]})(no_user)
    assert not flt({"field": "user_id", "op": "regex", "value": ".*"})(no_user)  # an empty field never matches
    assert not flt({"field": "contexts_com_acme_product_1[].price", "op": "regex", "value": "8"})(SHOP)  # numbers
    country = parse_field_path("geo_country")
    assert compile_filter(Compare(country, CompareOp.REGEX, "^D"))(SHOP)  # built by hand: no precompiled pattern


def test_filter_mistakes_name_where_they_are() -> None:
    with pytest.raises(RouteError, match=r"^derived\[s\]\.filter: geo_country is text"):
        flt({"field": "geo_country", "op": "in", "value": ["DE", 5]})
    with pytest.raises(RouteError, match=r"^derived\[s\]\.filter\.any\[1\]: geo_country is text"):
        flt({"any": [{"field": "app_id", "op": "exists"}, {"field": "geo_country", "op": "eq", "value": 5}]})
    with pytest.raises(RouteError, match=r"^derived\[s\]\.filter\.not: geo_country is text"):
        flt({"not": {"field": "geo_country", "op": "eq", "value": 5}})
    with pytest.raises(RouteError, match=r"^derived\[s\]\.filter: br_cookies is a boolean; gt/lt compare numbers "
                                         r"and text$"):
        compile_filter(Compare(parse_field_path("br_cookies"), CompareOp.GT, True), "derived[s].filter")
    with pytest.raises(RouteError, match=r"^derived\[s\]\.filter: br_viewwidth is a number"):
        flt({"field": "br_viewwidth", "op": "eq", "value": True})
    with pytest.raises(RouteError, match=r"^derived\[s\]\.filter: collector_tstamp is a timestamp; write the value "
                                         r"as text such as \"2024-05-01T10:00:00.000Z\"$"):
        flt({"field": "collector_tstamp", "op": "gt", "value": 5})
    with pytest.raises(RouteError, match=r"^filter: unknown condition 'nonsense'$"):
        compile_filter("nonsense")  # type: ignore[arg-type]
    with pytest.raises(RouteError, match=r"^f: unknown condition 'nonsense'$"):
        compile_filter("nonsense", "f")  # type: ignore[arg-type]


def test_atomic_keys_use_the_tsv_text_and_fall_back_to_the_event_id() -> None:
    e = event(domain_sessionidx="+7", geo_country=None)
    assert compile_key([parse_field_path("domain_sessionidx")])(e) == b"+7"
    assert compile_key([parse_field_path("geo_country")])(e) == e.event_id.encode()
