"""Topic inspection and changes through the admin API, returning plain data.

``toolkit.kafka.topics`` plans against :class:`TopicState` values and never sees a
``confluent_kafka`` object, so planning stays pure and testable without a broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from toolkit.kafka.client import KafkaUnavailable, admin_client


@dataclass(frozen=True)
class TopicState:
    """What the broker says about one topic."""

    name: str
    partitions: int
    replication: int
    configs: Mapping[str, str] = field(default_factory=dict)


class TopicAdminError(RuntimeError):
    """The broker refused a topic operation; the message names the topic and the broker's reason."""


def _admin(bootstrap: str, settings: Mapping[str, Any] | None) -> AdminClient:
    return admin_client(bootstrap, dict(settings or {}))


def broker_count(bootstrap: str, settings: Mapping[str, Any] | None = None, timeout_s: float = 15.0) -> int:
    try:
        return len(_admin(bootstrap, settings).list_topics(timeout=timeout_s).brokers)
    except KafkaException as exc:
        raise KafkaUnavailable(f"cannot read cluster metadata from {bootstrap}: {exc.args[0]}") from exc


def describe_topics(bootstrap: str, names: Iterable[str], settings: Mapping[str, Any] | None = None,
                    timeout_s: float = 15.0) -> dict[str, TopicState | None]:
    """Partition count, replication factor and topic configs of each name; ``None`` if it does not exist."""
    names = list(names)
    admin = _admin(bootstrap, settings)
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise KafkaUnavailable(f"cannot read topic metadata from {bootstrap}: {exc.args[0]}. Check that the "
                               "broker is reachable and kafka.bootstrap_servers is right.") from exc
    existing = [n for n in names if n in metadata.topics and metadata.topics[n].error is None]
    configs = _describe_configs(admin, existing, timeout_s) if existing else {}
    out: dict[str, TopicState | None] = {}
    for name in names:
        if name not in existing:
            out[name] = None
            continue
        partitions = metadata.topics[name].partitions
        replication = max((len(p.replicas) for p in partitions.values()), default=0)
        out[name] = TopicState(name, len(partitions), replication, configs.get(name, {}))
    return out


def _describe_configs(admin: AdminClient, names: list[str], timeout_s: float) -> dict[str, dict[str, str]]:
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names]
    out: dict[str, dict[str, str]] = {}
    for resource, future in admin.describe_configs(resources, request_timeout=timeout_s).items():
        try:
            entries: dict[str, ConfigEntry] = future.result(timeout=timeout_s)
        except KafkaException as exc:
            raise TopicAdminError(f"cannot read the configuration of topic {resource.name!r}: {exc.args[0]}") from exc
        out[resource.name] = {k: e.value for k, e in entries.items() if e.value is not None}
    return out


def topic_config_value(bootstrap: str, topic: str, key: str, settings: Mapping[str, Any] | None = None,
                       timeout_s: float = 15.0) -> str | None:
    """One config value of an existing topic (``None`` if the topic is missing)."""
    state = describe_topics(bootstrap, [topic], settings, timeout_s)[topic]
    return None if state is None else state.configs.get(key)


def create_topic(bootstrap: str, name: str, partitions: int, replication: int, configs: Mapping[str, str],
                 settings: Mapping[str, Any] | None = None, timeout_s: float = 30.0) -> bool:
    """Create one topic; returns False if it already existed (someone else created it first)."""
    admin = _admin(bootstrap, settings)
    new = NewTopic(name, num_partitions=partitions, replication_factor=replication, config=dict(configs))
    future = admin.create_topics([new], operation_timeout=timeout_s, request_timeout=timeout_s)[name]
    try:
        future.result(timeout=timeout_s)
    except KafkaException as exc:
        err = exc.args[0]
        if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        raise TopicAdminError(f"could not create topic {name!r} ({partitions} partitions, replication "
                              f"{replication}, {dict(configs)}): {err}") from exc
    return True


def grow_partitions(bootstrap: str, name: str, total: int, settings: Mapping[str, Any] | None = None,
                    timeout_s: float = 30.0) -> None:
    admin = _admin(bootstrap, settings)
    future = admin.create_partitions([NewPartitions(name, total)], operation_timeout=timeout_s,
                                     request_timeout=timeout_s)[name]
    try:
        future.result(timeout=timeout_s)
    except KafkaException as exc:
        raise TopicAdminError(f"could not grow topic {name!r} to {total} partitions: {exc.args[0]}") from exc


