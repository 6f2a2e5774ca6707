"""Building and running one HTTP sink from its config: consumer, dead-letter producer, client, sidecar.

Start-up fails before anything is read when the dead-letter topic cannot be had, because a sink
that could not dead-letter would have to either block its partitions or drop records.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from connectors.sidecar import Sidecar, kafka_probe
from connectors.sinks.http.client import HttpClient
from connectors.sinks.http.config import HttpSinkConfig
from connectors.sinks.http.metrics import HttpSinkMetrics
from connectors.sinks.http.sink import HttpSink, SinkReport
from toolkit.kafka import DeliveryProducer, KafkaUnavailable, TrackedConsumer, create_topics, stats_settings
from toolkit.kafka.admin import describe_topics

log = logging.getLogger(__name__)

#: librdkafka leaves the group when ``poll`` is not called for this long; a batch's retries must fit inside it
MAX_POLL_INTERVAL = "max.poll.interval.ms"


class SinkStartupError(RuntimeError):
    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class SinkRun:
    code: int
    report: SinkReport
    port: int


def consumer_settings(cfg: HttpSinkConfig) -> dict[str, object]:
    """The consumer's settings: a batch that retries for its whole budget must not cost the group membership."""
    settings: dict[str, object] = dict(cfg.kafka.consumer_settings())
    needed_ms = int((cfg.retry.max_elapsed_s + 2 * cfg.http.timeout_s + cfg.batch.linger_s + 60) * 1000)
    settings.setdefault(MAX_POLL_INTERVAL, max(300_000, needed_ms))
    return settings


def ensure_dead_letter_topic(cfg: HttpSinkConfig) -> None:
    bootstrap = cfg.kafka.bootstrap_servers
    try:
        state = describe_topics(bootstrap, [cfg.dead_letter_topic, *cfg.sink.topics], cfg.kafka.admin_settings())
    except KafkaUnavailable as exc:
        raise SinkStartupError(str(exc), retryable=True) from None
    missing = [t for t in cfg.sink.topics if state.get(t) is None]
    if missing:
        raise SinkStartupError(f"topic {', '.join(missing)} does not exist on {bootstrap}; [sink] topics names what "
                               "the sink reads", retryable=False)
    if state.get(cfg.dead_letter_topic) is None:
        partitions = max(s.partitions for t, s in state.items() if s is not None and t in cfg.sink.topics)
        log.info("creating the dead-letter topic %s (%d partitions)", cfg.dead_letter_topic, partitions)
        create_topics(bootstrap, [cfg.dead_letter_topic], partitions=partitions)


def run_sink(cfg: HttpSinkConfig, *, until_caught_up: bool = False, announce: object = None) -> SinkRun:
    """Run until stopped (SIGTERM/SIGINT drain) or, with ``until_caught_up``, until every partition is delivered."""
    ensure_dead_letter_topic(cfg)
    sidecar = Sidecar(cfg.sidecar.host, cfg.sidecar.port, drain_timeout_s=cfg.sink.drain_timeout_s,
                      limits=cfg.sidecar.limits,
                      probes={"kafka": kafka_probe(cfg.kafka.bootstrap_servers, cfg.kafka.admin_settings())})
    sidecar.bind()
    port = sidecar.port
    metrics = HttpSinkMetrics(sidecar.metrics.registry, cfg.sink.name)
    consumer = TrackedConsumer(cfg.kafka.bootstrap_servers, cfg.group_id, list(cfg.sink.topics),
                               {**consumer_settings(cfg), **stats_settings(sidecar.metrics.observe_kafka_stats)})
    producer = DeliveryProducer(cfg.kafka.bootstrap_servers, cfg.kafka.producer_settings())
    client = HttpClient(cfg.http, cfg.retry, cfg.rate_limit, metrics=metrics)
    sink = HttpSink(cfg, consumer, producer, client, metrics=metrics, pipeline_metrics=sidecar.metrics,
                    until_caught_up=until_caught_up)
    sidecar.on_drain(sink.begin_drain)
    if callable(announce):
        announce(port)
    try:
        code = sidecar.run(sink)
    finally:
        client.close()
        consumer.close()
        producer.flush(10.0)
    return SinkRun(code, sink.report, port)
