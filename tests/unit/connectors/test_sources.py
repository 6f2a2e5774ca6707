"""File, stdin and archive-directory sources: exact bytes, gzip by content, positions, checkpoints."""

from __future__ import annotations

import gzip
import io
import json
import os
import time
from pathlib import Path

import pytest

from connectors.sources import (
    CheckpointMismatch,
    DirSource,
    FileSource,
    Position,
    Record,
    SourceError,
    StdinSource,
    discover,
)

LINES = [b"app\tweb\t2024-05-01 10:00:00.000", b"caf\xe9 not utf-8\there", b"crlf line\r", b"", b"last"]
CONTENT = b"\n".join(LINES) + b"\n"


def read_all(source, batch: int = 2) -> list[Record]:  # type: ignore[no-untyped-def]
    out: list[Record] = []
    while not source.finished:
        out += source.read(batch, 0)
    return out


def test_file_source_keeps_exact_bytes_offsets_and_line_numbers(tmp_path: Path) -> None:
    plain = tmp_path / "events.tsv"
    plain.write_bytes(CONTENT)
    packed = tmp_path / "renamed-archive.dat"  # gzip recognised by content, not by name
    packed.write_bytes(gzip.compress(CONTENT[:-1]))  # and its last line has no newline
    src = FileSource([plain, packed])
    records = read_all(src)
    assert [r.raw for r in records] == LINES + LINES
    offsets = [0]
    for line in LINES[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    assert [r.position for r in records[:5]] == [Position(str(plain), o, i + 1) for i, o in enumerate(offsets)]
    assert records[6].source == f"{packed}:2" and records[6].position.offset == offsets[1]
    assert src.finished and src.read(10, 0) == []
    src.ack(records[3].position)
    src.ack(records[1].position)  # cumulative: an older ack does not move it back
    assert src.acked[str(plain)] == records[3].position


def test_overlong_lines_are_cut_and_flagged_not_loaded_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.tsv"
    path.write_bytes(b"short\n" + b"x" * 5000 + b"\nafter\n" + b"y" * 3000)
    records = read_all(FileSource([path], max_line_bytes=1024), batch=10)
    assert [(r.raw[:5], r.truncated, r.size) for r in records] == [
        (b"short", False, 5), (b"xxxxx", True, 5000), (b"after", False, 5), (b"yyyyy", True, 3000)]
    assert len(records[1].raw) == 1024
    assert records[2].position.offset == 6 + 5001


def test_missing_and_corrupt_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does-not-exist.tsv does not exist"):
        FileSource([tmp_path / "does-not-exist.tsv"])
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(b"".join(b"%d\n" % i for i in range(100_000)))[:2000])
    src = FileSource([broken])
    with pytest.raises(SourceError, match="broken.gz: read failed after line"):
        read_all(src, batch=100)


def test_stdin_source_plain_and_gzip() -> None:
    assert [r.raw for r in read_all(StdinSource(io.BytesIO(CONTENT)))] == LINES
    records = read_all(StdinSource(io.BytesIO(gzip.compress(CONTENT))))
    assert [r.raw for r in records] == LINES
    assert records[0].position.partition == "stdin" and records[1].source == "stdin:2"


def test_stop_ends_reading_at_once(tmp_path: Path) -> None:
    (tmp_path / "events.tsv").write_bytes(CONTENT)
    src = FileSource([tmp_path / "events.tsv"])
    assert len(src.read(1, 0)) == 1
    src.stop()
    assert src.finished and src.read(10, 0) == []


def test_stdin_hands_over_what_arrived_without_waiting_for_a_full_batch_or_the_end() -> None:
    read_end, write_end = os.pipe()
    writer = os.fdopen(write_end, "wb", buffering=0)
    src = StdinSource(os.fdopen(read_end, "rb"))
    writer.write(b"one\ntwo\n")
    records = src.read(500, 5.0)
    records += src.read(500, 1.0) if len(records) < 2 else []  # the second line may come a moment later
    assert [r.raw for r in records] == [b"one", b"two"] and not src.finished
    started = time.monotonic()
    assert src.read(500, 0.2) == []  # an idle pipe: read returns after its timeout
    assert time.monotonic() - started < 5
    src.stop()  # a SIGTERM while the pipe is idle: the source is done at once
    assert src.finished and src.read(500, 0.2) == []
    writer.close()
    src.close()


