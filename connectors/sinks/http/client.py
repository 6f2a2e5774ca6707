"""Sending one batch: auth headers, a token-bucket rate limit, and retries within a budget.

A batch is retried on 408, 429, 5xx, timeouts and connection errors, with exponential backoff and
full jitter (a random wait below a ceiling that doubles each time), so many sinks that failed
together do not come back together. A ``Retry-After`` (seconds or an HTTP date) is the server's
word and is waited out exactly: no attempt starts before it. Any other status is the receiver
refusing the data itself, and is not retried. The budget is attempts and elapsed time; when it is
spent the caller sends the batch to the dead-letter topic. A drain deadline set meanwhile makes
the client give the batch up unsent rather than wait past it (it is then read again after a restart).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Literal

import requests

from connectors.sinks.http.config import HttpSection, RateLimitSection, RetrySection
from connectors.sinks.http.metrics import HttpSinkMetrics
from connectors.sinks.http.templates import Body

log = logging.getLogger(__name__)

#: statuses worth asking again: the receiver timed out, throttled, or failed on its side
RETRYABLE_STATUSES = frozenset({408, 429})
#: a wait is cut into slices this long so that a drain that starts meanwhile is noticed
WAIT_SLICE_S = 0.1

ErrorClass = Literal["http_status", "timeout", "connection", "retry_after_too_long"]


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """Seconds to wait from ``Retry-After``: delta seconds or an HTTP date; ``None`` if absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now_epoch)


def retryable(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: retry ``n`` (1-based) waits ``random() * min(max, initial * 2**(n-1))``."""

    initial_s: float
    max_s: float
    random: Callable[[], float] = random.random

    def delay(self, retry: int) -> float:
        ceiling = min(self.max_s, self.initial_s * 2 ** max(0, retry - 1))
        return self.random() * ceiling


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; one token per request. ``rate`` 0: no limit."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def reserve(self) -> float:
        """Take a token; return how long to wait before using it (0 when one was there)."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a batch ended: delivered (a 2xx), spent its budget (``error_class`` says why), or abandoned at a drain."""

    delivered: bool
    attempts: int
    status: int | None = None
    error_class: ErrorClass | None = None
    reason: str = ""
    abandoned: bool = False


class HttpClient:
    """One session to the endpoint; :meth:`send` delivers a body or says why it could not."""

    def __init__(self, http: HttpSection, retry: RetrySection, rate_limit: RateLimitSection, *,
                 metrics: HttpSinkMetrics | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, wall_clock: Callable[[], float] = time.time,
                 jitter: Callable[[], float] = random.random, session: requests.Session | None = None) -> None:
        self.http = http
        self.retry = retry
        self.metrics = metrics
        self.backoff = Backoff(retry.initial_backoff_s, retry.max_backoff_s, jitter)
        self.bucket = TokenBucket(rate_limit.requests_per_s, rate_limit.burst, clock)
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self.session = session or requests.Session()
        self.session.verify = http.verify_tls
        self.headers = {**http.headers, **{h.name: h.prefix + h.value.reveal() for h in http.secret_headers}}

    def close(self) -> None:
        self.session.close()

    def send(self, body: Body, headers: Mapping[str, str] | None = None,
             deadline: Callable[[], float | None] = lambda: None) -> Outcome:
        """Deliver ``body`` within the retry budget; ``deadline()`` (a drain's) stops waiting past it."""
        started = self._clock()
        attempt = 0
        all_headers = {**self.headers, "Content-Type": body.content_type, **(headers or {})}
        while True:
            if not self._wait(self.bucket.reserve(), deadline):
                return Outcome(False, attempt, abandoned=True, reason="the drain deadline came before the next attempt")
            attempt += 1
            status, retry_after, error_class, reason = self._attempt(body, all_headers)
            if status is not None and 200 <= status < 300:
                return Outcome(True, attempt, status)
            if status is not None and not retryable(status):
                return Outcome(False, attempt, status, "http_status", f"refused with {status}: {reason}")
            failed = Outcome(False, attempt, status, error_class, reason)
            if retry_after is not None and retry_after > self.retry.max_retry_after_s:
                return Outcome(False, attempt, status, "retry_after_too_long",
                               f"{reason}; Retry-After {retry_after:g}s is over retry.max_retry_after_s "
                               f"({self.retry.max_retry_after_s:g}s)")
            wait = retry_after if retry_after is not None else self.backoff.delay(attempt)
            elapsed = self._clock() - started
            if attempt >= self.retry.max_attempts or elapsed + wait >= self.retry.max_elapsed_s:
                budget = (f"{attempt} attempts" if attempt >= self.retry.max_attempts
                          else f"{self.retry.max_elapsed_s:g}s")
                return Outcome(False, attempt, status, failed.error_class, f"{reason} (retry budget of {budget} spent)")
            if self.metrics is not None:
                self.metrics.retry()
            log.info("attempt %d to %s failed (%s); retrying in %.2fs%s", attempt, self.http.url, reason, wait,
                     " as Retry-After asks" if retry_after is not None else "")
            if not self._wait(wait, deadline):
                return Outcome(False, attempt, status, failed.error_class, reason, abandoned=True)

    def _attempt(self, body: Body, headers: Mapping[str, str]) -> tuple[int | None, float | None, ErrorClass, str]:
        """One request: (status or None, Retry-After seconds, error class, reason for a person)."""
        started = time.perf_counter()
        try:
            response = self.session.request(self.http.method, self.http.url, data=body.content, headers=dict(headers),
                                            timeout=(self.http.timeout_s, self.http.timeout_s))
        except requests.Timeout:
            self._observe("timeout", started)
            return None, None, "timeout", f"no answer within {self.http.timeout_s:g}s"
        except requests.RequestException as exc:
            self._observe("connection", started)
            return None, None, "connection", f"cannot reach {self.http.url}: {type(exc).__name__}"
        self._observe(str(response.status_code), started)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), self._wall_clock())
        text = response.text[:200].strip().replace("\n", " ")
        return response.status_code, retry_after, "http_status", f"HTTP {response.status_code} {text}".rstrip()

    def _observe(self, status: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.request(status, time.perf_counter() - started)

    def _wait(self, seconds: float, deadline: Callable[[], float | None]) -> bool:
        """Sleep ``seconds`` in slices; False (without sleeping on) when a drain deadline falls before the end."""
        end = self._clock() + seconds
        while True:
            limit = deadline()
            if limit is not None and end > limit:
                return False
            left = end - self._clock()
            if left <= 0:
                return True
            self._sleep(min(left, WAIT_SLICE_S))
