"""The HTTP sink's pure parts: batching, body templates, idempotency keys, backoff, Retry-After, rate limit, config.

Clocks and randomness are injected, so these need no socket and no sleep; what talks to a
real server and a real broker is in tests/integration/sinks/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import orjson
import pytest

from connectors.sinks.http.batching import Batcher
from connectors.sinks.http.client import Backoff, TokenBucket, parse_retry_after, retryable
from connectors.sinks.http.config import HttpSinkConfig, TemplateSection
from connectors.sinks.http.templates import SinkEvent, idempotency_key, json_value, render
from toolkit.config.errors import ConfigError
from toolkit.config.field_paths import parse_field_path
from toolkit.config.loading import load_settings, parse_settings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- batching -----------------------------------------------------------------------------------


def test_a_batch_closes_at_its_event_count() -> None:
    b: Batcher[int] = Batcher(3, 10_000, 5.0, Clock())
    assert b.add(1, 10) == [] and b.add(2, 10) == []
    [closed] = b.add(3, 10)
    assert closed.items == [1, 2, 3] and closed.size_bytes == 30 and len(b) == 0


def test_a_batch_closes_before_the_event_that_would_take_it_past_its_bytes() -> None:
    b: Batcher[str] = Batcher(100, 100, 5.0, Clock())
    assert b.add("a", 60) == []
    [closed] = b.add("b", 50)
    assert closed.items == ["a"] and len(b) == 1
    # an event larger than the limit travels alone, closing the open batch first
    first, alone = b.add("huge", 500)
    assert first.items == ["b"] and alone.items == ["huge"] and len(b) == 0


def test_a_batch_is_due_once_its_first_event_has_lingered() -> None:
    clock = Clock()
    b: Batcher[int] = Batcher(100, 10_000, 2.0, clock)
    assert b.due() is None and b.wait_s() is None
    b.add(1, 1)
    clock.now += 1.5
    b.add(2, 1)
    assert b.due() is None and b.wait_s() == pytest.approx(0.5)
    clock.now += 0.5
    due = b.due()
    assert due is not None and due.items == [1, 2] and b.due() is None


def test_flush_hands_out_the_open_batch_whatever_its_age() -> None:
    b: Batcher[int] = Batcher(100, 10_000, 60.0, Clock())
    assert b.flush() is None
    b.add(7, 1)
    flushed = b.flush()
    assert flushed is not None and flushed.items == [7] and b.flush() is None


# -- templates ----------------------------------------------------------------------------------

EVENT = {"event_id": "e1", "event_fingerprint": "f1", "event_name": "add_to_cart", "user_id": "u-9",
         "domain_userid": "d-1", "derived_tstamp": "2024-05-17T10:00:00.000Z", "page_url": "https://shop/x",
         "contexts_com_acme_product_1": [{"sku": "A-1", "price": 12.5}, {"sku": "B-2"}],
         "unstruct_event_com_acme_add_to_cart_1": {"quantity": 2}}


def template(kind: str, **segment: object) -> TemplateSection:
    return TemplateSection.model_validate({"kind": kind, "segment": segment}, strict=False)


def test_json_lines_carry_each_event_and_its_idempotency_key() -> None:
    events = [SinkEvent(EVENT, "e1:f1"), SinkEvent({"event_id": "e2"}, "e2:")]
    body = render(template("ndjson"), events)
    assert body.content_type == "application/x-ndjson"
    lines = body.content.split(b"\n")
    assert lines[-1] == b"" and [orjson.loads(x)["_idempotency_key"] for x in lines[:-1]] == ["e1:f1", "e2:"]
    assert orjson.loads(lines[0])["contexts_com_acme_product_1"][0]["sku"] == "A-1"


def test_a_json_array_holds_the_events_in_order() -> None:
    body = render(template("json_array"), [SinkEvent({"event_id": "a"}, "a"), SinkEvent({"event_id": "b"}, "b")])
    assert body.content_type == "application/json"
    assert orjson.loads(body.content) == [{"event_id": "a", "_idempotency_key": "a"},
                                          {"event_id": "b", "_idempotency_key": "b"}]


def test_a_segment_batch_maps_fields_by_path_and_leaves_absent_ones_out() -> None:
    t = template("segment", event="unstruct_event_com_acme_add_to_cart_1.quantity", user_id="user_id",
                 properties={"sku": "contexts_com_acme_product_1[0].sku",
                             "price": "contexts_com_acme_product_1[1].price", "url": "page_url"})
    body = render(t, [SinkEvent(EVENT, "e1:f1"), SinkEvent({"event_id": "e2", "event_name": "x"}, "e2")])
    [first, second] = orjson.loads(body.content)["batch"]
    assert first == {"type": "track", "event": 2, "userId": "u-9", "anonymousId": "d-1",
                     "timestamp": "2024-05-17T10:00:00.000Z", "messageId": "e1:f1",
                     "properties": {"sku": "A-1", "url": "https://shop/x"}}
    assert second == {"type": "track", "event": None, "messageId": "e2", "properties": {}}


def test_the_idempotency_key_is_event_id_and_fingerprint_or_the_record_position() -> None:
    paths = (parse_field_path("event_id"), parse_field_path("event_fingerprint"))
    assert idempotency_key(EVENT, paths, "t/0@5") == "e1:f1"
    assert idempotency_key({"event_id": "e2"}, paths, "t/0@5") == "e2:"
    assert idempotency_key({"page_url": "x"}, paths, "t/0@5") == "t/0@5"
    assert json_value(EVENT, parse_field_path("contexts_com_acme_product_1[5].sku")) is None


# -- backoff, Retry-After, rate limit -----------------------------------------------------------


def test_backoff_doubles_its_ceiling_up_to_the_maximum_with_full_jitter() -> None:
    top = Backoff(0.5, 4.0, lambda: 1.0)
    assert [top.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    half = Backoff(0.5, 4.0, lambda: 0.5)
    assert half.delay(3) == 1.0
    assert Backoff(0.5, 4.0, lambda: 0.0).delay(5) == 0.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2024, 5, 17, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now.timestamp()) == 7.0
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now.timestamp()) == pytest.approx(30.0)
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now.timestamp()) == 0.0
    assert parse_retry_after("soon", now.timestamp()) is None and parse_retry_after(None, 0) is None


def test_only_timeouts_throttling_and_server_errors_are_retried() -> None:
    assert [s for s in (200, 400, 401, 404, 408, 409, 413, 422, 429, 500, 502, 503) if retryable(s)] == \
        [408, 429, 500, 502, 503]


def test_the_token_bucket_spaces_requests_at_its_rate_after_its_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=2, clock=clock)
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 0.5, 1.0]
    clock.now += 1.0  # the waits above were served: the bucket is empty again at this moment
    assert bucket.reserve() == 0.5
    assert TokenBucket(0.0, 1, clock).reserve() == 0.0


# -- config -------------------------------------------------------------------------------------

MINIMAL = {"kafka": {"bootstrap_servers": "k:9092", "topic_prefix": "prod.acme"},
           "sink": {"name": "crm", "topics": ["prod.acme.enriched"]},
           "http": {"url": "https://crm.example/ingest",
                    "secret_headers": [{"name": "Authorization", "prefix": "Bearer ", "value_env": "CRM_TOKEN"}]}}


def test_a_sink_config_takes_its_credential_from_the_environment_and_defaults_its_names() -> None:
    cfg = parse_settings(MINIMAL, HttpSinkConfig, environ={"CRM_TOKEN": "s3cret"})
    assert cfg.group_id == "sptk-sink-http-crm" and cfg.dead_letter_topic == "prod.acme.dlq.http.crm"
    [header] = cfg.http.secret_headers
    assert header.value.reveal() == "s3cret" and "s3cret" not in repr(cfg)
    assert [p.text for p in cfg.template.idempotency_key] == ["event_id", "event_fingerprint"]


def test_a_credential_written_in_the_file_and_a_misspelt_key_are_refused_at_their_paths(tmp_path: Path) -> None:
    doc = {**MINIMAL, "http": {"url": "https://x", "secret_headers": [{"name": "A", "value": "inline"}]},
           "retry": {"max_attempts": 0, "max_elapsd_s": 3}}
    with pytest.raises(ConfigError) as caught:
        parse_settings(doc, HttpSinkConfig, environ={})
    text = str(caught.value)
    assert "http.secret_headers[A].value: a credential may not be written in a config file" in text
    assert "retry.max_attempts: must be at least 1" in text
    assert "retry.max_elapsd_s: unknown key; did you mean 'max_elapsed_s'?" in text


def test_segment_paths_must_name_canonical_json_keys() -> None:
    doc = {**MINIMAL, "template": {"kind": "segment", "segment": {"event": "unstruct_event.data.x",
                                                                    "properties": {"sku": "contexts_com_a_b_1[].sku",
                                                                                   "u": "page_ulr"}}}}
    with pytest.raises(ConfigError) as caught:
        parse_settings(doc, HttpSinkConfig, environ={"CRM_TOKEN": "t"})
    text = str(caught.value)
    assert "template.segment.event: 'unstruct_event' is not a key of the canonical JSON" in text
    assert "template.segment.properties.sku:" in text and "name an element with [n]" in text
    assert "template.segment.properties.u: unknown field 'page_ulr'; did you mean 'page_url'?" in text


def test_a_sink_config_file_is_overridden_by_sptk_sink_variables(tmp_path: Path) -> None:
    path = tmp_path / "sink.toml"
    path.write_text('[kafka]\nbootstrap_servers = "k:9092"\ntopic_prefix = "p"\n[sink]\nname = "crm"\n'
                    'topics = ["p.enriched"]\n[http]\nurl = "http://127.0.0.1:1/x"\n')
    cfg = load_settings(path, HttpSinkConfig, environ={"SPTK_SINK_HTTP__URL": "http://127.0.0.1:2/y",
                                                       "SPTK_SINK_RETRY__MAX_ATTEMPTS": "3"})
    assert cfg.http.url == "http://127.0.0.1:2/y" and cfg.retry.max_attempts == 3


def test_the_example_sink_config_loads() -> None:
    example = Path(__file__).resolve().parents[4] / "examples" / "sinks" / "http-crm.toml"
    cfg = load_settings(example, HttpSinkConfig, environ={"CRM_API_TOKEN": "t"})
    assert cfg.dead_letter_topic == "prod.acme.snowplow.dlq.http.crm" and cfg.template.kind == "segment"
    assert cfg.template.segment.properties["sku"].text == "contexts_com_acme_product_1[0].sku"
