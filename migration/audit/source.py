"""What ``sptk audit`` reads: any source ``sptk reconcile`` reads, or a Kafka topic read to its end at start.

``kafka:BOOTSTRAP/TOPIC[?bad=TOPIC]`` reads every partition from its first offset up to the end offsets the
broker gives when the audit starts (what arrives later is left for the next audit), with no consumer group and
nothing committed (:class:`connectors.sources.kafka_range.KafkaRangeSource`). Messages are enriched TSV or
canonical JSON, loaded in bounded batches by the Kafka path's own loader into a temporary DuckDB table; one that
is neither becomes a bad row (``loader_parsing_error``) with its reason, as ``migrate kafka-load`` records it.
A ``bad=`` topic's messages are Snowplow bad rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from connectors.warehouse.loader import Dedup, Warehouse
from migration.reconcile.workspace import Side, SourceFailed
from migration.sources import BadSource, open_loaded, open_source, parse_source

#: messages read and loaded at a time: the memory a Kafka audit holds in Python
BATCH = 5000
#: how long one poll waits for the broker
POLL_S = 1.0
#: the sql: warehouses whose events the embedded DuckDB can read (attached, or streamed from PostgreSQL)
AUDITED_WAREHOUSES = ("duckdb", "postgresql", "postgres")


@dataclass(frozen=True, slots=True)
class KafkaTopic:
    bootstrap: str
    topic: str
    bad_topic: str | None = None

    def __str__(self) -> str:
        return f"kafka:{self.bootstrap}/{self.topic}" + (f"?bad={self.bad_topic}" if self.bad_topic else "")


def parse_kafka(text: str) -> KafkaTopic:
    rest = text.removeprefix("kafka:")
    rest, _, query = rest.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(params) - {"bad"})
    if unknown:
        raise BadSource(f"{text}: unknown parameter(s) {', '.join(unknown)}; a kafka: source takes bad=TOPIC")
    bootstrap, slash, topic = rest.rpartition("/")
    if not slash or not bootstrap or not topic:
        raise BadSource(f"{text}: expected kafka:BOOTSTRAP/TOPIC, e.g. kafka:127.0.0.1:9092/prod.acme.enriched")
    return KafkaTopic(bootstrap, topic, params.get("bad") or None)


class _Range:
    """A :class:`KafkaRangeSource` as the Kafka loader's batch source: nothing to commit, and it ends by itself."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.description = source.description

    def ack(self, position: Any) -> None:
        pass

    def commit(self) -> dict[str, int]:
        return {}

    def lag(self) -> list[Any]:
        return []


def load_topic(topic: KafkaTopic, on_step: Callable[[str], None]) -> Callable[[Warehouse], None]:
    """What fills the staging warehouse with the topic, read up to its end offsets at start."""

    def fill(warehouse: Warehouse) -> None:
        from connectors.sources.kafka_range import KafkaRangeSource
        from migration.kafka_load import KafkaLoader
        from toolkit.kafka import KafkaConfigError, KafkaUnavailable
        from toolkit.kafka.ranges import RangeBounds, RangeError

        topics = [topic.topic] + ([topic.bad_topic] if topic.bad_topic else [])
        try:
            source = KafkaRangeSource(topic.bootstrap, topics, RangeBounds())
        except (RangeError, KafkaConfigError, KafkaUnavailable) as exc:
            raise SourceFailed(f"{topic}: {exc}") from exc
        try:
            on_step(f"reading {source.description}")
            loader = KafkaLoader(_Range(source), warehouse, bad_topics=topics[1:],  # type: ignore[arg-type]
                                 dedup=Dedup.NONE, batch_size=BATCH)
            while not source.finished:
                records = source.read(BATCH, POLL_S)
                if records:
                    loader.load(records)
        except KafkaUnavailable as exc:
            raise SourceFailed(f"{topic}: {exc}") from exc
        finally:
            source.close()

    return fill


@contextmanager
def open_audited(text: str, memory_limit: str = "1GB",
                 on_step: Callable[[str], None] = lambda step: None) -> Iterator[tuple[Any, Side]]:
    """The source as ``(backend, side)`` in the embedded DuckDB; BadSource for a usage error, SourceFailed when
    it cannot be read."""
    if text.startswith("kafka:"):
        topic = parse_kafka(text)
        with open_loaded(str(topic), load_topic(topic, on_step), memory_limit) as opened:
            yield opened
        return
    spec = parse_source(text)
    if spec.sql is not None and spec.sql.backend_name not in AUDITED_WAREHOUSES:
        raise BadSource(f"{spec}: the audit reads a sql: source that is a DuckDB file or PostgreSQL; its SQL does "
                        f"not run inside {spec.sql.backend_name} yet (export the events to Parquet and audit "
                        f"parquet:PATH instead)")
    on_step(f"reading {spec}")
    with open_source(spec, memory_limit) as opened:
        yield opened
