"""librdkafka's own log lines, through Python logging, each kind at most once per interval.

Why: while a broker is unreachable librdkafka logs ``Connect to ... failed: Connection
refused`` about twenty times a second, straight to stderr; a four-minute wait gave 4,649
such lines, burying the one message that mattered. Routed through Python logging the
lines follow the command's log format (JSON in a sidecar), and a kind of line (one
client's librdkafka facility, such as ``FAIL``) is let through once per interval; the next
one that passes says how many like it were held back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from toolkit.progress import interval_from_env

LOGGER_NAME = "sptk.librdkafka"
#: a repeated kind of librdkafka line is shown at most once per this many seconds
REPEAT_INTERVAL_S = 10.0
#: overrides :data:`REPEAT_INTERVAL_S` (0 shows every line, for debugging a client)
INTERVAL_ENV = "SPTK_KAFKA_LOG_INTERVAL_S"


class OncePerInterval(logging.Filter):
    """Let one record per (client, facility) through per interval; count the ones held back."""

    def __init__(self, interval_s: float = REPEAT_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._clock = clock
        self._shown: dict[tuple[str, ...], float] = {}
        self._held: dict[tuple[str, ...], int] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        # confluent-kafka logs ("%s [%s] %s", facility, client name, text)
        args = record.args if isinstance(record.args, tuple) else ()
        key = tuple(str(a) for a in args[:2]) if len(args) >= 2 else (record.getMessage(),)
        now = self._clock()
        with self._lock:
            shown = self._shown.get(key)
            if shown is not None and now - shown < self.interval_s:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            self._shown[key] = now
            held = self._held.pop(key, 0)
        if held and shown is not None:
            record.msg = f"{record.msg} ({held} more like it in the last {now - shown:.0f} s not shown)"
        return True


def librdkafka_logger() -> logging.Logger:
    """The logger librdkafka clients are given (their ``logger`` setting), with the repeat filter on it."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, OncePerInterval) for f in logger.filters):
        logger.addFilter(OncePerInterval(interval_from_env(REPEAT_INTERVAL_S, INTERVAL_ENV)))
    return logger
