"""Sources: where records come from (enriched TSV files, stdin, archived directories, Kafka, HTTP; tracker requests
through the collector, :mod:`connectors.collector.source`).

Every source yields :class:`Record` values with a :class:`Position` and takes a
cumulative ``ack(position)`` once the pipeline has confirmed delivery, which it
makes durable its own way (checkpoint, offset commit, HTTP response).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from connectors.sources.archive import DirSource, discover
from connectors.sources.base import Position, Record, Source
from connectors.sources.files import FileSource, StdinSource
from connectors.sources.http import HttpSource
from connectors.sources.lines import SourceError
from connectors.sources.resumable import CheckpointMismatch
from toolkit.config.models import PipelineConfig
from toolkit.pipeline.delivery import DeliveryTracker

log = logging.getLogger(__name__)


def file_checkpoint(cfg: PipelineConfig, only: tuple[str, ...] = (),
                    environ: Mapping[str, str] = os.environ) -> tuple[Path | None, bool]:
    """Where a ``file`` source keeps its checkpoint, and whether it is the automatic one.

    ``source.file.checkpoint`` when set: kept, like a directory's, so a rerun skips what was
    delivered. Otherwise, with Kafka output, an automatic one (``True``) under
    ``$XDG_STATE_HOME/sptk/checkpoints`` (``~/.local/state`` by default), named for the files
    and where they go (the cluster, the topic prefix and ``--only``: the same files sent
    elsewhere start afresh). It only serves to resume an interrupted run and is deleted once
    every file was delivered. Files output keeps none unless configured: a dry run that is
    run again writes everything again.
    """
    assert cfg.source.file is not None
    if cfg.source.file.checkpoint is not None:
        return cfg.source.file.checkpoint, False
    if cfg.output.target.kind != "kafka" or cfg.kafka is None:
        return None, False
    run = {"inputs": [str(p.resolve()) for p in cfg.source.file.paths],
           "bootstrap_servers": cfg.kafka.bootstrap_servers, "topic_prefix": cfg.kafka.topic_prefix,
           "only": sorted(only)}
    name = hashlib.sha256(json.dumps(run, sort_keys=True).encode()).hexdigest()[:24]
    state = Path(environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    path = state / "sptk" / "checkpoints" / f"files-{name}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("cannot keep a checkpoint of the input files in %s (%s): a rerun after a crash will send them "
                    "from the start; set source.file.checkpoint (or XDG_STATE_HOME) to a writable place",
                    path.parent, exc.strerror or exc)
        return None, False
    return path, True


def open_source(cfg: PipelineConfig, *, tracker: DeliveryTracker | None = None,
                before_revoke: Callable[[list[str]], None] | None = None, only: tuple[str, ...] = (),
                client_settings: Mapping[str, Any] | None = None) -> Any:
    """The source ``[source]`` describes. An HTTP source still has to be mounted on the sidecar server.

    ``only`` (the streams written, when not all) is part of what a file source's automatic
    checkpoint is for: see :func:`file_checkpoint`. ``client_settings`` go to a Kafka source's
    consumer before the config's own (the sidecar's librdkafka statistics callback).
    """
    src = cfg.source
    if src.kind == "file":
        assert src.file is not None
        checkpoint, automatic = file_checkpoint(cfg, only)
        files = FileSource(src.file.paths, checkpoint=checkpoint, forget_when_done=automatic,
                           checkpoint_interval_s=cfg.delivery.commit_interval_s, progress=src.file.progress)
        if files.resumed:
            log.info("resuming from the checkpoint %s: %s; delete it to send the files from the start", checkpoint,
                     files.resume_summary(), extra={"checkpoint": str(checkpoint)})
        return files
    if src.kind == "stdin":
        return StdinSource()
    if src.kind == "dir":
        assert src.dir is not None
        return DirSource(src.dir.path, checkpoint=src.dir.checkpoint, pattern=src.dir.pattern,
                         progress=src.dir.progress, checkpoint_interval_s=cfg.delivery.commit_interval_s)
    if src.kind == "kafka":
        from connectors.sources.kafka import KafkaSource

        assert src.kafka is not None
        kafka = cfg.require_kafka()
        return KafkaSource(kafka.bootstrap_servers, src.kafka.topics, src.kafka.group_id,
                           {**(client_settings or {}), **kafka.consumer_settings()},
                           tracker=tracker, auto_offset_reset=src.kafka.auto_offset_reset,
                           commit_interval_s=cfg.delivery.commit_interval_s,
                           transactional=cfg.delivery.transactional, before_revoke=before_revoke)
    if src.kind == "collector":
        from connectors.collector.source import CollectorSource
        from toolkit.config.inputs import CollectorSourceConfig

        return CollectorSource(src.collector or CollectorSourceConfig())
    http = src.http
    if http is None:
        return HttpSource()
    return HttpSource(path=http.path, max_body_bytes=http.max_body_bytes,
                      max_pending_records=http.max_pending_records, ack_timeout_s=http.ack_timeout_s)


__all__ = [
    "CheckpointMismatch",
    "DirSource",
    "FileSource",
    "HttpSource",
    "Position",
    "Record",
    "Source",
    "SourceError",
    "StdinSource",
    "discover",
    "file_checkpoint",
    "open_source",
]
