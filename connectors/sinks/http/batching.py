"""Batches of events by count, bytes and linger: pure, with the clock passed in.

A batch closes when it holds ``max_events``, when the next event would take it past ``max_bytes``
(an event larger than that travels alone), or when its first event has waited ``linger_s``.
The sink asks :meth:`Batcher.due` between reads, so linger needs no timer thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class Batch(Generic[T]):
    items: list[T] = field(default_factory=list)
    size_bytes: int = 0
    opened_at: float = 0.0

    def __len__(self) -> int:
        return len(self.items)


class Batcher(Generic[T]):
    """Collects items with their sizes and hands out closed batches, oldest first."""

    def __init__(self, max_events: int, max_bytes: int, linger_s: float, clock: Callable[[], float]) -> None:
        if max_events < 1 or max_bytes < 1 or linger_s < 0:
            raise ValueError("max_events and max_bytes must be at least 1 and linger_s at least 0")
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.linger_s = linger_s
        self._clock = clock
        self._open: Batch[T] | None = None

    def add(self, item: T, size: int) -> list[Batch[T]]:
        """Add one item; return the batches this closed (none, one, or two when a large item closes its own)."""
        closed: list[Batch[T]] = []
        current = self._open
        if current is not None and current.size_bytes + size > self.max_bytes:
            closed.append(current)
            current = None
        if current is None:
            current = Batch(opened_at=self._clock())
        current.items.append(item)
        current.size_bytes += size
        if len(current.items) >= self.max_events or current.size_bytes >= self.max_bytes:
            closed.append(current)
            current = None
        self._open = current
        return closed

    def due(self) -> Batch[T] | None:
        """The open batch, closed, once its first item has lingered ``linger_s``; else ``None``."""
        current = self._open
        if current is None or self._clock() - current.opened_at < self.linger_s:
            return None
        self._open = None
        return current

    def wait_s(self) -> float | None:
        """Seconds until the open batch is due (``None`` when nothing is open)."""
        if self._open is None:
            return None
        return max(0.0, self._open.opened_at + self.linger_s - self._clock())

    def flush(self) -> Batch[T] | None:
        """The open batch, closed now, whatever its age (at a drain)."""
        current, self._open = self._open, None
        return current

    def __len__(self) -> int:
        return 0 if self._open is None else len(self._open.items)
