"""Snowplow's Node tracker (``@snowplow/node-tracker``, installed by scripts/node-tracker) sends every event type
it has, over GET and POST, to a real local HTTP server; each event's enriched fields and verdict are checked."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from connectors.collector.payload import TP2_PATH
from tests.ci import unavailable
from tests.integration.collector.capture import NETWORK_USERID, capture_server, enriched
from tests.unit.connectors.collector.conftest import ROOT, validator_for
from toolkit.pipeline.validate import SchemaViolations, Valid

MODULES = ROOT / ".cache" / "node-tracker" / "node_modules"
DRIVER = Path(__file__).with_name("node_tracker_send.cjs")


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed, so @snowplow/node-tracker cannot run (install Node.js 18 or newer)")
    if not (MODULES / "@snowplow" / "node-tracker").is_dir():
        done = subprocess.run(["bash", str(ROOT / "scripts" / "node-tracker")], capture_output=True, text=True)
        if done.returncode != 0 or not (MODULES / "@snowplow" / "node-tracker").is_dir():
            unavailable(f"@snowplow/node-tracker is not installed and scripts/node-tracker could not install it: "
                        f"{(done.stdout + done.stderr).strip()[-500:]}")
    return node


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_node_tracker_event_gets_its_enriched_fields(method: str, iglu_central: Path) -> None:
    node = _node()
    with capture_server() as (capture, port):
        done = subprocess.run([node, str(DRIVER), str(port), method], env={**os.environ, "NODE_PATH": str(MODULES)},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert {p.path for p in capture.payloads} == ({"/i"} if method == "get" else {TP2_PATH})
    by_event, verdicts = enriched(capture.payloads, validator_for(iglu_central))
    assert sorted((name, len(events)) for name, events in by_event.items()) == [
        ("button_click", 2), ("event", 1), ("page_ping", 1), ("page_view", 1), ("screen_view", 1),
        ("transaction", 1), ("transaction_item", 1)]
    every = [e for events in by_event.values() for e in events]
    for event in every:
        assert (event.get("app_id"), event.get("platform"), event.get("name_tracker")) == ("shop-🛒", "srv", "node-ns")
        assert event.get("v_tracker").startswith("node-")
        assert (event.get("user_id"), event.get("domain_userid"), event.get("domain_sessionidx"),
                event.get("domain_sessionid"), event.get("network_userid")) == (
            "jürgen@acme", "duid-1", 3, "7c0a7a52-1f3a-4b8e-9a83-2b1c6a3f5d11", NETWORK_USERID)
        assert (event.get("dvce_screenwidth"), event.get("br_viewheight"), event.get("br_colordepth"),
                event.get("os_timezone"), event.get("br_lang")) == (1920, 600, "24", "Europe/Berlin", "de-DE")
        assert (event.get("br_family"), event.get("br_version"), event.get("os_family")) == (
            "Safari", "17.1", "Mac OS X")
        assert event.get("dvce_sent_tstamp") is not None and event.get("derived_tstamp") is not None

    [pv] = by_event["page_view"]
    assert (pv.get("page_title"), pv.get("page_urlpath"), pv.get("mkt_source"), pv.get("mkt_clickid"),
            pv.get("mkt_network")) == ("Café – Tassen 😀", "/caf%C3%A9", "newsletter", "M-7", "Microsoft")
    assert (pv.get("refr_medium"), pv.get("refr_source"), pv.get("refr_term")) == ("search", "Bing", "tasse")
    assert [e.data for e in pv.contexts.entities] == [{"sku": "TASSE-1", "name": "Tasse « Ünïcödé » ☕", "price": 12.5}]
    [pp] = by_event["page_ping"]
    assert [pp.get(f) for f in ("pp_xoffset_min", "pp_xoffset_max", "pp_yoffset_min", "pp_yoffset_max")] == [
        5, 10, 20, 900]  # (the Node tracker leaves out an offset of 0)
    [se] = by_event["event"]
    assert (se.get("se_category"), se.get("se_action"), se.get("se_label"), se.get("se_property"),
            se.get("se_value")) == ("shop", "add-to-basket", "Tasse 😀", "colour", 12.5)
    [tr] = by_event["transaction"]
    assert {f: tr.text(f) for f in ("tr_orderid", "tr_total", "tr_tax", "tr_shipping", "tr_city", "tr_currency")} == {
        "tr_orderid": "order-7", "tr_total": "25", "tr_tax": "4.75", "tr_shipping": "3.5", "tr_city": "Köln",
        "tr_currency": "EUR"}
    [ti] = by_event["transaction_item"]
    assert {f: ti.text(f) for f in ("ti_sku", "ti_name", "ti_price", "ti_quantity", "ti_category")} == {
        "ti_sku": "TASSE-1", "ti_name": "Tasse ☕", "ti_price": "12.5", "ti_quantity": "2", "ti_category": "Küche"}
    [sv] = by_event["screen_view"]
    assert sv.unstruct_event.entities[0].data == {"name": "Startseite", "id": "screen-1"}

    invalid = [e for e in by_event["button_click"] if "id" not in e.unstruct_event.entities[0].data]
    assert len(invalid) == 1 and isinstance(verdicts[invalid[0].event_id], SchemaViolations)
    assert all(isinstance(verdicts[e.event_id], Valid) for e in every if e is not invalid[0]), {
        e.get("event_name"): verdicts[e.event_id] for e in every}