def test_stdin_keeps_what_left_the_pipe_when_stopped_and_ends_at_eof() -> None:
    src = StdinSource(io.BytesIO(CONTENT))
    first = src.read(1, 5.0)
    assert [r.raw for r in first] == LINES[:1]
    src.stop()
    rest: list[Record] = []
    deadline = time.monotonic() + 5
    while not src.finished and time.monotonic() < deadline:
        rest += src.read(10, 0)
    assert [r.raw for r in first + rest] == LINES[: 1 + len(rest)] and src.finished
    src = StdinSource(io.BytesIO(CONTENT))
    assert [r.raw for r in read_all(src)] == LINES and src.read(10, 0) == []


def test_stdin_bounds_what_it_reads_ahead() -> None:
    src = StdinSource(io.BytesIO(b"x\n" * (StdinSource.QUEUE_RECORDS * 3)))
    src.read(1, 5.0)
    time.sleep(0.5)
    assert len(src._ready) <= StdinSource.QUEUE_RECORDS + 1
    assert len(read_all(src, batch=1000)) == StdinSource.QUEUE_RECORDS * 3 - 1


def make_archive(root: Path) -> dict[str, list[bytes]]:
    layout = {
        "run=2024-05-01-00/part-00000.tsv": [b"a1", b"a2", b"a3"],
        "run=2024-05-01-00/part-00001.tsv.gz": [b"b1", b"b2"],
        "run=2024-05-02-00/part-00000": [b"c1"],
        "run=2024-05-02-00/empty.tsv": [],
    }
    for rel, lines in layout.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = b"".join(line + b"\n" for line in lines)
        path.write_bytes(gzip.compress(data) if rel.endswith(".gz") else data)
    (root / "run=2024-05-01-00" / "_SUCCESS").write_bytes(b"")
    (root / "_temporary").mkdir()
    (root / "_temporary" / "part-9").write_bytes(b"half written\n")
    (root / ".hidden.tsv").write_bytes(b"nope\n")
    return layout


def test_discovery_is_recursive_name_ordered_and_skips_markers(tmp_path: Path) -> None:
    layout = make_archive(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)] == sorted(layout)
    assert [p.name for p in discover(tmp_path, "*.tsv")] == ["part-00000.tsv", "empty.tsv"]
    with pytest.raises(SourceError, match="does not exist"):
        discover(tmp_path / "nope")


def test_dir_source_resumes_from_the_checkpoint_of_acked_positions(tmp_path: Path) -> None:
    root, checkpoint = tmp_path / "archive", tmp_path / "state" / "checkpoint.json"
    root.mkdir()
    make_archive(root)
    first = DirSource(root, checkpoint=checkpoint, progress="never")
    got = first.read(4, 0)
    assert [r.raw for r in got] == [b"a1", b"a2", b"a3", b"b1"]
    first.ack(got[2].position)  # the whole first file
    first.ack(got[1].position)
    first.close()  # b1 was read but never acknowledged: it must come back
    saved = json.loads(checkpoint.read_text())
    assert saved["files"] == {"run=2024-05-01-00/part-00000.tsv": {"done": True, "size": 9}}

    second = DirSource(root, checkpoint=checkpoint, progress="never")
    records = read_all(second, batch=10)
    assert [(r.raw, r.position.line) for r in records] == [(b"b1", 1), (b"b2", 2), (b"c1", 1)]
    for r in records:
        second.ack(r.position)
    second.close()
    saved = json.loads(checkpoint.read_text())
    assert all(entry.get("done") for entry in saved["files"].values()), saved
    assert len(saved["files"]) == 4  # the empty file counts as done too

    third = DirSource(root, checkpoint=checkpoint, progress="never")
    assert read_all(third) == [] and third.pending_files() == []


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_a_partial_file_resumes_after_its_last_acked_line(tmp_path: Path, packed: bool) -> None:
    root = tmp_path / "a"
    root.mkdir()
    data = b"".join(b"line %d\n" % i for i in range(1, 11))
    (root / "f.tsv").write_bytes(gzip.compress(data) if packed else data)
    checkpoint = tmp_path / "cp.json"
    src = DirSource(root, checkpoint=checkpoint, progress="never")
    records = src.read(6, 0)
    src.ack(records[5].position)
    src.close()
    again = read_all(DirSource(root, checkpoint=checkpoint, progress="never"))
    assert [(r.raw, r.position.line, r.source) for r in again][:1] == [(b"line 7", 7, "f.tsv:7")]
    assert [r.raw for r in again] == [b"line %d" % i for i in range(7, 11)]


