"""The collector's endpoints over real sockets, through the real pipeline to files (no broker needed).

A ``200`` is checked against what the outputs already hold when it arrives: the files
output confirms a record only once its lines are handed to the OS, so an event that is
not in ``enriched.jsonl`` at the moment of its ``200`` would be a ``200`` sent too early.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable
from pathlib import Path

from connectors.collector.server import PIXEL
from tests.integration.collector.conftest import Running, send

PV = "e=pv&p=web&aid=shop&tv=py-1.1.0&url=https%3A%2F%2Fshop.example%2Fcart%3Fq%3D1&page=Caf%C3%A9"
TP2 = "/com.snowplowanalytics.snowplow/tp2"
PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"


def batch(*events: dict[str, str]) -> bytes:
    return json.dumps({"schema": PAYLOAD_DATA, "data": list(events)}).encode()


def pv(eid: str, **extra: str) -> dict[str, str]:
    return {"e": "pv", "p": "web", "aid": "shop", "tv": "py-1.1.0", "eid": eid, "url": "https://shop.example/",
            **extra}


def by_id(running: Running) -> dict[str, dict]:
    return {e["event_id"]: e for e in running.lines("enriched")}


def test_a_pixel_get_answers_the_gif_with_cors_and_the_cookie_once_its_event_is_written(
        collector: Callable[..., Running]) -> None:
    running = collector()
    eid = str(uuid.uuid4())
    answer = send(running.port, "GET", f"/i?{PV}&eid={eid}", headers={"Origin": "https://shop.example"})
    assert answer.status == 200 and answer.body == PIXEL and answer.headers["Content-Type"] == "image/gif"
    assert answer.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("sp=") and "SameSite=None" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    nuid = cookie.split(";")[0][len("sp="):]
    event = by_id(running)[eid]  # already written when the 200 came
    assert event["network_userid"] == nuid and event["page_title"] == "Café"
    assert event["page_urlpath"] == "/cart" and event["page_urlquery"] == "q=1"
    assert event["user_ipaddress"] == "127.0.0.1"
    raw = running.lines("raw")  # the request as received, not the adapter's TSV
    assert raw[-1]["path"] == "/i" and f"eid={eid}" in raw[-1]["querystring"]
    assert send(running.port, "GET", f"/ice.png?{PV}&eid={uuid.uuid4()}").body == PIXEL


def test_the_cookie_keeps_its_id_names_its_configured_domain_and_the_opt_out_header_drops_id_and_ip(
        collector: Callable[..., Running]) -> None:
    running = collector({"cookie": {"name": "nuid", "domains": ["shop.example"], "max_age_s": 60},
                         "opt_out_header": "SP-Anonymous"})
    eid = str(uuid.uuid4())
    answer = send(running.port, "GET", f"/i?{PV}&eid={eid}",
                  headers={"Cookie": "other=1; nuid=kept-id", "Origin": "https://www.shop.example"})
    assert answer.headers["Set-Cookie"] == ("nuid=kept-id; Max-Age=60; Path=/; Domain=shop.example; SameSite=None; "
                                            "Secure; HttpOnly")
    assert by_id(running)[eid]["network_userid"] == "kept-id"
    anonymous = str(uuid.uuid4())
    answer = send(running.port, "GET", f"/i?{PV}&eid={anonymous}",
                  headers={"Cookie": "nuid=kept-id", "SP-Anonymous": "*", "X-Forwarded-For": "203.0.113.9"})
    assert answer.status == 200 and "Set-Cookie" not in answer.headers
    event = by_id(running)[anonymous]
    assert event.get("network_userid") is None and event.get("user_ipaddress") is None  # canonical JSON leaves them out
    assert "203.0.113.9" not in json.dumps(running.lines("raw")[-1])  # not kept in the raw copy's headers either


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(collector: Callable[..., Running]) -> None:
    untrusted = collector()
    eid = str(uuid.uuid4())
    send(untrusted.port, "GET", f"/i?{PV}&eid={eid}", headers={"X-Forwarded-For": "203.0.113.9"})
    assert by_id(untrusted)[eid]["user_ipaddress"] == "127.0.0.1"
    trusted = collector({"trusted_proxies": ["127.0.0.0/8", "10.0.0.0/8"]})
    eid = str(uuid.uuid4())
    send(trusted.port, "GET", f"/i?{PV}&eid={eid}", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9, 10.1.2.3"})
    assert by_id(trusted)[eid]["user_ipaddress"] == "203.0.113.9"  # the right-most hop that is not a proxy of ours


def test_post_batches_plain_and_gzip_preflight_and_health(collector: Callable[..., Running]) -> None:
    running = collector()
    first, second, third = (str(uuid.uuid4()) for _ in range(3))
    answer = send(running.port, "POST", TP2, batch(pv(first), pv(second)),
                  {"Content-Type": "application/json; charset=UTF-8", "Origin": "https://shop.example"})
    assert answer.status == 200 and answer.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    answer = send(running.port, "POST", TP2, gzip.compress(batch(pv(third))),
                  {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert answer.status == 200
    assert {first, second, third} <= set(by_id(running))
    raw = running.lines("raw")
    assert len(raw) == 2  # one raw message per request, however many events it carries
    assert json.loads(raw[1]["body"])["data"][0]["eid"] == third  # gunzipped
    preflight = send(running.port, "OPTIONS", TP2, headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "content-type"
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    health = send(running.port, "GET", "/health")
    assert health.status == 200 and health.body == b"OK"


def test_size_limits_and_a_zip_bomb_get_413_and_nothing_is_written(collector: Callable[..., Running]) -> None:
    running = collector({"max_body_bytes": 16384})
    big = batch(pv(str(uuid.uuid4()), page="x" * 20000))
    assert send(running.port, "POST", TP2, big, {"Content-Type": "application/json"}).status == 413
    bomb = gzip.compress(b" " * 10_000_000)  # ~10 kB on the wire, under the limit
    answer = send(running.port, "POST", TP2, bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert answer.status == 413 and b"decompresses to more than 16384 bytes" in answer.body
    corrupt = send(running.port, "POST", TP2, b"\x1f\x8bnot gzip", {"Content-Encoding": "gzip"})
    assert corrupt.status == 400
    assert running.lines("raw") == [] and running.lines("bad") == []


def test_any_vendor_path_is_kept_as_an_adapter_failure_and_other_paths_are_404(
        collector: Callable[..., Running]) -> None:
    running = collector()
    answer = send(running.port, "POST", "/com.acme/v1", b'{"hello": "webhook"}', {"Content-Type": "application/json"})
    assert answer.status == 200
    bad = running.lines("bad")
    assert len(bad) == 1 and "/adapter_failures/" in bad[0]["schema"]
    assert bad[0]["data"]["payload"]["vendor"] == "com.acme" and bad[0]["data"]["payload"]["version"] == "v1"
    assert send(running.port, "GET", "/favicon.ico").status == 404
    assert running.lines("enriched") == []


def test_invalid_events_are_accounted_each_event_in_exactly_one_of_enriched_or_bad(
        collector: Callable[..., Running]) -> None:
    running = collector()
    good, invalid = str(uuid.uuid4()), str(uuid.uuid4())
    ue = json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
                     "data": {"schema": "iglu:com.acme/button_click/jsonschema/1-0-0", "data": {"nope": 1}}})
    body = batch(pv(good), {"e": "ue", "p": "web", "tv": "py-1.1.0", "eid": invalid, "ue_pr": ue},
                 {"e": "pv", "p": "web", "tv": "py-1.1.0", "dtm": "not-a-time"})  # a tracker protocol violation
    assert send(running.port, "POST", TP2, body, {"Content-Type": "application/json"}).status == 200
    assert set(by_id(running)) == {good}
    bad = running.lines("bad")
    kinds = sorted(b["schema"].split("/")[1] for b in bad)
    assert kinds == ["schema_violations", "tracker_protocol_violations"]
    assert running.stop() == 0
    summary = running.app.summary
    assert summary["in"] == 3 and summary["enriched"] == 1 and summary["bad"] == 2
    assert summary["bad_by_type"] == {"schema_violations": 1, "tracker_protocol_violations": 1}


def test_a_registry_that_cannot_answer_for_payload_data_gets_503_and_the_retry_after_it_is_back_lands(
        collector: Callable[..., Running], tmp_path: Path) -> None:
    """Not the tracker's fault and not permanent: no bad row, a 503 the tracker retries, nothing written."""
    import functools
    import http.server
    import socket
    import threading

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here until the registry "comes back"
    resolver = tmp_path / "down-resolver.json"  # the fixture writes its own resolver.json
    resolver.write_text(json.dumps({
        "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
        "data": {"cacheSize": 10, "cacheTtl": 1, "repositories": [{
            "name": "a static registry that is down", "priority": 0, "vendorPrefixes": [],
            "connection": {"http": {"uri": f"http://127.0.0.1:{port}"}}}]}}))
    running = collector(iglu={"resolver_config": str(resolver)})
    eid = str(uuid.uuid4())
    refused = send(running.port, "POST", TP2, batch(pv(eid)), {"Content-Type": "application/json"})
    assert refused.status == 503 and refused.headers["Retry-After"] == "1"
    assert b"cannot be checked now" in refused.body and f"127.0.0.1:{port}".encode() in refused.body
    assert running.lines("enriched") == [] and running.lines("bad") == [] and running.lines("raw") == []
    assert send(running.port, "GET", f"/i?{PV}&eid={uuid.uuid4()}").status == 200  # GETs need no payload_data

    registry = Path(__file__).resolve().parents[3] / "examples" / "tracker-protocol"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(registry))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answer = refused
        for _ in range(20):  # the resolver may hold the failed lookup briefly (cacheTtl 1 s)
            answer = send(running.port, "POST", TP2, batch(pv(eid)), {"Content-Type": "application/json"})
            if answer.status == 200:
                break
            __import__("time").sleep(0.5)
        assert answer.status == 200, answer.body
        assert eid in by_id(running) and running.lines("bad") == []
    finally:
        server.shutdown()
