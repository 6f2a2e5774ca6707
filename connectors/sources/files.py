"""Enriched TSV from files and stdin: streamed line by line, plain or gzip, bytes kept exactly.

Archives are large, so a file is never loaded whole: lines are read one at a time
with a cap, and gzip is recognised by its magic bytes rather than its name
(archives are often renamed). A line is handed on as the bytes it had (only the
``\\n`` is removed), so a line that is not valid UTF-8 still reaches the
pipeline and becomes a bad row with a reason instead of a decoding crash.
"""

from __future__ import annotations

import gzip
import io
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from connectors.sources.base import Position, Record
from toolkit.progress import progress as _progress_display

GZIP_MAGIC = b"\x1f\x8b"
#: Longer lines are cut (and flagged) so one corrupt file cannot exhaust memory.
DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024


class SourceError(RuntimeError):
    """An input could not be read; the message names it and says what to check."""


@dataclass(slots=True)
class Line:
    offset: int  # byte offset of the line start (in the decompressed stream for gzip)
    number: int  # 1-based
    raw: bytes
    size: int  # full length without the newline, even when raw was cut
    truncated: bool


def open_binary(path: Path) -> tuple[BinaryIO, BinaryIO]:
    """Open ``path`` for reading, decompressing gzip if its first bytes say so.

    Returns (reader, underlying file) so callers can report progress in input bytes.
    """
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from exc
    return wrap_gzip(raw), raw


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def wrap_gzip(stream: BinaryIO) -> BinaryIO:
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered  # type: ignore[return-value]


def iter_lines(stream: BinaryIO, *, start_offset: int = 0, start_line: int = 0,
               max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, name: str = "input") -> Iterator[Line]:
    """Lines of ``stream`` with their byte offsets; ``stream`` is positioned at ``start_offset``."""
    offset, number = start_offset, start_line
    while True:
        try:
            chunk = stream.readline(max_line_bytes + 1)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise SourceError(f"{name}: read failed after line {number} (byte {offset}): {exc}. The file may be "
                              "truncated or corrupt; records before this point were read normally.") from exc
        if not chunk:
            return
        number += 1
        start = offset
        if chunk.endswith(b"\n") or len(chunk) <= max_line_bytes:
            offset += len(chunk)
            content = chunk[:-1] if chunk.endswith(b"\n") else chunk
            yield Line(start, number, content, len(content), False)
            continue
        # Longer than the cap: keep the start, skip the rest of the line without holding it.
        head = chunk[:max_line_bytes]
        size = len(chunk)
        while not chunk.endswith(b"\n"):
            chunk = stream.readline(1024 * 1024)
            if not chunk:
                break
            size += len(chunk)
        offset += size
        content_size = size - 1 if chunk.endswith(b"\n") else size
        yield Line(start, number, head, content_size, True)


class _LineReader:
    """Shared machinery: a queue of inputs read in order, ``read()`` in batches, cumulative acks."""

    description = "lines"

    def __init__(self, inputs: Sequence[tuple[str, Callable[[], BinaryIO]]], max_line_bytes: int) -> None:
        self._inputs = list(inputs)
        self._max_line_bytes = max_line_bytes
        self._lines = self._iterate()
        self._finished = False
        self._stopped = False
        self.acked: dict[str, Position] = {}
        self.records_read = 0

    def _iterate(self) -> Iterator[Record]:
        for name, opener in self._inputs:
            stream = opener()
            try:
                for line in iter_lines(stream, max_line_bytes=self._max_line_bytes, name=name):
                    yield Record(line.raw, Position(name, line.offset, line.number), f"{name}:{line.number}",
                                 truncated=line.truncated, size=line.size)
            finally:
                if stream is not sys.stdin.buffer:
                    stream.close()

    def read(self, max_records: int, timeout_s: float = 0.0) -> list[Record]:
        out: list[Record] = []
        if self._stopped:
            return out
        for record in self._lines:
            out.append(record)
            if len(out) >= max_records:
                break
        else:
            self._finished = True
        self.records_read += len(out)
        return out

    @property
    def finished(self) -> bool:
        return self._finished or self._stopped

    def ack(self, position: Position) -> None:
        current = self.acked.get(position.partition)
        if current is None or position.offset > current.offset:
            self.acked[position.partition] = position

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        self._lines.close()


