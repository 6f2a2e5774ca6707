"""librdkafka's log lines of every client kind (producer, admin, consumer) against a closed port.

librdkafka retries a refused connection about twenty times a second and, left alone, writes each
failure to stderr as a raw ``%3|…|FAIL|…`` line. Every client the toolkit makes routes them through
Python logging instead, each kind of line (client, facility) at most once per interval. The child
process measures how long its clients lived; with interval I and span S, at most S / I + 1 lines of
a kind can pass, whatever the machine's speed.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
INTERVAL_S = 0.5

CHILD = r"""
import json, logging, sys, time
logging.basicConfig(format="LOG %(name)s %(message)s", level=logging.INFO)
from toolkit.kafka import DeliveryProducer, KafkaUnavailable, TrackedConsumer, admin_client, idempotent_producer
bootstrap = sys.argv[1]
started = time.monotonic()
pipeline = DeliveryProducer(bootstrap)
pipeline.produce("test.logs", b"v", size_checked=True)
tool = idempotent_producer(bootstrap)
tool.produce("test.logs", b"v")
admin = admin_client(bootstrap)
consumer = TrackedConsumer(bootstrap, "test-logs", ["test.logs"])
try:
    admin.list_topics(timeout=1)
except Exception:
    pass
while time.monotonic() - started < 3:
    pipeline.poll(0.1)
    tool.poll(0.1)
    admin.poll(0.1)
    consumer.poll(0.1)
tool.flush(0.5)
pipeline.flush(0.5)
consumer.close()
print(json.dumps({"span_s": time.monotonic() - started}))
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_every_client_routes_librdkafka_lines_through_logging_at_most_once_per_interval() -> None:
    bootstrap = f"127.0.0.1:{_closed_port()}"
    env = {**os.environ, "SPTK_KAFKA_LOG_INTERVAL_S": str(INTERVAL_S)}
    done = subprocess.run([sys.executable, "-c", CHILD, bootstrap], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    span_s = json.loads(done.stdout.strip().splitlines()[-1])["span_s"]
    lines = done.stderr.splitlines()
    raw = [line for line in lines if line.startswith("%")]
    assert not raw, f"{len(raw)} raw librdkafka lines reached stderr, e.g. {raw[:3]}"
    routed = [line.split(" ", 4) for line in lines if line.startswith("LOG sptk.librdkafka ")]
    kinds = Counter((parts[2], parts[3]) for parts in routed)  # (facility, [client])
    clients = {client for _, client in kinds}
    assert {c.split("#")[1].split("-")[0] for c in clients} >= {"producer", "consumer"}, kinds
    refused = [line for line in lines if "Connection refused" in line]
    assert refused, lines  # the one clear line per interval is there
    bound = math.floor(span_s / INTERVAL_S) + 1
    assert all(count <= bound for count in kinds.values()), (bound, kinds)
    # without the limit, these clients log ~20 refusals a second each: many times the bound
    assert len(routed) <= bound * len(kinds)
