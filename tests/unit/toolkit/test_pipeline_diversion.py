"""A diverted derived stream, without sockets: its messages become retryable bad rows that replay into it alone."""

from __future__ import annotations

import orjson

from iglu_registry.validation import SchemaValidator
from toolkit.contract.samples import SampleSpec, generate
from toolkit.kafka.headers import ERROR_STREAM, MessageHeaders
from toolkit.pipeline.bad_rows import diverted_stream, is_retryable, replay_line
from toolkit.pipeline.diversion import Diversion
from toolkit.pipeline.fanout import Pipeline
from toolkit.pipeline.outcomes import Invalid, Restored, Routed, Skipped
from toolkit.pipeline.stream_budgets import Budget, StreamBudgets

from .pipeline_events import config

ALL = {"name": "all_events", "version": 1, "owner": "x"}
PAGES = {"name": "pages", "version": 1, "owner": "y", "filter": {"field": "event", "op": "eq", "value": "page_view"}}
STREAM = "derived.all_events.v1"


def pipeline() -> Pipeline:
    return Pipeline.from_config(config(kafka={"bootstrap_servers": "k:9092", "topic_prefix": "prod.acme"},
                                       derived=[ALL, PAGES]), pipeline_id="sptk/test config/0123456789abcdef")


def routed(p: Pipeline) -> list[tuple[bytes, Routed]]:
    out = []
    for i, text in enumerate(generate(SampleSpec(events=200, seed=3))):
        outcome = p.process(text.encode(), f"in.tsv:{i + 1}")
        if isinstance(outcome, Routed):
            out.append((text.encode(), outcome))
    return out


def test_a_diverted_message_becomes_a_retryable_bad_row_naming_its_stream_with_the_line() -> None:
    p = pipeline()
    raw, outcome = routed(p)[0]
    assert outcome.line == raw
    derived = next(o for o in outcome.outputs if o.stream == STREAM)
    bad = p.diverted(derived, raw, "Local: Message timed out")
    assert bad.stream == "bad" and bad.topic == "prod.acme.bad" and bad.key == derived.key
    headers = MessageHeaders.from_kafka(bad.headers)
    assert (headers.error_class, headers.error_retryable, headers.error_stage) == ("StreamUnavailable", True,
                                                                                    "deliver")
    assert dict(bad.headers)[ERROR_STREAM] == STREAM.encode()
    assert headers.event_id == outcome.event_id and "Message timed out" in (headers.error_message or "")
    row = orjson.loads(bad.value)
    assert row["schema"].endswith("/generic_error/jsonschema/1-0-0")
    assert diverted_stream(row) == STREAM and is_retryable(row)
    assert replay_line(row, include_all=False) == raw  # the exact line, without --all


def test_replaying_a_diverted_row_writes_that_stream_only() -> None:
    p = pipeline()
    for raw, outcome in routed(p)[:20]:
        derived = next(o for o in outcome.outputs if o.stream == STREAM)
        bad = p.diverted(derived, raw, "timed out")
        again = p.replay(bad.value, "replay")
        assert isinstance(again, Restored) and again.stream == STREAM
        assert [(o.stream, o.value, o.key) for o in again.outputs] == [(STREAM, derived.value, derived.key)]


def test_a_diverted_row_of_a_stream_the_event_no_longer_reaches_or_the_config_lacks_is_skipped() -> None:
    p = pipeline()
    raw, outcome = next((r, o) for r, o in routed(p) if "derived.pages.v1" not in [x.stream for x in o.outputs])
    derived = next(o for o in outcome.outputs if o.stream == STREAM)
    row = orjson.loads(p.diverted(derived, raw, "x").value)
    row["data"]["failure"]["errors"][0] = "StreamUnavailable: derived.pages.v1"
    assert isinstance(p.replay(orjson.dumps(row), "r"), Skipped)  # its filter keeps the event out of pages
    row["data"]["failure"]["errors"][0] = "StreamUnavailable: derived.gone.v3"
    skipped = p.replay(orjson.dumps(row), "r")
    assert isinstance(skipped, Skipped) and "derived.gone.v3" in skipped.reason


def test_a_diverted_row_whose_event_is_now_invalid_goes_to_bad_again() -> None:
    p = pipeline()
    raw, outcome = routed(p)[0]
    derived = next(o for o in outcome.outputs if o.stream == STREAM)
    row = orjson.loads(p.diverted(derived, raw, "x").value)
    row["data"]["payload"] = "not\tan\tevent"
    again = p.replay(orjson.dumps(row), "r")
    assert isinstance(again, Invalid) and [o.stream for o in again.outputs] == ["bad"]


def test_the_diversion_routes_only_diverted_streams_to_bad_and_lets_a_probe_through() -> None:
    p = pipeline()
    now = [0.0]
    budgets = StreamBudgets({STREAM: Budget(1, 60.0, 10.0)}, clock=lambda: now[0])
    diversion = Diversion(budgets, p.topics, p.diverted)
    (raw, outcome), (raw2, outcome2) = routed(p)[:2]
    assert diversion.route(outcome.outputs, raw) is outcome.outputs  # nothing diverted: the same list
    assert diversion.stream_of("prod.acme.derived.all_events.v1") == STREAM and diversion.stream_of("x") is None
    assert diversion.stream_of("prod.acme.enriched") is None  # raw and enriched have no budget
    assert diversion.failed(STREAM, "timed out")
    outs = diversion.route(outcome.outputs, raw)
    assert [o.stream for o in outs] == [o.stream if o.stream != STREAM else "bad" for o in outcome.outputs]
    assert budgets.diverted_records == {STREAM: 1}
    now[0] = 10.0
    probe = diversion.route(outcome2.outputs, raw2)
    assert [o.stream for o in probe] == [o.stream for o in outcome2.outputs]  # the probe goes to the stream
    assert diversion.probing == {STREAM}
    diversion.succeeded(STREAM)
    assert diversion.route(outcome.outputs, raw) is outcome.outputs


def test_a_diversion_guards_derived_streams_only() -> None:
    p = pipeline()
    budgets = StreamBudgets({STREAM: Budget(1, 60.0, 10.0)})
    assert set(Diversion(budgets, p.topics, p.diverted).guarded) == {STREAM}
    assert isinstance(p.validator.validator, SchemaValidator)