def test_checkpoints_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "a"
    root.mkdir()
    (root / "f.tsv").write_bytes(b"x\n")
    checkpoint = tmp_path / "cp.json"
    src = DirSource(root, checkpoint=checkpoint, progress="never")
    for r in read_all(src):
        src.ack(r.position)
    src.close()
    (root / "f.tsv").write_bytes(b"x\ny\n")  # an archived file changed after it was processed
    with pytest.raises(CheckpointMismatch, match="f.tsv was fully processed when it had 2 bytes, but it now has 4"):
        DirSource(root, checkpoint=checkpoint)
    other = tmp_path / "b"
    other.mkdir()
    with pytest.raises(CheckpointMismatch, match="belongs to a run over"):
        DirSource(other, checkpoint=checkpoint)
    checkpoint.write_text("{not json")
    with pytest.raises(CheckpointMismatch, match="not a valid sptk checkpoint"):
        DirSource(root, checkpoint=checkpoint)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_periodic_lines_only_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "a"
    root.mkdir()
    make_archive(root)
    monkeypatch.setenv("SPTK_PROGRESS_INTERVAL_S", "0")
    terminal = _Terminal()
    read_all(DirSource(root, progress="auto", progress_stream=terminal), batch=100)
    final = terminal.getvalue().split("\r")[-1]
    assert "[sptk] dir" in final and "100%" in final and "4/4 files, 6 records" in final
    lines = io.StringIO()  # not a terminal: lines only when asked for
    read_all(DirSource(root, progress="always", progress_stream=lines), batch=100)
    assert lines.getvalue().splitlines()[-1].startswith("[sptk] dir: done, 0.0 of 0.0 MiB (100%)")
    assert "4/4 files, 6 records" in lines.getvalue().splitlines()[-1]
    quiet = io.StringIO()
    read_all(DirSource(root, progress="auto", progress_stream=quiet), batch=100)
    silent = _Terminal()
    read_all(DirSource(root, progress="never", progress_stream=silent), batch=100)
    assert quiet.getvalue() == "" and silent.getvalue() == ""


def test_the_shared_enriched_fixtures_come_through_byte_for_byte(enriched_fixtures: Path) -> None:
    src = DirSource(enriched_fixtures, pattern="*.tsv", progress="never")
    records = read_all(src, batch=7)
    files = sorted(enriched_fixtures.rglob("*.tsv"), key=lambda p: p.relative_to(enriched_fixtures).as_posix())
    expected = [line for f in files for line in f.read_bytes().split(b"\n")[:-1]]
    assert [r.raw for r in records] == expected
    assert {r.position.partition for r in records} >= {"python-1.tsv", "invalid/scala-invalid-1.tsv"}
    assert all(r.raw.count(b"\t") >= 100 for r in records if not r.position.partition.startswith("invalid/"))


def numbered(count: int, start: int = 1) -> bytes:
    return b"".join(b"line %d\n" % i for i in range(start, start + count))


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_named_files_resume_after_their_last_acknowledged_line(tmp_path: Path, packed: bool) -> None:
    first, second = tmp_path / "a.tsv", tmp_path / "b.tsv"
    first.write_bytes(numbered(3))
    second.write_bytes(gzip.compress(numbered(10)) if packed else numbered(10))
    checkpoint = tmp_path / "state" / "cp.json"
    src = FileSource([first, second], checkpoint=checkpoint)
    records = src.read(9, 0)
    for r in records[:8]:  # a.tsv whole, b.tsv up to line 5; line 6 was read and never acknowledged
        src.ack(r.position)
    src.close()
    saved = json.loads(checkpoint.read_text())
    assert saved["kind"] == "files" and saved["files"][str(first.resolve())] == {"done": True, "size": 21}
    assert saved["files"][str(second.resolve())]["line"] == 5

    again = FileSource([first, second], checkpoint=checkpoint)
    assert again.resumed and again.resume_summary() == f"{first} done, {second} after line 5"
    rest = read_all(again, batch=4)
    assert [(r.raw, r.source) for r in rest][:1] == [(b"line 6", f"{second}:6")]
    assert [r.raw for r in rest] == [b"line %d" % i for i in range(6, 11)]


