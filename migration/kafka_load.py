"""The Kafka path's warehouse loader: a consumer of the enriched (and bad) topic, sidecar-able.

Records are loaded in batches and only then acknowledged, so an offset is
committed only for rows already in the warehouse; a crash re-reads at most one
batch, and the loader's provenance identity (topic, partition, offset) makes the
re-read add nothing. Enriched messages are canonical JSON (the pipeline's default
enriched profile) or enriched TSV; messages of the bad topic are Snowplow bad rows
and go to ``<schema>.bad_rows``. A message that cannot be loaded becomes a bad row
itself, with its reason, rather than blocking the partition or vanishing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from connectors.sidecar.metrics import LagObserver, PipelineMetrics
from connectors.sources.base import Position, Record
from connectors.warehouse.bad_rows import BadRowRecord, NotABadRow, parse_bad_row
from connectors.warehouse.loader import Dedup, LoadReport
from connectors.warehouse.rows import Provenance
from toolkit.contract.profiles.canonical import to_dict
from toolkit.contract.tsv import ParseFailure, parse_line
from toolkit.kafka import KafkaUnavailable, PartitionLag, partition_key
from toolkit.progress import Mode, progress

log = logging.getLogger(__name__)

#: how long a run that must catch up waits for its first partition assignment
DEFAULT_CONNECT_TIMEOUT_S = 30.0
#: the sidecar's consumer lag asks the broker for watermarks: not on every batch
LAG_INTERVAL_S = 2.0


class BatchSource(Protocol):
    """What the loader needs from :class:`connectors.sources.kafka.KafkaSource`."""

    description: str

    def read(self, max_records: int, timeout_s: float) -> list[Record]: ...

    def ack(self, position: Position) -> None: ...

    def commit(self) -> dict[str, int]: ...

    def lag(self) -> list[PartitionLag]:
        """Raises :class:`KafkaUnavailable` when the broker does not answer."""
        ...

    def why_unassigned(self) -> str: ...

    def stop(self) -> None: ...


class LoadTarget(Protocol):
    """Where batches go: a warehouse schema, or a lake location (:mod:`connectors.warehouse.lakes`)."""

    def load(self, rows: list[tuple[dict[str, Any], Provenance]], dedup: Dedup = ...,
             batch_size: int = ...) -> LoadReport: ...

    def load_bad_rows(self, records: list[BadRowRecord]) -> int: ...


@dataclass(slots=True)
class KafkaLoadReport:
    messages: int = 0
    load: LoadReport = field(default_factory=LoadReport)
    bad_rows_written: int = 0
    unreadable: int = 0  # messages that were neither an event nor a bad row (recorded as bad rows)

    def summary(self) -> str:
        return (f"{self.messages} messages: {self.load.summary()}; bad rows written {self.bad_rows_written} "
                f"(unreadable messages {self.unreadable})")


def _provenance(position: Position) -> Provenance:
    topic, _, partition = position.partition.rpartition("/")
    return Provenance.kafka(topic, int(partition), position.offset)


def _topic(position: Position) -> str:
    return position.partition.rpartition("/")[0]


class KafkaLoader:
    """Consume, load, acknowledge; ``run`` until stopped (or caught up), ``drain`` for the sidecar.

    With ``until_caught_up`` the run is a batch job, so it must end: when no partition was ever
    assigned after ``connect_timeout_s`` (the broker does not answer, the topic is missing), or the
    broker stopped answering for that long after the assignment, it gives up and says why in
    :attr:`gave_up` rather than wait for ever or end in a traceback. Every batch loaded by then
    stays loaded with its offsets committed (a commit is the last step of a batch), so a rerun
    resumes after them. A long-running loader keeps waiting, as a service does for its broker.
    """

    def __init__(self, source: BatchSource, warehouse: LoadTarget, *, bad_topics: Sequence[str] = (),
                 dedup: Dedup = Dedup.CROSS_BATCH, batch_size: int = 5000, poll_timeout_s: float = 1.0,
                 until_caught_up: bool = False, metrics: PipelineMetrics | None = None,
                 connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S, progress_mode: Mode = "off",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.warehouse = warehouse
        self.bad_topics = frozenset(bad_topics)
        self.dedup = dedup
        self.batch_size = batch_size
        self.poll_timeout_s = poll_timeout_s
        self.until_caught_up = until_caught_up
        self.connect_timeout_s = connect_timeout_s
        self.progress_mode: Mode = progress_mode
        self.report = KafkaLoadReport()
        self.metrics = metrics
        #: why a run that had to catch up gave up (None: it did not); ``report.messages`` says what it loaded first
        self.gave_up: str | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._acked: dict[str, int] = {}  # per partition, the offset after the last message this run acknowledged
        #: ``sptk_consumer_lag`` after loads (every few seconds) and whenever the topic is quiet
        self._observe_lag = LagObserver(metrics, source.lag, LAG_INTERVAL_S, clock)

    def run(self, stop: threading.Event) -> None:
        started = self._clock()
        assigned = False
        unanswered_since: float | None = None  # when the broker last failed to tell the lag, if it has not since
        with progress("kafka-load", unit="messages", mode=self.progress_mode,
                      detail=lambda: f"{self.report.load.inserted:,} rows inserted, "
                                     f"{self.report.bad_rows_written:,} bad rows; {self.source.description}") as shown:
            while not stop.is_set():
                records = self.source.read(self.batch_size, self.poll_timeout_s)
                if records:
                    with self._lock:
                        self.load(records)
                    shown.advance(len(records))
                    self._observe_lag()
                    unanswered_since = None
                    continue
                shown.advance(0)  # a heartbeat: the periodic line still comes while the topic is quiet
                self._observe_lag(force=True)
                if not self.until_caught_up:
                    continue
                asked = self._clock()
                try:
                    lags = self.source.lag()
                except KafkaUnavailable as exc:
                    unanswered_since = asked if unanswered_since is None else unanswered_since
                    if self._clock() - unanswered_since >= self.connect_timeout_s:
                        self.gave_up = str(exc)
                        return
                    continue
                unanswered_since = None
                assigned = assigned or bool(lags)
                if lags and all(self._caught_up(p) for p in lags):
                    log.info("caught up with %s: %s", self.source.description, self.report.summary())
                    return
                if not assigned and self._clock() - started >= self.connect_timeout_s:
                    self.gave_up = self.source.why_unassigned()
                    return

    def _caught_up(self, lag: PartitionLag) -> bool:
        """Read to the end, and everything read this run committed.

        ``lag`` counts from the committed offset, which stops short of a transaction's commit or abort
        marker (an offset no consumer is handed to acknowledge): on a topic written in transactions, as
        an exactly-once pipeline writes its enriched topic, the lag stays at 1 or more for ever.
        """
        if lag.lag == 0:
            return True
        if lag.position is None or lag.position < lag.high:
            return False
        return self._acked.get(partition_key(lag.topic, lag.partition), lag.committed) == lag.committed

    def load(self, records: list[Record]) -> None:
        """Load one batch, then acknowledge the last position of every partition in it."""
        rows: list[tuple[dict[str, Any], Provenance]] = []
        bad: list[BadRowRecord] = []
        for record in records:
            provenance = _provenance(record.position)
            if _topic(record.position) in self.bad_topics:
                try:
                    bad.append(parse_bad_row(record.raw.decode("utf-8", "replace"), provenance))
                except NotABadRow as exc:
                    bad.append(BadRowRecord(None, "unreadable_bad_row", str(exc), provenance))
                    self.report.unreadable += 1
                continue
            row = self._row(record, provenance, bad)
            if row is not None:
                rows.append((row, provenance))
        started = time.perf_counter()
        loaded = self.warehouse.load(rows, self.dedup, batch_size=max(len(rows), 1))
        bad += [BadRowRecord(p.event_id, "generic_error", "; ".join(p.reasons), p.provenance)
                for p in loaded.problems]
        written = self.warehouse.load_bad_rows(bad)
        self.report.messages += len(records)
        self.report.load.add(loaded)
        self.report.bad_rows_written += written
        if self.metrics is not None:  # the sidecar's /metrics: what came in, what reached the warehouse, what was bad
            m = self.metrics
            m.load_latency.observe(time.perf_counter() - started)
            for record in records:
                m.records_in.labels(source=_topic(record.position)).inc()
            m.records_out.labels(stream="warehouse").inc(loaded.inserted)
            m.observe_stamps((str(row.get("collector_tstamp") or "") for row, _ in rows), stream="warehouse")
            for item in bad:
                m.bad_records.labels(type=item.bad_row_type).inc()
        last: dict[str, Position] = {}
        for record in records:
            current = last.get(record.position.partition)
            if current is None or record.position.offset > current.offset:
                last[record.position.partition] = record.position
        for position in last.values():
            self.source.ack(position)
            self._acked[position.partition] = position.offset + 1
        self.source.commit()

    def _row(self, record: Record, provenance: Provenance, bad: list[BadRowRecord]) -> dict[str, Any] | None:
        raw = record.raw
        if raw[:1] == b"{":
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                value = None
                reason = f"not JSON: {exc}"
            else:
                reason = f"a canonical event is a JSON object, got {type(value).__name__}"
            if isinstance(value, dict):
                return value
            bad.append(BadRowRecord(None, "loader_parsing_error", reason, provenance))
            self.report.unreadable += 1
            return None
        parsed = parse_line(raw)
        if isinstance(parsed, ParseFailure):
            fields = raw.split(b"\t")
            event_id = fields[6].decode("ascii", "replace") if len(fields) > 6 and len(fields[6]) == 36 else None
            bad.append(BadRowRecord(event_id, "loader_parsing_error", orjson.dumps(parsed.failure()).decode(),
                                    provenance))
            return None
        return to_dict(parsed)

    def drain(self, timeout_s: float) -> bool:
        """Stop reading and commit: every acknowledged batch is already in the warehouse."""
        deadline = time.monotonic() + timeout_s
        self.source.stop()
        if not self._lock.acquire(timeout=max(deadline - time.monotonic(), 0)):
            return False
        try:
            self.source.commit()
        finally:
            self._lock.release()
        return True
