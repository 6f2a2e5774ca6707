"""A collector pipeline in-process on a free port, and plain HTTP to it (real sockets, no client library)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors.pipeline_app import App, build
from toolkit.config.loading import parse_config

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES_RESOLVER = ROOT / "examples" / "iglu" / "resolver.json"


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def send(port: int, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        conn.close()


def resolver_with_iglu_central(tmp_path: Path, iglu_central: Path) -> Path:
    """The examples' schemas and Iglu Central's (the tracker protocol's own schemas live there)."""
    path = tmp_path / "resolver.json"
    path.write_text(json.dumps({
        "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
        "data": {"cacheSize": 500, "cacheTtl": 600, "repositories": [
            {"name": "examples", "priority": 0, "vendorPrefixes": ["com.acme"],
             "connection": {"embedded": {"path": str(EXAMPLES_RESOLVER.parent)}}},
            {"name": "Iglu Central", "priority": 1, "vendorPrefixes": [],
             "connection": {"embedded": {"path": str(iglu_central.parent)}}}]}}))
    return path


class Running:
    """A started pipeline app whose source is the collector; outputs in ``directory`` (files) or Kafka."""

    def __init__(self, app: App, directory: Path | None) -> None:
        self.app = app
        self.directory = directory
        self.thread = threading.Thread(target=lambda: setattr(self, "code", app.run(install_signals=False)),
                                       daemon=True)
        self.code: int | None = None
        self.thread.start()
        app.sidecar.start()  # idempotent: answers from now on, not only once run() got that far

    @property
    def port(self) -> int:
        return self.app.sidecar.port

    def lines(self, stream: str) -> list[dict[str, Any]]:
        assert self.directory is not None
        path = self.directory / ("raw.tsv" if stream == "raw" else f"{stream}.jsonl")
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def stop(self) -> int | None:
        self.app.sidecar.begin_drain("test over")
        self.thread.join(60)
        return self.code


@pytest.fixture
def collector(tmp_path: Path, iglu_central: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(collector: dict[str, Any] | None = None, *, kafka: str | None = None, prefix: str = "sptk",
              **sections: Any) -> Running:
        out = tmp_path / f"out{len(started)}"
        data: dict[str, Any] = {
            "source": {"kind": "collector", "collector": collector or {}},
            "iglu": {"resolver_config": str(resolver_with_iglu_central(tmp_path, iglu_central))},
            "output": {"target": "kafka" if kafka else f"files:{out}"},
            "sidecar": {"port": 0, "log_format": "text"}, **sections}
        if kafka:
            data["kafka"] = {"bootstrap_servers": kafka, "topic_prefix": prefix}
            data["topics"] = {"defaults": {"replication": 1}}
        cfg = parse_config(data, origin="test", base_dir=tmp_path, environ={})
        running = Running(build(cfg, serve=True, create_topics=bool(kafka)), None if kafka else out)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