def test_a_named_file_that_only_grew_resumes_after_its_checkpoint(tmp_path: Path) -> None:
    path, checkpoint = tmp_path / "live.tsv", tmp_path / "cp.json"
    path.write_bytes(numbered(4))
    src = FileSource([path], checkpoint=checkpoint)
    for r in src.read(3, 0):
        src.ack(r.position)
    src.close()
    with open(path, "ab") as f:
        f.write(numbered(2, start=5))
    assert [r.raw for r in read_all(FileSource([path], checkpoint=checkpoint))] == [b"line 4", b"line 5", b"line 6"]


@pytest.mark.parametrize("change", ["truncated", "inserted", "rewritten", "gzip rewritten", "gzip truncated"])
def test_a_file_changed_below_its_checkpoint_is_refused_before_anything_is_sent(tmp_path: Path, change: str) -> None:
    path, checkpoint = tmp_path / "events.tsv", tmp_path / "cp.json"
    packed = change.startswith("gzip")
    path.write_bytes(gzip.compress(numbered(10)) if packed else numbered(10))
    src = FileSource([path], checkpoint=checkpoint)
    for r in src.read(6, 0):
        src.ack(r.position)
    src.close()
    content = {"truncated": numbered(3), "inserted": b"an extra line\n" + numbered(10),
               "rewritten": numbered(10).replace(b"line 6", b"LINE 6"),
               "gzip rewritten": gzip.compress(numbered(10).replace(b"line", b"Line")),
               "gzip truncated": gzip.compress(numbered(4))}[change]
    path.write_bytes(content)
    with pytest.raises(CheckpointMismatch, match=r"events.tsv was acknowledged up to line 6 .* the file changed "
                                                 r"since it was read.*remove its entry"):
        resumed = FileSource([path], checkpoint=checkpoint)
        assert packed  # a plain file is checked when the source opens; gzip when decompression gets there
        assert resumed.read(10, 0) == []


def test_a_finished_file_that_changed_and_a_directory_checkpoint_are_refused(tmp_path: Path) -> None:
    path, checkpoint = tmp_path / "events.tsv", tmp_path / "cp.json"
    path.write_bytes(numbered(2))
    src = FileSource([path], checkpoint=checkpoint)
    for r in read_all(src):
        src.ack(r.position)
    src.close()
    path.write_bytes(numbered(3))
    with pytest.raises(CheckpointMismatch, match="was fully processed when it had 14 bytes, but it now has 21"):
        FileSource([path], checkpoint=checkpoint)
    root = tmp_path / "archive"
    root.mkdir()
    DirSource(root, checkpoint=tmp_path / "dir.json").close()
    with pytest.raises(CheckpointMismatch, match="belongs to a run over the directory"):
        FileSource([path], checkpoint=tmp_path / "dir.json")


def test_an_automatic_checkpoint_is_forgotten_once_every_file_was_delivered(tmp_path: Path) -> None:
    path, checkpoint = tmp_path / "events.tsv", tmp_path / "state" / "cp.json"
    path.write_bytes(numbered(5))
    src = FileSource([path], checkpoint=checkpoint, forget_when_done=True)
    for r in src.read(2, 0):
        src.ack(r.position)
    src.close()  # interrupted: kept for the rerun
    assert json.loads(checkpoint.read_text())["files"][str(path.resolve())]["line"] == 2
    src = FileSource([path], checkpoint=checkpoint, forget_when_done=True)
    for r in read_all(src):
        src.ack(r.position)
    src.close()
    assert not checkpoint.exists()  # a later run over the same file starts afresh
    assert len(read_all(FileSource([path], checkpoint=checkpoint, forget_when_done=True))) == 5


