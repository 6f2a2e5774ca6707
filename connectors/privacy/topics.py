"""Tombstones on the compacted topics keyed by user: which topics, and the one target per topic.

Which topics: ``<prefix>.consent`` (the suppression records consent enforcement keeps per user, keyed
``<kind>:<value>`` as :func:`toolkit.pipeline.consent.user_key` writes them), and every stream the
pipeline config declares that is both compacted (``cleanup_policy`` with ``compact``) and keyed by
exactly the identifier the request names (``partition_key = "domain_userid"``: the key is the bare
value). On any other topic a tombstone would remove nothing: a ``delete``-policy topic ages records
out by its retention (``sptk topics plan|apply``), and a topic keyed by something else never holds the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.privacy.audit import AuditRecord
from connectors.privacy.subject import Subject
from toolkit.config.models import PipelineConfig
from toolkit.kafka.admin import describe_topics
from toolkit.kafka.tombstones import Landed, value_since, write_tombstone
from toolkit.kafka.topics import consent_topic, declared_topics


def user_topics(cfg: PipelineConfig, subject: Subject) -> dict[str, bytes]:
    """Topic -> the key the person's records have there: ``<prefix>.consent`` and the compacted streams keyed by
    the request's identifier alone."""
    keys = {"enriched": cfg.output.partition_key, **{f"derived:{d.stream_id}": d.partition_key for d in cfg.derived}}
    out = {consent_topic(cfg.require_kafka().topic_prefix): f"{subject.kind}:{subject.value}".encode()}
    for spec in declared_topics(cfg):
        key = keys.get(spec.stream)
        if key is not None and [p.text for p in key] == [subject.kind] and \
                "compact" in spec.configs.get("cleanup.policy", ""):
            out[spec.name] = subject.value.encode()
    return out


class TopicTarget:
    """One compacted topic: a tombstone under the identifier, unless the last one still stands."""

    def __init__(self, topic: str, key: bytes, bootstrap: str, settings: Mapping[str, Any]) -> None:
        self.topic, self.key, self.bootstrap, self.settings = topic, key, bootstrap, dict(settings)
        self.name = f"kafka {topic}"

    def forget(self, subject: Subject, pseudonym: str | None, dry_run: bool, previous: AuditRecord | None = None
               ) -> tuple[dict[str, int], dict[str, Any]]:
        key = self.key
        if describe_topics(self.bootstrap, [self.topic], self.settings)[self.topic] is None:
            return {"tombstones": 0}, {"topic": "absent"}
        last = previous.detail.get("tombstone") if previous is not None else None
        if last is not None and not value_since(self.bootstrap, Landed(**last), key, self.settings):
            return {"tombstones": 0}, {"tombstone": last, "note": "the last tombstone still stands"}
        if dry_run:
            return {"tombstones": 1}, {}
        landed = write_tombstone(self.bootstrap, self.topic, key, self.settings)
        return {"tombstones": 1}, {"tombstone": {"topic": landed.topic, "partition": landed.partition,
                                                 "offset": landed.offset}}
