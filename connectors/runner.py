"""The pipeline's I/O loop: source -> process -> outputs, and back to the source once delivery is confirmed.

:class:`PipelineRunner` reads records, hands each to a pure ``handle`` function
(:meth:`toolkit.pipeline.fanout.Pipeline.process`, or ``replay`` for ``replay-bad``), registers the
record's outputs with the :class:`~toolkit.pipeline.delivery.DeliveryTracker`, gives them to the outputs
(Kafka or files) and acknowledges to the source only what the tracker says is confirmed: a
record's position is acknowledged once every output of it, and of every record before it in
its source partition, has a delivery report. Reading pauses at ``delivery.max_in_flight``
unconfirmed records (and librdkafka's full queue is served by polling), so memory stays
bounded whatever the input size.

It implements the sidecar's ``Drainable``: ``run(stop)`` processes until the input ends or a
drain starts (records already buffered, such as accepted HTTP batches, are still processed),
and ``drain(timeout_s)`` flushes, acknowledges, commits and closes within the deadline.

Metrics are counted in plain integers on the hot path and published to Prometheus a few
times a second, so observing the pipeline does not slow it down.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from connectors.sidecar.metrics import PipelineMetrics
from connectors.sidecar.volume import LiveVolume
from connectors.sources.base import Position, Record
from toolkit.kafka import DeliveryFailed, DeliveryProducer, DeliveryReport, TransactionAborted
from toolkit.pipeline.consent import consent_rule
from toolkit.pipeline.delivery import DeliveryTracker
from toolkit.pipeline.diversion import Diversion
from toolkit.pipeline.outcomes import Outcome, Output

log = logging.getLogger(__name__)

RecordRef = tuple[str, Position]
Handler = Callable[[Record], Outcome]

#: Prometheus families are refreshed at most this often (and at the end of the run)
METRICS_INTERVAL_S = 0.5
#: consumer lag asks the broker for watermarks: not on every refresh
LAG_INTERVAL_S = 5.0
#: the cyclic GC's first-generation threshold while the loop runs (Python's default is 700)
GC_THRESHOLD = 50_000


@contextmanager
def quiet_gc() -> Iterator[None]:
    """While the loop runs: what start-up built out of the GC's sight, the young generation collected less often.

    Every record allocates a few hundred containers (decoded JSON, outputs) that reference
    counting frees at once; they hold no cycles, yet at Python's default threshold they start
    a collection every few records, each scanning the schemas, validators and config built
    at start-up. That cost about 4% of the pipeline's CPU. Frozen objects are never scanned;
    cycles, if any appear, are still collected, only in larger batches. Both settings are
    process-wide, so they are put back when the loop ends (the pipeline also runs inside
    other commands, such as ``sptk migrate shadow``).
    """
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


class Outputs(Protocol):
    """Where messages go: Kafka (:class:`KafkaOutputs`) or files (:class:`connectors.sinks.files.FilesOutputs`)."""

    def send(self, outs: Sequence[Output], record: RecordRef) -> None:
        """Queue every message of one record; each confirmation is reported to the tracker as one of its outputs."""
        ...

    def poll(self, timeout_s: float) -> None:
        """Serve confirmations (raise if delivery cannot continue)."""
        ...

    def flush(self, timeout_s: float) -> int:
        """Wait for every queued message; return how many are still unconfirmed."""
        ...

    def delivered(self) -> dict[str, int]:
        """Confirmed messages per stream since the start."""
        ...

    @property
    def queue_depth(self) -> int: ...

    def close(self, summary: dict[str, Any]) -> None: ...


class KafkaOutputs:
    """Produce through a :class:`~toolkit.kafka.DeliveryProducer` (idempotent, ``acks=all``, tracker-fed)."""

    def __init__(self, producer: DeliveryProducer, streams: dict[str, str]) -> None:
        self.producer = producer
        self._stream_of = {topic: stream for stream, topic in streams.items()}
        #: the pipeline compared every message with the producer's own topic limits already
        self.send = producer.produce_record

    def poll(self, timeout_s: float) -> None:
        self.producer.poll(timeout_s)

    def flush(self, timeout_s: float) -> int:
        return self.producer.flush(timeout_s)

    def delivered(self) -> dict[str, int]:
        return {self._stream_of.get(t, t): n for t, n in list(self.producer.delivered_by_topic.items())}

    @property
    def queue_depth(self) -> int:
        return self.producer.queue_depth

    @property
    def resent(self) -> int:
        """Messages produced again after a failed delivery report."""
        return self.producer.resent_count

    def close(self, summary: dict[str, Any]) -> None:
        return None


class DiscardOutputs:
    """Confirm every message at once and write it nowhere: ``sptk micro`` without ``--output`` keeps what it shows in
    memory (through ``build(observe=...)``), and a tracker's ``200`` must not wait for a broker it does not use."""

    def __init__(self, tracker: DeliveryTracker) -> None:
        self.tracker = tracker
        self._counts: Counter[str] = Counter()

    def send(self, outs: Sequence[Output], record: RecordRef) -> None:
        for out in outs:
            self._counts[out.stream] += 1
            self.tracker.delivered(*record)

    def poll(self, timeout_s: float) -> None:
        return None

    def flush(self, timeout_s: float) -> int:
        return 0

    def delivered(self) -> dict[str, int]:
        return dict(self._counts)

    @property
    def queue_depth(self) -> int:
        return 0

    def close(self, summary: dict[str, Any]) -> None:
        return None


