"""Files read in a fixed order, resumable from a checkpoint of acknowledged positions.

Backfills run for hours over thousands of files, and a plain file relayed to Kafka can
be large too, so a restart must not start over: acknowledged positions are written to a
small JSON checkpoint (atomically, at most once per interval and on close), and a rerun
skips finished files and resumes a partial file after its last acknowledged line. Both
the directory source and the named-files source are this class with another file list.

A checkpoint only means something while the file below it is the file that was read. So
each partial file records the CRC-32 of its last acknowledged line, and a rerun checks
that the same line is still at that offset (plain files when the source opens, gzip files
when decompression reaches it); a finished file records its size. A file that was
truncated, replaced or edited below the checkpoint stops the run with a message saying
what to do, rather than skipping lines that were never sent or sending a mix. A file
that only grew (lines appended after the checkpoint) resumes normally.
"""

from __future__ import annotations

import gzip
import json
import os
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from connectors.sources.base import Position, Record
from connectors.sources.lines import DEFAULT_MAX_LINE_BYTES, SourceError, iter_lines, open_binary
from toolkit.progress import Progress
from toolkit.progress import progress as progress_display

CHECKPOINT_VERSION = 1
#: lines read ahead of the acknowledgements whose CRC is kept; far more than delivery.max_in_flight allows
UNACKED_CRCS = 262_144


class CheckpointMismatch(SourceError):
    """The checkpoint does not fit the files on disk (another run's, or a file that changed below it)."""


@dataclass
class _FileState:
    label: str  # the partition of its positions and the start of ``sp.source``
    key: str  # its name in the checkpoint
    path: Path
    size: int
    acked: Position | None = None  # last acknowledged line
    acked_crc: int | None = None  # CRC-32 of that line, None when unknown (a checkpoint written without it)
    last: Position | None = None  # last line read, known once the file was read to the end
    eof: bool = False
    done: bool = False
    #: (offset, CRC-32) of the lines read and not acknowledged yet, for the checkpoint (bounded: see ack)
    unacked: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=UNACKED_CRCS))


