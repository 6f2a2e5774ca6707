"""The sidecar runtime: HTTP probes and metrics, structured logs, signal handling and draining.

A long-running pipeline (a Kubernetes sidecar, a systemd service) runs inside a
:class:`Sidecar`: ``/healthz``, ``/readyz``, ``/metrics`` (and the HTTP source)
on one port, JSON logs on stderr, and SIGTERM/SIGINT turned into a bounded drain.
"""

from connectors.sidecar.health import Readiness, http_probe, kafka_probe
from connectors.sidecar.logs import JsonFormatter, configure_logging
from connectors.sidecar.metrics import PipelineMetrics
from connectors.sidecar.runtime import Drainable, Sidecar
from connectors.sidecar.server import HttpServer, ListenError, Request, Response

__all__ = [
    "Drainable",
    "HttpServer",
    "JsonFormatter",
    "ListenError",
    "PipelineMetrics",
    "Readiness",
    "Request",
    "Response",
    "Sidecar",
    "configure_logging",
    "http_probe",
    "kafka_probe",
]
