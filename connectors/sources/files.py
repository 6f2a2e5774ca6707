"""Enriched TSV from named files (resumable from a checkpoint) and from stdin (which cannot resume)."""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from connectors.sources.base import Position, Record
from connectors.sources.lines import DEFAULT_MAX_LINE_BYTES, SourceError, iter_lines, wrap_gzip
from connectors.sources.resumable import CheckpointMismatch, ResumableFiles


class FileSource(ResumableFiles):
    """Named files (plain or gzip), in the order given; positions are path, line and byte offset.

    With a ``checkpoint`` a rerun over the same files resumes after the last acknowledged
    line of each (see :class:`~connectors.sources.resumable.ResumableFiles`, which also shows
    the progress); the checkpoint names each file by its absolute path, so a rerun from
    another directory finds it.
    """

    def __init__(self, paths: Sequence[Path | str], *, checkpoint: Path | str | None = None,
                 forget_when_done: bool = False, checkpoint_interval_s: float = 1.0, progress: str = "auto",
                 progress_stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        files = [Path(p) for p in paths]
        for p in files:
            if not p.is_file():
                raise SourceError(f"input file {p} does not exist (or is not a regular file)")
        super().__init__([(str(p), str(p.resolve()), p) for p in files], checkpoint=checkpoint,
                         forget_when_done=forget_when_done, progress=progress, progress_stream=progress_stream,
                         progress_label="file", checkpoint_interval_s=checkpoint_interval_s, clock=clock,
                         max_line_bytes=max_line_bytes)
        self.description = f"files: {', '.join(map(str, files))}"

    def _scope(self) -> dict[str, Any]:
        return {"kind": "files"}

    def _check_scope(self, data: dict[str, Any]) -> None:
        if data.get("kind") != "files":
            raise CheckpointMismatch(f"checkpoint {self.checkpoint_path} belongs to a run over the directory "
                                     f"{data.get('root')}, not to named files; use a separate checkpoint file")


class StdinSource:
    """Standard input (plain or gzip), read by a thread so the loop never waits on a quiet pipe.

    A pipe cannot be read again, so there is nothing to checkpoint: acknowledged positions
    are kept in ``acked`` for reports, and a run that stops early cannot resume.

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
        self._stream = stream if stream is not None else sys.stdin.buffer
        self._max_line_bytes = max_line_bytes
        self._lines = self._iterate()
        self._finished = False
        self._stopped = False
        self.acked: dict[str, Position] = {}
        self.records_read = 0
        self.description = "stdin"
        self._ready: deque[Record | BaseException | None] = deque()  # None: the end of the input
        self._arrived = threading.Event()
        self._room = threading.Event()
        self._room.set()
        self._thread = threading.Thread(target=self._pump, name="sptk-stdin", daemon=True)

    def _iterate(self) -> Iterator[Record]:
        for line in iter_lines(wrap_gzip(self._stream), max_line_bytes=self._max_line_bytes, name="stdin"):
            yield Record(line.raw, Position("stdin", line.offset, line.number), f"stdin:{line.number}",
                         truncated=line.truncated, size=line.size)

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

    def ack(self, position: Position) -> None:
        current = self.acked.get(position.partition)
        if current is None or position.offset > current.offset:
            self.acked[position.partition] = position

    def stop(self) -> None:
        self._stopped = True
        self._room.set()

    def close(self) -> None:
        self.stop()
        if not self._thread.is_alive():  # a generator running in the thread cannot be closed from here
            self._lines.close()
