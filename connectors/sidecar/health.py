"""Liveness and readiness: ``/healthz`` says the process is alive, ``/readyz`` that it should get traffic.

Readiness is a set of named probes (broker reachable, registry reachable) plus
"not draining". Probes do I/O, and Kubernetes may probe every few seconds from
several places, so each result is cached briefly; a probe that raises counts as
failed, with its message in the response so an operator sees why.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from connectors.sidecar.server import Request, Response

#: A probe returns True when healthy; False or an exception (its message is reported) when not.
Probe = Callable[[], bool]


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str = ""


class Readiness:
    """Named probes, a draining flag and the HTTP handlers for ``/healthz`` and ``/readyz``."""

    def __init__(self, probes: Mapping[str, Probe] | None = None, cache_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._probes = dict(probes or {})
        self._cache_s = cache_s
        self._clock = clock
        self._cache: dict[str, tuple[float, ProbeResult]] = {}
        self._lock = threading.Lock()
        self.draining = threading.Event()

    def add(self, name: str, probe: Probe) -> None:
        self._probes[name] = probe

    def _run(self, name: str, probe: Probe) -> ProbeResult:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(name)
            if cached and now - cached[0] < self._cache_s:
                return cached[1]
        try:
            result = ProbeResult(bool(probe()))
        except Exception as exc:  # a probe's failure is data for the response, not a crash
            result = ProbeResult(False, f"{type(exc).__name__}: {exc}")
        with self._lock:
            self._cache[name] = (now, result)
        return result

    def probed(self, prefix: str) -> bool | None:
        """Whether every probe named ``prefix...`` passes (``None`` when there is none)."""
        results = [self._run(name, probe).ok for name, probe in list(self._probes.items()) if name.startswith(prefix)]
        return all(results) if results else None

    def check(self) -> tuple[bool, dict[str, Any]]:
        checks = {}
        for name, probe in self._probes.items():
            r = self._run(name, probe)
            checks[name] = {"ok": r.ok, **({"detail": r.detail} if r.detail else {})}
        draining = self.draining.is_set()
        ready = not draining and all(c["ok"] for c in checks.values())
        return ready, {"ready": ready, "draining": draining, "checks": checks}

    def healthz(self, request: Request) -> Response:
        return Response.json(HTTPStatus.OK, {"alive": True})

    def readyz(self, request: Request) -> Response:
        ready, body = self.check()
        return Response.json(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE, body)


def kafka_probe(bootstrap: str, settings: Mapping[str, Any] | None = None, timeout_s: float = 2.0) -> Probe:
    """Ready when the cluster answers a metadata request with at least one broker."""
    from toolkit.kafka.admin import broker_count

    def probe() -> bool:
        return broker_count(bootstrap, settings, timeout_s) > 0

    return probe


def http_probe(url: str, timeout_s: float = 2.0) -> Probe:
    """Ready when ``url`` answers with a status below 500 (an Iglu registry's health or schema URL)."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - operator-set URL
                return response.status < 500
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return True
            raise RuntimeError(f"{url} answered {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise RuntimeError(f"{url} is unreachable: {getattr(exc, 'reason', exc)}") from None

    return probe
