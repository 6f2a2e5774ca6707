"""Whatever a client sends, the adapter answers with events or bad rows and never raises (hypothesis)."""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.collector.adapter import adapt
from connectors.collector.params import BY_PARAM
from connectors.collector.payload import TP1_PATHS, TP2_PATH, CollectorPayload
from iglu_registry.validation import SchemaValidator
from tests.unit.connectors.collector.conftest import ARRIVED
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.tsv import parse_line

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMES = st.sampled_from(sorted(BY_PARAM)) | st.text(max_size=6)
VALUES = st.text(max_size=40) | st.sampled_from(["pv", "ue", "se", "1", "1920x1080", "1700000000000", "e30",
                                                   "https://a.b/?utm_source=x", "%ZZ", "\t\n\x00"])
PARAMS = st.lists(st.tuples(NAMES, VALUES), max_size=12)
PATHS = st.sampled_from([*TP1_PATHS, TP2_PATH]) | st.text(max_size=20)


def _check(payload: CollectorPayload, validator: SchemaValidator) -> None:
    adapted = adapt(payload, validator)
    assert adapted.events or adapted.bad_rows
    for line in adapted.events:
        assert isinstance(parse_line(line), EnrichedEvent)
    for row in adapted.bad_rows:
        orjson.dumps(row.to_dict())  # every bad row is JSON


@SETTINGS
@given(path=PATHS, query=st.text(max_size=200) | PARAMS.map(urlencode))
def test_any_querystring_gives_events_or_bad_rows(validator: SchemaValidator, path: str, query: str) -> None:
    _check(CollectorPayload("GET", path, query, None, None, ARRIVED), validator)


@SETTINGS
@given(body=st.binary(max_size=200) | st.lists(PARAMS.map(dict), max_size=4).map(
    lambda events: orjson.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
                                 "data": events})), query=PARAMS.map(urlencode))
def test_any_body_gives_events_or_bad_rows(validator: SchemaValidator, body: bytes, query: str) -> None:
    _check(CollectorPayload("POST", TP2_PATH, query, body, "application/json", ARRIVED), validator)
