"""Sources: where enriched TSV records come from (files, stdin, archived directories, Kafka, HTTP).

Every source yields :class:`Record` values with a :class:`Position` and takes a
cumulative ``ack(position)`` once the pipeline has confirmed delivery, which it
makes durable its own way (checkpoint, offset commit, HTTP response).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.sources.archive import CheckpointMismatch, DirSource, discover
from connectors.sources.base import Position, Record, Source
from connectors.sources.files import FileSource, SourceError, StdinSource
from connectors.sources.http import HttpSource
from toolkit.config import PipelineConfig
from toolkit.delivery import DeliveryTracker


def open_source(cfg: PipelineConfig, *, tracker: DeliveryTracker | None = None,
                before_revoke: Callable[[list[str]], None] | None = None) -> Any:
    """The source ``[source]`` describes. An HTTP source still has to be mounted on the sidecar server."""
    src = cfg.source
    if src.kind == "file":
        assert src.file is not None
        return FileSource(src.file.paths, progress=src.file.progress)
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
        return KafkaSource(kafka.bootstrap_servers, src.kafka.topics, src.kafka.group_id, kafka.consumer_settings(),
                           tracker=tracker, auto_offset_reset=src.kafka.auto_offset_reset,
                           commit_interval_s=cfg.delivery.commit_interval_s,
                           transactional=cfg.delivery.transactional, before_revoke=before_revoke)
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
    "open_source",
]
