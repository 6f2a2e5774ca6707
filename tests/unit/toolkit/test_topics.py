"""Topic planning is a pure comparison of declarations and observed state."""

from __future__ import annotations

from pathlib import Path

from toolkit.config.loading import parse_config
from toolkit.kafka.admin import TopicState
from toolkit.kafka.topics import Action, TopicSpec, declared_topics, plan_topics


def cfg(**extra: object):  # type: ignore[no-untyped-def]
    data = {"kafka": {"bootstrap_servers": "k:9092", "topic_prefix": "prod.acme.sp"}, "source": {"kind": "stdin"},
            "iglu": {"resolver_config": "r.json"}, "topics": {"defaults": {"replication": 1}},
            "derived": [{"name": "clicks", "version": 2, "owner": "web", "topic": {"partitions": 8}}], **extra}
    return parse_config(data, base_dir=Path("/"), environ={})


def test_declared_topics_follow_the_naming_convention_and_inheritance() -> None:
    specs = declared_topics(cfg())
    assert [(s.stream, s.name) for s in specs] == [
        ("raw", "prod.acme.sp.raw"), ("enriched", "prod.acme.sp.enriched"), ("bad", "prod.acme.sp.bad"),
        ("derived:clicks.v2", "prod.acme.sp.derived.clicks.v2")]
    assert specs[3].partitions == 8 and specs[3].replication == 1
    assert specs[0].configs == {"retention.ms": "604800000", "cleanup.policy": "delete",
                                "max.message.bytes": "1048588"}
    assert declared_topics(cfg(output={"target": "files:/tmp/out"})) == []


def test_plan_classifies_every_setting() -> None:
    spec = TopicSpec("raw", "t", 4, 3, {"retention.ms": "100", "cleanup.policy": "compact,delete"})
    same = TopicState("t", 4, 3, {"retention.ms": "100", "cleanup.policy": "delete,compact", "other": "x"})
    assert plan_topics([spec], {"t": same}).topics[0].action is Action.OK
    assert plan_topics([spec], {"t": None}).topics[0].action is Action.CREATE
    assert not plan_topics([spec], {"t": None}).has_drift

    grow = plan_topics([spec], {"t": TopicState("t", 2, 3, same.configs)})
    assert grow.topics[0].action is Action.ALTER and grow.has_drift
    shrink = plan_topics([spec], {"t": TopicState("t", 6, 3, same.configs)}).topics[0]
    assert shrink.action is Action.REFUSE and "cannot remove partitions" in shrink.changes[0].reason
    rf = plan_topics([spec], {"t": TopicState("t", 4, 1, same.configs)}).topics[0]
    assert rf.action is Action.REFUSE
    assert [c.setting for c in rf.changes if c.action is Action.REFUSE] == ["replication"]
    drift = plan_topics([spec], {"t": TopicState("t", 4, 3, {"retention.ms": "5", "cleanup.policy": "delete"})})
    changed = {c.setting: (c.actual, c.declared) for c in drift.topics[0].changes if c.action is Action.ALTER}
    assert changed == {"retention.ms": ("5", "100"), "cleanup.policy": ("delete", "compact,delete")}
    assert "alter   retention.ms: 5 -> 100" in drift.render()


def test_a_missing_topic_the_cluster_cannot_hold_is_planned_as_apply_will_refuse_it() -> None:
    spec = TopicSpec("raw", "t", 3, 3, {})
    plan = plan_topics([spec], {"t": None}, brokers=1)
    assert plan.topics[0].action is Action.REFUSE and [t.spec.name for t in plan.missing] == ["t"]
    assert plan.refusals == ["t: replication 3 needs at least 3 brokers, the cluster has 1; lower "
                             "topics.defaults.replication (or the stream's replication)"]
    assert "refuse  t  partitions=3 replication=3" in plan.render()
    assert "0 to create" in plan.summary()
    assert plan_topics([spec], {"t": None}, brokers=3).topics[0].action is Action.CREATE
    assert plan_topics([spec], {"t": None}, brokers=3).refusals == []
