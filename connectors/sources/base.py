"""What every source hands the pipeline: records with a position, and a cumulative ``ack``.

A source never decides when a record is done; the pipeline does, once every
output of the record (and of every record before it) is confirmed by a delivery
report. It then calls ``ack(position)``, which means "this position and
everything before it in the same partition is durable", and the source makes
that durable in its own way: a Kafka offset commit, a checkpoint file, or the
``200`` of an HTTP request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable


class Position(NamedTuple):
    """Where a record was read.

    ``partition`` is the unit of ordering (a file, ``topic/partition``, ``http``);
    ``offset`` increases within it (byte offset of the line, Kafka offset, batch
    sequence number); ``line`` is the 1-based line number for files (0 otherwise).
    A named tuple because the delivery tracker hashes and compares one per output
    of every record: a tuple does both in C, a frozen dataclass in Python.
    """

    partition: str
    offset: int
    line: int = 0


@dataclass(slots=True)
class Record:
    """One input line, byte for byte (without its ``\\n``), and where it came from.

    ``source`` is the ``sp.source`` header value. ``truncated`` is set when the line
    was longer than the source's line limit: ``raw`` then holds only its start and
    ``size`` the full length, so the pipeline can emit a ``size_violation`` bad row
    without holding the whole line in memory.
    """

    raw: bytes
    position: Position
    source: str
    trace_id: str | None = None
    truncated: bool = False
    size: int = -1

    def __post_init__(self) -> None:
        if self.size < 0:
            self.size = len(self.raw)


@runtime_checkable
class Source(Protocol):
    """The interface the pipeline reads from."""

    description: str

    def read(self, max_records: int, timeout_s: float) -> list[Record]:
        """Up to ``max_records`` records, waiting at most ``timeout_s`` for the first one."""
        ...

    @property
    def finished(self) -> bool:
        """True when no record will ever come again (end of files, or stopped and emptied)."""
        ...

    def ack(self, position: Position) -> None:
        """Everything at or before ``position`` in ``position.partition`` is durably handled."""
        ...

    def stop(self) -> None:
        """Stop taking new input (drain): reads return what is already buffered, then nothing."""
        ...

    def close(self) -> None:
        """Persist what was acknowledged and release resources."""
        ...