class ResumableFiles:
    """Read ``files`` (label, checkpoint key, path) in order, plain or gzip, resumable from ``checkpoint``.

    Partitions are the files' labels; acks are cumulative per file. A file is recorded as
    done once it was read to the end and its last line was acknowledged. With
    ``forget_when_done`` the checkpoint is deleted once every file is done: it then only
    serves to resume an interrupted run, and a later run over the same files starts afresh.
    Subclasses say what the checkpoint is for (:meth:`_scope`, :meth:`_check_scope`).

    Progress is shown in input bytes (compressed ones for gzip), labelled ``progress_label``:
    ``auto`` a bar on a terminal only, since a pipeline's stderr is otherwise its log;
    ``always`` also a line every ``SPTK_PROGRESS_INTERVAL_S`` seconds; ``never`` nothing.
    """

    description = "files"

    def __init__(self, files: Sequence[tuple[str, str, Path]], *, checkpoint: Path | str | None = None,
                 forget_when_done: bool = False, progress: str = "auto", progress_stream: TextIO | None = None,
                 progress_label: str = "files", checkpoint_interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.checkpoint_path = Path(checkpoint) if checkpoint is not None else None
        self._forget_when_done = forget_when_done
        self._interval = checkpoint_interval_s
        self._clock = clock
        self._max_line_bytes = max_line_bytes
        self._files: dict[str, _FileState] = {
            label: _FileState(label, key, path, path.stat().st_size) for label, key, path in files}
        self._foreign: dict[str, Any] = {}  # entries of files this run does not read: kept as they were
        self.resumed = self._load_checkpoint()
        self._dirty = False
        self._last_write = clock()
        self._stopped = False
        self._finished = False
        self._records = self._iterate()
        self.records_read = 0
        self._files_done = 0
        self.progress_mode = progress
        self._progress: Progress | None = None if progress == "never" else progress_display(
            progress_label, sum(s.size for s in self._files.values()), progress_stream, unit="bytes",
            detail=self._progress_detail, mode="auto" if progress == "always" else "terminal", clock=clock)

    def _progress_detail(self) -> str:
        return f"{self._files_done}/{len(self._files)} files, {self.records_read:,} records"

    # -- what the checkpoint belongs to (subclasses) -------------------------------------

    def _scope(self) -> dict[str, Any]:
        """Top-level checkpoint fields that say which run it belongs to."""
        return {}

    def _check_scope(self, data: dict[str, Any]) -> None:
        """Raise :class:`CheckpointMismatch` if ``data`` (a loaded checkpoint) belongs to another run."""

    # -- checkpoint ----------------------------------------------------------------------

    def _load_checkpoint(self) -> bool:
        """Take over what the checkpoint says; True when it had anything for these files."""
        if self.checkpoint_path is None or not self.checkpoint_path.exists():
            return False
        try:
            data = json.loads(self.checkpoint_path.read_text(encoding="utf-8"))
            if data.get("version") != CHECKPOINT_VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {CHECKPOINT_VERSION}")
            entries: dict[str, Any] = dict(data["files"])
            self._check_scope(data)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CheckpointMismatch(f"checkpoint {self.checkpoint_path} is not a valid sptk checkpoint ({exc}); "
                                     "move it away to start from the beginning") from exc
        by_key = {s.key: s for s in self._files.values()}
        resumed = False
        for key, entry in entries.items():
            state = by_key.get(key)
            if state is None:
                self._foreign[key] = entry  # the file is gone, or not part of this run
                continue
            resumed = True
            if entry.get("done"):
                if entry.get("size") != state.size:
                    raise CheckpointMismatch(
                        f"{state.label} was fully processed when it had {entry.get('size')} bytes, but it now has "
                        f"{state.size}; a file should not change once read. {self._redo_advice(state)}")
                state.done = True
            elif "offset" in entry:
                state.acked = Position(state.label, int(entry["offset"]), int(entry.get("line", 0)))
                crc = entry.get("crc32")
                state.acked_crc = int(crc, 16) if isinstance(crc, str) else None
                self._verify_plain(state)
        return resumed

    def _redo_advice(self, state: _FileState) -> str:
        return (f"If it was replaced on purpose, remove its entry {state.key!r} from {self.checkpoint_path} (or the "
                "whole file) to process it from the start: its records are then sent again, and consumers "
                "deduplicate by sp.event_id")

    def _changed(self, state: _FileState, what: str) -> CheckpointMismatch:
        assert state.acked is not None
        return CheckpointMismatch(
            f"{state.label} was acknowledged up to line {state.acked.line} (byte {state.acked.offset}) by the "
            f"checkpoint {self.checkpoint_path}, but {what}: the file changed since it was read, so resuming could "
            f"skip lines that were never sent. {self._redo_advice(state)}")

    def _verify_plain(self, state: _FileState) -> None:
        """A plain file must still hold the acknowledged line at its offset (gzip: checked while reading)."""
        assert state.acked is not None
        reader, raw = open_binary(state.path)
        try:
            if isinstance(reader, gzip.GzipFile):
                return
            if state.acked.offset >= state.size:
                raise self._changed(state, f"it now has only {state.size} bytes")
            reader.seek(state.acked.offset)
            line = next(iter_lines(reader, start_offset=state.acked.offset, max_line_bytes=self._max_line_bytes,
                                   name=str(state.path)))
            self._verify_line(state, line.raw)
        finally:
            reader.close()
            raw.close()

    def _checkpoint_data(self) -> dict[str, Any]:
        files: dict[str, Any] = dict(self._foreign)
        for s in self._files.values():
            if s.done:
                files[s.key] = {"done": True, "size": s.size}
            elif s.acked is not None:
                entry: dict[str, Any] = {"offset": s.acked.offset, "line": s.acked.line}
                if s.acked_crc is not None:
                    entry["crc32"] = f"{s.acked_crc:08x}"
                files[s.key] = entry
        return {"version": CHECKPOINT_VERSION, **self._scope(), "files": files}

    def write_checkpoint(self) -> None:
        """Write the checkpoint atomically (temporary file, fsync, rename)."""
        if self.checkpoint_path is None:
            return
        self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint_path.with_name(self.checkpoint_path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self._checkpoint_data(), f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.checkpoint_path)
        self._dirty = False
        self._last_write = self._clock()

    def _maybe_write(self) -> None:
        if self._dirty and self._clock() - self._last_write >= self._interval:
            self.write_checkpoint()

    # -- reading -------------------------------------------------------------------------

    def _iterate(self) -> Iterator[Record]:
        for label, state in self._files.items():
            if state.done:
                self._files_done += 1
                if self._progress:
                    self._progress.advance(state.size)
                continue
            path = state.path
            reader, raw = open_binary(path)
            counted = 0  # input bytes of this file already shown
            try:
                resume = state.acked
                packed = isinstance(reader, gzip.GzipFile)
                if resume is not None and not packed:
                    reader.seek(resume.offset)  # plain file: jump straight to the last acknowledged line
                    lines = iter_lines(reader, start_offset=resume.offset, start_line=resume.line - 1,
                                       max_line_bytes=self._max_line_bytes, name=str(path))
                else:
                    lines = iter_lines(reader, max_line_bytes=self._max_line_bytes, name=str(path))
                verified = resume is None or not packed  # a plain file was checked when the source opened
                for line in lines:
                    if resume is not None and line.offset <= resume.offset:  # acknowledged in an earlier run
                        if line.offset == resume.offset and not verified:
                            self._verify_line(state, line.raw)
                            verified = True
                        continue
                    if not verified:
                        raise self._changed(state, "no line starts at that offset any more")
                    position = Position(label, line.offset, line.number)
                    state.last = position
                    if self.checkpoint_path is not None:
                        state.unacked.append((line.offset, zlib.crc32(line.raw)))
                    if self._progress:
                        here = raw.tell()
                        self._progress.advance(here - counted)
                        counted = here
                    yield Record(line.raw, position, f"{label}:{line.number}", truncated=line.truncated,
                                 size=line.size)
                if not verified:
                    raise self._changed(state, "it now ends before that offset")
            finally:
                reader.close()
                raw.close()
            state.eof = True
            self._settle(state)
            self._files_done += 1
            if self._progress:
                self._progress.advance(state.size - counted)

    def _verify_line(self, state: _FileState, raw: bytes) -> None:
        if state.acked_crc is not None and zlib.crc32(raw) != state.acked_crc:
            raise self._changed(state, "the line at that offset is not the one that was acknowledged")

    def read(self, max_records: int, timeout_s: float = 0.0) -> list[Record]:
        out: list[Record] = []
        if not self._stopped:
            for record in self._records:
                out.append(record)
                if len(out) >= max_records:
                    break
            else:
                self._finished = True
        self.records_read += len(out)
        if self._finished and self._progress:
            self._progress.close()
        self._maybe_write()
        return out

    @property
    def finished(self) -> bool:
        return self._finished or self._stopped

    @property
    def acked(self) -> dict[str, Position]:
        """The last acknowledged position of each file that has one."""
        return {label: s.acked for label, s in self._files.items() if s.acked is not None}

    def _settle(self, state: _FileState) -> None:
        """Mark a file done once it was read to the end and its last line acknowledged."""
        if state.done or not state.eof:
            return
        if state.last is None or (state.acked is not None and state.acked.offset >= state.last.offset):
            state.done = True
            self._dirty = True

    def ack(self, position: Position) -> None:
        state = self._files.get(position.partition)
        if state is None:
            raise KeyError(f"{position.partition!r} is not a file of {self.description}")
        if state.acked is None or position.offset > state.acked.offset:
            unacked = state.unacked
            while unacked and unacked[0][0] < position.offset:
                unacked.popleft()
            state.acked_crc = unacked.popleft()[1] if unacked and unacked[0][0] == position.offset else None
            state.acked = position
            self._dirty = True
        self._settle(state)
        self._maybe_write()

    def resume_summary(self) -> str:
        """Where each file resumes, for the log line of a resumed run."""
        parts = []
        for label, s in self._files.items():
            if s.done:
                parts.append(f"{label} done")
            elif s.acked is not None:
                parts.append(f"{label} after line {s.acked.line:,}")
            else:
                parts.append(f"{label} from the start")
        return ", ".join(parts)

    def pending_files(self) -> list[str]:
        """Files not yet recorded as done (read or not)."""
        return [label for label, s in self._files.items() if not s.done]

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        self._records.close()
        if self._progress:
            self._progress.close()
        if self._forget_when_done and self.checkpoint_path is not None and not self.pending_files():
            self.checkpoint_path.unlink(missing_ok=True)  # every file was delivered: nothing left to resume
            return
        self.write_checkpoint()
