"""kill -9 mid-stream loses nothing (duplicates only from the uncommitted tail); SIGTERM loses and repeats nothing."""

from __future__ import annotations

import json
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from tests.integration.pipeline.conftest import (
    Message,
    base_config,
    fill_input_topic,
    free_port,
    produce_lines,
    read_topic,
    start,
    start_mid_stream,
    wait_for,
    write_config,
)
from tests.integration.pipeline_infra.conftest import unique
from toolkit.contract.samples import SampleSpec, generate


def landed(bootstrap: str, prefix: str, expect: int | None = None) -> list[Message]:
    """Every enriched and bad message (the records' one-of outcomes)."""
    return read_topic(bootstrap, f"{prefix}.enriched") + read_topic(bootstrap, f"{prefix}.bad")


def only_the_tail_repeats(bootstrap: str, prefix: str, expected: dict[str, str],
                          is_committed: Callable[[str], bool]) -> tuple[dict[str, list[Message]], set[str]]:
    """Every line landed in enriched or bad; the repeated ones (returned) all come after the last commit."""
    copies: dict[str, list[Message]] = defaultdict(list)
    for m in landed(bootstrap, prefix):
        copies[m.source].append(m)
    assert set(copies) == set(expected)  # nothing missing from enriched ∪ bad
    duplicated = {s for s, ms in copies.items() if len(ms) > 1}
    assert duplicated, "a kill -9 after records were read but before they were committed should repeat some"
    assert not any(is_committed(s) for s in duplicated)  # duplicates only from the uncommitted tail
    for source, ms in copies.items():
        assert len({m.event_id for m in ms}) == 1 and len({m.topic for m in ms}) == 1, source
        if ms[0].topic.endswith(".enriched"):
            assert len({m.value for m in ms}) == 1  # the same event, byte for byte
    return copies, duplicated


