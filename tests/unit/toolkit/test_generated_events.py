"""Generated events (hypothesis): SDK parity under ``python-sdk``, and both round trips, on thousands of lines."""

from __future__ import annotations

import json

import orjson
from hypothesis import HealthCheck, given, settings
from snowplow_analytics_sdk.event_transformer import transform

from tests.unit.toolkit.event_lines import enriched_lines
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.profiles import to_json
from toolkit.contract.profiles.canonical import parse_canonical, to_dict
from toolkit.contract.tsv import parse_line, to_tsv

SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large]


def _event(text: str) -> EnrichedEvent:
    result = parse_line(text)
    assert isinstance(result, EnrichedEvent), result.reason
    return result


@settings(max_examples=2000, deadline=None, suppress_health_check=SLOW_DATA)
@given(enriched_lines)
def test_python_sdk_profile_equals_json_dumps_of_the_sdks_transform(text: str) -> None:
    assert to_json(_event(text), "python-sdk") == json.dumps(transform(text)).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=SLOW_DATA)
@given(enriched_lines)
def test_tsv_to_event_to_tsv_is_identical(text: str) -> None:
    event = _event(text)
    assert to_tsv(event) == text
    assert _event(text + "\n").line == text


@settings(max_examples=300, deadline=None, suppress_health_check=SLOW_DATA)
@given(enriched_lines)
def test_tsv_to_canonical_json_to_tsv_is_identical(text: str) -> None:
    event = _event(text)
    canonical = to_json(event)
    back = parse_canonical(canonical)
    assert isinstance(back, EnrichedEvent), back.reason
    assert back.line == text
    assert orjson.loads(canonical) == to_dict(event)
    assert None not in orjson.loads(canonical).values()  # nulls are omitted, never written


@settings(max_examples=300, deadline=None, suppress_health_check=SLOW_DATA)
@given(enriched_lines)
def test_every_profile_writes_every_generated_event(text: str) -> None:
    event = _event(text)
    for profile in ("scala-sdk", "go-sdk-geo"):
        json.loads(to_json(event, profile))
