"""Lines from plain or gzip streams, byte for byte, with their offsets: what every file-like source reads.

Archives are large, so a file is never loaded whole: lines are read one at a time
with a cap, and gzip is recognised by its magic bytes rather than its name
(archives are often renamed). A line is handed on as the bytes it had (only the
``\\n`` is removed), so a line that is not valid UTF-8 still reaches the
pipeline and becomes a bad row with a reason instead of a decoding crash.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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
