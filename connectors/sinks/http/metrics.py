"""The HTTP sink's Prometheus families, on the sidecar's registry beside ``sptk_records_in`` and the lag.

Each is labelled by ``sink`` so one Prometheus can scrape several sinks and tell them apart; the
accounting a dashboard checks is ``records in = delivered + dead-lettered`` (plus what is in flight).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from connectors.sidecar.metrics import LATENCY_BUCKETS

#: events per request: one to a few thousand
BATCH_EVENT_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
#: body bytes per request: a few hundred bytes to a few megabytes
BATCH_BYTE_BUCKETS = (512, 2048, 8192, 32768, 131072, 524288, 2097152, 8388608)


class HttpSinkMetrics:
    def __init__(self, registry: CollectorRegistry, sink: str) -> None:
        self.sink = sink
        r = registry
        self._requests = Counter("sptk_sink_http_requests", "HTTP requests by outcome: the status code, or "
                                 "'timeout'/'connection' when no answer came.", ["sink", "status"], registry=r)
        self._retries = Counter("sptk_sink_http_retries", "Requests sent again after a retryable failure.",
                                ["sink"], registry=r)
        self._delivered = Counter("sptk_sink_http_delivered_records", "Records the endpoint accepted (a 2xx).",
                                  ["sink"], registry=r)
        self._dead_letters = Counter("sptk_sink_http_dead_letter_records", "Records written to the dead-letter topic, "
                                     "by reason.", ["sink", "reason"], registry=r)
        self._abandoned = Counter("sptk_sink_http_abandoned_batches", "Batches given up unsent at a drain deadline "
                                  "(not committed: read again after the restart).", ["sink"], registry=r)
        self._latency = Histogram("sptk_sink_http_request_latency_seconds", "Time of one HTTP request.", ["sink"],
                                  buckets=LATENCY_BUCKETS, registry=r)
        self._batch_events = Histogram("sptk_sink_http_batch_events", "Events per request.", ["sink"],
                                       buckets=BATCH_EVENT_BUCKETS, registry=r)
        self._batch_bytes = Histogram("sptk_sink_http_batch_bytes", "Body bytes per request.", ["sink"],
                                      buckets=BATCH_BYTE_BUCKETS, registry=r)

    def request(self, status: str, latency_s: float) -> None:
        self._requests.labels(sink=self.sink, status=status).inc()
        self._latency.labels(sink=self.sink).observe(latency_s)

    def retry(self) -> None:
        self._retries.labels(sink=self.sink).inc()

    def batch(self, events: int, size_bytes: int) -> None:
        self._batch_events.labels(sink=self.sink).observe(events)
        self._batch_bytes.labels(sink=self.sink).observe(size_bytes)

    def delivered(self, records: int) -> None:
        self._delivered.labels(sink=self.sink).inc(records)

    def dead_lettered(self, reason: str, records: int) -> None:
        self._dead_letters.labels(sink=self.sink, reason=reason).inc(records)

    def abandoned(self) -> None:
        self._abandoned.labels(sink=self.sink).inc()
