"""The sidecar runtime: probes and metrics over HTTP, signal handling, and a bounded drain.

A pod is stopped with SIGTERM and, after its grace period, SIGKILL. Everything
read but not yet committed is re-read after a restart, so stopping cleanly means:
stop taking input, flush the producer, commit what is confirmed, exit ``0``,
all within ``drain_timeout_s`` (set it below the pod's grace period). An
operator who sends the signal again wants out now: the second signal exits at
once, saying what that costs.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from connectors.sidecar.health import Probe, Readiness
from connectors.sidecar.metrics import CONTENT_TYPE, PipelineMetrics
from connectors.sidecar.server import HttpServer, Request, Response
from iglu_registry.http_server import ServerLimits
from toolkit.config.models import PipelineConfig
from toolkit.signals import take_held

if TYPE_CHECKING:
    from connectors.collector.source import CollectorSource
    from connectors.sources.http import HttpSource

log = logging.getLogger(__name__)


class Drainable(Protocol):
    """What the sidecar runs: a loop that stops when asked, and a drain with a deadline."""

    def run(self, stop: threading.Event) -> None:
        """Process input until ``stop`` is set or the input is finished."""
        ...

    def drain(self, timeout_s: float) -> bool:
        """Stop reading, flush, commit what is confirmed; True if nothing was left unconfirmed."""
        ...


class Sidecar:
    """``/healthz``, ``/readyz`` and ``/metrics`` on one port, plus SIGTERM/SIGINT draining.

    ``serve=False`` keeps the signals and the drain but opens no port (a run from the command
    line that nobody probes).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8080, *, metrics: PipelineMetrics | None = None,
                 probes: Mapping[str, Probe] | None = None, drain_timeout_s: float = 30.0,
                 readiness_cache_s: float = 2.0, serve: bool = True, limits: ServerLimits | None = None) -> None:
        self.server = HttpServer(host, port, limits)
        self.serving = serve
        self._running = False
        self.metrics = metrics or PipelineMetrics()
        self.readiness = Readiness(probes, cache_s=readiness_cache_s)
        # read at each scrape, so alerting sees what /readyz would answer (SptkNotReady)
        self.metrics.ready.set_function(lambda: float(self.readiness.check()[0]))
        self.drain_timeout_s = drain_timeout_s
        self._signals = 0
        self._started = False
        self._drain_hooks: list[Callable[[], None]] = []
        self._hook_lock = threading.Lock()
        self._drain_started = False
        for method in ("GET", "HEAD"):
            self.server.route(method, "/healthz", self.readiness.healthz)
            self.server.route(method, "/readyz", self.readiness.readyz)
            self.server.route(method, "/metrics", self._metrics)

    @classmethod
    def from_config(cls, cfg: PipelineConfig, *, metrics: PipelineMetrics | None = None,
                    probes: Mapping[str, Probe] | None = None) -> Sidecar:
        return cls(cfg.sidecar.host, cfg.sidecar.port, metrics=metrics, probes=probes,
                   drain_timeout_s=cfg.delivery.drain_timeout_s, limits=cfg.sidecar.limits)

    def _metrics(self, request: Request) -> Response:
        registries = self.readiness.probed("registry:")
        if registries is not None:  # the same cached probes as /readyz: a scrape does not add registry traffic
            self.metrics.registry_state(answers=registries)
        return Response(HTTPStatus.OK, self.metrics.exposition(), CONTENT_TYPE)

    def mount(self, source: HttpSource | CollectorSource) -> None:
        """Serve an HTTP source (or the collector) on the sidecar's port; it stops taking requests the moment a drain
        starts."""
        source.mount(self.server)
        self.on_drain(source.stop)

    def on_drain(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` once when the drain starts (stop intake: pause a consumer, refuse new batches).

        A hook registered after the drain started (a signal during start-up) is called at once.
        """
        with self._hook_lock:
            if not self._drain_started:
                self._drain_hooks.append(hook)
                return
        hook()

    @property
    def draining(self) -> threading.Event:
        return self.readiness.draining

    @property
    def port(self) -> int:
        return self.server.port

    def bind(self) -> None:
        """Claim the port before the slow start-up steps (:class:`ListenError` if taken); endpoints answer from run."""
        if self.serving:
            self.server.bind()

    def start(self) -> None:
        if self.serving and not self._started:
            self.server.start()
            self._started = True

    def stop(self) -> None:
        self.server.stop()  # also releases a port that was bound but never served
        self._started = False

    # -- signals and draining ------------------------------------------------------------

    def install_signal_handlers(self, signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT)) -> None:
        """Only the main thread may do this (Python delivers signals there).

        Signals the command line held during start-up (:mod:`toolkit.signals`) are handled
        now, in order, as if they had just arrived.
        """
        for sig in signals:
            signal.signal(sig, self._on_signal)
        for signum in take_held():
            self._on_signal(signum, None)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        self._signals += 1
        if self._signals == 1:
            self.draining.set()
            # The hooks take locks the interrupted code may hold: run them outside the signal handler.
            threading.Thread(target=self.begin_drain, args=(f"received {name}",), name="sptk-drain-start",
                             daemon=True).start()
            if not self._running:
                log.warning("received %s during start-up: the pipeline reads nothing and exits once started; send "
                            "%s again to exit at once", name, name, extra={"signal": name})
                return
            log.warning("received %s: draining (stop reading, flush the producer, commit what is confirmed) within "
                        "%gs; send %s again to exit at once", name, self.drain_timeout_s, name,
                        extra={"signal": name, "drain_timeout_s": self.drain_timeout_s})
            return
        log.critical("received %s again: exiting now without finishing the drain; records not yet committed will be "
                     "read again after the restart", name, extra={"signal": name})
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(128 + signum)

    def begin_drain(self, reason: str) -> None:
        """Mark the instance not ready and stop intake; idempotent."""
        self.draining.set()
        with self._hook_lock:
            first, self._drain_started = not self._drain_started, True
            hooks, self._drain_hooks = self._drain_hooks, []
        if first:
            log.info("drain started: %s", reason, extra={"reason": reason})
        self.metrics.draining.set(1)
        for hook in hooks:
            try:
                hook()
            except Exception:
                log.exception("a drain hook failed; continuing the drain")

    def run(self, pipeline: Drainable, install_signals: bool = True) -> int:
        """Serve probes, run ``pipeline`` until input ends or a signal arrives, drain, and return the exit code.

        ``0`` when the drain confirmed and committed everything in time, ``1`` when
        it did not (or the pipeline failed); in both cases nothing unconfirmed was
        committed, so a restart re-reads it.
        """
        if install_signals:
            self.install_signal_handlers()
        self.start()
        self._running = True
        failed = False
        try:
            pipeline.run(self.draining)
        except Exception:
            log.exception("the pipeline stopped with an error; draining what is already confirmed")
            failed = True
        self.begin_drain("input finished" if not failed else "pipeline error")
        drained = self._drain(pipeline)
        self.stop()
        if drained and not failed:
            log.info("drained: everything read was confirmed and committed; exiting")
            return 0
        return 1

    def _drain(self, pipeline: Drainable) -> bool:
        outcome: list[bool] = []

        def work() -> None:
            try:
                outcome.append(pipeline.drain(self.drain_timeout_s))
            except Exception:
                log.exception("the drain failed")
                outcome.append(False)

        worker = threading.Thread(target=work, name="sptk-drain", daemon=True)
        worker.start()
        worker.join(self.drain_timeout_s + 1.0)
        if worker.is_alive() or not outcome:
            log.error("the drain did not finish within %gs; records not yet committed will be read again after the "
                      "restart", self.drain_timeout_s)
            return False
        if not outcome[0]:
            log.error("the drain ended with records still unconfirmed; they will be read again after the restart")
        return outcome[0]
