"""``sptk micro``: run the collector and pipeline locally with Snowplow Micro's API on the same port.

Exit codes are those of ``sptk pipeline run`` (docs/cli.md): ``0`` stopped by SIGTERM/Ctrl-C
after a clean drain, ``1`` the drain left events unconfirmed (``--output kafka:`` only),
``2`` it did not start (the port is taken, a bad resolver config or ``--output``), ``3`` the
broker of ``--output kafka:`` did not answer. Logs go to stderr, one line per event
(``GOOD``/``BAD`` as Micro logs them); the run's summary is printed as one JSON line at the end.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click

from toolkit.cli.conventions import CommandFailed
from toolkit.config.errors import ConfigError
from toolkit.config.models import PipelineConfig

log = logging.getLogger("sptk.micro")


def micro_config(port: int, host: str, resolver: str, output: str | None, topic_prefix: str) -> PipelineConfig:
    """A pipeline whose source is the collector on ``host:port`` and whose enriched stream is canonical JSON."""
    from toolkit.config.loading import parse_config

    data: dict[str, Any] = {
        "source": {"kind": "collector", "collector": {"cookie": {"secure": False}}},
        "iglu": {"resolver_config": resolver},
        # without --output nothing is written (build(keep_outputs=False)); the target is never opened
        "output": {"target": "kafka" if output else "files:sptk-micro-discarded", "enriched_profile": "canonical"},
        "topics": {"defaults": {"replication": 1}},
        "sidecar": {"host": host, "port": port, "log_format": "text"},
    }
    if output:
        data["kafka"] = {"bootstrap_servers": output[len("kafka:"):], "topic_prefix": topic_prefix}
    return parse_config(data, origin="command line", base_dir=Path.cwd(), environ={})


@click.command("micro")
@click.option("--port", type=click.IntRange(0, 65535), default=9090, show_default=True,
              help="Port of the collector endpoints and the /micro API (0 picks a free one, logged at start).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Listen address (0.0.0.0 for other machines).")
@click.option("--resolver", type=click.Path(dir_okay=False), required=True,
              help="Iglu resolver config: the schemas events and entities are validated against.")
@click.option("--output", metavar="kafka:BOOTSTRAP",
              help="Also send everything through the pipeline to Kafka (raw, enriched, bad topics; created when "
                   "missing).")
@click.option("--topic-prefix", default="micro", show_default=True, help="Topic prefix for --output kafka:BOOTSTRAP.")
def micro(port: int, host: str, resolver: str, output: str | None, topic_prefix: str) -> None:
    """A local Snowplow Micro: point a tracker here, then ask /micro/good and /micro/bad what became of each event.

    \b
    sptk micro --resolver resolver.json                      # http://127.0.0.1:9090
    sptk micro --port 9091 --resolver resolver.json --output kafka:localhost:9092
    """
    from connectors.cli import run_app
    from connectors.micro.api import MicroApi
    from connectors.micro.store import MicroStore
    from toolkit.pipeline.validate import build_resolver

    if output is not None and not (output.startswith("kafka:") and len(output) > len("kafka:")):
        raise CommandFailed(f"--output {output!r}: expected kafka:BOOTSTRAP (host:port[,host:port])")
    if not os.path.isfile(resolver):
        raise CommandFailed(f"--resolver {resolver}: no such file; give an Iglu resolver config (JSON)")
    try:
        cfg = micro_config(port, host, resolver, output, topic_prefix)
        iglu = build_resolver(cfg.iglu)
    except (ConfigError, ValueError) as exc:
        raise CommandFailed(str(exc)) from None
    store = MicroStore()

    def prepare(app: Any) -> None:
        MicroApi(store, iglu).mount(app.sidecar.server)
        log.info("sptk micro listening on http://%s:%d (collector: /i, /com.snowplowanalytics.snowplow/tp2; API: "
                 "/micro/all, /micro/good, /micro/bad, /micro/reset, /micro/iglu/...)", host, app.sidecar.port)

    run_app(cfg, serve=True, create_topics=output is not None, allow_drift=False, observe=store.observe,
            keep_outputs=output is not None, prepare=prepare)