class FileSource(_LineReader):
    """Named files (plain or gzip), in the order given; positions are path, line and byte offset.

    A plain file list has nothing durable to commit; acknowledged positions are
    kept in ``acked`` for reports. Use :class:`~connectors.sources.archive.DirSource`
    with a checkpoint for resumable runs.

    Progress is shown in input bytes (compressed ones for gzip) as the dir source shows it:
    ``auto`` a bar on a terminal only, since a pipeline's stderr is otherwise its log;
    ``always`` also a line every ``SPTK_PROGRESS_INTERVAL_S`` seconds; ``never`` nothing.
    """

    def __init__(self, paths: Sequence[Path | str], *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
                 progress: str = "auto", progress_stream: TextIO | None = None) -> None:
        files = [Path(p) for p in paths]
        for p in files:
            if not p.is_file():
                raise SourceError(f"input file {p} does not exist (or is not a regular file)")
        sizes = [p.stat().st_size for p in files]
        self._opened: list[BinaryIO] = []  # the current file's underlying stream, for its position in bytes
        super().__init__([(str(p), (lambda p=p: self._open(p))) for p in files], max_line_bytes)
        self.description = f"files: {', '.join(map(str, files))}"
        self.progress_mode = progress
        self._before = [sum(sizes[:i]) for i in range(len(files))]  # input bytes of the files before each
        self._sizes = sizes
        self._progress = None if progress == "never" else _progress_display(
            "file", sum(sizes), progress_stream, unit="bytes", mode="auto" if progress == "always" else "terminal",
            detail=lambda: f"{len(self._opened) - (not self._finished)}/{len(files)} files, "
                           f"{self.records_read:,} records")

    def _open(self, path: Path) -> BinaryIO:
        reader, raw = open_binary(path)
        if self._opened:
            self._opened[-1].close()  # read to its end (a gzip reader leaves the file under it open)
        self._opened.append(raw)
        return reader

    def read(self, max_records: int, timeout_s: float = 0.0) -> list[Record]:
        out = super().read(max_records, timeout_s)
        shown = self._progress
        if shown is not None and self._opened:
            i, raw = len(self._opened) - 1, self._opened[-1]
            here = self._before[i] + (self._sizes[i] if raw.closed or self._finished else raw.tell())
            shown.advance(here - shown.done)
            if self._finished:
                shown.close()
        return out

    def close(self) -> None:
        super().close()
        if self._opened:
            self._opened[-1].close()
        if self._progress is not None:
            self._progress.close()


class StdinSource(_LineReader):
    """Standard input (plain or gzip), read by a thread so the loop never waits on a quiet pipe.

    Why a thread: a pipe that stays open but idle holds ``readline`` until the next line. In
    the loop's own thread that would keep records that did arrive waiting for a full batch,
    and a SIGTERM waiting for the next line. The thread hands records over through a deque
    (appends and pops are atomic) and stops reading while ``QUEUE_RECORDS`` are waiting, so
    memory stays bounded when the pipeline is behind. A thread still blocked on an idle pipe
    when the run ends is a daemon: it ends with the process.
    """

    #: records read ahead of the pipeline at most
    QUEUE_RECORDS = 2048

    def __init__(self, stream: BinaryIO | None = None, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        target = stream if stream is not None else sys.stdin.buffer
        super().__init__([("stdin", lambda: wrap_gzip(target))], max_line_bytes)
        self.description = "stdin"
        self._ready: deque[Record | BaseException | None] = deque()  # None: the end of the input
        self._arrived = threading.Event()
        self._room = threading.Event()
        self._room.set()
        self._thread = threading.Thread(target=self._pump, name="sptk-stdin", daemon=True)

    def _pump(self) -> None:
        ready, arrived, room = self._ready, self._arrived, self._room
        try:
            for record in self._lines:
                while len(ready) >= self.QUEUE_RECORDS and not self._stopped:
                    room.clear()
                    room.wait(0.2)
                ready.append(record)  # even when stopped: the line has left the pipe, it must not be lost
                arrived.set()
                if self._stopped:
                    return
            ready.append(None)
        except BaseException as exc:  # handed to read(), which raises it in the loop's thread
            ready.append(exc)
        arrived.set()

    def read(self, max_records: int, timeout_s: float = 0.0) -> list[Record]:
        """What has arrived, up to ``max_records``; waits up to ``timeout_s`` only when nothing has.

        After :meth:`stop`, what was read from the pipe before is still handed out (and
        :attr:`finished` waits for it), so a drain loses nothing that left the pipe.
        """
        out: list[Record] = []
        if self._finished:
            return out
        if self._thread.ident is None:
            self._thread.start()
        ready = self._ready
        if not ready and timeout_s > 0 and not self._stopped:
            self._arrived.wait(timeout_s)
        self._arrived.clear()
        while ready and len(out) < max_records:
            item = ready.popleft()
            if item is None:
                self._finished = True
                break
            if isinstance(item, BaseException):
                self._finished = True
                raise item
            out.append(item)
        if ready:
            self._arrived.set()  # more is waiting: the next read must not sleep
        self._room.set()
        self.records_read += len(out)
        return out

    @property
    def finished(self) -> bool:
        return self._finished or (self._stopped and not self._ready)

    def stop(self) -> None:
        super().stop()
        self._room.set()

    def close(self) -> None:
        self.stop()
        if not self._thread.is_alive():  # a generator running in the thread cannot be closed from here
            self._lines.close()
