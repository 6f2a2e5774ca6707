"""The runner's loop without sockets: acknowledgement order, backpressure, draining, failures, files, metrics."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from connectors.runner import PipelineRunner
from connectors.sidecar import PipelineMetrics
from connectors.sinks.files import FilesOutputs
from connectors.sources.base import Position, Record
from tests.unit.toolkit.pipeline_events import CONSENT, config, line, sdj
from toolkit.kafka import DeliveryFailed, TransactionAborted
from toolkit.pipeline.delivery import DeliveryTracker
from toolkit.pipeline.fanout import Pipeline
from toolkit.pipeline.outcomes import Output


class ListSource:
    """Records from a list, in batches; remembers what was acknowledged."""

    description = "list"

    def __init__(self, lines: list[bytes], partitions: int = 1) -> None:
        self.records = [Record(raw, Position(f"p{i % partitions}", i, i + 1), f"list:{i + 1}")
                        for i, raw in enumerate(lines)]
        self._next = 0
        self.acked: dict[str, Position] = {}
        self.ack_calls: list[Position] = []
        self.stopped = False
        self.closed = False

    def read(self, max_records: int, timeout_s: float) -> list[Record]:
        if self.stopped:
            return []
        out = self.records[self._next:self._next + max_records]
        self._next += len(out)
        return out

    @property
    def finished(self) -> bool:
        return self.stopped or self._next >= len(self.records)

    def ack(self, position: Position) -> None:
        current = self.acked.get(position.partition)
        assert current is None or position.offset > current.offset, "acks must move forward"
        self.acked[position.partition] = position
        self.ack_calls.append(position)

    def stop(self) -> None:
        self.stopped = True

    def close(self) -> None:
        self.closed = True


class ShuffledOutputs:
    """Confirms queued messages in random order, a few per poll, like delivery reports from many partitions."""

    def __init__(self, tracker: DeliveryTracker, seed: int = 1, per_poll: int = 3) -> None:
        self.tracker = tracker
        self.queue: list[tuple[Output, Any]] = []
        self.rng = random.Random(seed)
        self.per_poll = per_poll
        self.sent: list[Output] = []
        self.fail_on_poll: Exception | None = None
        self.confirmed: dict[str, int] = {}

    def send(self, outs: Sequence[Output], record: Any) -> None:
        for out in outs:
            self.queue.append((out, record))
            self.sent.append(out)

    def poll(self, timeout_s: float) -> None:
        if self.fail_on_poll is not None:
            raise self.fail_on_poll
        self.rng.shuffle(self.queue)
        for _ in range(min(self.per_poll, len(self.queue))):
            out, record = self.queue.pop()
            self.tracker.delivered(*record)
            self.confirmed[out.stream] = self.confirmed.get(out.stream, 0) + 1

    def flush(self, timeout_s: float) -> int:
        while self.queue:
            self.poll(0)
        return 0

    def delivered(self) -> dict[str, int]:
        return dict(self.confirmed)

    @property
    def queue_depth(self) -> int:
        return len(self.queue)

    def close(self, summary: dict) -> None:
        self.summary = summary


def make(lines: list[bytes], *, max_in_flight: int = 1000, partitions: int = 1,
         metrics: PipelineMetrics | None = None) -> tuple[PipelineRunner, ListSource, ShuffledOutputs]:
    pipeline = Pipeline.from_config(config(), pipeline_id="t")
    tracker = DeliveryTracker(max_in_flight)
    source = ListSource(lines, partitions)
    outputs = ShuffledOutputs(tracker)

    def handle(r: Record) -> Any:
        return pipeline.process(r.raw, r.source)

    runner = PipelineRunner(source, handle, outputs, tracker, metrics=metrics, batch_size=7, pipeline=pipeline)
    return runner, source, outputs


def test_positions_are_acknowledged_only_after_every_output_is_confirmed() -> None:
    lines = [line().encode() for _ in range(60)] + [b"garbage"] * 5
    runner, source, outputs = make(lines, partitions=3)
    confirmed_before_ack: list[bool] = []
    original_ack = source.ack

    def checking_ack(position: Position) -> None:
        # every record at or before this position in its partition must have all its outputs confirmed
        pending = {ref[1] for _, ref in outputs.queue if ref[0] == position.partition}
        confirmed_before_ack.append(all(p.offset > position.offset for p in pending))
        original_ack(position)
    source.ack = checking_ack  # type: ignore[method-assign]
    runner.run(threading.Event())
    assert runner.drain(5.0)
    assert confirmed_before_ack and all(confirmed_before_ack)
    assert {p: pos.offset for p, pos in source.acked.items()} == {"p0": 63, "p1": 64, "p2": 62}
    assert source.closed and runner.tracker.in_flight == 0
    assert outputs.summary == runner.summary.to_dict()
    assert outputs.summary["in"] == 65 and outputs.summary["enriched"] == 60 and outputs.summary["bad"] == 5


def test_reading_pauses_at_max_in_flight() -> None:
    lines = [line().encode() for _ in range(40)]
    runner, source, outputs = make(lines, max_in_flight=4)
    seen: list[int] = []
    original = source.read

    def read(n: int, t: float) -> list[Record]:
        seen.append(runner.tracker.in_flight + n)
        return original(n, t)
    source.read = read  # type: ignore[method-assign]
    runner.run(threading.Event())
    assert runner.drain(5.0)
    assert max(seen) <= 4 and runner.summary.records_in == 40


def test_a_stop_request_ends_the_run_and_the_drain_commits_what_was_read() -> None:
    lines = [line().encode() for _ in range(200)]
    runner, source, outputs = make(lines)
    stop = threading.Event()
    original = source.read

    def read(n: int, t: float) -> list[Record]:
        if source._next >= 21:
            stop.set()  # as a SIGTERM would, mid-stream
        return original(n, t)
    source.read = read  # type: ignore[method-assign]
    runner.run(stop)
    assert source.stopped and runner.summary.records_in < 200
    assert runner.drain(5.0)
    assert source.acked["p0"].offset == runner.summary.records_in - 1  # everything read is acknowledged


def test_a_delivery_failure_stops_the_run_without_acknowledging_unconfirmed_records() -> None:
    lines = [line().encode() for _ in range(30)]
    runner, source, outputs = make(lines)
    outputs.per_poll = 0  # nothing is ever confirmed
    outputs.fail_on_poll = DeliveryFailed("the broker permanently refused a message")
    with pytest.raises(DeliveryFailed):
        runner.run(threading.Event())
    assert not runner.drain(1.0)
    assert source.acked == {} and source.closed


def test_files_outputs_write_every_stream_and_the_summary(tmp_path: Path) -> None:
    cfg = config(derived=[{"name": "views", "version": 1, "owner": "web",
                           "filter": {"field": "event", "op": "eq", "value": "page_view"}}])
    pipeline = Pipeline.from_config(cfg, pipeline_id="t")
    tracker = DeliveryTracker(100)
    outputs = FilesOutputs(tmp_path / "out", ["raw", "enriched", "bad", "derived.views.v1"], tracker)
    lines = [line().encode(), line(event="page_ping").encode(), b"broken\tline", b"\xff\xfe"]
    source = ListSource(lines)
    runner = PipelineRunner(source, lambda r: pipeline.process(r.raw, r.source), outputs, tracker)
    runner.run(threading.Event())
    assert runner.drain(5.0)
    out = tmp_path / "out"
    assert (out / "raw.tsv").read_bytes() == b"\n".join(lines) + b"\n"
    assert len((out / "enriched.jsonl").read_text().splitlines()) == 2
    assert len((out / "derived.views.v1.jsonl").read_text().splitlines()) == 1
    assert [json.loads(x)["schema"].split("/")[1] for x in (out / "bad.jsonl").read_text().splitlines()] == [
        "loader_parsing_error", "loader_parsing_error"]
    summary = json.loads((out / "summary.json").read_text())
    assert {k: summary[k] for k in ("in", "enriched", "bad", "filtered", "derived")} == {
        "in": 4, "enriched": 2, "bad": 2, "filtered": 0, "derived": {"views.v1": 1}}
    assert summary["filtered_by_rule"] == {"views.v1: filter": 1}


def test_metrics_are_published_in_bulk() -> None:
    metrics = PipelineMetrics()
    lines = [line(contexts=[sdj(CONSENT, {"analytics": True, "marketing": True})]).encode() for _ in range(10)]
    lines.append(b"x")
    runner, _, _ = make(lines, metrics=metrics)
    runner.run(threading.Event())
    assert runner.drain(5.0)
    text = metrics.exposition().decode()
    assert 'sptk_records_in_total{source="source"} 11.0' in text
    assert 'sptk_records_out_total{stream="enriched"} 10.0' in text
    assert 'sptk_records_out_total{stream="raw"} 11.0' in text
    assert 'sptk_bad_records_total{type="loader_parsing_error"} 1.0' in text
    # 10 events x (wrapper + entity): the two schemas are fetched once, every other lookup is a cache hit
    assert 'sptk_registry_cache_lookups_total{result="hit"} 18.0' in text
    assert 'sptk_registry_cache_lookups_total{result="miss"} 2.0' in text
    assert "sptk_in_flight_records 0.0" in text


def test_only_writes_the_chosen_streams_and_still_acknowledges_everything() -> None:
    lines = [line().encode() for _ in range(12)] + [b"bad line"]
    runner, source, outputs = make(lines)
    runner.only = frozenset({"enriched"})
    runner.run(threading.Event())
    assert runner.drain(5.0)
    assert {o.stream for o in outputs.sent} == {"enriched"} and len(outputs.sent) == 12
    assert source.acked["p0"].offset == 12 and runner.summary.records_in == 13


def test_a_resumed_backfill_appends_to_its_files(tmp_path: Path) -> None:
    from connectors.pipeline_app import build
    from toolkit.config.loading import parse_config

    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "part-1").write_text(line() + "\n" + line() + "\n")
    data = {"source": {"kind": "dir", "dir": {"path": str(archive), "checkpoint": str(tmp_path / "cp.json"),
                                              "progress": "never"}},
            "iglu": {"resolver_config": str(Path(__file__).resolve().parents[3] / "examples/iglu/resolver.json")},
            "output": {"target": f"files:{tmp_path / 'out'}"}}

    def run() -> None:
        app = build(parse_config(data, base_dir=tmp_path, environ={}), serve=False)
        app.runner.run(threading.Event())
        assert app.runner.drain(5.0)

    run()
    (archive / "part-2").write_text(line() + "\n")  # a new file arrives; part-1 is done in the checkpoint
    run()
    assert len((tmp_path / "out" / "enriched.jsonl").read_text().splitlines()) == 3
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["in"] == 1


def test_a_resumed_file_run_appends_to_its_files(tmp_path: Path) -> None:
    from connectors.pipeline_app import build
    from toolkit.config.loading import parse_config

    first, second = tmp_path / "a.tsv", tmp_path / "b.tsv"
    first.write_text(line() + "\n" + line() + "\n")
    second.write_text(line() + "\n")

    def run(*paths: Path) -> None:
        data = {"source": {"kind": "file", "file": {"paths": [str(p) for p in paths],
                                                    "checkpoint": str(tmp_path / "cp.json")}},
                "iglu": {"resolver_config": str(Path(__file__).resolve().parents[3] / "examples/iglu/resolver.json")},
                "output": {"target": f"files:{tmp_path / 'out'}"}}
        app = build(parse_config(data, base_dir=tmp_path, environ={}), serve=False)
        app.runner.run(threading.Event())
        assert app.runner.drain(5.0)

    run(first)
    run(first, second)  # a.tsv is done in the checkpoint: only b.tsv is read, and the outputs are kept
    assert len((tmp_path / "out" / "enriched.jsonl").read_text().splitlines()) == 3
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["in"] == 1


def test_the_loop_quiets_the_gc_while_it_runs_and_puts_it_back() -> None:
    import gc

    from connectors.runner import GC_THRESHOLD, quiet_gc

    before = gc.get_threshold()
    with quiet_gc():
        assert gc.get_threshold()[0] == GC_THRESHOLD and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), quiet_gc():
        raise RuntimeError("the loop failed")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


class TransactionalSource(ListSource):
    """A ListSource with the consumer calls a transactional runner makes: committed offsets and a rewind."""

    def __init__(self, lines: list[bytes]) -> None:
        super().__init__(lines)
        self.consumer = self
        self.committed = 0

    def positions(self) -> list[tuple[str, int, int]]:
        return [("in", 0, self._next)]

    def group_metadata(self) -> object:
        return object()

    def rewind_to_committed(self) -> None:
        self._next = self.committed
        self.acked.clear()  # positions stored since the last commit are forgotten, as a consumer's are


class AbortingProducer:
    """DeliveryProducer's transaction calls as bookkeeping: confirms on poll, aborts the first commit."""

    queue_depth = 0

    def __init__(self, tracker: DeliveryTracker, source: TransactionalSource) -> None:
        self.tracker, self.source = tracker, source
        self.queued: list[tuple[Sequence[Output], Any]] = []
        self.delivered_by_topic: dict[str, int] = {}
        self.in_transaction = False
        self.aborts_left = 1
        self.commits = 0

    def produce_record(self, outs: Sequence[Output], record: Any) -> None:
        self.queued.append((outs, record))

    def poll(self, timeout_s: float = 0.0) -> int:
        for outs, record in self.queued:
            for _ in outs:
                self.tracker.delivered(*record)
        self.queued.clear()
        return 0

    def flush(self, timeout_s: float) -> int:
        return self.poll()

    def begin_transaction(self) -> None:
        self.in_transaction = True

    def commit_transaction(self, offsets: Any, group_metadata: Any, timeout_s: float = 30.0) -> None:
        self.in_transaction = False
        if self.aborts_left:
            self.aborts_left -= 1
            self.queued.clear()
            raise TransactionAborted("the broker fenced the transaction")
        self.commits += 1
        self.source.committed = offsets[0][2]


