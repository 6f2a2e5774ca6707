"""Privacy per stream: consent, HMAC-SHA256 pseudonyms, IP stripping, and nothing leaking through side doors."""

from __future__ import annotations

import copy
import hashlib
import hmac

import orjson
import pytest

from toolkit.config.field_paths import parse_field_path
from toolkit.config.models import PrivacyConfig
from toolkit.config.secrets import Secret
from toolkit.contract.profiles import PROFILES
from toolkit.contract.profiles.canonical import to_dict
from toolkit.contract.profiles.python_sdk import to_dict as python_sdk_dict
from toolkit.pipeline.policy import Pseudonymiser, StreamPolicy
from toolkit.pipeline.routing import RouteError

from .pipeline_events import CONSENT, CONTEXTS, DERIVED, PRODUCT, UNSTRUCT, event, sdj

KEY = "a-key-from-the-environment"


def hmac_hex(text: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def policy(**kwargs: object) -> StreamPolicy:
    paths = tuple(parse_field_path(p) for p in kwargs.pop("pseudonymise", ()))  # type: ignore[union-attr]
    secret = Secret(KEY, "env:SPTK_PSEUDONYMISATION_KEY") if paths else None
    return StreamPolicy("web", PrivacyConfig(pseudonymise=paths, pseudonymisation_key=secret, **kwargs))  # type: ignore


def test_consent_requires_a_matching_entity_anywhere() -> None:
    from iglu_registry.schema_key import SchemaCriterion

    rule = policy(require_consent=True, consent_schema=SchemaCriterion.parse("iglu:com.acme/consent/jsonschema/1-*-*"))
    assert rule.admits(event(contexts=[sdj(CONSENT, {"analytics": True, "marketing": True})]))
    assert rule.admits(event(derived_contexts=[sdj(CONSENT, {"analytics": True, "marketing": True})]))
    assert not rule.admits(event(contexts=[sdj(PRODUCT, {"sku": "A", "price": 1})]))
    assert not rule.admits(event())
    assert policy().admits(event())  # no rule, no requirement
    default = policy(require_consent=True)  # Snowplow's consent_document by default
    doc = "iglu:com.snowplowanalytics.snowplow/consent_document/jsonschema/1-0-0"
    assert default.admits(event(contexts=[sdj(doc, {"id": "1", "version": "2"})]))
    assert not default.admits(event(contexts=[sdj(CONSENT, {"analytics": True, "marketing": True})]))


def test_pseudonyms_are_hmac_sha256_of_the_tsv_text() -> None:
    e = event(user_id="alice@acme.example", domain_userid="d-1", domain_sessionidx="+7", geo_latitude="52.5000",
              geo_longitude="13.4", contexts=[sdj(PRODUCT, {"sku": "BOOT-1", "price": 80})])
    doc = to_dict(e)
    before = copy.deepcopy(doc)
    out = policy(pseudonymise=["user_id", "domain_sessionidx", "geo_latitude"]).apply(doc, e)
    assert out["user_id"] == hmac_hex("alice@acme.example")
    assert out["domain_sessionidx"] == hmac_hex("+7")  # the text, not the typed value: same in every profile
    assert out["geo_latitude"] == hmac_hex("52.5000")
    assert "geo_location" not in out  # "52.5000,13.4" would give the latitude away
    assert "_tsv" not in out or not {"domain_sessionidx", "geo_latitude"} & set(out["_tsv"])
    assert out["domain_userid"] == "d-1"
    assert doc == before  # the cached profile object is untouched


def test_json_values_are_replaced_in_copies_of_their_containers() -> None:
    e = event(contexts=[sdj(PRODUCT, {"sku": "BOOT-1", "price": 80}), sdj(PRODUCT, {"sku": "HAT-3", "price": 15})])
    doc = to_dict(e)
    out = policy(pseudonymise=["contexts_com_acme_product_1[].sku"]).apply(doc, e)
    assert out["contexts_com_acme_product_1"] == [{"sku": hmac_hex("BOOT-1"), "price": 80},
                                                  {"sku": hmac_hex("HAT-3"), "price": 15}]
    assert [d["sku"] for d in e.sdj["contexts"].datas] == ["BOOT-1", "HAT-3"]  # the event is untouched
    assert doc["contexts_com_acme_product_1"][0]["sku"] == "BOOT-1"
    numbers = policy(pseudonymise=["contexts_com_acme_product_1[0].price"]).apply(doc, e)
    assert numbers["contexts_com_acme_product_1"] == [{"sku": "BOOT-1", "price": hmac_hex("80")},
                                                      {"sku": "HAT-3", "price": 15}]


def test_the_canonical_tsv_texts_of_hidden_json_are_dropped() -> None:
    spaced = '{"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", "data": [' \
             '{"schema": "iglu:com.acme/product/jsonschema/1-0-0", "data": {"sku": "BOOT-1", "price": 80}}]}'
    e = event(contexts=spaced)
    doc = to_dict(e)
    assert "BOOT-1" in doc["_tsv"]["contexts"]  # canonical keeps the original spelling...
    out = policy(pseudonymise=["contexts_com_acme_product_1[].sku"]).apply(doc, e)
    assert "BOOT-1" not in str(out)  # ...which would reveal the pseudonymised value


def test_strip_ip_removes_the_address_and_the_key_never_uses_it() -> None:
    e = event(user_ipaddress="192.0.2.7")
    rule = policy(strip_ip=True)
    out = rule.apply(to_dict(e), e)
    assert "user_ipaddress" not in out and "192.0.2.7" not in str(out)
    assert "user_ipaddress" in rule.hidden_atomic


def test_other_profiles_get_the_same_pseudonyms_under_their_key_names() -> None:
    e = event(refr_dvce_tstamp="2026-11-01 09:00:00.000", user_id="bob")
    out = policy(pseudonymise=["refr_dvce_tstamp", "user_id"]).apply(python_sdk_dict(e), e)
    assert out["refr_device_tstamp"] == hmac_hex("2026-11-01 09:00:00.000")
    assert out["user_id"] == hmac_hex("bob")


def test_key_transforms_hide_pseudonymised_key_fields() -> None:
    rule = policy(pseudonymise=["domain_userid"])
    assert rule.key_transforms()["domain_userid"]("d-1") == hmac_hex("d-1")
    assert policy().key_transforms() == {}


def test_raw_self_describing_paths_cannot_be_pseudonymised() -> None:
    with pytest.raises(RouteError, match="name the value by its column instead"):
        policy(pseudonymise=["unstruct_event.data.email"])


def test_pseudonymiser_remembers_but_stays_bounded() -> None:
    p = Pseudonymiser(b"k")
    assert p("x") == hmac.new(b"k", b"x", hashlib.sha256).hexdigest() == p("x")
    with pytest.raises(ValueError, match="empty"):
        Pseudonymiser(b"")


@pytest.mark.parametrize(("field", "path"), [
    ("contexts", "contexts_com_acme_product_1[].sku"),
    ("derived_contexts", "contexts_com_acme_product_1[].sku"),
    ("unstruct_event", "unstruct_event_com_acme_product_1.sku"),
])
def test_the_canonical_tsv_text_of_every_self_describing_field_is_dropped(field: str, path: str) -> None:
    """Canonical keeps a non-canonical original spelling in ``_tsv``; for any of the three fields it would show
    the pseudonymised value's original text."""
    entity = '{"schema": "iglu:com.acme/product/jsonschema/1-0-0", "data": {"sku": "BOOT-1", "price": 80}}'
    wrapper = {"contexts": CONTEXTS, "derived_contexts": DERIVED, "unstruct_event": UNSTRUCT}[field]
    inner = f"[{entity}]" if field != "unstruct_event" else entity
    e = event(**{field: f'{{"schema": "{wrapper}", "data": {inner}}}'})
    doc = to_dict(e)
    assert "BOOT-1" in doc["_tsv"][field]
    out = policy(pseudonymise=[path]).apply(doc, e)
    assert hmac_hex("BOOT-1") in str(out)
    assert "BOOT-1" not in str(out)


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("hidden", ["geo_latitude", "geo_longitude"])
def test_either_coordinate_hidden_hides_geo_location_in_every_profile(profile: str, hidden: str) -> None:
    e = event(geo_latitude="52.51234", geo_longitude="13.40567", user_id="u")
    doc = orjson.loads(PROFILES[profile].render(e))
    out = policy(pseudonymise=[hidden]).apply(doc, e)
    text = {"geo_latitude": "52.51234", "geo_longitude": "13.40567"}[hidden]
    assert hmac_hex(text) in out.values()
    assert "geo_location" not in out
    assert text not in orjson.dumps(out).decode()
    assert policy(pseudonymise=["user_id"]).apply(doc, e).get("geo_location") == doc.get("geo_location")


def test_only_the_named_leaf_is_replaced_and_odd_shapes_are_left_alone() -> None:
    e = event(unstruct_event=sdj(PRODUCT, {"sku": "BOOT-1", "meta": {"id": "m-1", "bob": "b"}, "name": "bob",
                                           "tags": {"id": "t-1"}, "none": None}),
              contexts=[sdj(PRODUCT, {"sku": "A", "price": 1}), sdj(PRODUCT, {"sku": None, "price": 2})])
    doc = to_dict(e)
    out = policy(pseudonymise=["unstruct_event_com_acme_product_1.meta.id",  # a nested leaf only
                               "unstruct_event_com_acme_product_1.name.b",  # through a string holding "b"
                               "unstruct_event_com_acme_product_1.tags[].id",  # [] over an object
                               "unstruct_event_com_acme_product_1.none",  # null stays null
                               "contexts_com_acme_product_1[].sku",  # a null sku stays null
                               "contexts_com_acme_product_1[2].price",  # past the end
                               ]).apply(doc, e)
    assert out["unstruct_event_com_acme_product_1"] == {
        "sku": "BOOT-1", "meta": {"id": hmac_hex("m-1"), "bob": "b"}, "name": "bob", "tags": {"id": "t-1"},
        "none": None}
    assert out["contexts_com_acme_product_1"] == [{"sku": hmac_hex("A"), "price": 1}, {"sku": None, "price": 2}]


def test_a_rule_with_nothing_to_replace_does_not_stop_the_next_rule() -> None:
    e = event(user_id="", domain_userid="d-1", network_userid="n-1")
    out = policy(pseudonymise=["user_id", "contexts_com_acme_absent_1[].x", "domain_userid", "network_userid"]
                 ).apply(to_dict(e), e)
    assert out["domain_userid"] == hmac_hex("d-1") and out["network_userid"] == hmac_hex("n-1")


def test_the_canonical_profile_keeps_warehouse_names_for_fields_the_sdks_rename() -> None:
    e = event(refr_dvce_tstamp="2026-11-01 09:00:00.000")
    out = policy(pseudonymise=["refr_dvce_tstamp"]).apply(to_dict(e), e)
    assert out["refr_dvce_tstamp"] == hmac_hex("2026-11-01 09:00:00.000")
    assert "refr_device_tstamp" not in out


def test_atomic_rules_keep_the_tsv_texts_of_json_fields() -> None:
    spaced = f'{{"schema": "{CONTEXTS}", "data": [{{"schema": "{PRODUCT}", "data": {{"sku": "A", "price": 1.50}}}}]}}'
    e = event(user_id="u", contexts=spaced)
    doc = to_dict(e)
    out = policy(pseudonymise=["user_id"]).apply(doc, e)
    assert out["_tsv"] == doc["_tsv"] and out["_tsv"]["contexts"] == spaced


def test_strip_ip_on_an_event_without_an_address() -> None:
    e = event(user_ipaddress=None, user_id="u")
    assert "user_ipaddress" not in policy(strip_ip=True).apply(to_dict(e), e)
    assert policy(strip_ip=True).stripped == {"user_ipaddress"}
    assert policy(pseudonymise=["user_id"]).stripped == frozenset()


def test_a_consent_event_itself_counts_as_consent() -> None:
    from iglu_registry.schema_key import SchemaCriterion

    rule = policy(require_consent=True, consent_schema=SchemaCriterion.parse("iglu:com.acme/consent/jsonschema/1-*-*"))
    assert rule.admits(event(unstruct_event=sdj(CONSENT, {"analytics": True, "marketing": True})))


def test_text_with_undecodable_bytes_is_pseudonymised_from_its_bytes() -> None:
    """A TSV field holding invalid UTF-8 reaches the policy as surrogate escapes; its pseudonym is of the bytes."""
    text = b"caf\xe9".decode("utf-8", "surrogateescape")
    assert Pseudonymiser(KEY.encode())(text) == hmac.new(KEY.encode(), b"caf\xe9", hashlib.sha256).hexdigest()


def test_configuration_mistakes_say_what_to_do() -> None:
    with pytest.raises(ValueError) as empty:
        Pseudonymiser(b"")
    assert str(empty.value) == "the pseudonymisation key is empty; an empty HMAC key protects nothing"
    with pytest.raises(RouteError, match="e.g. contexts_com_acme_user_1\\[\\].email or "
                                         "unstruct_event_com_acme_signup_1.email, so every copy of it is replaced"):
        policy(pseudonymise=["unstruct_event.data.email"])
    with pytest.raises(RouteError, match="privacy.web: pseudonymise lists fields but no pseudonymisation key is set"):
        # the config refuses this; a config built without validation reaches the policy's own guard
        StreamPolicy("web", PrivacyConfig.model_construct(pseudonymise=(parse_field_path("user_id"),),
                                                          pseudonymisation_key=None))