def test_kill_9_mid_stream_then_restart_loses_nothing(tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    archive, checkpoint = tmp_path / "archive", tmp_path / "checkpoint.json"
    archive.mkdir()
    lines = list(generate(SampleSpec(events=16_000, seed=21)))
    expected: dict[str, str] = {}
    for f in range(4):
        chunk = lines[f * 4000:(f + 1) * 4000]
        (archive / f"part-{f:05d}").write_text("".join(x + "\n" for x in chunk))
        expected.update({f"part-{f:05d}:{i + 1}": x for i, x in enumerate(chunk)})
    port = free_port()
    cfg = base_config(prefix, kafka_bootstrap,
                      source={"kind": "dir", "dir": {"path": str(archive), "checkpoint": str(checkpoint),
                                                     "progress": "never"}},
                      delivery={"commit_interval_s": 0.1, "max_in_flight": 500, "drain_timeout_s": 20},
                      sidecar={"host": "127.0.0.1", "port": port, "log_format": "json"})
    # at most 500 records in flight, each batch waiting 200 ms to fill: the first run cannot read all 16,000
    # lines (at most ~2,500 a second) before the kill, however fast the machine and the pipeline are
    cfg["kafka"]["producer"] = {"linger.ms": 200}
    config = write_config(tmp_path / "pipeline.yaml", cfg)

    first = start_mid_stream(config, port, 3000, "--create-topics")
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    assert first.returncode == -signal.SIGKILL, "the run finished before it could be killed; give it more input"
    committed = json.loads(checkpoint.read_text())["files"]

    def is_committed(source: str) -> bool:
        name, number = source.rsplit(":", 1)
        entry = committed.get(name, {})
        return entry.get("done", False) or int(number) <= entry.get("line", 0)

    assert any(is_committed(s) for s in expected) and not all(is_committed(s) for s in expected)

    second = start("pipeline", "run", "--config", str(config))
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err[-3000:]

    copies, duplicated = only_the_tail_repeats(kafka_bootstrap, prefix, expected, is_committed)
    raw_sources = {m.source for m in read_topic(kafka_bootstrap, f"{prefix}.raw")}
    assert raw_sources == set(expected)
    print(f"kill -9 accounting: {len(expected)} lines; {sum(map(is_committed, expected))} committed before the kill; "
          f"{len(copies)} distinct in enriched + bad ({sum(len(ms) for ms in copies.values())} messages); "
          f"{len(duplicated)} repeated, all from the uncommitted tail, each with one event_id")


def test_kill_9_on_a_plain_file_then_rerun_repeats_only_the_uncommitted_tail(tmp_path: Path, kafka_bootstrap: str,
                                                                            prefix: str) -> None:
    """A plain ``file`` source into Kafka checkpoints on its own: a rerun resumes after what was committed."""
    events = tmp_path / "events.tsv"
    lines = list(generate(SampleSpec(events=40_000, seed=22)))
    events.write_text("".join(x + "\n" for x in lines))
    expected = {f"{events}:{i + 1}": x for i, x in enumerate(lines)}
    state = tmp_path / "state"  # where the automatic checkpoint goes (XDG_STATE_HOME)
    env = {"XDG_STATE_HOME": str(state)}
    port = free_port()
    cfg = base_config(prefix, kafka_bootstrap, source={"kind": "file", "file": {"paths": [str(events)]}},
                      delivery={"commit_interval_s": 0.1, "max_in_flight": 500, "drain_timeout_s": 20},
                      sidecar={"host": "127.0.0.1", "port": port, "log_format": "json"})
    config = write_config(tmp_path / "pipeline.yaml", cfg)

    first = start_mid_stream(config, port, 3000, "--create-topics", env=env)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    assert first.returncode == -signal.SIGKILL, "the run finished before it could be killed; give it more input"
    checkpoints = list((state / "sptk" / "checkpoints").glob("*.json"))
    assert len(checkpoints) == 1, "the file source keeps no checkpoint"
    committed = json.loads(checkpoints[0].read_text())["files"][str(events.resolve())]["line"]
    assert 0 < committed < len(lines)

    def is_committed(source: str) -> bool:
        return int(source.rsplit(":", 1)[1]) <= committed

    second = start("pipeline", "run", "--config", str(config), env=env)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err[-3000:]
    assert json.loads(out.strip().splitlines()[-1])["in"] == len(lines) - committed  # resumed after the checkpoint
    assert "resuming from the checkpoint" in err
    assert not checkpoints[0].exists()  # everything delivered: nothing left to resume, a later run starts afresh

    _, duplicated = only_the_tail_repeats(kafka_bootstrap, prefix, expected, is_committed)
    print(f"kill -9 on a plain file: {len(lines)} lines; {committed} committed before the kill; {len(duplicated)} "
          f"repeated, all from the uncommitted tail")


def test_sigterm_drains_and_a_restart_repeats_nothing(tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    """SIGTERM once the run has read some input: what it read is confirmed and committed; a restart reads the rest.

    A third of the input is produced only after the SIGTERM, so the first run cannot have read
    everything before the signal arrives, however fast it is or however late the signal comes.
    """
    topic = f"{prefix}.input"
    later = 4000
    lines = fill_input_topic(kafka_bootstrap, topic, partitions=3, events=12_000, seed=33, keys=50, held_back=later)
    port = free_port()
    cfg = base_config(prefix, kafka_bootstrap,
                      source={"kind": "kafka", "kafka": {"topics": [topic], "group_id": unique("sigterm")}},
                      delivery={"commit_interval_s": 0.5, "max_in_flight": 1000, "drain_timeout_s": 20},
                      sidecar={"host": "127.0.0.1", "port": port, "log_format": "json"})
    config = write_config(tmp_path / "pipeline.yaml", cfg)

    first = start_mid_stream(config, port, 2000, "--create-topics")
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err[-3000:]
    summary = json.loads(_.strip().splitlines()[-1])
    assert 0 < summary["in"] <= len(lines) - later

    produce_lines(kafka_bootstrap, topic, lines[-later:], keys=50, first=len(lines) - later)
    second = start("pipeline", "run", "--config", str(config))
    wait_for(lambda: len(read_topic(kafka_bootstrap, f"{prefix}.raw", timeout_s=10)) >= len(lines) or
             second.poll() is not None, 180, "the restarted run to read the rest")
    time.sleep(1.0)
    second.send_signal(signal.SIGTERM)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err[-3000:]
    assert summary["in"] + json.loads(out.strip().splitlines()[-1])["in"] == len(lines)

    everything = landed(kafka_bootstrap, prefix)
    by_source: dict[str, int] = defaultdict(int)
    for m in everything:
        by_source[m.source] += 1
    assert len(by_source) == len(lines) and set(by_source.values()) == {1}  # zero loss, zero duplicates
    raw = read_topic(kafka_bootstrap, f"{prefix}.raw")
    assert sorted(m.value for m in raw) == sorted(x.encode() for x in lines)
