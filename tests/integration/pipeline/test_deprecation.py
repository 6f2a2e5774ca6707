"""A file through the pipeline into the real broker: deprecated-schema events are flagged, counted, refused late."""

from __future__ import annotations

from pathlib import Path

import orjson
import yaml

from connectors.pipeline_app import build
from tests.integration.pipeline.conftest import base_config, read_topic
from tests.unit.toolkit.pipeline_events import CLICK, line, sdj
from toolkit.config.loading import parse_config

ROOT = Path(__file__).resolve().parents[3]
METRIC = "sptk_deprecated_schema_events_total"


def run(tmp_path: Path, bootstrap: str, prefix: str, past_sunset: str) -> tuple[dict, str]:
    (tmp_path / "governance.yml").write_text(yaml.safe_dump({"deprecations": [
        {"schema": "iglu:com.acme/button_click/jsonschema/1-*-*", "deprecated": "2026-01-15",
         "sunset": "2026-06-30", "replacement": "iglu:com.acme/checkout_step/jsonschema/1-0-0"}]}))
    clicks = [line(unstruct_event=sdj(CLICK, {"id": f"b{i}"}), event="unstruct",
                   collector_tstamp=f"2026-{5 + i % 4:02d}-15 10:00:00.000") for i in range(8)]  # May..Aug
    views = [line() for _ in range(5)]
    (tmp_path / "in.tsv").write_text("".join(x + "\n" for x in clicks + views))
    cfg = base_config(prefix, bootstrap, source={"kind": "file", "file": {"paths": [str(tmp_path / "in.tsv")]}},
                      iglu={"governance": str(tmp_path / "governance.yml"), "past_sunset": past_sunset})
    app = build(parse_config(cfg, base_dir=ROOT, environ={}), serve=False, create_topics=True)
    assert app.run(install_signals=False) == 0
    return app.summary, app.metrics.exposition().decode()


def test_deprecated_events_carry_the_header_and_the_metric_on_the_real_broker(
        tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    summary, metrics = run(tmp_path, kafka_bootstrap, prefix, "warn")
    assert summary["enriched"] == 13 and summary["bad"] == 0
    enriched = read_topic(kafka_bootstrap, f"{prefix}.enriched", expect=13)
    flagged = [m for m in enriched if "sp.schema.deprecated" in m.headers]
    assert len(flagged) == 8 and all(m.headers["sp.schema"] == CLICK for m in flagged)
    assert flagged[0].headers["sp.schema.deprecated"] == (
        "deprecated=2026-01-15;sunset=2026-06-30;replacement=iglu:com.acme/checkout_step/jsonschema/1-0-0")
    assert f'{METRIC}{{schema="{CLICK}"}} 8.0' in metrics


def test_past_the_sunset_they_go_to_bad_when_configured_so(tmp_path: Path, kafka_bootstrap: str,
                                                          prefix: str) -> None:
    summary, metrics = run(tmp_path, kafka_bootstrap, prefix, "bad")
    # collected in May or June pass (4), July and August are past the 2026-06-30 sunset (4)
    assert summary["enriched"] == 9 and summary["bad"] == 4 and summary["bad_by_type"] == {"generic_error": 4}
    bad = read_topic(kafka_bootstrap, f"{prefix}.bad", expect=4)
    assert {m.headers["sp.error.class"] for m in bad} == {"SchemaPastSunset"}
    errors = orjson.loads(bad[0].value)["data"]["failure"]["errors"]
    assert "past its sunset 2026-06-30" in errors[0] and "checkout_step" in errors[0]
    assert f'{METRIC}{{schema="{CLICK}"}} 8.0' in metrics
    enriched = read_topic(kafka_bootstrap, f"{prefix}.enriched", expect=9)
    assert sum("sp.schema.deprecated" in m.headers for m in enriched) == 4
