"""The Python ``snowplow-tracker`` sends every event type it has, over GET and POST, to a real local HTTP
server; the captured requests go through the adapter, and each event's enriched fields and its verdict
(the pipeline's entity validation) are checked."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from snowplow_tracker import (
    Emitter,
    PagePing,
    PageView,
    ScreenView,
    SelfDescribing,
    SelfDescribingJson,
    StructuredEvent,
    Subject,
    Tracker,
)

from connectors.collector.payload import TP2_PATH
from tests.integration.collector.capture import NETWORK_USERID, capture_server, enriched
from tests.unit.connectors.collector.conftest import validator_for
from toolkit.contract.event import EnrichedEvent
from toolkit.pipeline.validate import SchemaViolations, Valid

PAGE = "https://shop.acme.com/café?utm_source=newsletter&utm_medium=email&utm_campaign=été&gclid=G-42"
REFERRER = "https://www.google.com/search?q=tasse+caf%C3%A9"
SCREEN_ID = "5c5d1a43-9f4b-4f65-8cf0-8f1f0b7c2a10"
TRUE_MS = 1_700_000_000_123
PRODUCT = SelfDescribingJson("iglu:com.acme/product/jsonschema/1-0-0",
                             {"sku": "TASSE-1", "name": "Tasse « Ünïcödé » ☕", "price": 12.5})


def _send(method: str, port: int) -> None:
    emitter = Emitter("127.0.0.1", protocol="http", port=port, method=method, batch_size=1 if method == "get" else 50)
    subject = (Subject().set_platform("web").set_user_id("jürgen@acme").set_screen_resolution(1920, 1080)
               .set_viewport(800, 600).set_color_depth(24).set_timezone("Europe/Berlin").set_lang("de-DE")
               .set_domain_user_id("duid-1").set_useragent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                                                           "(KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36"))
    tracker = Tracker("py-ns", emitter, subject=subject, app_id="shop-🛒", encode_base64=method == "get")
    tracker.track(PageView(PAGE, "Café – Tassen 😀", REFERRER, context=[PRODUCT], true_timestamp=TRUE_MS))
    tracker.track(PagePing(PAGE, "Café – Tassen 😀", REFERRER, 0, 10, 20, 900))
    tracker.track(StructuredEvent("shop", "add-to-basket", "Tasse 😀", "colour", 12.5, context=[PRODUCT]))
    tracker.track(SelfDescribing(SelfDescribingJson("iglu:com.acme/button_click/jsonschema/1-0-0",
                                                    {"id": "buy", "label": "Jetzt kaufen – ✓"})))
    tracker.track(SelfDescribing(SelfDescribingJson("iglu:com.acme/button_click/jsonschema/1-0-0",
                                                    {"label": "no id"})))  # invalid: its schema requires id
    tracker.track(ScreenView(SCREEN_ID, "Startseite"))
    # the tracker's only ecommerce API (deprecated in 1.x, still sent as tr and ti events)
    tracker.track_ecommerce_transaction("order-7", 25.0, "web-shop", 4.75, 3.5, "Köln", "NRW", "DE", "EUR", items=[
        {"sku": "TASSE-1", "price": 12.5, "quantity": 2, "name": "Tasse ☕", "category": "Küche"}])
    emitter.flush()


def _events(method: str, iglu_central: Path) -> tuple[list, dict[str, list[EnrichedEvent]], dict[str, object]]:
    with capture_server() as (capture, port):
        _send(method, port)
    return capture.payloads, *enriched(capture.payloads, validator_for(iglu_central))


@pytest.mark.filterwarnings("ignore:track_ecommerce_transaction")
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_python_tracker_event_gets_its_enriched_fields(method: str, iglu_central: Path) -> None:
    payloads, by_event, verdicts = _events(method, iglu_central)
    assert {p.path for p in payloads} == ({"/i"} if method == "get" else {TP2_PATH})
    assert sorted((name, len(events)) for name, events in by_event.items()) == [
        ("button_click", 2), ("event", 1), ("page_ping", 1), ("page_view", 1), ("screen_view", 1),
        ("transaction", 1), ("transaction_item", 1)]
    every = [e for events in by_event.values() for e in events]
    for event in every:  # what the subject and the tracker set on every event
        assert (event.get("app_id"), event.get("platform"), event.get("name_tracker")) == ("shop-🛒", "web", "py-ns")
        assert event.get("v_tracker").startswith("py-")
        assert (event.get("user_id"), event.get("domain_userid"), event.get("network_userid")) == (
            "jürgen@acme", "duid-1", NETWORK_USERID)
        assert (event.get("dvce_screenwidth"), event.get("dvce_screenheight"), event.get("br_viewwidth"),
                event.get("br_viewheight"), event.get("br_colordepth")) == (1920, 1080, 800, 600, "24")
        assert (event.get("os_timezone"), event.get("br_lang")) == ("Europe/Berlin", "de-DE")
        assert (event.get("br_family"), event.get("br_version"), event.get("os_family")) == (
            "Chrome", "121.0.0", "Linux")
        assert event.get("user_ipaddress") == "127.0.0.1"
        assert event.get("dvce_created_tstamp") is not None and event.get("derived_tstamp") is not None
        assert len(event.get("event_fingerprint")) == 32
    assert len({e.event_fingerprint for e in every}) == len(every)

    [pv] = by_event["page_view"]
    assert pv.text("true_tstamp") == pv.text("derived_tstamp") == "2023-11-14 22:13:20.123"
    assert (pv.get("page_url"), pv.get("page_title"), pv.get("page_referrer")) == (PAGE, "Café – Tassen 😀", REFERRER)
    assert [pv.get(f"page_url{p}") for p in ("scheme", "host", "port", "path")] == [
        "https", "shop.acme.com", 443, "/café"]
    assert (pv.get("mkt_source"), pv.get("mkt_medium"), pv.get("mkt_campaign"), pv.get("mkt_clickid"),
            pv.get("mkt_network")) == ("newsletter", "email", "été", "G-42", "Google")
    assert (pv.get("refr_urlhost"), pv.get("refr_medium"), pv.get("refr_source"), pv.get("refr_term")) == (
        "www.google.com", "search", "Google", "tasse café")
    assert [(e.key.uri, e.data) for e in pv.contexts.entities] == [(PRODUCT.schema, PRODUCT.data)]

    [pp] = by_event["page_ping"]
    assert [pp.get(f) for f in ("pp_xoffset_min", "pp_xoffset_max", "pp_yoffset_min", "pp_yoffset_max")] == [
        0, 10, 20, 900]

    [se] = by_event["event"]
    assert (se.get("event"), se.get("se_category"), se.get("se_action"), se.get("se_label"), se.get("se_property"),
            se.get("se_value")) == ("struct", "shop", "add-to-basket", "Tasse 😀", "colour", 12.5)
    assert se.get("event_vendor") == "com.google.analytics"

    good, invalid = sorted(by_event["button_click"], key=lambda e: "id" not in e.unstruct_event.entities[0].data)
    assert good.unstruct_event.entities[0].data == {"id": "buy", "label": "Jetzt kaufen – ✓"}
    assert (good.get("event"), good.get("event_vendor"), good.get("event_version")) == ("unstruct", "com.acme",
                                                                                        "1-0-0")
    assert isinstance(verdicts[good.event_id], Valid)
    assert isinstance(verdicts[invalid.event_id], SchemaViolations)
    assert "id" in orjson.dumps(verdicts[invalid.event_id].messages).decode()  # type: ignore[union-attr]

    [sv] = by_event["screen_view"]
    assert sv.get("event_vendor") in ("com.snowplowanalytics.snowplow", "com.snowplowanalytics.mobile")
    assert sv.unstruct_event.entities[0].data == {"id": SCREEN_ID, "name": "Startseite"}

    [tr] = by_event["transaction"]
    assert {f: tr.text(f) for f in ("tr_orderid", "tr_affiliation", "tr_total", "tr_tax", "tr_shipping", "tr_city",
                                    "tr_state", "tr_country", "tr_currency")} == {
        "tr_orderid": "order-7", "tr_affiliation": "web-shop", "tr_total": "25.0", "tr_tax": "4.75",
        "tr_shipping": "3.5", "tr_city": "Köln", "tr_state": "NRW", "tr_country": "DE", "tr_currency": "EUR"}
    [ti] = by_event["transaction_item"]
    assert {f: ti.text(f) for f in ("ti_orderid", "ti_sku", "ti_name", "ti_category", "ti_price", "ti_quantity",
                                    "ti_currency")} == {
        "ti_orderid": "order-7", "ti_sku": "TASSE-1", "ti_name": "Tasse ☕", "ti_category": "Küche",
        "ti_price": "12.5", "ti_quantity": "2", "ti_currency": "EUR"}

    for event in every:
        if event.event_id != invalid.event_id:
            assert isinstance(verdicts[event.event_id], Valid), (event.get("event_name"), verdicts[event.event_id])
