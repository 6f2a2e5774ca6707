"""Events on deprecated schemas: flagged with a header and counted, and past the sunset warned about or refused."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest
import yaml

from toolkit.config.errors import ConfigError
from toolkit.pipeline.fanout import Pipeline
from toolkit.pipeline.outcomes import Invalid, Routed

from .pipeline_events import CLICK, config, line, sdj

DERIVED_CLICKS = {"name": "clicks", "version": 1, "owner": "web",
                  "filter": {"schema": "iglu:com.acme/button_click/jsonschema/1-*-*"}}


def governance(tmp_path: Path, sunset: str = "2026-06-30") -> Path:
    path = tmp_path / "governance.yml"
    path.write_text(yaml.safe_dump({"deprecations": [
        {"schema": "iglu:com.acme/button_click/jsonschema/1-*-*", "deprecated": "2026-01-15", "sunset": sunset,
         "replacement": "iglu:com.acme/checkout_step/jsonschema/1-0-0"}]}))
    return path


def pipeline(tmp_path: Path, past_sunset: str = "warn", sunset: str = "2026-06-30") -> Pipeline:
    cfg = config(iglu={"governance": str(governance(tmp_path, sunset)), "past_sunset": past_sunset},
                 derived=[DERIVED_CLICKS])
    return Pipeline.from_config(cfg, pipeline_id="sptk/test config/0123456789abcdef")


def click(tstamp: str) -> bytes:
    return line(unstruct_event=sdj(CLICK, {"id": "buy-now"}), event="unstruct", collector_tstamp=tstamp).encode()


def test_events_on_a_deprecated_schema_carry_the_header_and_are_counted(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    before = p.process(click("2026-03-01 10:00:00.000"), "in.tsv:1")
    page_view = p.process(line().encode(), "in.tsv:2")
    assert isinstance(before, Routed) and isinstance(page_view, Routed)
    flagged = {o.stream: dict(o.headers).get("sp.schema.deprecated") for o in before.outputs}
    expected = b"deprecated=2026-01-15;sunset=2026-06-30;replacement=iglu:com.acme/checkout_step/jsonschema/1-0-0"
    assert flagged == {"raw": None, "enriched": expected, "derived.clicks.v1": expected}
    assert all("sp.schema.deprecated" not in dict(o.headers) for o in page_view.outputs)
    assert p.deprecated == {CLICK: 1}


def test_past_the_sunset_warn_lets_them_through_and_warns_once_per_schema(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = pipeline(tmp_path, "warn")
    with caplog.at_level(logging.WARNING):
        outcomes = [p.process(click("2026-07-01 00:00:00.000"), f"in.tsv:{i}") for i in range(3)]
    assert all(isinstance(o, Routed) for o in outcomes)
    warnings = [r.getMessage() for r in caplog.records if "sunset" in r.getMessage()]
    assert len(warnings) == 1 and CLICK in warnings[0] and "2026-06-30" in warnings[0]
    assert p.deprecated == {CLICK: 3}


def test_past_the_sunset_bad_sends_them_to_bad_with_the_reason(tmp_path: Path) -> None:
    p = pipeline(tmp_path, "bad")
    on_time = p.process(click("2026-06-30 23:59:59.999"), "in.tsv:1")
    late = p.process(click("2026-07-01 00:00:00.000"), "in.tsv:2")
    assert isinstance(on_time, Routed)
    assert isinstance(late, Invalid) and [o.stream for o in late.outputs] == ["raw", "bad"]
    assert late.bad_type == "generic_error" and late.error_class == "SchemaPastSunset"
    assert "past its sunset 2026-06-30" in late.reason and "iglu:com.acme/checkout_step/jsonschema/1-0-0" in late.reason
    bad = late.outputs[1]
    assert dict(bad.headers)["sp.error.class"] == b"SchemaPastSunset"
    assert late.reason in orjson.loads(bad.value)["data"]["failure"]["errors"][0]
    assert p.deprecated == {CLICK: 2}


def test_an_unusable_governance_file_stops_the_start_with_its_location(tmp_path: Path) -> None:
    broken = tmp_path / "governance.yml"
    broken.write_text("deprecations: [{schema: nope, deprecated: 2026-01-01}]")
    with pytest.raises(ConfigError, match="deprecations\\[0\\].schema"):
        Pipeline.from_config(config(iglu={"governance": str(broken)}), pipeline_id="x")