def test_records_of_an_aborted_transaction_are_counted_once_when_read_again() -> None:
    from connectors.runner import KafkaOutputs

    lines = [line().encode() for _ in range(30)] + [b"garbage"] * 3
    pipeline = Pipeline.from_config(config(), pipeline_id="t")
    tracker = DeliveryTracker(1000)
    source = TransactionalSource(lines)
    producer = AbortingProducer(tracker, source)
    outputs = KafkaOutputs(producer, {"raw": "raw", "enriched": "enriched", "bad": "bad"})  # type: ignore[arg-type]
    runner = PipelineRunner(source, lambda r: pipeline.process(r.raw, r.source), outputs, tracker, batch_size=7,
                            pipeline=pipeline, transactional=True, commit_interval_s=0.0)
    runner.run(threading.Event())
    assert runner.drain(5.0)
    assert producer.aborts_left == 0 and producer.commits >= 1 and source.committed == len(lines)
    summary = runner.summary.to_dict()
    assert (summary["in"], summary["enriched"], summary["bad"]) == (33, 30, 3)


def test_failed_delivery_reports_are_counted_per_stream() -> None:
    from connectors.runner import report_observer
    from toolkit.kafka import DeliveryReport

    metrics = PipelineMetrics()
    observe = report_observer(metrics, {"enriched": "t.enriched"})
    observe(DeliveryReport("t.enriched", -1, -1, None, None, "Broker: Not enough in-sync replicas"))
    observe(DeliveryReport("t.enriched", 0, 7, 0.01, None))
    assert 'sptk_delivery_errors_total{stream="enriched"} 1.0' in metrics.exposition().decode()


def test_quarantined_records_are_published() -> None:
    metrics = PipelineMetrics()
    runner, _, _ = make([line().encode()], metrics=metrics)
    runner.summary.quarantined = 3  # what count() adds for each quarantined outcome
    runner._publish()
    assert "sptk_quarantined_records_total 3.0" in metrics.exposition().decode()


def test_schema_violations_are_counted_per_app_and_failing_schema() -> None:
    metrics = PipelineMetrics()
    lines = [line(app_id="shop", contexts=[sdj(CONSENT, {"analytics": "yes"})]).encode() for _ in range(3)]
    lines += [line(app_id="blog").encode(), b"not an event"]
    runner, _, _ = make(lines, metrics=metrics)
    runner.run(threading.Event())
    assert runner.drain(5.0)
    text = metrics.exposition().decode()
    assert f'sptk_invalid_records_total{{app_id="shop",schema="{CONSENT}"}} 3.0' in text
    assert 'app_id="blog"' not in text  # valid events and undecodable lines are not schema violations