#: distinct (app_id, schema) label pairs a run exports: app_id comes from senders, so it is bounded
MAX_INVALID_KEYS = 500
OTHER_INVALID = ("other", "other")


@dataclass
class RunSummary:
    """What a run did, counted when records are processed: ``in = enriched + filtered + bad (+ skipped)``."""

    records_in: int = 0
    enriched: int = 0
    filtered: int = 0
    bad: int = 0
    skipped: int = 0
    quarantined: int = 0
    #: replay-bad: diverted derived messages written back into their stream
    restored: int = 0
    derived: Counter[str] = field(default_factory=Counter)
    bad_types: Counter[str] = field(default_factory=Counter)
    #: (stream, rule) -> records kept out of that stream by that rule
    rules: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (app_id, schema) -> permanent schema violations; past MAX_INVALID_KEYS pairs, under ("other", "other")
    invalid: Counter[tuple[str, str]] = field(default_factory=Counter)

    def count(self, outcome: Outcome) -> None:
        kind = outcome.kind
        self.records_in += 1
        if kind == "enriched":
            self.enriched += 1
        elif kind == "bad":
            self.bad += 1
            self.bad_types[outcome.bad_type] += 1  # type: ignore[union-attr]
            if outcome.quarantined:  # type: ignore[union-attr]
                self.quarantined += 1
            violated = outcome.violated  # type: ignore[union-attr]
            if violated is not None:
                known = violated in self.invalid or len(self.invalid) < MAX_INVALID_KEYS
                self.invalid[violated if known else OTHER_INVALID] += 1
            return
        elif kind == "filtered":
            self.filtered += 1
            self.rules[("enriched", outcome.rule)] += 1  # type: ignore[union-attr]
        elif kind == "restored":
            self.restored += 1
            return
        else:
            self.skipped += 1
            return
        for name in outcome.derived:
            self.derived[name] += 1
        for stream, rule in outcome.filtered:
            self.rules[(stream, rule)] += 1

    def add(self, other: RunSummary) -> None:
        """Add what ``other`` counted (a committed transaction's records), field by field."""
        for f in fields(self):
            mine = getattr(self, f.name)
            if isinstance(mine, Counter):
                mine.update(getattr(other, f.name))
            else:
                setattr(self, f.name, mine + getattr(other, f.name))

    def clear(self) -> None:
        for f in fields(self):
            mine = getattr(self, f.name)
            if isinstance(mine, Counter):
                mine.clear()
            else:
                setattr(self, f.name, 0)

    def to_dict(self) -> dict[str, Any]:
        """``{"in", "enriched", "bad", "filtered", "derived": {name: N}}`` and the detail behind them."""
        out: dict[str, Any] = {
               "in": self.records_in, "enriched": self.enriched, "bad": self.bad, "filtered": self.filtered,
               "derived": dict(sorted(self.derived.items())), "skipped": self.skipped,
               "quarantined": self.quarantined, "bad_by_type": dict(sorted(self.bad_types.items())),
               "filtered_by_rule": {f"{s}: {r}": n for (s, r), n in sorted(self.rules.items())}}
        if self.restored:  # replay-bad of diverted rows only, so other runs' summaries keep their shape
            out["restored"] = self.restored
        return out


