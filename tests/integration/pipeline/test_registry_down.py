"""A registry outage mid-run: cached schemas keep flowing, the rest is quarantined, then replayed once it is back.

And a cold cache over a dead registry: one stall per schema, then the stream runs at (nearly) full speed.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.pipeline.conftest import (
    EXAMPLES,
    base_config,
    free_port,
    post,
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
    """``sptk iglu serve`` over a registry folder (the example schemas) on a fixed port; stopping it kills the
    process, so no kept-alive connection can still answer."""

    def __init__(self, port: int, folder: Path = EXAMPLES) -> None:
        self.port = port
        self.folder = folder
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = start("iglu", "serve", str(self.folder), "--port", str(self.port))
        wait_for(self._answers, 30, "the registry to listen")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/meta/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def resolver_config(self, path: Path) -> Path:
        """A resolver config at ``path`` whose only repository is this registry."""
        path.write_text(json.dumps({
            "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
            "data": {"cacheSize": 100, "cacheTtl": 600, "repositories": [
                {"name": "acme registry", "priority": 0, "vendorPrefixes": [],
                 "connection": {"http": {"uri": f"http://127.0.0.1:{self.port}/api"}}}]}}))
        return path

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
    resolver = registry.resolver_config(tmp_path / "resolver.json")
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
        # readiness probes are cached for 2 s: the "ok" read just before the registry stopped may still be served
        wait_for(lambda: readyz(port)[0] == 503, 30, "readiness to report the registry down")
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


SCHEMAS = 12  # more than fit in one unavailable_hold_s of stalls (about 1.5 s each with the default retries)


def registry_folder(root: Path) -> Path:
    """A registry of ``iglu:com.test/s<i>/jsonschema/1-0-0``, one small schema each."""
    for i in range(SCHEMAS):
        path = root / "schemas" / "com.test" / f"s{i}" / "jsonschema" / "1-0-0"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({
            "$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
            "self": {"vendor": "com.test", "name": f"s{i}", "format": "jsonschema", "version": "1-0-0"},
            "type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": False}))
    return root


def run_over(tmp: Path, kafka_bootstrap: str, prefix: str, registry_uri: str, lines: list[bytes]
             ) -> tuple[float, list[dict], list[float]]:
    """POST one line per schema (the cold start), then the rest in batches; the rest's records per second.

    An HTTP batch is answered 200 only once every record of it is on the broker, so a batch's
    round trip is the time the pipeline took for its records, outputs confirmed.
    """
    wrappers = tmp / "wrappers"
    shutil.copytree(EXAMPLES / "schemas" / "com.snowplowanalytics.snowplow",
                    wrappers / "schemas" / "com.snowplowanalytics.snowplow")
    resolver = tmp / "resolver.json"
    resolver.write_text(json.dumps({
        "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
        "data": {"cacheSize": 100, "cacheTtl": 600, "repositories": [
            {"name": "wrappers", "priority": 0, "vendorPrefixes": ["com.snowplowanalytics.snowplow"],
             "connection": {"embedded": {"path": str(wrappers)}}},
            {"name": "registry", "priority": 1, "vendorPrefixes": [],
             "connection": {"http": {"uri": registry_uri}}}]}}))
    port = free_port()
    cfg = base_config(prefix, kafka_bootstrap, resolver=resolver,
                      source={"kind": "http", "http": {"ack_timeout_s": 90}},  # iglu.unavailable_*: the defaults
                      sidecar={"host": "127.0.0.1", "port": port, "log_format": "json"})
    config = write_config(tmp / "pipeline.yaml", cfg)
    url = f"http://127.0.0.1:{port}/v1/enriched"
    pipeline = start("pipeline", "run", "--config", str(config), "--create-topics")
    timings = []
    try:
        wait_for(lambda: readyz_answers(port) or pipeline.poll() is not None, 60, "the sidecar")
        assert post_lines(url, lines[:SCHEMAS])[0] == 200  # each schema looked up for the first time
        rest = lines[SCHEMAS:]
        for start_at in range(0, len(rest), 1000):
            began = time.perf_counter()
            status, body = post_lines(url, rest[start_at:start_at + 1000])
            assert status == 200, body  # 503 "timed out": the batch stalled
            timings.append(time.perf_counter() - began)
    finally:
        pipeline.send_signal(signal.SIGTERM)
        try:
            _, err = pipeline.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # a pipeline stuck in stalls does not drain: do not leave it running
            pipeline.kill()
            _, err = pipeline.communicate(timeout=30)
    assert pipeline.returncode == 0, err[-3000:]
    logs = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    return (len(lines) - SCHEMAS) / sum(timings), logs, timings


def readyz_answers(port: int) -> bool:
    try:
        readyz(port)
    except OSError:
        return False
    return True


def post_lines(url: str, lines: list[bytes]) -> tuple[int, dict]:
    return post(url, b"\n".join(lines) + b"\n", timeout=120)


def test_a_cold_cache_over_a_dead_registry_stalls_once_per_schema_then_runs_near_full_speed(
        tmp_path: Path, kafka_bootstrap: str) -> None:
    lines = [line(contexts=[sdj(f"iglu:com.test/s{k % SCHEMAS}/jsonschema/1-0-0", {"n": k})]).encode()
             for k in range(SCHEMAS + 4000)]
    ids = Counter(x.split(b"\t")[6].decode() for x in lines)

    live = Registry(free_port(), registry_folder(tmp_path / "registry"))
    live.start()
    try:
        (tmp_path / "live").mkdir()
        live_prefix = f"test.pipe.{unique('live')}"
        live_rate, live_logs, live_timings = run_over(tmp_path / "live", kafka_bootstrap, live_prefix,
                                                      f"http://127.0.0.1:{live.port}/api", lines)
    finally:
        live.stop()
    (tmp_path / "dead").mkdir()
    dead_prefix = f"test.pipe.{unique('dead')}"
    dead_rate, dead_logs, dead_timings = run_over(tmp_path / "dead", kafka_bootstrap, dead_prefix,
                                                  f"http://127.0.0.1:{free_port()}/api", lines)  # nothing listens
    print(f"records per second after the cold start: live registry {live_rate:,.0f}, dead registry "
          f"{dead_rate:,.0f} (ratio {dead_rate / live_rate:.2f}); batch round trips live "
          f"{[round(t, 2) for t in live_timings]}, dead {[round(t, 2) for t in dead_timings]}")

    # every record accounted for: the live run's in enriched, the dead run's quarantined in bad, each once
    assert Counter(m.event_id for m in read_topic(kafka_bootstrap, f"{live_prefix}.enriched", expect=len(lines))) == ids
    bad = read_topic(kafka_bootstrap, f"{dead_prefix}.bad", expect=len(lines))
    assert Counter(m.event_id for m in bad) == ids
    assert {(m.headers["sp.error.class"], m.headers["sp.error.retryable"]) for m in bad} == {
        ("RegistryUnavailable", "true")}
    assert read_topic(kafka_bootstrap, f"{dead_prefix}.enriched", timeout_s=5) == []
    # one warning per schema for the whole outage, not one per record or per expired hold
    warned = [x["schema"] for x in dead_logs if x["level"] == "WARNING" and x["logger"] == "toolkit.pipeline.validate"]
    assert sorted(warned) == sorted(f"iglu:com.test/s{i}/jsonschema/1-0-0" for i in range(SCHEMAS))
    assert not [x for x in live_logs if x["level"] == "WARNING" and x["logger"] == "toolkit.pipeline.validate"]
    # once every schema has stalled once, quarantining runs at a speed comparable to validating
    assert dead_rate >= live_rate / 5