def test_file_sources_keep_their_checkpoint_where_the_config_and_the_output_say(tmp_path: Path) -> None:
    from connectors.sources import file_checkpoint
    from toolkit.config.loading import parse_config

    events = tmp_path / "events.tsv"
    events.write_bytes(numbered(1))

    def cfg(output: str, **file: str) -> object:
        data: dict = {"source": {"kind": "file", "file": {"paths": [str(events)], **file}},
                      "iglu": {"resolver_config": "resolver.json"}, "output": {"target": output},
                      "kafka": {"bootstrap_servers": "broker:9092", "topic_prefix": "prod.acme"}}
        return parse_config(data, base_dir=tmp_path, environ={})

    state = {"XDG_STATE_HOME": str(tmp_path / "state")}
    path, automatic = file_checkpoint(cfg("kafka"), environ=state)  # type: ignore[arg-type]
    assert automatic and path is not None and path.parent == tmp_path / "state" / "sptk" / "checkpoints"
    assert file_checkpoint(cfg("kafka"), environ=state) == (path, True)  # type: ignore[arg-type]
    assert file_checkpoint(cfg("kafka"), ("enriched",), environ=state)[0] != path  # type: ignore[arg-type]
    assert file_checkpoint(cfg(f"files:{tmp_path / 'out'}"), environ=state) == (None, False)  # type: ignore[arg-type]
    explicit = file_checkpoint(cfg(f"files:{tmp_path / 'out'}", checkpoint="cp.json"), environ=state)  # type: ignore[arg-type]
    assert explicit == (tmp_path / "cp.json", False)
    (tmp_path / "readonly").write_text("a file where a directory would have to be")
    assert file_checkpoint(cfg("kafka"), environ={"XDG_STATE_HOME": str(tmp_path / "readonly")}) == (  # type: ignore[arg-type]
        None, False)


def test_file_source_progress_is_a_bar_on_a_terminal_and_periodic_lines_only_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "events.tsv"
    plain.write_bytes(CONTENT)
    packed = tmp_path / "more.tsv.gz"
    packed.write_bytes(gzip.compress(CONTENT))
    total_mib = (plain.stat().st_size + packed.stat().st_size) / 2**20
    monkeypatch.setenv("SPTK_PROGRESS_INTERVAL_S", "0")
    terminal = _Terminal()
    read_all(FileSource([plain, packed], progress="auto", progress_stream=terminal), batch=3)
    final = terminal.getvalue().split("\r")[-1]
    assert "[sptk] file" in final and "100%" in final and "2/2 files, 10 records" in final
    lines = io.StringIO()  # not a terminal (the pipeline's stderr is its log): lines only when asked for
    read_all(FileSource([plain, packed], progress="always", progress_stream=lines), batch=3)
    shown = lines.getvalue().splitlines()
    assert len(shown) > 2 and shown[-1].startswith(f"[sptk] file: done, {total_mib:.1f} of {total_mib:.1f} MiB (100%)")
    assert "2/2 files, 10 records" in shown[-1]
    quiet, silent = io.StringIO(), _Terminal()
    read_all(FileSource([plain], progress="auto", progress_stream=quiet))
    read_all(FileSource([plain], progress="never", progress_stream=silent))
    assert quiet.getvalue() == "" and silent.getvalue() == ""


def test_the_file_sources_progress_is_configured_like_the_dir_sources(tmp_path: Path) -> None:
    from connectors.sources import open_source
    from toolkit.config.loading import parse_config

    (tmp_path / "in.tsv").write_bytes(CONTENT)
    cfg = parse_config({"source": {"kind": "file", "file": {"paths": ["in.tsv"], "progress": "always"}},
                        "iglu": {"resolver_config": "r.json"}, "output": {"target": f"files:{tmp_path}"}},
                       base_dir=tmp_path, environ={})
    assert cfg.source.file is not None and cfg.source.file.progress == "always"
    source = open_source(cfg)
    assert isinstance(source, FileSource) and source.progress_mode == "always"
    source.close()