class PipelineRunner:
    """Source -> ``handle`` -> outputs, acknowledging confirmed positions; the sidecar's ``Drainable``."""

    def __init__(self, source: Any, handle: Handler, outputs: Outputs, tracker: DeliveryTracker, *,
                 metrics: PipelineMetrics | None = None, source_label: str = "source", batch_size: int = 500,
                 read_timeout_s: float = 0.2, pipeline: Any = None, transactional: bool = False,
                 commit_interval_s: float = 1.0, only: frozenset[str] | None = None,
                 clock: Callable[[], float] = time.monotonic, diversion: Diversion | None = None) -> None:
        self.source = source
        #: the derived streams' failure budgets (Kafka outputs only): their messages may be diverted to bad
        self.diversion = diversion
        #: write only these streams (rebuilding one stream from a replay); None writes every stream
        self.only = only
        self.handle = handle
        self.outputs = outputs
        self.tracker = tracker
        self.metrics = metrics
        self.source_label = source_label
        self.batch_size = batch_size
        self.read_timeout_s = read_timeout_s
        self.pipeline = pipeline  # the toolkit Pipeline, for its sampled timings and validator counts
        if pipeline is not None:
            pipeline.collect_freshness = metrics is not None
        self.transactional = transactional
        self.commit_interval_s = commit_interval_s
        self._clock = clock
        self.summary = RunSummary()
        #: transactions: what the open transaction processed, added to ``summary`` when it commits
        #: (an aborted one is read again, and must not be counted twice)
        self._uncommitted = RunSummary()
        self._counts = self._uncommitted if transactional else self.summary
        self._acked: dict[str, Position] = {}
        self._stopping = False
        self._closed = False
        self._published = _Published()
        #: records read per hour against the same hour of the week: ``sptk_volume_anomaly_score``
        self.volume = LiveVolume()
        self._next_metrics = 0.0
        self._next_lag = 0.0
        self._next_commit = clock() + commit_interval_s
        self.failed: BaseException | None = None

    # -- the loop ------------------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Process until the input ends, or ``stop`` is set and what is already buffered is processed."""
        if self.transactional:
            self._producer().begin_transaction()
        tracker, outputs, source = self.tracker, self.outputs, self.source
        try:
            with quiet_gc():
                while True:
                    if stop.is_set() and not self._stopping:
                        self._stopping = True
                        source.stop()
                    if source.finished:
                        break
                    room = tracker.max_in_flight - tracker.in_flight
                    if room <= 0:  # backpressure: wait for confirmations rather than read more
                        outputs.poll(0.05)
                        self._ack()
                        self._housekeeping()
                        continue
                    records = source.read(min(self.batch_size, room), self.read_timeout_s)
                    for record in records:
                        self._one(record)
                    outputs.poll(0)
                    self._ack()
                    self._housekeeping()
        except BaseException as exc:
            self.failed = exc
            raise
        finally:
            self._publish()

    def _one(self, record: Record) -> None:
        outcome = self.handle(record)
        position = record.position
        partition = position.partition
        outs = outcome.outputs
        if self.only is not None:
            outs = [o for o in outs if o.stream in self.only]
        diversion = self.diversion
        if diversion is None:
            self.tracker.track(partition, position, len(outs))
            if outs:
                self.outputs.send(outs, (partition, position))
        else:
            line = outcome.line
            outs = diversion.route(outs, line)
            self.tracker.track(partition, position, len(outs))
            if outs:
                self._producer().produce_record(outs, (partition, position), line)
        self._counts.count(outcome)

    def _ack(self) -> None:
        acked = self._acked
        for partition, position in self.tracker.committable().items():
            if acked.get(partition) is not position:
                acked[partition] = position
                self.source.ack(position)

    def _producer(self) -> DeliveryProducer:
        if not isinstance(self.outputs, KafkaOutputs):
            raise RuntimeError("transactions need Kafka outputs")
        return self.outputs.producer

    def _housekeeping(self) -> None:
        now = self._clock()
        if self.transactional and now >= self._next_commit:
            self._commit_transaction()
            self._producer().begin_transaction()
            self._next_commit = now + self.commit_interval_s
        if now >= self._next_metrics:
            self._next_metrics = now + METRICS_INTERVAL_S
            self._publish()

    def commit_before_revoke(self, keys: list[str]) -> None:
        """Transactions: partitions are being taken away; commit what was done for them while they are ours."""
        if self.transactional and self._producer().in_transaction:
            self._commit_transaction()
            self._producer().begin_transaction()
            self._next_commit = self._clock() + self.commit_interval_s

    def _commit_transaction(self) -> bool:
        """Commit outputs and the consumer positions together; on abort, rewind and forget what was in flight."""
        consumer = self.source.consumer
        try:
            self._producer().commit_transaction(consumer.positions(), consumer.group_metadata())
            self.summary.add(self._uncommitted)
            self._uncommitted.clear()
            return True
        except TransactionAborted as exc:
            log.warning("%s; rewinding to the last committed offsets to read those records again", exc)
            self._uncommitted.clear()
            consumer.rewind_to_committed()
            for partition in list(self.tracker.partitions()):
                self.tracker.drop(partition)
            self._acked.clear()
            return False

    # -- draining ------------------------------------------------------------------------------------------------

    def drain(self, timeout_s: float) -> bool:
        """Stop reading, flush, acknowledge what is confirmed, commit and close; True if nothing was left over."""
        deadline = self._clock() + timeout_s
        self.source.stop()
        remaining = -1
        try:
            remaining = self.outputs.flush(max(0.0, deadline - self._clock()))
            while remaining and self._clock() < deadline:
                remaining = self.outputs.flush(max(0.0, deadline - self._clock()))
            if self.transactional and remaining == 0 and not self._commit_transaction():
                remaining = -1
        except (DeliveryFailed, TransactionAborted) as exc:
            log.error("the drain could not confirm every message: %s; nothing unconfirmed is committed, so a "
                      "restart reads those records again", exc)
        self._ack()
        self.close()
        unconfirmed = self.tracker.in_flight
        if unconfirmed:
            log.error("%d records were read but not confirmed when the drain ended; they will be read again after a "
                      "restart", unconfirmed, extra={"unconfirmed": unconfirmed})
        return remaining == 0 and unconfirmed == 0 and self.failed is None

    def close(self) -> None:
        """Close the source (its last commit or checkpoint) and the outputs (files get ``summary.json``)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.source.close()
        finally:
            self.outputs.close(self.summary.to_dict())
            self._publish()

    # -- metrics -------------------------------------------------------------------------------------------------

    def _publish(self) -> None:
        m = self.metrics
        if m is None:
            if self.pipeline is not None:  # nobody reads the samples: do not let them pile up
                self.pipeline.timings, self.pipeline.freshness = [], []
                self.pipeline.deprecated.clear()
            return
        p, s = self._published, self.summary
        if s.records_in > p.records_in:
            m.records_in.labels(source=self.source_label).inc(s.records_in - p.records_in)
            self.volume.add(s.records_in - p.records_in)
            p.records_in = s.records_in
        m.volume_anomaly_score.labels(stream=self.source_label).set(self.volume.score())
        for stream, n in self.outputs.delivered().items():
            if n > p.out[stream]:
                m.records_out.labels(stream=stream).inc(n - p.out[stream])
                p.out[stream] = n
        for (app_id, schema), n in s.invalid.items():
            if n > p.invalid[(app_id, schema)]:
                m.invalid_records.labels(app_id=app_id, schema=schema).inc(n - p.invalid[(app_id, schema)])
                p.invalid[(app_id, schema)] = n
        if self.diversion is not None:
            budgets = self.diversion.budgets
            for stream, diverted in budgets.states().items():
                m.stream_diverted.labels(stream=stream).set(1 if diverted else 0)
            for stream, n in budgets.diverted_records.items():
                if n > p.diverted[stream]:
                    m.diverted_records.labels(stream=stream).inc(n - p.diverted[stream])
                    p.diverted[stream] = n
        if s.quarantined > p.quarantined:
            m.quarantined.inc(s.quarantined - p.quarantined)
            p.quarantined = s.quarantined
        for kind, n in s.bad_types.items():
            if n > p.bad[kind]:
                m.bad_records.labels(type=kind).inc(n - p.bad[kind])
                p.bad[kind] = n
        for (stream, rule), n in s.rules.items():
            if n > p.rules[(stream, rule)]:
                m.filtered_records.labels(stream=stream, rule=rule).inc(n - p.rules[(stream, rule)])
                consent = consent_rule(rule)
                if consent is not None:
                    m.consent_dropped.labels(stream=stream, rule=consent).inc(n - p.rules[(stream, rule)])
                p.rules[(stream, rule)] = n
        m.in_flight.set(self.tracker.in_flight)
        m.producer_queue.set(self.outputs.queue_depth)
        resent = self.outputs.resent if isinstance(self.outputs, KafkaOutputs) else 0
        if resent > p.resent:
            m.retries.labels(what="delivery").inc(resent - p.resent)
            p.resent = resent
        pipeline = self.pipeline
        if pipeline is not None:
            timings, pipeline.timings = pipeline.timings, []
            for stage, seconds in timings:
                m.stage_latency.labels(stage=stage).observe(seconds)
            stamps, pipeline.freshness = pipeline.freshness, []
            m.observe_stamps(stamps, stream="enriched")
            for schema, n in pipeline.deprecated.items():
                m.deprecated_events.labels(schema=schema).inc(n)
            pipeline.deprecated.clear()
            ledger = pipeline.ledger
            if ledger is not None:
                m.consent_users.set(len(ledger.states))
                for state, n in ledger.written.items():
                    if n > p.consent[state]:
                        m.consent_records.labels(state=state).inc(n - p.consent[state])
                        p.consent[state] = n
            validator = pipeline.validator
            retries = validator.retries
            if retries > p.registry_retries:
                m.retries.labels(what="registry").inc(retries - p.registry_retries)
                p.registry_retries = retries
            m.registry_state(held=validator.unavailable)
            lookups = validator.lookups
            hits = validator.validator.resolver.stats.hits
            if lookups > p.lookups:
                new_hits = min(max(0, hits - p.hits), lookups - p.lookups)
                m.registry_lookups_add(new_hits, lookups - p.lookups - new_hits)
                p.lookups, p.hits = lookups, hits
        lag = getattr(self.source, "lag", None)
        now = self._clock()
        if lag is not None and now >= self._next_lag and not self._closed:
            self._next_lag = now + LAG_INTERVAL_S
            try:
                m.set_lag(lag())
            except Exception as exc:  # lag is an observation: never stop the pipeline for it
                log.debug("consumer lag unavailable: %s", exc)


@dataclass
class _Published:
    """What has already been added to the Prometheus counters."""

    records_in: int = 0
    quarantined: int = 0
    lookups: int = 0
    hits: int = 0
    registry_retries: int = 0
    resent: int = 0
    out: Counter[str] = field(default_factory=Counter)
    diverted: Counter[str] = field(default_factory=Counter)
    bad: Counter[str] = field(default_factory=Counter)
    rules: Counter[tuple[str, str]] = field(default_factory=Counter)
    invalid: Counter[tuple[str, str]] = field(default_factory=Counter)
    consent: Counter[str] = field(default_factory=Counter)


def report_observer(metrics: PipelineMetrics, streams: dict[str, str]) -> Callable[[DeliveryReport], None]:
    """An ``on_report`` for delivery reports: produce latency per stream (sampled), every failure counted."""
    stream_of = {topic: stream for stream, topic in streams.items()}

    def observe(report: DeliveryReport) -> None:
        stream = stream_of.get(report.topic, report.topic)
        if report.error is not None:
            metrics.delivery_errors.labels(stream=stream).inc()
        elif report.latency_s is not None:
            metrics.produce_latency.labels(stream=stream).observe(report.latency_s)

    return observe