def set_topic_configs(bootstrap: str, name: str, configs: Mapping[str, str],
                      settings: Mapping[str, Any] | None = None, timeout_s: float = 30.0) -> None:
    """Set the given keys only (incremental alter), leaving every other topic config as it is."""
    admin = _admin(bootstrap, settings)
    entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in configs.items()]
    resource = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=entries)
    for _, future in admin.incremental_alter_configs([resource], request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as exc:
            raise TopicAdminError(f"could not set {dict(configs)} on topic {name!r}: {exc.args[0]}") from exc


@dataclass(frozen=True, order=True)
class AclEntry:
    """One ACL binding as plain, lower-case data: ``allow User:reader read topic p.raw from *``."""

    resource: str  # "topic" or "group"
    name: str
    pattern: str  # "literal" or "prefixed"
    principal: str
    host: str
    operation: str  # "read", "write", "describe", "all", ...
    permission: str  # "allow" or "deny"

    def __str__(self) -> str:
        star = "*" if self.pattern == "prefixed" else ""
        return f"{self.permission} {self.principal} {self.operation} {self.resource} {self.name}{star} from {self.host}"

    def binding(self) -> AclBinding:
        return AclBinding(ResourceType[self.resource.upper()], self.name, ResourcePatternType[self.pattern.upper()],
                          self.principal, self.host, AclOperation[self.operation.upper()],
                          AclPermissionType[self.permission.upper()])

    def exact_filter(self) -> AclBindingFilter:
        """A filter that matches this binding and nothing else (deleting by it removes only this one)."""
        b = self.binding()
        return AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
                                b.permission_type)


def _acl_error(bootstrap: str, what: str, exc: KafkaException) -> TopicAdminError:
    err = exc.args[0]
    code = err.code() if isinstance(err, KafkaError) else None
    if code == KafkaError.SECURITY_DISABLED:
        return TopicAdminError(f"cannot {what}: the broker at {bootstrap} has no authorizer (authorizer.class.name "
                               "is unset), so ACLs are not enforced; configure one (KRaft: org.apache.kafka.metadata."
                               "authorizer.StandardAuthorizer) or remove topics.acls")
    if code == KafkaError.CLUSTER_AUTHORIZATION_FAILED:
        return TopicAdminError(f"cannot {what} on {bootstrap}: the principal of [kafka.common] may not; ACLs are "
                               "managed with a super user or a principal granted ALTER (and DESCRIBE) on the cluster")
    return TopicAdminError(f"cannot {what} on {bootstrap}: {err}")


def describe_acls(bootstrap: str, settings: Mapping[str, Any] | None = None,
                  timeout_s: float = 15.0) -> list[AclEntry]:
    """Every literal or prefixed ACL binding on a topic or a group (the kinds the toolkit declares)."""
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                                  AclPermissionType.ANY)
    admin = _admin(bootstrap, settings)  # held until the answer: a collected client cancels its futures
    try:
        bindings = admin.describe_acls(everything, request_timeout=timeout_s).result(timeout=timeout_s)
    except KafkaException as exc:
        raise _acl_error(bootstrap, "read the ACLs", exc) from exc
    kinds = (ResourceType.TOPIC, ResourceType.GROUP)
    patterns = (ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED)
    return sorted(AclEntry(b.restype.name.lower(), b.name, b.resource_pattern_type.name.lower(), b.principal, b.host,
                           b.operation.name.lower(), b.permission_type.name.lower())
                  for b in bindings if b.restype in kinds and b.resource_pattern_type in patterns)


def create_acls(bootstrap: str, entries: Iterable[AclEntry], settings: Mapping[str, Any] | None = None,
                timeout_s: float = 30.0) -> None:
    _change_acls(bootstrap, "create", [e.binding() for e in entries], settings, timeout_s)


def delete_acls(bootstrap: str, entries: Iterable[AclEntry], settings: Mapping[str, Any] | None = None,
                timeout_s: float = 30.0) -> None:
    """Delete exactly these bindings, each by a filter that matches it alone."""
    _change_acls(bootstrap, "delete", [e.exact_filter() for e in entries], settings, timeout_s)


def _change_acls(bootstrap: str, verb: str, items: list[Any], settings: Mapping[str, Any] | None,
                 timeout_s: float) -> None:
    """``create_acls`` or ``delete_acls`` of ``items``, waiting for each answer; the first refusal raises."""
    if not items:
        return
    admin = _admin(bootstrap, settings)  # held until the answers: a collected client cancels its futures
    change = admin.create_acls if verb == "create" else admin.delete_acls
    for item, future in change(items, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as exc:
            raise _acl_error(bootstrap, f"{verb} the ACL binding {item}", exc) from exc
