"""librdkafka's statistics (``statistics.interval.ms``), reduced to the few numbers an operator watches.

librdkafka emits one JSON document per interval from inside ``poll()``; it holds hundreds of
fields per broker and partition. The sidecar exports four of them (round trip, queue depth,
retries, errors), and the parsing lives here, next to the client settings, so the rest of the
code never sees librdkafka's field names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

log = logging.getLogger(__name__)

#: how often librdkafka reports: often enough for a 15 s scrape, rare enough to cost nothing
DEFAULT_INTERVAL_MS = 5000


@dataclass(frozen=True, slots=True)
class KafkaStats:
    client: str  # "producer" or "consumer"
    rtt_s: dict[str, float] = field(default_factory=dict)  # broker name -> average round trip
    queue_messages: int = 0
    retries: int = 0
    errors: int = 0


def parse_stats(text: str | bytes) -> KafkaStats:
    """The numbers we export from one statistics document (brokers that never connected have no round trip)."""
    doc: dict[str, Any] = orjson.loads(text)
    rtt: dict[str, float] = {}
    retries = errors = 0
    for name, broker in (doc.get("brokers") or {}).items():
        if broker.get("nodeid", -1) < 0:  # the bootstrap placeholder: its numbers repeat a real broker's
            continue
        avg = (broker.get("rtt") or {}).get("avg", 0)
        if avg:
            rtt[name] = avg / 1_000_000  # microseconds
        retries += int(broker.get("txretries", 0))
        errors += int(broker.get("txerrs", 0)) + int(broker.get("rxerrs", 0))
    return KafkaStats(str(doc.get("type", "client")), rtt, int(doc.get("msg_cnt", 0)), retries, errors)


def stats_settings(on_stats: Callable[[KafkaStats], None],
                   interval_ms: int = DEFAULT_INTERVAL_MS) -> dict[str, Any]:
    """Client settings that make librdkafka report every ``interval_ms`` to ``on_stats``.

    A document that cannot be read is logged and skipped: statistics are an observation and
    must never stop a client.
    """

    def callback(text: str) -> None:
        try:
            stats = parse_stats(text)
        except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError) as exc:
            log.debug("librdkafka statistics unreadable: %s", exc)
            return
        on_stats(stats)

    return {"statistics.interval.ms": interval_ms, "stats_cb": callback}
