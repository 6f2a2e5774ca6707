"""Real trackers against real processes: ``sptk micro`` and ``sptk pipeline run`` with the collector as source.

The Python tracker (``snowplow-tracker``) sends every event type it has, over GET and over
POST (``examples/trackers/python_tracker.py``); the checks read Micro's API, or the Kafka
topics of a sidecar-mode pipeline, and hold each event to what was sent: its type and
schema, its entities, accents and numbers, and the one event that breaks its schema in bad
with the reason.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.collector.conftest import resolver_with_iglu_central
from tests.integration.pipeline.conftest import (
    base_config,
    free_port,
    prefix,
    read_topic,
    start,
    wait_for,
    write_config,
)

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "examples" / "trackers"))
from python_tracker import CLICK, PRODUCT, TITLE, send_all  # noqa: E402

__all__ = ["prefix"]  # the fixture, imported so pytest finds it

#: the event types one send_all gives, valid ones (the invalid click is the twelfth event)
GOOD_TYPES = Counter({"page_view": 1, "page_ping": 1, "struct": 1, "unstruct": 6, "transaction": 1,
                      "transaction_item": 1})
SENT = 12


def api(port: int, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     method="GET" if body is None else "POST")
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())


def status(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:  # not listening yet
        return 0


class Process:
    def __init__(self, run: subprocess.Popen[str], port: int) -> None:
        self.run, self.port = run, port

    def stop(self) -> tuple[int, str, str]:
        self.run.send_signal(signal.SIGTERM)
        out, err = self.run.communicate(timeout=60)
        return self.run.returncode, out, err


def started(args: list[str], port: int) -> Process:
    run = start(*args)
    process = Process(run, port)
    wait_for(lambda: run.poll() is not None or status(port, "/health") == 200, 60, "the collector to listen")
    assert run.poll() is None, run.communicate()[1]
    return process


@pytest.fixture
def resolver(tmp_path: Path, iglu_central: Path) -> Path:
    return resolver_with_iglu_central(tmp_path, iglu_central)


@pytest.fixture
def micro(resolver: Path) -> Iterator[Process]:
    port = free_port()
    process = started(["micro", "--port", str(port), "--resolver", str(resolver)], port)
    yield process
    process.stop()


def check_good(items: list[dict[str, Any]], app_id: str) -> None:
    assert Counter(i["eventType"] for i in items) == GOOD_TYPES
    assert {i["event"]["app_id"] for i in items} == {app_id}
    view = next(i for i in items if i["eventType"] == "page_view")
    assert view["event"]["page_title"] == TITLE and view["event"]["user_id"] == "tester-1"
    assert view["event"]["mkt_source"] == "news" and view["event"]["mkt_campaign"] == "spring"
    assert view["contexts"] == [PRODUCT]
    assert view["event"]["contexts_com_acme_product_1"] == [{"sku": "sku-é1", "name": "Crème brûlée", "price": 4.5}]
    structured = next(i for i in items if i["eventType"] == "struct")
    assert structured["event"]["se_value"] == 42.5 and structured["event"]["se_label"] == "sku-é1"
    click = next(i for i in items if i["schema"] == CLICK)
    assert click["event"]["unstruct_event_com_acme_button_click_1"] == {"id": "buy", "label": "Acheter"}
    assert click["contexts"] == [PRODUCT]


def check_bad(items: list[dict[str, Any]]) -> None:
    assert len(items) == 1
    assert CLICK in items[0]["errors"][0] and "'colour' was unexpected" in items[0]["errors"][0]
    assert "/schema_violations/" in items[0]["errors"][1]
    assert items[0]["collectorPayload"]["path"] in ("/i", "/com.snowplowanalytics.snowplow/tp2")


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_python_tracker_s_every_event_type_reaches_micro_good_and_bad(micro: Process, method: str) -> None:
    result = send_all(f"http://127.0.0.1:{micro.port}", method, f"shop-{method}")
    assert result["failed"] == 0 and result["sent"] == SENT
    assert api(micro.port, "/micro/all") == {"total": SENT, "good": SENT - 1, "bad": 1}
    check_good(api(micro.port, "/micro/good"), f"shop-{method}")
    check_bad(api(micro.port, "/micro/bad"))
    newest = api(micro.port, "/micro/good", {"limit": 1})
    assert [i["eventType"] for i in newest] == ["transaction_item"]  # newest first, as Micro
    views = api(micro.port, "/micro/good", {"event_type": "page_view", "contexts": [PRODUCT]})
    assert len(views) == 1
    assert len(api(micro.port, "/micro/good", {"schema": CLICK, "contexts": [PRODUCT]})) == 1
    assert api(micro.port, "/micro/good", {"contexts": ["iglu:com.acme/nothing/jsonschema/1-0-0"]}) == []
    vendor = api(micro.port, "/micro/bad", {"vendor": "com.snowplowanalytics.snowplow",
                                            "version": "tp1" if method == "get" else "tp2"})
    assert len(vendor) == 1
    assert api(micro.port, "/micro/reset") == {"total": 0, "good": 0, "bad": 0}
    assert api(micro.port, "/micro/good") == []


def test_micro_serves_the_resolver_s_schemas_and_says_what_it_does_not_know(micro: Process) -> None:
    schema = api(micro.port, "/micro/iglu/com.acme/button_click/jsonschema/1-0-0")
    assert schema["self"] == {"vendor": "com.acme", "name": "button_click", "format": "jsonschema",
                              "version": "1-0-0"}
    assert status(micro.port, "/micro/iglu/com.acme/nothing/jsonschema/1-0-0") == 404
    assert status(micro.port, "/micro/iglu/not-a-key") == 404
    assert status(micro.port, "/micro/nothing") == 404
    assert status(micro.port, "/micro/all") == 200


def check_topics(bootstrap: str, prefix: str, app_ids: list[str], requests: int) -> None:
    enriched = [json.loads(m.value) for m in read_topic(bootstrap, f"{prefix}.enriched", expect=(SENT - 1) * 2)]
    for app_id in app_ids:
        mine = [e for e in enriched if e["app_id"] == app_id]
        assert Counter(e["event"] for e in mine) == GOOD_TYPES
        view = next(e for e in mine if e["event"] == "page_view")
        assert view["page_title"] == TITLE and view["contexts_com_acme_product_1"][0]["name"] == "Crème brûlée"
    bad = [json.loads(m.value) for m in read_topic(bootstrap, f"{prefix}.bad", expect=2)]
    assert len(bad) == 2 and all("/schema_violations/" in b["schema"] for b in bad)
    raw = read_topic(bootstrap, f"{prefix}.raw", expect=requests)
    assert len(raw) == requests  # one message per request: the payload as received
    assert {json.loads(m.value)["path"] for m in raw} == {"/i", "/com.snowplowanalytics.snowplow/tp2"}


def test_the_same_events_in_sidecar_mode_reach_the_kafka_topics(tmp_path: Path, resolver: Path, kafka_bootstrap: str,
                                                                prefix: str) -> None:
    port = free_port()
    config = write_config(tmp_path / "pipeline.yaml", base_config(
        prefix, kafka_bootstrap, source={"kind": "collector"}, resolver=resolver,
        sidecar={"port": port}))
    process = started(["pipeline", "run", "--config", str(config), "--create-topics"], port)
    try:
        get = send_all(f"http://127.0.0.1:{port}", "get", "sidecar-get")
        post = send_all(f"http://127.0.0.1:{port}", "post", "sidecar-post")
        assert get["failed"] == 0 and post["failed"] == 0
    finally:
        code, out, err = process.stop()
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["in"] == 2 * SENT and summary["enriched"] == 2 * (SENT - 1) and summary["bad"] == 2
    # GET: one request per event; POST: the tracker's batches of 4
    check_topics(kafka_bootstrap, prefix, ["sidecar-get", "sidecar-post"], SENT + SENT // 4)


def test_micro_with_kafka_output_sends_everything_through_the_pipeline_too(resolver: Path, kafka_bootstrap: str,
                                                                          prefix: str) -> None:
    port = free_port()
    process = started(["micro", "--port", str(port), "--resolver", str(resolver), "--output",
                       f"kafka:{kafka_bootstrap}", "--topic-prefix", prefix], port)
    try:
        send_all(f"http://127.0.0.1:{port}", "get", "micro-get")
        send_all(f"http://127.0.0.1:{port}", "post", "micro-post")
        assert api(port, "/micro/all") == {"total": 2 * SENT, "good": 2 * (SENT - 1), "bad": 2}
    finally:
        code, _, err = process.stop()
    assert code == 0, err
    check_topics(kafka_bootstrap, prefix, ["micro-get", "micro-post"], SENT + SENT // 4)
