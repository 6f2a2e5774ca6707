"""A registry outage mid-run: cached schemas keep flowing, the rest is quarantined, then replayed once it is back."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.pipeline.conftest import (
    EXAMPLES,
    base_config,
    free_port,
    read_topic,
    sptk,
    start,
    wait_for,
    write_config,
)
from tests.integration.pipeline_infra.conftest import unique
from tests.unit.toolkit.pipeline_events import CLICK, CONSENT, DEVICE, PRODUCT, line, sdj
from toolkit.kafka import create_topics, idempotent_producer


class Registry:
    """``sptk iglu serve`` over the example schemas on a fixed port; stopping it kills the process, so no kept-alive
    connection can still answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = start("iglu", "serve", str(EXAMPLES), "--port", str(self.port))
        wait_for(self._answers, 30, "the registry to listen")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/meta/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.communicate(timeout=30)
        self.process = None


@pytest.fixture
def registry() -> Iterator[Registry]:
    r = Registry(free_port())
    r.start()
    yield r
    if r.process is not None:
        r.stop()


def readyz(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def produce(bootstrap: str, topic: str, lines: list[str]) -> None:
    p = idempotent_producer(bootstrap)
    for x in lines:
        p.produce(topic, x.encode())
    assert p.flush(30) == 0


def test_cached_schemas_flow_uncached_are_quarantined_and_replayed(tmp_path: Path, kafka_bootstrap: str, prefix: str,
                                                                   registry: Registry) -> None:
    resolver = tmp_path / "resolver.json"
    resolver.write_text(json.dumps({
        "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
        "data": {"cacheSize": 100, "cacheTtl": 600, "repositories": [
            {"name": "acme registry", "priority": 0, "vendorPrefixes": [],
             "connection": {"http": {"uri": f"http://127.0.0.1:{registry.port}/api"}}}]}}))
    topic = f"{prefix}.input"
    create_topics(kafka_bootstrap, [topic], partitions=2)
    port = free_port()
    cfg = base_config(prefix, kafka_bootstrap, resolver=resolver,
                      source={"kind": "kafka", "kafka": {"topics": [topic], "group_id": unique("registry-down")}},
                      iglu={"resolver_config": str(resolver), "unavailable_retries": 1, "unavailable_backoff_s": 0.2,
                            "unavailable_hold_s": 2},
                      sidecar={"host": "127.0.0.1", "port": port, "log_format": "json"})
    config = write_config(tmp_path / "pipeline.yaml", cfg)
    consent = [sdj(CONSENT, {"analytics": True, "marketing": False})]
    device = [sdj(DEVICE, {"class": "mobile", "confidence": 0.5})]
    warm = [line(contexts=consent, derived_contexts=device) for _ in range(40)]

    pipeline = start("pipeline", "run", "--config", str(config), "--create-topics")
    try:
        produce(kafka_bootstrap, topic, warm)
        wait_for(lambda: len(read_topic(kafka_bootstrap, f"{prefix}.enriched", timeout_s=5)) >= 40, 90,
                 "the warm-up events (their schemas are now cached)")
        assert readyz(port)[0] == 200

        registry.stop()
        cached = [line(contexts=consent, derived_contexts=device) for _ in range(40)]
        uncached = ([line(contexts=consent + [sdj(PRODUCT, {"sku": "BOOT-1", "price": 80})]) for _ in range(30)]
                    + [line(unstruct_event=sdj(CLICK, {"id": "buy-now"}), event="unstruct") for _ in range(20)])
        produce(kafka_bootstrap, topic, cached + uncached)
        wait_for(lambda: len(read_topic(kafka_bootstrap, f"{prefix}.bad", timeout_s=5)) >= 50, 90,
                 "the uncached events to be quarantined")
        status, body = readyz(port)
        assert status == 503 and body["checks"]["registry:acme registry"]["ok"] is False
        assert body["checks"]["kafka"]["ok"] is True

        enriched = read_topic(kafka_bootstrap, f"{prefix}.enriched", expect=80)
        ids = {m.event_id for m in enriched}
        assert ids == {x.split("\t")[6] for x in warm + cached}  # cached schemas kept flowing
        bad = read_topic(kafka_bootstrap, f"{prefix}.bad", expect=50)
        assert {m.event_id for m in bad} == {x.split("\t")[6] for x in uncached}
        for m in bad:
            assert m.headers["sp.error.class"] == "RegistryUnavailable" and m.headers["sp.error.retryable"] == "true"
            row = json.loads(m.value)
            assert row["schema"].endswith("/schema_violations/jsonschema/2-0-1")
            errors = [e for msg in row["data"]["failure"]["messages"] for h in msg["error"]["lookupHistory"]
                      for e in h["errors"]]
            assert {e["error"] for e in errors} == {"RepoFailure"}  # never a permanent "NotFound"

        registry.start()
        replay = sptk("pipeline", "replay-bad", "--config", str(config))
        assert replay.returncode == 0, replay.stderr[-3000:]
        summary = json.loads(replay.stdout.strip().splitlines()[-1])
        assert (summary["in"], summary["enriched"], summary["bad"], summary["skipped"]) == (50, 50, 0, 0)
        enriched = read_topic(kafka_bootstrap, f"{prefix}.enriched", expect=130)
        assert {m.event_id for m in enriched} == {x.split("\t")[6] for x in warm + cached + uncached}
        assert len(enriched) == 130
        assert len(read_topic(kafka_bootstrap, f"{prefix}.raw")) == 130  # a replay writes no second raw copy
        again = sptk("pipeline", "replay-bad", "--config", str(config))
        assert again.returncode == 0 and json.loads(again.stdout.strip().splitlines()[-1])["in"] == 0
    finally:
        pipeline.send_signal(signal.SIGTERM)
        _, err = pipeline.communicate(timeout=60)
    assert pipeline.returncode == 0, err[-3000:]
