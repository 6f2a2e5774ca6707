"""Tombstones on the compacted topics keyed by user: which topics, and the one target per topic.

Which topics: ``<prefix>.consent`` (the suppression records consent enforcement keeps per user), and
every stream the pipeline config declares that is both compacted (``cleanup_policy`` with ``compact``)
and keyed by exactly the identifier the request names (``partition_key = "domain_userid"``). On any
other topic a tombstone would remove nothing: a ``delete``-policy topic ages records out by its
retention (``sptk topics plan|apply``), and a topic keyed by something else never holds the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.privacy.audit import AuditRecord
from connectors.privacy.subject import Subject
from toolkit.config.models import PipelineConfig
from toolkit.kafka.admin import describe_topics
from toolkit.kafka.tombstones import Landed, value_since, write_tombstone
from toolkit.kafka.topics import declared_topics

CONSENT_SUFFIX = "consent"


def consent_topic(prefix: str) -> str:
    return f"{prefix}.{CONSENT_SUFFIX}"


def user_topics(cfg: PipelineConfig, kind: str) -> list[str]:
    """``<prefix>.consent`` and the declared compacted streams keyed by ``kind`` alone."""
    prefix = cfg.require_kafka().topic_prefix
    keys = {"enriched": cfg.output.partition_key, **{f"derived:{d.stream_id}": d.partition_key for d in cfg.derived}}
    out = [consent_topic(prefix)]
    for spec in declared_topics(cfg):
        key = keys.get(spec.stream)
        if key is not None and [p.text for p in key] == [kind] and "compact" in spec.configs.get("cleanup.policy", ""):
            out.append(spec.name)
    return out


class TopicTarget:
    """One compacted topic: a tombstone under the identifier, unless the last one still stands."""

    def __init__(self, topic: str, bootstrap: str, settings: Mapping[str, Any]) -> None:
        self.topic, self.bootstrap, self.settings = topic, bootstrap, dict(settings)
        self.name = f"kafka {topic}"

    def forget(self, subject: Subject, pseudonym: str | None, dry_run: bool, previous: AuditRecord | None = None
               ) -> tuple[dict[str, int], dict[str, Any]]:
        key = subject.value.encode()
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
