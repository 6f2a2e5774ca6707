"""librdkafka's repeated log lines: one per client and facility per interval, with a count of the rest."""

from __future__ import annotations

import logging

from toolkit.kafka.client_logs import OncePerInterval


def _record(facility: str, client: str, text: str) -> logging.LogRecord:
    return logging.LogRecord("sptk.librdkafka", logging.ERROR, "", 0, "%s [%s] %s", (facility, client, text), None)


def test_a_repeated_kind_of_line_passes_once_per_interval_and_then_says_how_many_were_held() -> None:
    now = [0.0]
    limiter = OncePerInterval(10.0, clock=lambda: now[0])
    refused = "Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT)"
    passed = []
    for _ in range(200):  # twenty a second for ten seconds
        record = _record("FAIL", "rdkafka#consumer-1", refused)
        if limiter.filter(record):
            passed.append(record.getMessage())
        now[0] += 0.05
    other = _record("FAIL", "rdkafka#consumer-2", refused)  # another client: its own line
    assert limiter.filter(other)
    now[0] += 0.1
    last = _record("FAIL", "rdkafka#consumer-1", refused)
    assert limiter.filter(last)
    assert passed == [f"FAIL [rdkafka#consumer-1] {refused}"]
    assert last.getMessage().endswith("(199 more like it in the last 10 s not shown)")
