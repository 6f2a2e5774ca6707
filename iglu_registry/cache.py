"""A bounded least-recently-used map whose reads take no lock.

The resolver reads it once per entity per event from several threads, so a read is a
plain dict lookup plus an order bump; only writes (cold path) take the lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """At most ``max_size`` entries; ``max_size == 0`` stores nothing (Snowplow's "no cache")."""

    __slots__ = ("_data", "_lock", "max_size")

    def __init__(self, max_size: int) -> None:
        if max_size < 0:
            raise ValueError(f"cache size must be 0 or more, got {max_size}")
        self.max_size = max_size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            try:  # noqa: SIM105 - contextlib.suppress costs a frame on the hot path
                self._data.move_to_end(key)
            except KeyError:  # evicted by another thread between the two calls; the value is still good
                pass
        return value

    def put(self, key: K, value: V) -> None:
        if self.max_size == 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_size:
                self._data.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data
