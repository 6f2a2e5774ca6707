"""The pipeline's Prometheus metrics, in one registry object the pipeline updates.

Every family is named ``sptk_...`` with its unit in the name, so dashboards and
alerts can be written once for every deployment. The registry is private to the
object (not the library's global one), so tests and several pipelines in one
process never see each other's numbers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from toolkit.kafka import DeliveryReport, PartitionLag

CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Latency of one validation or one produce: sub-millisecond to seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Event age at output: a live stream is seconds old, a backfill days.
FRESHNESS_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)


class PipelineMetrics:
    """All metric families of a running pipeline; see docs/pipeline.md for what each means."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records_in = Counter("sptk_records_in", "Records read from the source.", ["source"], registry=r)
        self.records_out = Counter("sptk_records_out", "Messages confirmed by a delivery report, per output stream.",
                                   ["stream"], registry=r)
        self.bad_records = Counter("sptk_bad_records", "Records turned into bad rows, per bad-row type.", ["type"],
                                   registry=r)
        self.filtered_records = Counter("sptk_filtered_records", "Records kept out of a stream, per rule.",
                                        ["stream", "rule"], registry=r)
        self.validation_latency = Histogram("sptk_validation_latency_seconds", "Time to validate one event.",
                                            buckets=LATENCY_BUCKETS, registry=r)
        self.stage_latency = Histogram("sptk_stage_latency_seconds",
                                       "Time one record spends in a pipeline stage (decode, validate, route), "
                                       "measured on a sample of records.", ["stage"], buckets=LATENCY_BUCKETS,
                                       registry=r)
        self.produce_latency = Histogram("sptk_produce_latency_seconds",
                                         "Time from produce() to its delivery report, per output stream.",
                                         ["stream"], buckets=LATENCY_BUCKETS, registry=r)
        self.freshness = Histogram("sptk_event_freshness_seconds",
                                   "Age of an event when it is produced (now - collector_tstamp).",
                                   buckets=FRESHNESS_BUCKETS, registry=r)
        self.consumer_lag = Gauge("sptk_consumer_lag_messages",
                                  "Messages of the source topic not yet committed, per partition.",
                                  ["topic", "partition"], registry=r)
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

    def observe_freshness(self, collector_tstamp: datetime, now: float | None = None) -> None:
        ts = collector_tstamp if collector_tstamp.tzinfo else collector_tstamp.replace(tzinfo=UTC)
        self.freshness.observe(max(0.0, (now if now is not None else time.time()) - ts.timestamp()))

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
