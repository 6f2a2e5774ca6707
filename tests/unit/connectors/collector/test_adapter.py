"""The adapter's mapping rules, one request at a time (pure: no sockets)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
import pytest

from connectors.collector import referers
from connectors.collector.adapter import adapt, derived_tstamp, fingerprint
from connectors.collector.payload import TP2_PATH, CollectorPayload
from connectors.collector.urls import explode
from iglu_registry.validation import SchemaValidator
from tests.unit.connectors.collector.conftest import ARRIVED, get
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.tsv import parse_line

CLICK = {"schema": "iglu:com.acme/button_click/jsonschema/1-0-0", "data": {"id": "buy", "label": "Kaufen ✓"}}
UNSTRUCT = {"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0", "data": CLICK}
PRODUCT = {"schema": "iglu:com.acme/product/jsonschema/1-0-0", "data": {"sku": "A-1", "price": 9.5}}
CONTEXTS = {"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", "data": [PRODUCT]}


def _b64(doc: object, *, pad: bool = True) -> str:
    text = base64.urlsafe_b64encode(orjson.dumps(doc)).decode()
    return text if pad else text.rstrip("=")


def _one(validator: SchemaValidator, query: str | dict[str, str], **request: object) -> EnrichedEvent:
    adapted = adapt(get(query if isinstance(query, str) else urlencode(query), **request), validator)
    assert adapted.bad_rows == [], [b.to_dict() for b in adapted.bad_rows]
    assert len(adapted.events) == 1
    event = parse_line(adapted.events[0])
    assert isinstance(event, EnrichedEvent)
    return event


def _bad(validator: SchemaValidator, payload: CollectorPayload) -> list[dict]:
    adapted = adapt(payload, validator)
    assert adapted.events == []
    return [b.to_dict() for b in adapted.bad_rows]


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


def test_every_identity_and_device_parameter_lands_in_its_field(validator: SchemaValidator) -> None:
    event = _one(validator, {
        "e": "pv", "tna": "cf", "uid": "user@acme", "duid": "d-1", "sid": "B603A8EE-3D0C-407E-8822-045B6E639493",
        "vid": "3", "fp": "123", "tz": "Europe/Berlin", "lang": "de-DE", "cs": "UTF-8", "cd": "24",
        "res": "1920x1080", "vp": "800x600", "ds": "1000x3000", "cookie": "1", "f_pdf": "1", "f_fla": "0",
        "f_java": "0", "f_dir": "0", "f_qt": "1", "f_realp": "0", "f_wma": "0", "f_gears": "0", "f_ag": "1",
        "tid": "028288", "eid": "41f38388-e87e-49ea-9766-a2c8ed916b43", "ip": "1.2.3.4", "ua": "Tracker/1.0",
        "tnuid": "nu-2"}, ip="9.9.9.9", user_agent="header", network_userid="cookie")
    assert event.typed | {} == event.typed
    expected = {"name_tracker": "cf", "user_id": "user@acme", "domain_userid": "d-1",
                "domain_sessionid": "b603a8ee-3d0c-407e-8822-045b6e639493", "domain_sessionidx": 3,
                "user_fingerprint": "123", "os_timezone": "Europe/Berlin", "br_lang": "de-DE", "doc_charset": "UTF-8",
                "br_colordepth": "24", "dvce_screenwidth": 1920, "dvce_screenheight": 1080, "br_viewwidth": 800,
                "br_viewheight": 600, "doc_width": 1000, "doc_height": 3000, "br_cookies": True,
                "br_features_pdf": True, "br_features_flash": False, "br_features_quicktime": True,
                "br_features_silverlight": True, "txn_id": 28288, "event_id": "41f38388-e87e-49ea-9766-a2c8ed916b43",
                "user_ipaddress": "1.2.3.4", "useragent": "Tracker/1.0", "network_userid": "nu-2"}
    assert {k: event.get(k) for k in expected} == expected


def test_the_request_fills_what_the_tracker_did_not_say(validator: SchemaValidator) -> None:
    event = _one(validator, "e=pv", ip="9.9.9.9", user_agent="header-agent", network_userid="cookie-id",
                 referer="http://shop.acme.com:8080/p?x=1")
    assert event.get("user_ipaddress") == "9.9.9.9" and event.get("useragent") == "header-agent"
    assert event.get("network_userid") == "cookie-id"
    assert event.get("page_url") == "http://shop.acme.com:8080/p?x=1" and event.get("page_urlport") == 8080
    assert len(event.get("event_id")) == 36 and event.get("v_collector").startswith("sptk-collector-")


def test_a_structured_event(validator: SchemaValidator) -> None:
    event = _one(validator, "e=se&se_ca=ecomm&se_ac=add-to-basket&se_la=%CE%A7%CE%B1%CF%81%CE%B9%CF%84%CE%AF%CE"
                            "%BD%CE%B7&se_pr=1&se_va=35708.23")
    assert (event.get("event"), event.get("event_vendor"), event.get("event_name")) == (
        "struct", "com.google.analytics", "event")
    assert (event.get("se_category"), event.get("se_action"), event.get("se_label"), event.get("se_property"),
            event.text("se_value")) == ("ecomm", "add-to-basket", "Χαριτίνη", "1", "35708.23")


def test_a_page_ping(validator: SchemaValidator) -> None:
    event = _one(validator, "e=pp&pp_mix=0&pp_max=10&pp_miy=-5&pp_may=900")
    assert [event.get(f) for f in ("pp_xoffset_min", "pp_xoffset_max", "pp_yoffset_min", "pp_yoffset_max")] == [
        0, 10, -5, 900]
    assert event.get("event_name") == "page_ping"


def test_a_transaction_and_its_item(validator: SchemaValidator) -> None:
    tr = _one(validator, "e=tr&tr_id=order-123&tr_af=pb&tr_tt=8000&tr_tx=200&tr_sh=50&tr_ci=London&tr_st=England"
                         "&tr_co=UK&tr_cu=GBP")
    assert {f: tr.text(f) for f in ("tr_orderid", "tr_affiliation", "tr_total", "tr_tax", "tr_shipping", "tr_city",
                                    "tr_state", "tr_country", "tr_currency", "event", "event_name")} == {
        "tr_orderid": "order-123", "tr_affiliation": "pb", "tr_total": "8000", "tr_tax": "200", "tr_shipping": "50",
        "tr_city": "London", "tr_state": "England", "tr_country": "UK", "tr_currency": "GBP",
        "event": "transaction", "event_name": "transaction"}
    ti = _one(validator, "e=ti&ti_id=order-123&ti_sk=A-1&ti_nm=Tasse&ti_ca=Kitchen&ti_pr=9.50&ti_qu=2&ti_cu=EUR")
    assert {f: ti.text(f) for f in ("ti_orderid", "ti_sku", "ti_name", "ti_category", "ti_price", "ti_quantity",
                                    "ti_currency", "event")} == {
        "ti_orderid": "order-123", "ti_sku": "A-1", "ti_name": "Tasse", "ti_category": "Kitchen", "ti_price": "9.50",
        "ti_quantity": "2", "ti_currency": "EUR", "event": "transaction_item"}


@pytest.mark.parametrize("param", ["ue_px", "ue_px unpadded", "ue_pr"])
def test_a_self_describing_event_takes_its_schema_from_the_event(validator: SchemaValidator, param: str) -> None:
    value = orjson.dumps(UNSTRUCT).decode() if param == "ue_pr" else _b64(UNSTRUCT, pad=param == "ue_px")
    event = _one(validator, {"e": "ue", param.split()[0]: value})
    assert (event.get("event"), event.get("event_vendor"), event.get("event_name"), event.get("event_format"),
            event.get("event_version")) == ("unstruct", "com.acme", "button_click", "jsonschema", "1-0-0")
    assert orjson.loads(event.text("unstruct_event")) == UNSTRUCT


@pytest.mark.parametrize("param", ["cx", "co"])
def test_contexts_come_out_in_enrichs_1_0_1_wrapper(validator: SchemaValidator, param: str) -> None:
    value = orjson.dumps(CONTEXTS).decode() if param == "co" else _b64(CONTEXTS)
    event = _one(validator, {"e": "pv", param: value})
    assert orjson.loads(event.text("contexts")) == {
        "schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1", "data": [PRODUCT]}


def test_co_wins_over_cx_and_ue_pr_over_ue_px(validator: SchemaValidator) -> None:
    other = {**CONTEXTS, "data": []}
    event = _one(validator, {"e": "ue", "cx": _b64(other), "co": orjson.dumps(CONTEXTS).decode(),
                             "ue_px": _b64({**UNSTRUCT, "data": PRODUCT}), "ue_pr": orjson.dumps(UNSTRUCT).decode()})
    assert orjson.loads(event.text("contexts"))["data"] == [PRODUCT]
    assert event.get("event_name") == "button_click"


def test_urls_are_split_with_snowplows_default_ports(validator: SchemaValidator) -> None:
    event = _one(validator, {"e": "pv", "url": "https://www.acme.com/a%20b/c?q=caf%C3%A9#frag",
                             "refr": "http://other.org:81/x"})
    assert [event.get(f"page_url{p}") for p in ("scheme", "host", "port", "path", "query", "fragment")] == [
        "https", "www.acme.com", 443, "/a%20b/c", "q=caf%C3%A9", "frag"]
    assert [event.get(f"refr_url{p}") for p in ("scheme", "host", "port", "path", "query", "fragment")] == [
        "http", "other.org", 81, "/x", None, None]
    assert explode("http://acme.com").port == 80  # type: ignore[union-attr]
    assert explode("no scheme at all") is None


def test_campaign_fields_and_click_ids_come_from_the_page_url(validator: SchemaValidator) -> None:
    url = ("https://www.acme.com/?utm_medium=email&utm_source=news%20letter&utm_term=mugs&utm_content=top"
           "&utm_campaign=spring&msclkid=m-1&gclid=g-1&_sp=d-9.1700000000000")
    event = _one(validator, {"e": "pv", "url": url})
    assert {f: event.get(f) for f in ("mkt_medium", "mkt_source", "mkt_term", "mkt_content", "mkt_campaign",
                                      "mkt_clickid", "mkt_network", "refr_domain_userid")} == {
        "mkt_medium": "email", "mkt_source": "news letter", "mkt_term": "mugs", "mkt_content": "top",
        "mkt_campaign": "spring", "mkt_clickid": "g-1", "mkt_network": "Google", "refr_domain_userid": "d-9"}
    assert event.text("refr_dvce_tstamp") == "2023-11-14 22:13:20.000"


def test_referer_classification_follows_snowplows_lookup() -> None:
    table = referers.Referers({"search": {"Google": {"domains": ["google.com", "www.google.co.uk"],
                                                     "parameters": ["q"]}},
                               "email": {"Orange": {"domains": ["orange.fr/webmail"]}}})

    def classify(url: str) -> dict[str, str]:
        return table.classify(explode(url), "www.acme.com")  # type: ignore[arg-type]

    assert classify("https://www.google.co.uk/search?x=1&q=caf%C3%A9+cr%C3%A8me") == {
        "refr_medium": "search", "refr_source": "Google", "refr_term": "café crème"}
    assert classify("https://news.google.com/") == {"refr_medium": "search", "refr_source": "Google"}
    assert classify("https://orange.fr/webmail/read.html") == {"refr_medium": "email", "refr_source": "Orange"}
    assert classify("https://orange.fr/other") == {"refr_medium": "unknown"}
    assert classify("https://www.acme.com/prev") == {"refr_medium": "internal"}
    assert classify("ftp://google.com/") == {}


def test_the_user_agent_is_parsed_into_browser_and_os_fields(validator: SchemaValidator) -> None:
    chrome = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0.6099.71 Safari/537.36")
    event = _one(validator, "e=pv", user_agent=chrome)
    assert {f: event.get(f) for f in ("br_family", "br_name", "br_version", "os_family", "os_name")} == {
        "br_family": "Chrome", "br_name": "Chrome 120", "br_version": "120.0.6099", "os_family": "Windows",
        "os_name": "Windows 10"}


def test_derived_tstamp_is_computed_as_enrich_does() -> None:
    collector = "2024-03-01 12:00:10.000"
    assert derived_tstamp("2024-03-01 11:00:05.000", "2024-03-01 11:00:00.000", collector, None) == \
        "2024-03-01 12:00:05.000"
    assert derived_tstamp("2024-03-01 11:00:00.000", "2024-03-01 11:00:05.000", collector, None) == collector
    assert derived_tstamp(None, "2024-03-01 11:00:00.000", collector, None) == collector
    assert derived_tstamp("2024-03-01 11:00:05.000", "2024-03-01 11:00:00.000", collector,
                          "2020-01-01 00:00:00.000") == "2020-01-01 00:00:00.000"


def test_true_and_derived_tstamps_in_an_event(validator: SchemaValidator) -> None:
    event = _one(validator, "e=pv&dtm=1709294000000&stm=1709294001500&ttm=1709290000000")
    assert event.text("true_tstamp") == event.text("derived_tstamp") == "2024-03-01 10:46:40.000"
    event = _one(validator, "e=pv&dtm=1709294000000&stm=1709294001500")
    assert event.text("derived_tstamp") == "2024-03-01 11:59:58.750"  # collector 12:00:00.250 minus 1.5 s


def test_the_fingerprint_is_md5_over_the_sorted_parameters_minus_the_excluded_ones() -> None:
    import hashlib

    assert fingerprint({"e": "pv", "aid": "a"}) == hashlib.md5(b"aid\x1fa\x1fe\x1fpv\x1f").hexdigest()
    assert fingerprint({"e": "pv", "aid": "a", "eid": "x", "stm": "1", "cv": "c", "nuid": "n"}) == \
        fingerprint({"aid": "a", "e": "pv"})
    assert fingerprint({"e": "pv", "dtm": "1"}) != fingerprint({"e": "pv", "dtm": "2"})


def test_a_resent_event_keeps_its_fingerprint(validator: SchemaValidator) -> None:
    first = _one(validator, "e=pv&eid=41f38388-e87e-49ea-9766-a2c8ed916b43&stm=1&dtm=5")
    again = _one(validator, "e=pv&eid=41f38388-e87e-49ea-9766-a2c8ed916b43&stm=2&dtm=5")
    assert first.event_fingerprint == again.event_fingerprint


# --- bad rows ---------------------------------------------------------------------------------------------


def _post(body: bytes, query: str = "") -> CollectorPayload:
    return CollectorPayload("POST", TP2_PATH, query, body, "application/json; charset=UTF-8", ARRIVED,
                            ip="1.2.3.4", network_userid="c9a9e7f0-4e7c-4b36-9d43-0b4e3b1e6b11")


def _batch(*events: dict[str, str], schema: str = "1-0-4") -> bytes:
    return orjson.dumps({"schema": f"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/{schema}",
                         "data": list(events)})


def test_an_unknown_path_is_an_adapter_failure_that_keeps_the_request(validator: SchemaValidator) -> None:
    [row] = _bad(validator, CollectorPayload("GET", "/com.acme/v9", "e=pv&aid=x", None, None, ARRIVED))
    assert row["schema"] == "iglu:com.snowplowanalytics.snowplow.badrows/adapter_failures/jsonschema/1-0-0"
    assert row["data"]["failure"]["vendor"] == "com.acme" and row["data"]["failure"]["version"] == "v9"
    assert row["data"]["payload"]["querystring"] == [{"name": "e", "value": "pv"}, {"name": "aid", "value": "x"}]


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2"])
def test_an_unparseable_body_is_a_collector_payload_format_violation(validator: SchemaValidator, body: bytes) -> None:
    payload = _post(body)
    [row] = _bad(validator, payload)
    assert row["schema"].endswith("/collector_payload_format_violation/jsonschema/1-0-0")
    assert CollectorPayload.from_json(orjson.loads(row["data"]["payload"])) == payload  # nothing lost


def test_a_body_that_fails_payload_data_is_a_tracker_protocol_violation(validator: SchemaValidator) -> None:
    [row] = _bad(validator, _post(_batch({"e": "pv", "p": "web", "tv": 3})))  # tv must be a string
    assert row["schema"].endswith("/tracker_protocol_violations/jsonschema/1-0-1")
    [message] = row["data"]["failure"]["messages"]
    assert message["schemaKey"] == "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
    assert message["error"]["error"] == "ValidationError"
    [row] = _bad(validator, _post(orjson.dumps({"schema": "iglu:com.acme/other/jsonschema/1-0-0", "data": []})))
    assert "payload_data" in row["data"]["failure"]["messages"][0]["expectation"]


def test_a_bad_event_does_not_take_its_batch_with_it(validator: SchemaValidator) -> None:
    good = {"e": "pv", "p": "web", "tv": "py-1.0", "url": "https://acme.com/"}
    adapted = adapt(_post(_batch(good, {**good, "e": "zz", "dtm": "soon"}, {**good, "p": "pc"})), validator)
    assert len(adapted.events) == 2
    [row] = [b.to_dict() for b in adapted.bad_rows]
    assert row["schema"].endswith("/tracker_protocol_violations/jsonschema/1-0-1")
    assert {m["field"] for m in row["data"]["failure"]["messages"]} == {"data[1].e", "data[1].dtm"}
    assert {"name": "e", "value": "zz"} in row["data"]["payload"]["querystring"]
    assert row["data"]["payload"]["body"] is None  # only the failed event, so a replay does not repeat the others


def test_querystring_parameters_apply_to_every_event_of_a_batch(validator: SchemaValidator) -> None:
    base = {"p": "web", "tv": "py-1.0"}
    adapted = adapt(_post(_batch({**base, "e": "pv"}, {**base, "e": "pp"}), query="aid=from-query"), validator)
    assert [parse_line(line).get("app_id") for line in adapted.events] == ["from-query", "from-query"]  # type: ignore[union-attr]


@pytest.mark.parametrize(("query", "field"), [
    ("e=pv&cx=%%%", "cx"), ("e=ue", "ue_px"), ("e=ue&ue_pr=%7B%7D", "ue_pr"), ("aid=x", "e"),
    ("e=pv&cx=" + base64.b64encode(b'{"schema":"iglu:x/y/jsonschema/1-0-0","data":[]}').decode(), "cx"),
    ("e=pv&page=" + "x" * 2001, "page_title"), ("e=pv&vid=99999999999", "vid"), ("e=pv&url=http://[::1", "url")])
def test_an_event_that_breaks_the_protocol_names_the_parameter(validator: SchemaValidator, query: str,
                                                               field: str) -> None:
    [row] = _bad(validator, get(query))
    assert row["schema"].endswith("/tracker_protocol_violations/jsonschema/1-0-1")
    assert field in {m["field"] for m in row["data"]["failure"]["messages"]}


def test_an_empty_get_is_a_violation_not_a_crash(validator: SchemaValidator) -> None:
    [row] = _bad(validator, get(""))
    assert row["data"]["failure"]["messages"][0]["field"] == "querystring"


def test_the_raw_record_reads_back_exactly() -> None:
    payload = CollectorPayload("POST", TP2_PATH, "a=%C3%BC", b"\xff{\\x41}", "application/json",
                               datetime(2024, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC), ip="::1", user_agent="ua",
                               referer="https://r/", network_userid="n", hostname="h",
                               headers=(("X-A", "1"), ("X-A", "2")), collector="c")
    assert CollectorPayload.from_json(orjson.loads(orjson.dumps(payload.to_json()))) == payload
