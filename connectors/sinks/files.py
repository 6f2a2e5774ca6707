"""``--output files:DIR``: every stream to a local file, so the pipeline can be tried and tested without a broker.

``DIR/raw.tsv`` holds every input line that reached the raw stream, byte for byte;
``DIR/enriched.jsonl``, ``DIR/bad.jsonl`` and ``DIR/derived.<name>.v<N>.jsonl`` one message
value per line, exactly as it would be produced to Kafka (headers and keys are not kept);
``DIR/summary.json`` the run's counts, ``{"in", "enriched", "bad", "filtered", "derived":
{name: N}, ...}``. Each run starts the files afresh, except a run that resumes a directory
source from its checkpoint: it appends, so the files hold the whole backfill (with, after a
crash, the records written but not yet checkpointed twice, as on Kafka); its
``summary.json`` counts that run only.

A message counts as confirmed once it is handed to the operating system (written and the
file buffer flushed), which is when the source position may be acknowledged; on a clean
end of the run the files are also fsynced.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from toolkit.pipeline.delivery import DeliveryTracker
from toolkit.pipeline.outcomes import RAW, Output

SUMMARY = "summary.json"
_BUFFER = 1 << 20


def stream_file_name(stream: str) -> str:
    """``raw.tsv`` for the raw stream, ``<stream>.jsonl`` for the others."""
    return "raw.tsv" if stream == RAW else f"{stream}.jsonl"


class FilesOutputs:
    """The runner's outputs as files under one directory; confirmations are reported to ``tracker``."""

    def __init__(self, directory: Path | str, streams: Iterable[str], tracker: DeliveryTracker | None, *,
                 append: bool = False) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(f"cannot create the output directory {self.directory}: {exc.strerror or exc}") from exc
        self.tracker = tracker
        self._files: dict[str, BinaryIO] = {}
        for stream in streams:
            mode = "ab" if append else "wb"
            self._files[stream] = open(self.directory / stream_file_name(stream), mode, buffering=_BUFFER)  # noqa: SIM115
        self._pending: list[tuple[Any, Any]] = []
        self._counts: dict[str, int] = dict.fromkeys(self._files, 0)
        self._closed = False

    def path(self, stream: str) -> Path:
        return self.directory / stream_file_name(stream)

    def send(self, outs: Sequence[Output], record: tuple[Any, Any]) -> None:
        files, counts = self._files, self._counts
        for out in outs:
            f = files[out.stream]
            f.write(out.value)
            f.write(b"\n")
            counts[out.stream] += 1
            self._pending.append(record)

    def poll(self, timeout_s: float = 0.0) -> None:
        """Hand buffered lines to the OS and confirm them."""
        if not self._pending:
            return
        for f in self._files.values():
            f.flush()
        tracker = self.tracker
        if tracker is not None:
            delivered = tracker.delivered
            for ref in self._pending:
                delivered(*ref)
        self._pending.clear()

    def flush(self, timeout_s: float = 0.0) -> int:
        self.poll()
        return 0

    def delivered(self) -> dict[str, int]:
        return dict(self._counts)

    @property
    def queue_depth(self) -> int:
        return len(self._pending)

    def close(self, summary: dict[str, Any]) -> None:
        """Flush and fsync every file, then write ``summary.json`` (atomically)."""
        if self._closed:
            return
        self._closed = True
        self.poll()
        for f in self._files.values():
            os.fsync(f.fileno())
            f.close()
        tmp = self.directory / f".{SUMMARY}.tmp"
        tmp.write_text(json.dumps(summary, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.directory / SUMMARY)
