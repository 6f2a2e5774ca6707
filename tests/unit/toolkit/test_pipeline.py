"""The pipeline stages end to end, without sockets: accounting, outputs, headers, keys, routing, privacy, sizes."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter

import orjson
import pytest

from toolkit.contract.profiles.canonical import parse_canonical
from toolkit.contract.samples import SampleSpec, SampleStats, generate
from toolkit.contract.tsv import parse_line
from toolkit.kafka.headers import MessageHeaders
from toolkit.pipeline.fanout import Pipeline, declared_limits, stream_topics
from toolkit.pipeline.outcomes import Filtered, Invalid, Routed, Skipped

from .pipeline_events import CHECKOUT, CLICK, CONSENT, PRODUCT, config, event, line, sdj

CHECKOUT_STREAM = {"name": "checkout", "version": 1, "owner": "payments",
                   "filter": {"schema": "iglu:com.acme/checkout_step/jsonschema/1-*-*"},
                   "projection": ["event_id", "user_id", "unstruct_event_com_acme_checkout_step_1.step"],
                   "partition_key": ["user_id", "domain_userid"]}


def pipeline(**sections: object) -> Pipeline:
    return Pipeline.from_config(config(**sections), pipeline_id="sptk/test config/0123456789abcdef")


def headers(outcome: object, stream: str) -> dict[str, bytes]:
    return {k: v for k, v in next(o for o in outcome.outputs if o.stream == stream).headers}  # type: ignore


def test_every_sample_record_is_exactly_one_of_enriched_or_bad_with_raw_unchanged() -> None:
    stats = SampleStats()
    lines = [x.encode() for x in generate(SampleSpec(events=1500, seed=7), stats)]
    p = pipeline()
    kinds: Counter[str] = Counter()
    bad_types: Counter[str] = Counter()
    for i, raw in enumerate(lines):
        outcome = p.process(raw, f"in.tsv:{i + 1}")
        kinds[outcome.kind] += 1
        streams = [o.stream for o in outcome.outputs]
        assert streams[0] == "raw" and outcome.outputs[0].value == raw  # the bytes, untouched
        if isinstance(outcome, Invalid):
            bad_types[outcome.bad_type] += 1
            assert streams == ["raw", "bad"]
        else:
            assert isinstance(outcome, Routed) and streams == ["raw", "enriched"]
            assert parse_canonical(outcome.outputs[1].value).line == raw.decode()  # lossless canonical JSON
    assert sum(kinds.values()) == stats.lines
    assert kinds["bad"] == sum(stats.parse_failures.values()) + sum(stats.schema_failures.values())
    assert kinds["enriched"] == stats.expected_good
    assert bad_types == {"loader_parsing_error": sum(stats.parse_failures.values()),
                         "schema_violations": sum(stats.schema_failures.values())}


def test_headers_keys_and_topics_follow_the_conventions() -> None:
    cfg = config(kafka={"bootstrap_servers": "k:9092", "topic_prefix": "prod.acme"}, derived=[CHECKOUT_STREAM])
    p = Pipeline.from_config(cfg, pipeline_id="sptk/0.1.0 config/0123456789abcdef")
    e = line(unstruct_event=sdj(CHECKOUT, {"step": 2, "option": "card"}), event="unstruct", user_id="u-9",
             domain_userid="d-7")
    outcome = p.process(e.encode(), "archive/part-0001.gz:42", trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
    assert isinstance(outcome, Routed) and outcome.derived == ("checkout.v1",)
    assert [(o.stream, o.topic, o.key) for o in outcome.outputs] == [
        ("raw", "prod.acme.raw", b"d-7"), ("enriched", "prod.acme.enriched", b"d-7"),
        ("derived.checkout.v1", "prod.acme.derived.checkout.v1", b"u-9")]
    h = headers(outcome, "enriched")
    ev = parse_line(e)
    assert h == {"sp.event_id": ev.event_id.encode(), "sp.schema": CHECKOUT.encode(),
                 "sp.collector_tstamp": b"2026-11-01T10:00:00.123Z", "sp.source": b"archive/part-0001.gz:42",
                 "sp.pipeline": b"sptk/0.1.0 config/0123456789abcdef",
                 "sp.trace_id": b"4bf92f3577b34da6a3ce929d0e0e4736"}
    assert orjson.loads(outcome.outputs[2].value) == {"event_id": ev.event_id, "user_id": "u-9",
                                                      "unstruct_event_com_acme_checkout_step_1": {"step": 2}}
    bad = p.process(b"not\tan\tevent", "in.tsv:3")
    bh = MessageHeaders.from_kafka(bad.outputs[1].headers)
    assert (bh.error_stage, bh.error_class, bh.error_retryable) == ("decode", "FieldNumberMismatch", False)
    assert "wrong number of fields: 3" in (bh.error_message or "") and bh.source == "in.tsv:3"
    assert len(bh.trace_id) == 32 and bad.outputs[1].key is None


def test_derived_streams_filter_project_and_count_their_rules() -> None:
    clicks = {"name": "clicks", "version": 2, "owner": "web", "profile": "python-sdk",
              "filter": {"all": [{"schema": "iglu:com.acme/button_click/jsonschema/1-*-*"},
                                 {"field": "geo_country", "op": "in", "value": ["DE", "FR"]}]}}
    p = pipeline(derived=[CHECKOUT_STREAM, clicks])
    click = p.process(line(unstruct_event=sdj(CLICK, {"id": "buy-now"}), event="unstruct", geo_country="DE").encode(),
                      "s:1")
    assert isinstance(click, Routed) and click.derived == ("clicks.v2",)
    assert click.filtered == (("checkout.v1", "filter"),)
    python_sdk_json = orjson.loads(click.outputs[-1].value)
    assert python_sdk_json["unstruct_event_com_acme_button_click_1"] == {"id": "buy-now"}
    us = p.process(line(unstruct_event=sdj(CLICK, {"id": "buy-now"}), event="unstruct", geo_country="US").encode(),
                   "s:2")
    assert us.derived == () and set(us.filtered) == {("checkout.v1", "filter"), ("clicks.v2", "filter")}


def test_consent_keeps_an_event_out_of_enriched_as_filtered_with_its_rule() -> None:
    p = pipeline(privacy={"enriched": {"require_consent": True,
                                       "consent_schema": "iglu:com.acme/consent/jsonschema/1-*-*"}},
                 derived=[{"name": "all_events", "version": 1, "owner": "x"}])
    without = p.process(line().encode(), "s:1")
    assert isinstance(without, Filtered) and without.rule == "privacy.enriched.require_consent"
    assert [o.stream for o in without.outputs] == ["raw", "derived.all_events.v1"]  # each stream has its own rules
    consented = p.process(line(contexts=[sdj(CONSENT, {"analytics": True, "marketing": False})]).encode(), "s:2")
    assert isinstance(consented, Routed)


def test_pseudonymised_streams_hide_values_in_json_and_keys() -> None:
    p = pipeline(derived=[{"name": "web", "version": 1, "owner": "x", "partition_key": ["user_id"]}],
                 privacy={"web": {"pseudonymise": ["user_id"], "pseudonymisation_key_env": "SPTK_PSEUDONYMISATION_KEY",
                                  "strip_ip": True}})
    outcome = p.process(line(user_id="alice", user_ipaddress="192.0.2.1").encode(), "s:1")
    web = outcome.outputs[-1]
    digest = hmac.new(b"unit-test-key", b"alice", hashlib.sha256).hexdigest()
    assert web.key == digest.encode()
    body = orjson.loads(web.value)
    assert body["user_id"] == digest and "user_ipaddress" not in body
    enriched = orjson.loads(outcome.outputs[1].value)
    assert enriched["user_id"] == "alice" and enriched["user_ipaddress"] == "192.0.2.1"  # other streams untouched


def test_schema_violations_carry_reports_and_the_event() -> None:
    p = pipeline()
    bad_line = line(contexts=[sdj(PRODUCT, {"sku": "X", "price": -1}), sdj("iglu:com.acme/nope/jsonschema/1-0-0", {})])
    outcome = p.process(bad_line.encode(), "s:1")
    assert isinstance(outcome, Invalid) and outcome.bad_type == "schema_violations" and not outcome.quarantined
    row = orjson.loads(outcome.outputs[1].value)
    messages = row["data"]["failure"]["messages"]
    assert [m["schemaKey"] for m in messages] == [PRODUCT, "iglu:com.acme/nope/jsonschema/1-0-0"]
    assert messages[0]["error"]["error"] == "ValidationError"
    assert messages[0]["error"]["dataReports"][0]["path"] == "$.price"
    assert messages[1]["error"]["error"] == "ResolutionError"
    assert row["data"]["payload"]["enriched"]["event_id"] == parse_line(bad_line).event_id
    assert MessageHeaders.from_kafka(outcome.outputs[1].headers).error_class == "SchemaViolation"
    assert "contexts.data[0] (iglu:com.acme/product/jsonschema/1-0-0): $.price" in outcome.reason


def test_records_over_a_topic_limit_become_size_violations() -> None:
    big = line(page_title="x" * 3000)
    small = line()
    limits = {**declared_limits(config()), "raw": 2000, "bad": 4000}
    p = Pipeline.from_config(config(), pipeline_id="t", limits=limits)
    too_big = p.process(big.encode(), "s:1")
    assert isinstance(too_big, Invalid) and too_big.bad_type == "size_violation"
    assert [o.stream for o in too_big.outputs] == ["bad"]  # no raw: it could never be produced
    row = orjson.loads(too_big.outputs[0].value)
    assert row["schema"] == "iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0"
    assert row["data"]["failure"]["maximumAllowedSizeBytes"] == 2000
    assert row["data"]["failure"]["actualSizeBytes"] > 3000
    assert big.startswith(row["data"]["payload"]) and len(row["data"]["payload"]) < len(big)
    assert isinstance(p.process(small.encode(), "s:2"), Routed)
    # raw fits, the enriched JSON does not: raw kept, a size_violation instead of enriched
    p2 = Pipeline.from_config(config(), pipeline_id="t", limits={**limits, "raw": 100_000, "enriched": 1500})
    routed_too_big = p2.process(line(page_title="y" * 1000).encode(), "s:3")
    assert [o.stream for o in routed_too_big.outputs] == ["raw", "bad"]
    assert "enriched message must fit topic enriched" in routed_too_big.reason
    cut = p.process(b"a" * 100, "s:4", size=20_000_000, truncated=True)
    assert cut.bad_type == "size_violation" and orjson.loads(cut.outputs[0].value)["data"]["failure"][
        "actualSizeBytes"] == 20_000_000


def test_a_profile_that_cannot_write_the_event_gives_a_generic_error() -> None:
    p = pipeline(output={"enriched_profile": "go-sdk"})
    outcome = p.process(line(dvce_created_tstamp="-0001-01-01 00:00:00").encode(), "s:1")
    assert isinstance(outcome, Invalid) and outcome.bad_type == "generic_error" and outcome.stage == "render"
    assert [o.stream for o in outcome.outputs] == ["raw", "bad"]


def test_replay_runs_only_quarantined_rows_unless_told_and_writes_no_raw() -> None:
    p = pipeline()
    bad = p.process(line(contexts=[sdj(PRODUCT, {"sku": "X", "price": -1})]).encode(), "s:1")
    permanent = bad.outputs[1].value
    assert isinstance(p.replay(permanent, "r:1"), Skipped)
    again = p.replay(permanent, "r:1", include_all=True)
    assert isinstance(again, Invalid) and [o.stream for o in again.outputs] == ["bad"]
    parse_error = p.process(b"garbage", "s:2").outputs[1].value
    assert "not quarantined" in p.replay(parse_error, "r:2").reason
    assert isinstance(p.replay(b"{not json", "r:3"), Skipped)
    assert isinstance(p.replay(b'{"schema": "iglu:com.acme/x/jsonschema/1-0-0", "data": {}}', "r:4"), Skipped)


def test_stream_topics_without_kafka_are_the_stream_names() -> None:
    cfg = config(derived=[CHECKOUT_STREAM])
    assert stream_topics(cfg) == {"raw": "raw", "enriched": "enriched", "bad": "bad",
                                  "derived.checkout.v1": "derived.checkout.v1"}


@pytest.mark.parametrize("profile", ["canonical", "python-sdk", "scala-sdk", "go-sdk"])
def test_every_profile_renders_the_enriched_stream(profile: str) -> None:
    p = pipeline(output={"enriched_profile": profile})
    outcome = p.process(line(contexts=[sdj(PRODUCT, {"sku": "A", "price": 1})]).encode(), "s:1")
    assert isinstance(outcome, Routed)
    body = orjson.loads(outcome.outputs[1].value)
    assert body["contexts_com_acme_product_1"][0]["sku"] == "A"


def test_events_are_read_through_the_helper_correctly() -> None:
    e = event(user_id="u")
    assert e.get("user_id") == "u" and e.collector_tstamp == "2026-11-01T10:00:00.123Z"


def test_the_size_estimate_is_the_producers_own() -> None:
    from toolkit.kafka.producing import message_size

    for compressed in (True, False):
        p = Pipeline.from_config(config(), pipeline_id="t", compressed=compressed)
        outcome = p.process(line(contexts=[sdj(PRODUCT, {"sku": "A", "price": 1})]).encode(), "s:1")
        header_bytes = sum(len(k) + len(v) + 10 for k, v in outcome.outputs[0].headers)
        for out in outcome.outputs:
            assert p._sized(out.value, out.key, header_bytes) == message_size(out.value, out.key, out.headers,
                                                                              compressed)


def test_the_documented_examples_compile_into_pipelines(tmp_path) -> None:  # noqa: ANN001
    """docs/pipeline.md's worked examples (loaded by test_config) also pass the router's checks."""
    import re

    from iglu_registry.resolver import Resolver
    from iglu_registry.validation import SchemaValidator
    from toolkit.config.loading import load_config
    from toolkit.pipeline.validate import EventValidator

    from .pipeline_events import ROOT

    text = (ROOT / "docs" / "pipeline.md").read_text(encoding="utf-8")
    (tmp_path / "pipeline.toml").write_text(re.findall(r"```toml\n(.*?)```", text, flags=re.S)[0])
    (tmp_path / "pipeline.yaml").write_text(re.findall(r"```yaml\n(.*?)```", text, flags=re.S)[0])
    (tmp_path / "kafka-password").write_text("x\n")
    validator = EventValidator(SchemaValidator(Resolver.in_memory({})))
    for name in ("pipeline.toml", "pipeline.yaml"):
        cfg = load_config(tmp_path / name, environ={"SPTK_PSEUDONYMISATION_KEY": "k"})
        p = Pipeline(cfg, validator, pipeline_id="t", limits=declared_limits(cfg))
        assert [s.name for s in p.derived] == [f"derived.{d.name}.v{d.version}" for d in cfg.derived]
