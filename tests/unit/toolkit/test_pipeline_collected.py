"""Collector input through the pipeline: the request's payload is the raw copy, the adapter's bad rows are outcomes."""

from __future__ import annotations

import orjson

from toolkit.contract.badrows import bad_row
from toolkit.kafka.headers import ERROR_CLASS, ERROR_STAGE
from toolkit.pipeline.fanout import Pipeline
from toolkit.pipeline.outcomes import Invalid, Routed

from .pipeline_events import config, line

PAYLOAD = b'{"method":"GET","path":"/i","querystring":"e=pv"}'


def pipeline() -> Pipeline:
    return Pipeline.from_config(config(), pipeline_id="sptk/test config/0123456789abcdef")


def test_an_adapted_event_is_routed_with_the_payload_as_its_raw_copy() -> None:
    tsv = line().encode()
    first = pipeline().collected(tsv, None, PAYLOAD, "collector:1", "ab" * 16)
    assert isinstance(first, Routed)
    assert [o.stream for o in first.outputs] == ["raw", "enriched"]
    assert first.outputs[0].value == PAYLOAD  # what was received, not the adapter's TSV
    later = pipeline().collected(tsv, None, None, "collector:1", "ab" * 16)  # the request's later events: no raw
    assert [o.stream for o in later.outputs] == ["enriched"]


def test_an_adapter_bad_row_is_an_invalid_outcome_with_its_type_and_reason() -> None:
    row = bad_row("tracker_protocol_violations", {"timestamp": "2026-01-01T00:00:00.000Z", "vendor": "v",
                                                   "version": "tp2", "messages": [{"error": "e is missing"}]},
                  {"vendor": "v"}, version="1-0-0")
    outcome = pipeline().collected(None, row, PAYLOAD, "collector:2", None)
    assert isinstance(outcome, Invalid) and outcome.bad_type == "tracker_protocol_violations"
    assert "e is missing" in outcome.reason
    assert [o.stream for o in outcome.outputs] == ["raw", "bad"]
    bad = outcome.outputs[1]
    assert orjson.loads(bad.value)["schema"].endswith("/tracker_protocol_violations/jsonschema/1-0-0")
    assert dict(bad.headers)[ERROR_STAGE] == b"adapt"
    assert dict(bad.headers)[ERROR_CLASS] == b"tracker_protocol_violations"
