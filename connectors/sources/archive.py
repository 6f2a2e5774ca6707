"""A directory of archived enriched files (the legacy layout), resumable from a checkpoint.

Backfills run for hours over thousands of files, so a restart must not start
over: acknowledged positions are written to a small JSON checkpoint (atomically,
at most once per interval and on close), and a rerun skips finished files and
resumes a partial file after its last acknowledged line. Files are processed in
name order so runs are reproducible and the checkpoint stays meaningful.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from connectors.sources.base import Position, Record
from connectors.sources.files import DEFAULT_MAX_LINE_BYTES, SourceError, is_gzip, iter_lines, open_binary
from toolkit.progress import Progress, progress

CHECKPOINT_VERSION = 1


class CheckpointMismatch(SourceError):
    """The checkpoint does not fit the files on disk (another root, or a finished file that changed)."""


@dataclass
class _FileState:
    rel: str
    size: int
    acked: Position | None = None  # last acknowledged line
    last: Position | None = None  # last line read, known once the file was read to the end
    eof: bool = False
    done: bool = False


def discover(root: Path, pattern: str = "*") -> list[Path]:
    """Every regular file under ``root`` matching ``pattern``, in relative-path order.

    Names starting with ``.`` or ``_`` (``_SUCCESS`` markers, ``.tmp`` files,
    ``_temporary`` directories) are skipped at any depth.
    """
    if not root.is_dir():
        raise SourceError(f"source directory {root} does not exist (or is not a directory)")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
        for name in filenames:
            if name.startswith((".", "_")) or not fnmatch.fnmatch(name, pattern):
                continue
            path = Path(dirpath) / name
            if path.is_file():
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix().encode())


class DirSource:
    """Recursively read ``root`` in name order (plain and gzip), resumable from ``checkpoint``.

    Partitions are the files' paths relative to ``root``; acks are cumulative per
    file. A file is recorded as done once it was read to the end and its last line
    was acknowledged.
    """

    def __init__(self, root: Path | str, *, checkpoint: Path | str | None = None, pattern: str = "*",
                 progress: str = "auto", progress_stream: TextIO | None = None,
                 checkpoint_interval_s: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.root = Path(root)
        self.description = f"dir: {self.root}"
        self.checkpoint_path = Path(checkpoint) if checkpoint is not None else None
        self._interval = checkpoint_interval_s
        self._clock = clock
        self._max_line_bytes = max_line_bytes
        files = discover(self.root, pattern)
        self._files: dict[str, _FileState] = {}
        for path in files:
            rel = path.relative_to(self.root).as_posix()
            self._files[rel] = _FileState(rel, path.stat().st_size)
        self._load_checkpoint()
        self._dirty = False
        self._last_write = clock()
        self._stopped = False
        self._finished = False
        self._records = self._iterate()
        self.records_read = 0
        self._files_done = 0
        self._progress = self._show_progress(progress, progress_stream, clock) if progress != "never" else None

    def _show_progress(self, mode: str, stream: TextIO | None, clock: Callable[[], float]) -> Progress:
        """``auto``: a bar on a terminal only (a pipeline's stderr is its log); ``always``: periodic lines elsewhere."""
        return progress("dir", sum(s.size for s in self._files.values()), stream, unit="bytes",
                        detail=self._progress_detail, mode="auto" if mode == "always" else "terminal", clock=clock)

    def _progress_detail(self) -> str:
        return f"{self._files_done}/{len(self._files)} files, {self.records_read:,} records"

    # -- checkpoint ----------------------------------------------------------------------

    def _load_checkpoint(self) -> None:
        if self.checkpoint_path is None or not self.checkpoint_path.exists():
            return
        try:
            data = json.loads(self.checkpoint_path.read_text(encoding="utf-8"))
            if data.get("version") != CHECKPOINT_VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {CHECKPOINT_VERSION}")
            entries: dict[str, Any] = data["files"]
            recorded_root = data["root"]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CheckpointMismatch(f"checkpoint {self.checkpoint_path} is not a valid sptk checkpoint ({exc}); "
                                     "move it away to start from the beginning") from exc
        if recorded_root != str(self.root.resolve()):
            raise CheckpointMismatch(f"checkpoint {self.checkpoint_path} belongs to a run over {recorded_root}, "
                                     f"not {self.root.resolve()}; use a separate checkpoint file per directory")
        for rel, entry in entries.items():
            state = self._files.get(rel)
            if state is None:
                continue  # the file is gone: nothing to resume
            if entry.get("done"):
                if entry.get("size") != state.size:
                    raise CheckpointMismatch(
                        f"{rel} was fully processed when it had {entry.get('size')} bytes, but it now has "
                        f"{state.size}; archived files should never change. Remove its entry from "
                        f"{self.checkpoint_path} to process it again (its records may then be duplicated)")
                state.done = True
            elif "offset" in entry:
                state.acked = Position(rel, int(entry["offset"]), int(entry.get("line", 0)))
                if state.acked.offset > state.size and not is_gzip(self.root / rel):
                    raise CheckpointMismatch(
                        f"{rel} was acknowledged up to byte {state.acked.offset}, but it now has only {state.size} "
                        f"bytes; archived files should never change. Remove its entry from {self.checkpoint_path} "
                        "to process it again")

    def _checkpoint_data(self) -> dict[str, Any]:
        files: dict[str, Any] = {}
        for rel, s in self._files.items():
            if s.done:
                files[rel] = {"done": True, "size": s.size}
            elif s.acked is not None:
                files[rel] = {"offset": s.acked.offset, "line": s.acked.line}
        return {"version": CHECKPOINT_VERSION, "root": str(self.root.resolve()), "files": files}

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
        for rel, state in self._files.items():
            if state.done:
                self._files_done += 1
                if self._progress:
                    self._progress.advance(state.size)
                continue
            path = self.root / rel
            reader, raw = open_binary(path)
            counted = 0  # input bytes of this file already shown
            try:
                resume = state.acked
                if resume is not None and not isinstance(reader, gzip.GzipFile):
                    reader.seek(resume.offset)  # plain file: jump straight to the last acknowledged line
                    lines = iter_lines(reader, start_offset=resume.offset, start_line=resume.line - 1,
                                       max_line_bytes=self._max_line_bytes, name=str(path))
                else:
                    lines = iter_lines(reader, max_line_bytes=self._max_line_bytes, name=str(path))
                for line in lines:
                    if resume is not None and line.offset <= resume.offset:
                        continue  # acknowledged in an earlier run
                    position = Position(rel, line.offset, line.number)
                    state.last = position
                    if self._progress:
                        here = raw.tell()
                        self._progress.advance(here - counted)
                        counted = here
                    yield Record(line.raw, position, f"{rel}:{line.number}", truncated=line.truncated,
                                 size=line.size)
            finally:
                reader.close()
                raw.close()
            state.eof = True
            self._settle(state)
            self._files_done += 1
            if self._progress:
                self._progress.advance(state.size - counted)

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
            raise KeyError(f"{position.partition!r} is not a file of {self.root}")
        if state.acked is None or position.offset > state.acked.offset:
            state.acked = position
            self._dirty = True
        self._settle(state)
        self._maybe_write()

    def pending_files(self) -> list[str]:
        """Files not yet recorded as done (read or not)."""
        return [rel for rel, s in self._files.items() if not s.done]

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        self._records.close()
        if self._progress:
            self._progress.close()
        self.write_checkpoint()
