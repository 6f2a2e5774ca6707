"""Sidecar logic without sockets: readiness probes and caching, HTTP source admission."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from connectors.sidecar import Readiness, Request, Sidecar
from connectors.sources import HttpSource, Position
from iglu_registry.http_server import ServerLimits
from toolkit.config.loading import parse_config


def request(body: bytes, **headers: str) -> Request:
    return Request("POST", "/v1/enriched", {}, {k.replace("_", "-"): v for k, v in headers.items()}, body, "10.0.0.7")


def test_readiness_combines_probes_and_draining_and_caches_results() -> None:
    calls = {"kafka": 0}
    now = [0.0]

    def kafka() -> bool:
        calls["kafka"] += 1
        return True

    def registry() -> bool:
        raise ConnectionError("iglu.acme.internal: connection refused")

    r = Readiness({"kafka": kafka}, cache_s=2.0, clock=lambda: now[0])
    assert r.check() == (True, {"ready": True, "draining": False, "checks": {"kafka": {"ok": True}}})
    r.check()
    assert calls["kafka"] == 1  # cached
    now[0] = 2.5
    r.check()
    assert calls["kafka"] == 2
    r.add("registry", registry)
    ready, body = r.check()
    assert not ready
    assert body["checks"]["registry"] == {"ok": False, "detail": "ConnectionError: iglu.acme.internal: connection "
                                                                 "refused"}
    assert r.readyz(request(b"")).status == HTTPStatus.SERVICE_UNAVAILABLE
    assert r.healthz(request(b"")).status == HTTPStatus.OK
    r.add("registry", lambda: True)
    now[0] = 10.0
    assert r.check()[0] is True
    r.draining.set()
    assert r.check()[1]["draining"] is True and r.check()[0] is False


def test_http_source_admission_without_a_server() -> None:
    source = HttpSource(max_pending_records=2, ack_timeout_s=0.01)
    response = source.handle(request(b"a\nb\nc\n"))  # could never fit: not worth a retry
    assert response.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE and b'"accepted": 0' in response.body
    assert response.headers == {}
    assert source.handle(request(b"")).status == HTTPStatus.OK
    timed_out = source.handle(request(b"a\nb"))  # nothing acks: accepted, then 503 after the timeout
    assert timed_out.status == HTTPStatus.SERVICE_UNAVAILABLE and b'"accepted": 2' in timed_out.body
    overloaded = source.handle(request(b"c"))  # fits the limit, but the queue is full for now: retry later
    assert overloaded.status == HTTPStatus.SERVICE_UNAVAILABLE and overloaded.headers == {"Retry-After": "1"}
    records = source.read(10, 0)
    assert [r.position for r in records] == [Position("http", 0), Position("http", 1)]
    assert records[1].source == "http:10.0.0.7 batch 1 line 2"
    assert source.pending == 2
    source.ack(records[1].position)
    assert source.pending == 0
    assert not source.finished
    source.stop()
    assert source.finished  # draining and nothing left to hand over
    assert source.handle(request(b"x")).status == HTTPStatus.SERVICE_UNAVAILABLE


def test_the_sidecar_server_limits_come_from_config() -> None:
    data = {"kafka": {"bootstrap_servers": "127.0.0.1:9092", "topic_prefix": "test.acme.snowplow"},
            "source": {"kind": "stdin"}, "iglu": {"resolver_config": "resolver.json"},
            "sidecar": {"request_timeout_s": 2.5, "max_connections": 7}}
    cfg = parse_config(data, origin="test.toml", base_dir=Path("/etc/sptk"), environ={})
    assert Sidecar.from_config(cfg).server.limits == ServerLimits(request_timeout_s=2.5, max_connections=7)
    default = parse_config({**data, "sidecar": {}}, origin="test.toml", base_dir=Path("/etc/sptk"), environ={})
    assert Sidecar.from_config(default).server.limits == ServerLimits()


def test_metrics_say_whether_the_sidecar_is_ready_at_each_scrape() -> None:
    from connectors.sidecar.runtime import Sidecar

    healthy = {"ok": True}
    sidecar = Sidecar(serve=False, probes={"registry": lambda: healthy["ok"]}, readiness_cache_s=0.0)
    assert "sptk_ready 1.0" in sidecar.metrics.exposition().decode()
    healthy["ok"] = False
    assert "sptk_ready 0.0" in sidecar.metrics.exposition().decode()
