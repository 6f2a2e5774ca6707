"""The pipeline's Prometheus metrics, in one registry object the pipeline updates.

Every family is named ``sptk_...`` with its unit in the name, so dashboards and
alerts can be written once for every deployment. The registry is private to the
object (not the library's global one), so tests and several pipelines in one
process never see each other's numbers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from toolkit.kafka import DeliveryReport, KafkaStats, PartitionLag

#: ``*_created`` series double the series count and no dashboard or alert reads them (process-wide switch)
disable_created_metrics()

CONTENT_TYPE = CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

#: Latency of one validation or one produce: sub-millisecond to seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Event age at output: a live stream is seconds old, a backfill days.
FRESHNESS_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)


class PipelineMetrics:
    """All metric families of a running pipeline; see docs/pipeline.md for what each means.

    One family per meaning: a stage's latency is ``sptk_stage_latency_seconds{stage}`` and nothing
    else, so a dashboard cannot disagree with an alert about which one to read.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)  # process_* (CPU, memory, open files): the library's, on our registry
        self.records_in = Counter("sptk_records_in", "Records read from the source.", ["source"], registry=r)
        self.records_out = Counter("sptk_records_out", "Messages confirmed by a delivery report, per output stream.",
                                   ["stream"], registry=r)
        self.bad_records = Counter("sptk_bad_records", "Records turned into bad rows, per bad-row type.", ["type"],
                                   registry=r)
        self.filtered_records = Counter("sptk_filtered_records", "Records kept out of a stream, per rule.",
                                        ["stream", "rule"], registry=r)
        self.consent_dropped = Counter("sptk_consent_dropped", "Events kept out of a stream by a consent rule "
                                       "(require_consent, consent_basis, honour_withdrawals, consent_scopes), per "
                                       "stream and rule; also counted in sptk_filtered_records.", ["stream", "rule"],
                                       registry=r)
        self.consent_records = Counter("sptk_consent_records", "Suppression records written to <prefix>.consent: "
                                       "'suppressed' (a restriction in force) or 'lifted' (consent granted again).",
                                       ["state"], registry=r)
        self.consent_users = Gauge("sptk_consent_suppressed_users", "Users with a consent restriction in force, held "
                                   "in memory (rebuilt from <prefix>.consent at start; bounded by consent.max_users).",
                                   registry=r)
        self.stage_latency = Histogram("sptk_stage_latency_seconds",
                                       "Time one record spends in a pipeline stage (decode, validate, route), "
                                       "measured on a sample of records.", ["stage"], buckets=LATENCY_BUCKETS,
                                       registry=r)
        self.produce_latency = Histogram("sptk_produce_latency_seconds",
                                         "Time from produce() to its delivery report, per output stream.",
                                         ["stream"], buckets=LATENCY_BUCKETS, registry=r)
        self.freshness = Histogram("sptk_freshness_seconds",
                                   "Age of every event (now - collector_tstamp) when it reaches a stream: "
                                   "'enriched' when the pipeline processes it, 'warehouse' when it is loaded.",
                                   ["stream"], buckets=FRESHNESS_BUCKETS, registry=r)
        self.consumer_lag = Gauge("sptk_consumer_lag",
                                  "Messages of the source topic not yet committed, per partition.",
                                  ["topic", "partition"], registry=r)
        self.registry_available = Gauge("sptk_registry_available",
                                        "1 while every Iglu repository answers (or none is configured), 0 when "
                                        "one does not; schemas already cached are still served.", registry=r)
        self.registry_available.set(1)
        self._registry_answers = True  # the sidecar's registry probes
        self._registry_held = False  # the validator holds a schema whose registry did not answer
        self.retries = Counter("sptk_retries", "Retries: 'delivery' (a message produced again after a failed "
                               "delivery report), 'registry' (a schema lookup asked again).", ["what"], registry=r)
        self.volume_anomaly_score = Gauge("sptk_volume_anomaly_score",
                                          "How far this window's record count is from the same hour of the week "
                                          "(robust z-score: negative is a drop, positive a spike; 0 until enough "
                                          "history is held).", ["stream"], registry=r)
        self.kafka_rtt = Gauge("sptk_kafka_broker_rtt_seconds", "librdkafka: average broker round trip.",
                               ["client", "broker"], registry=r)
        self.kafka_queue = Gauge("sptk_kafka_queue_messages",
                                 "librdkafka: messages in the client's queues (producer: awaiting delivery).",
                                 ["client"], registry=r)
        self.kafka_retries = Gauge("sptk_kafka_request_retries", "librdkafka: requests retried since the client "
                                   "started (summed over brokers).", ["client"], registry=r)
        self.kafka_errors = Gauge("sptk_kafka_request_errors", "librdkafka: transmit and receive errors since "
                                  "the client started (summed over brokers).", ["client"], registry=r)
        self.load_latency = Histogram("sptk_warehouse_load_latency_seconds",
                                      "Time to load one batch into the warehouse (kafka-load).",
                                      buckets=LATENCY_BUCKETS, registry=r)
        self.registry_lookups = Counter("sptk_registry_cache_lookups", "Schema lookups, by cache result.",
                                        ["result"], registry=r)
        self.registry_hit_ratio = Gauge("sptk_registry_cache_hit_ratio",
                                        "Share of schema lookups served from the cache since start.", registry=r)
        self.producer_queue = Gauge("sptk_producer_queue_messages",
                                    "Messages in the producer queue awaiting a delivery report.", registry=r)
        self.in_flight = Gauge("sptk_in_flight_records", "Source records read and not yet fully confirmed.",
                               registry=r)
        self.delivery_errors = Counter("sptk_delivery_errors", "Failed delivery reports (each is retried), per "
                                       "output stream.", ["stream"], registry=r)
        self.invalid_records = Counter("sptk_invalid_records", "Records that broke a schema (permanent schema "
                                       "violations), per app_id and the first schema they broke.",
                                       ["app_id", "schema"], registry=r)
        self.deprecated_events = Counter("sptk_deprecated_schema_events", "Events whose schema the governance file "
                                         "deprecates (including those sent to bad past its sunset), per schema.",
                                         ["schema"], registry=r)
        self.stream_diverted = Gauge("sptk_stream_diverted", "1 while a derived stream is diverted to the bad stream "
                                     "(its failure budget was spent), else 0.", ["stream"], registry=r)
        self.diverted_records = Counter("sptk_diverted_records", "Derived messages written to the bad stream as "
                                        "retryable bad rows because their stream was diverted.", ["stream"], registry=r)
        self.quarantined = Counter("sptk_quarantined_records", "Bad rows quarantined because the registry could not "
                                   "answer; a replay runs them again.", registry=r)
        self.ready = Gauge("sptk_ready", "1 when /readyz would answer 200 (every probe passes, not draining).",
                           registry=r)
        self.draining = Gauge("sptk_draining", "1 while the pipeline drains after SIGTERM/SIGINT.", registry=r)
        self.build = Info("sptk_build", "Toolkit version and config hash of this pipeline.", registry=r)
        self._hits = 0
        self._lookups = 0
        self._lag_labels: set[tuple[str, str]] = set()

    # -- helpers the pipeline calls --------------------------------------------------------

    def set_build(self, version: str, config_hash: str) -> None:
        self.build.info({"version": version, "config_hash": config_hash})

    def observe_delivery(self, report: DeliveryReport, stream: str) -> None:
        """Count a confirmed message and its produce latency (failed reports only add latency nowhere)."""
        if report.error is not None:
            return
        self.records_out.labels(stream=stream).inc()
        if report.latency_s is not None:
            self.produce_latency.labels(stream=stream).observe(report.latency_s)

    def observe_freshness(self, collector_tstamp: datetime, stream: str, now: float | None = None) -> None:
        ts = collector_tstamp if collector_tstamp.tzinfo else collector_tstamp.replace(tzinfo=UTC)
        self.freshness.labels(stream=stream).observe(max(0.0, (now if now is not None else time.time())
                                                         - ts.timestamp()))

    def observe_stamps(self, stamps: Iterable[str], stream: str, now: float | None = None) -> None:
        """One freshness observation per record, from its ``collector_tstamp`` text (TSV or ISO 8601).

        Records of one batch often share a stamp, so each distinct stamp is parsed once; a stamp
        that is not a date (the contract rejected it already) is skipped.
        """
        now = time.time() if now is None else now
        child = self.freshness.labels(stream=stream)
        ages: dict[str, float | None] = {}
        for text in stamps:
            age = ages.get(text, 0.0)
            if age == 0.0:
                age = ages[text] = _age(text, now)
            if age is not None:
                child.observe(age)

    def registry_state(self, *, answers: bool | None = None, held: bool | None = None) -> None:
        """``sptk_registry_available`` is 1 only while the probes reach every registry and no schema is held."""
        if answers is not None:
            self._registry_answers = answers
        if held is not None:
            self._registry_held = held
        self.registry_available.set(int(self._registry_answers and not self._registry_held))

    def observe_kafka_stats(self, stats: KafkaStats) -> None:
        """librdkafka's statistics callback: the gauges of one client."""
        client = stats.client
        for broker, rtt_s in stats.rtt_s.items():
            self.kafka_rtt.labels(client=client, broker=broker).set(rtt_s)
        self.kafka_queue.labels(client=client).set(stats.queue_messages)
        self.kafka_retries.labels(client=client).set(stats.retries)
        self.kafka_errors.labels(client=client).set(stats.errors)

    def registry_lookup(self, hit: bool) -> None:
        self.registry_lookups_add(int(hit), int(not hit))

    def registry_lookups_add(self, hits: int, misses: int) -> None:
        """Count many lookups at once (the pipeline reports per batch, not per entity)."""
        if hits:
            self.registry_lookups.labels(result="hit").inc(hits)
        if misses:
            self.registry_lookups.labels(result="miss").inc(misses)
        self._lookups += hits + misses
        self._hits += hits
        if self._lookups:
            self.registry_hit_ratio.set(self._hits / self._lookups)

    def set_lag(self, lags: Iterable[PartitionLag]) -> None:
        """Replace the lag gauges with the current assignment (revoked partitions disappear)."""
        seen = set()
        for lag in lags:
            labels = (lag.topic, str(lag.partition))
            self.consumer_lag.labels(*labels).set(lag.lag)
            seen.add(labels)
        for labels in self._lag_labels - seen:
            self.consumer_lag.remove(*labels)
        self._lag_labels = seen

    def exposition(self) -> bytes:
        """The Prometheus text format of every family."""
        return generate_latest(self.registry)


def _age(text: str, now: float) -> float | None:
    """Seconds since a ``collector_tstamp`` (``None`` for text that is no date ``datetime`` can hold)."""
    try:
        moment = datetime.fromisoformat(text[:26].rstrip("Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, now - moment.timestamp())


class LagObserver:
    """``sptk_consumer_lag`` for a consumer that asks the broker for watermarks: every ``interval_s`` at most.

    The lag is an observation: a broker that does not answer is logged at debug level, never raised.
    """

    def __init__(self, metrics: PipelineMetrics | None, lag: Callable[[], Iterable[PartitionLag]],
                 interval_s: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.metrics = metrics
        self._lag = lag
        self.interval_s = interval_s
        self._clock = clock
        self._next = 0.0

    def __call__(self, force: bool = False) -> None:
        now = self._clock()
        if self.metrics is None or (not force and now < self._next):
            return
        self._next = now + self.interval_s
        try:
            self.metrics.set_lag(self._lag())
        except Exception as exc:  # never stop the work for an observation
            log.debug("consumer lag unavailable: %s", exc)
