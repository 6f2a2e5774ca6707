"""Topic ACLs as the config declares them, and the plan against the broker's bindings (pure: no broker)."""

from __future__ import annotations

import pytest

from toolkit.config.errors import ConfigError
from toolkit.kafka.admin import AclEntry
from toolkit.kafka.topics import Plan, declared_acls, plan_acls

from .pipeline_events import config


def acl_config(*acls: dict) -> object:
    return config(kafka={"bootstrap_servers": "127.0.0.1:9", "topic_prefix": "p"}, output={"target": "kafka"},
                  derived=[{"name": "clicks", "version": 2, "owner": "web"}], topics={"acls": list(acls)})


def allow(name: str, principal: str = "User:reader", op: str = "read", resource: str = "topic",
          pattern: str = "literal") -> AclEntry:
    return AclEntry(resource, name, pattern, principal, "*", op, "allow")


def test_streams_become_topic_bindings_and_groups_group_bindings() -> None:
    cfg = acl_config({"principal": "User:reader", "read": ["raw", "derived.clicks.v2"], "groups": ["bi-*", "etl"]},
                     {"principal": "User:sptk", "write": ["raw", "enriched", "bad", "derived.clicks.v2"]})
    entries = declared_acls(cfg)  # type: ignore[arg-type]
    assert allow("p.raw") in entries and allow("p.derived.clicks.v2") in entries
    assert allow("bi-", resource="group", pattern="prefixed") in entries and allow("etl", resource="group") in entries
    assert allow("p.bad", "User:sptk", "write") in entries and len(entries) == 8


@pytest.mark.parametrize(("acl", "fragment"), [
    ({"principal": "reader", "read": ["raw"]}, "topics.acls.0.principal"),
    ({"principal": "User:reader", "read": ["derived.clicks.v1"]}, "unknown stream 'derived.clicks.v1'"),
    ({"principal": "User:reader", "groups": ["a b"]}, "topics.acls.0.groups.0"),
])
def test_a_wrong_acl_is_refused_with_its_path(acl: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        acl_config(acl)
    assert fragment in str(err.value).replace("[", ".").replace("]", "")


def test_only_bindings_in_scope_are_extra_and_deny_is_never_deletable() -> None:
    declared = (allow("p.raw"), allow("bi-", resource="group", pattern="prefixed"))
    actual = [
        allow("p.raw", "User:stranger"),  # in scope: a literal binding on our topic
        AclEntry("topic", "p.raw", "literal", "User:x", "*", "read", "deny"),  # in scope, but a DENY
        allow("p.", "User:platform", pattern="prefixed"),  # a prefixed grant covering our topics: not ours
        allow("other.raw", "User:stranger"),  # another pipeline's topic
        allow("bi-", "User:bi", resource="group", pattern="prefixed"),  # a declared group resource
        allow("bi-x", "User:bi", resource="group"),  # another group
    ]
    plan = plan_acls(declared, actual, {"p.raw", "p.enriched", "p.bad"}, fresh=False)
    assert set(plan.missing) == set(declared)
    assert set(plan.extra) == {allow("p.raw", "User:stranger"), actual[1], actual[4]}
    assert actual[1] not in plan.deletable and len(plan.deletable) == 2
    assert plan.drifted and "DENY" in plan.refusals()[0]
    assert Plan((), plan).has_drift and Plan((), plan).refusals == plan.refusals()


def test_missing_bindings_of_a_new_deployment_are_creations_not_drift() -> None:
    declared = (allow("p.raw"),)
    assert not plan_acls(declared, [], {"p.raw"}, fresh=True).drifted
    assert plan_acls(declared, [], {"p.raw"}, fresh=False).drifted
    assert not plan_acls(declared, [allow("p.raw")], {"p.raw"}, fresh=False).drifted
