"""Helpers for the pipeline's real-broker tests: configs on disk, subprocess runs, reading topics back."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.pipeline_infra.conftest import read_all
from toolkit.contract.samples import SampleSpec, generate
from toolkit.kafka import create_topics, idempotent_producer

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "iglu"
SPTK = [str(Path(sys.executable).parent / "sptk")]


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def source(self) -> str:
        return self.headers["sp.source"]

    @property
    def event_id(self) -> str:
        return self.headers["sp.event_id"]


def read_topic(bootstrap: str, topic: str, expect: int | None = None, timeout_s: float = 30.0) -> list[Message]:
    out = []
    for partition, offset, key, value, headers in read_all(bootstrap, topic, expect=expect, timeout_s=timeout_s):
        out.append(Message(topic, partition, offset, key, value or b"",
                           {k: (v or b"").decode("utf-8", "replace") for k, v in headers}))
    return out


def fill_input_topic(bootstrap: str, topic: str, *, partitions: int, events: int, seed: int, keys: int,
                     held_back: int = 0) -> list[str]:
    """Create ``topic`` and produce ``toolkit.contract.samples`` lines to it, keyed round-robin over ``keys`` keys.

    The pipeline tests with a Kafka source all start from such a topic; the lines are returned
    so a test can check the outputs against exactly what went in. The last ``held_back`` lines
    are not produced: :func:`produce_lines` sends them later (``lines[-held_back:]``, ``first``
    ``len(lines) - held_back``), so a run started before cannot have read them, however fast.
    """
    create_topics(bootstrap, [topic], partitions=partitions)
    lines = list(generate(SampleSpec(events=events, seed=seed)))
    produce_lines(bootstrap, topic, lines[:len(lines) - held_back], keys=keys)
    return lines


def produce_lines(bootstrap: str, topic: str, lines: list[str], *, keys: int, first: int = 0) -> None:
    """Produce ``lines`` (line ``i`` of the input is ``lines[i - first]``) keyed ``i % keys``, and wait for them."""
    producer = idempotent_producer(bootstrap)
    for i, line in enumerate(lines, start=first):
        producer.produce(topic, line.encode(), key=str(i % keys).encode())
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0


def wait_for(check: Callable[[], bool], timeout_s: float = 60.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")


@pytest.fixture
def prefix() -> str:
    """A topic prefix no other run (or engineer) uses."""
    return f"test.pipe.{uuid.uuid4().hex[:10]}"


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def base_config(prefix: str, bootstrap: str, *, source: dict[str, Any], resolver: Path | None = None,
                **sections: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kafka": {"bootstrap_servers": bootstrap, "topic_prefix": prefix, "producer": {"linger.ms": 5}},
        "topics": {"defaults": {"partitions": 3, "replication": 1}},
        "source": source,
        "iglu": {"resolver_config": str(resolver or EXAMPLES / "resolver.json")},
        "output": {"target": "kafka"},
        "delivery": {"commit_interval_s": 0.2, "drain_timeout_s": 20},
        "sidecar": {"host": "127.0.0.1", "port": 0, "log_format": "json"},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def sptk(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SPTK, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, **(env or {})})


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([*SPTK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, **(env or {})})


def post(url: str, body: bytes, timeout: float = 60) -> tuple[int, dict]:
    """POST ``body``; the status and the JSON answer, also for an error status."""
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(port: int, name: str) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def start_mid_stream(config: Path, port: int, records: int, *args: str,
                     env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``sptk pipeline run --config config``, returned once it has read ``records`` (seen on /metrics) or ended."""
    run = start("pipeline", "run", "--config", str(config), *args, env=env)
    wait_for(lambda: metric(port, "sptk_records_in_total") >= records or run.poll() is not None, 120,
             f"the run to read {records} records")
    return run
