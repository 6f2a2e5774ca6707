"""The declared topics of a pipeline, and the plan that brings the broker in line with them.

Topic settings are part of the pipeline's contract (retention is the replay
window, partitions bound consumer parallelism, ``max.message.bytes`` decides what
becomes a ``size_violation``), so they are declared in the config and checked
against the broker rather than left to whoever created the topic. Planning is a
pure function of the declaration and the observed :class:`TopicState`; only
:func:`read_plan`, :func:`apply_plan` and :func:`check_drift` talk to Kafka.

So are the ACLs of those topics (``[[topics.acls]]``): who may read raw is a decision of
the config, not of whoever last ran ``kafka-acls.sh``. The toolkit manages the bindings in
its *scope*: literal bindings on the pipeline's own topics and the bindings on the groups
the config names. Inside that scope a binding the config does not declare is extra (apply
deletes it, except a DENY, which an operator removes); outside it nothing is read as drift
or touched, so prefixed or wildcard grants a platform team keeps are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from toolkit.config.models import DerivedStream, PipelineConfig, TopicSettings
from toolkit.kafka.admin import (
    AclEntry,
    TopicState,
    broker_count,
    create_acls,
    create_topic,
    delete_acls,
    describe_acls,
    describe_topics,
    grow_partitions,
    set_topic_configs,
)

log = logging.getLogger(__name__)

#: Config keys the toolkit declares, in display order, with the TopicSettings attribute for each.
MANAGED_CONFIGS: tuple[tuple[str, str], ...] = (
    ("retention.ms", "retention_ms"),
    ("cleanup.policy", "cleanup_policy"),
    ("max.message.bytes", "max_message_bytes"),
    ("min.insync.replicas", "min_insync_replicas"),
)


@dataclass(frozen=True)
class TopicSpec:
    """One declared topic: its stream, its name and the settings it must have."""

    stream: str
    name: str
    partitions: int
    replication: int
    configs: Mapping[str, str] = field(default_factory=dict)


def raw_topic(prefix: str) -> str:
    return f"{prefix}.raw"


def enriched_topic(prefix: str) -> str:
    return f"{prefix}.enriched"


def bad_topic(prefix: str) -> str:
    return f"{prefix}.bad"


def consent_topic(prefix: str) -> str:
    return f"{prefix}.consent"


def derived_topic(prefix: str, stream: DerivedStream) -> str:
    return f"{prefix}.derived.{stream.name}.v{stream.version}"


def _spec(stream: str, name: str, settings: TopicSettings) -> TopicSpec:
    configs = {}
    for key, attr in MANAGED_CONFIGS:
        value = getattr(settings, attr)
        if value is not None:
            configs[key] = str(value)
    assert settings.partitions is not None and settings.replication is not None  # resolved against built-ins
    return TopicSpec(stream, name, settings.partitions, settings.replication, configs)


def declared_topics(cfg: PipelineConfig) -> list[TopicSpec]:
    """raw, enriched, bad, then each derived stream and consent (when tracked); empty when the output is not Kafka."""
    if cfg.output.target.kind != "kafka":
        return []
    prefix = cfg.require_kafka().topic_prefix
    t = cfg.topics
    specs = [
        _spec("raw", raw_topic(prefix), t.resolve(t.raw)),
        _spec("enriched", enriched_topic(prefix), t.resolve(t.enriched)),
        _spec("bad", bad_topic(prefix), t.resolve(t.bad)),
    ]
    specs += [_spec(f"derived:{d.stream_id}", derived_topic(prefix, d), t.resolve(d.topic)) for d in cfg.derived]
    if cfg.tracks_consent:
        specs.append(_spec("consent", consent_topic(prefix), t.resolve_consent()))
    return specs


def stream_topic_names(cfg: PipelineConfig) -> dict[str, str]:
    """Stream (``raw``, ``enriched``, ``bad``, ``derived.<name>.v<N>``) -> topic name of this pipeline."""
    prefix = cfg.require_kafka().topic_prefix
    return {"raw": raw_topic(prefix), "enriched": enriched_topic(prefix), "bad": bad_topic(prefix),
            **{f"derived.{d.stream_id}": derived_topic(prefix, d) for d in cfg.derived},
            **({"consent": consent_topic(prefix)} if cfg.tracks_consent else {})}


def declared_acls(cfg: PipelineConfig) -> tuple[AclEntry, ...]:
    """The ALLOW bindings ``[[topics.acls]]`` declares: READ/WRITE per stream topic, READ per consumer group."""
    topics = stream_topic_names(cfg)
    out: set[AclEntry] = set()
    for acl in cfg.topics.acls:
        for op in ("read", "write"):
            out.update(AclEntry("topic", topics[stream], "literal", acl.principal, acl.host, op, "allow")
                       for stream in getattr(acl, op))
        out.update(AclEntry("group", g.rstrip("*"), "prefixed" if g.endswith("*") else "literal", acl.principal,
                            acl.host, "read", "allow") for g in acl.groups)
    return tuple(sorted(out))


@dataclass(frozen=True)
class AclPlan:
    """Declared bindings against the broker's, within the managed scope (see the module docstring).

    ``fresh`` when none of the pipeline's topics exists yet: missing bindings are then part of
    creating the deployment, not drift, as missing topics are.
    """

    declared: tuple[AclEntry, ...]
    missing: tuple[AclEntry, ...] = ()
    extra: tuple[AclEntry, ...] = ()
    fresh: bool = False

    @property
    def drifted(self) -> bool:
        return bool(self.extra) or (bool(self.missing) and not self.fresh)

    @property
    def deletable(self) -> tuple[AclEntry, ...]:
        return tuple(e for e in self.extra if e.permission == "allow")

    def refusals(self) -> list[str]:
        return [f"ACL {e}: a DENY binding is not declared; apply never deletes one, an operator removes it "
                "(kafka-acls.sh --remove) or it stays reported" for e in self.extra if e.permission != "allow"]

    def summary(self) -> str:
        return f"{len(self.declared)} ACL bindings: {len(self.missing)} missing, {len(self.extra)} extra"


def plan_acls(declared: tuple[AclEntry, ...], actual: list[AclEntry], topics: set[str], fresh: bool) -> AclPlan:
    """Compare declared bindings with the broker's, within the scope: literal on ``topics``, the declared groups."""
    groups = {(e.pattern, e.name) for e in declared if e.resource == "group"}
    in_scope = {e for e in actual if (e.resource == "topic" and e.pattern == "literal" and e.name in topics)
                or (e.resource == "group" and (e.pattern, e.name) in groups)}
    wanted = set(declared)
    return AclPlan(declared, tuple(sorted(wanted - in_scope)), tuple(sorted(in_scope - wanted)), fresh)


class Action(Enum):
    CREATE = "create"  # the topic is missing
    OK = "ok"  # matches the declaration
    ALTER = "alter"  # differs, and apply can fix it
    REFUSE = "refuse"  # differs, and apply will not touch it


@dataclass(frozen=True)
class SettingChange:
    setting: str
    declared: str
    actual: str | None
    action: Action
    reason: str = ""


@dataclass(frozen=True)
class TopicPlan:
    spec: TopicSpec
    exists: bool
    changes: tuple[SettingChange, ...] = ()

    @property
    def action(self) -> Action:
        actions = {c.action for c in self.changes}
        if not self.exists:
            return Action.REFUSE if Action.REFUSE in actions else Action.CREATE
        return Action.REFUSE if Action.REFUSE in actions else Action.ALTER if Action.ALTER in actions else Action.OK

    @property
    def drifted(self) -> bool:
        return self.exists and self.action is not Action.OK

    def refusals(self) -> list[str]:
        """What ``apply`` will not do for this topic, one line each (the plan and apply say the same)."""
        if not self.exists:
            return [f"{self.spec.name}: {c.reason}" for c in self.changes if c.action is Action.REFUSE]
        return [f"{self.spec.name}: {c.setting} is {c.actual}, declared {c.declared}: {c.reason}"
                for c in self.changes if c.action is Action.REFUSE]


@dataclass(frozen=True)
class Plan:
    topics: tuple[TopicPlan, ...]
    #: ``None`` when ACLs were not asked about (the pipeline's start) or the config declares none
    acls: AclPlan | None = None

    @property
    def has_drift(self) -> bool:
        return any(t.drifted for t in self.topics) or (self.acls is not None and self.acls.drifted)

    @property
    def missing(self) -> list[TopicPlan]:
        """Topics that do not exist, including those ``apply`` will refuse to create."""
        return [t for t in self.topics if not t.exists]

    @property
    def refusals(self) -> list[str]:
        return [line for t in self.topics for line in t.refusals()] + (self.acls.refusals() if self.acls else [])

    def summary(self) -> str:
        count = {a: sum(1 for t in self.topics if t.action is a) for a in Action}
        return (f"{len(self.topics)} topics: {count[Action.CREATE]} to create, {count[Action.OK]} in sync, "
                f"{count[Action.ALTER]} to alter, {count[Action.REFUSE]} with changes apply refuses"
                + (f"; {self.acls.summary()}" if self.acls else ""))

    def to_dict(self) -> dict[str, Any]:
        acls = None if self.acls is None else {
            "declared": [str(e) for e in self.acls.declared], "missing": [str(e) for e in self.acls.missing],
            "extra": [str(e) for e in self.acls.extra], "drift": self.acls.drifted}
        return {
            "drift": self.has_drift,
            "acls": acls,
            "topics": [
                {"stream": t.spec.stream, "topic": t.spec.name, "action": t.action.value,
                 "declared": {"partitions": t.spec.partitions, "replication": t.spec.replication,
                              **t.spec.configs},
                 "changes": [{"setting": c.setting, "declared": c.declared, "actual": c.actual,
                              "action": c.action.value, "reason": c.reason} for c in t.changes]}
                for t in self.topics
            ],
        }

    def render(self) -> str:
        """One line per topic, and one indented line per differing setting."""
        width = max((len(t.spec.name) for t in self.topics), default=0)
        lines = []
        for t in self.topics:
            head = f"{t.action.value:<7} {t.spec.name:<{width}}"
            if not t.exists:
                settings = " ".join([f"partitions={t.spec.partitions}", f"replication={t.spec.replication}",
                                     *(f"{k}={v}" for k, v in t.spec.configs.items())])
                lines.append(f"{head}  {settings}")
                lines.extend(f"        {c.action.value:<7} {c.reason}" for c in t.changes)
                continue
            lines.append(head.rstrip())
            for c in t.changes:
                if c.action is Action.OK:
                    continue
                note = f"  ({c.reason})" if c.reason else ""
                lines.append(f"        {c.action.value:<7} {c.setting}: {c.actual} -> {c.declared}{note}")
        if self.acls is not None:
            a = self.acls
            state = "drift" if a.drifted else "create" if a.missing else "ok"
            lines.append(f"{state:<7} acls")
            lines.extend(f"        {'grant' if a.fresh else 'missing':<7} {e}" for e in a.missing)
            lines.extend(f"        {'extra':<7} {e}" for e in a.extra)
        lines.append(self.summary())
        return "\n".join(lines)


def _normalise(key: str, value: str | None) -> str | None:
    if value is None:
        return None
    if key == "cleanup.policy":
        return ",".join(sorted(p.strip() for p in value.split(",")))
    return value.strip()


def plan_topics(specs: Iterable[TopicSpec], actual: Mapping[str, TopicState | None],
                brokers: int | None = None) -> Plan:
    """Compare declarations with what the broker reported. Pure: no I/O.

    ``brokers`` (the cluster's size, when known) lets the plan say which missing topics
    ``apply`` could not create: a replication factor above the broker count.
    """
    plans = []
    for spec in specs:
        state = actual.get(spec.name)
        if state is None:
            refused: tuple[SettingChange, ...] = ()
            if brokers is not None and spec.replication > brokers:
                refused = (SettingChange("replication", str(spec.replication), None, Action.REFUSE,
                                         f"replication {spec.replication} needs at least {spec.replication} brokers, "
                                         f"the cluster has {brokers}; lower topics.defaults.replication (or the "
                                         "stream's replication)"),)
            plans.append(TopicPlan(spec, exists=False, changes=refused))
            continue
        changes = []
        if spec.partitions > state.partitions:
            changes.append(SettingChange("partitions", str(spec.partitions), str(state.partitions), Action.ALTER,
                                         "partitions can grow; new messages of a key may land in another "
                                         "partition than its older ones"))
        elif spec.partitions < state.partitions:
            changes.append(SettingChange("partitions", str(spec.partitions), str(state.partitions), Action.REFUSE,
                                         "Kafka cannot remove partitions: declare "
                                         f"{state.partitions} or recreate the topic (its data is lost)"))
        else:
            changes.append(SettingChange("partitions", str(spec.partitions), str(state.partitions), Action.OK))
        if spec.replication != state.replication:
            changes.append(SettingChange("replication", str(spec.replication), str(state.replication),
                                         Action.REFUSE, "changing replication needs a partition reassignment "
                                         "(kafka-reassign-partitions.sh) planned by an operator"))
        else:
            changes.append(SettingChange("replication", str(spec.replication), str(state.replication), Action.OK))
        for key, declared in spec.configs.items():
            now = state.configs.get(key)
            same = _normalise(key, now) == _normalise(key, declared)
            changes.append(SettingChange(key, declared, now, Action.OK if same else Action.ALTER))
        plans.append(TopicPlan(spec, exists=True, changes=tuple(changes)))
    return Plan(tuple(plans))


def _admin_settings(cfg: PipelineConfig) -> dict[str, Any]:
    return cfg.require_kafka().admin_settings()


def read_plan(cfg: PipelineConfig, timeout_s: float = 15.0, *, acls: bool = False) -> Plan:
    """The plan against the broker; when topics are missing, with the broker count that decides their creation.

    ``acls`` adds the ACL plan when the config declares ACLs. The pipeline's own start leaves it out: its
    principal should not be one that may read the cluster's ACLs.
    """
    specs = declared_topics(cfg)
    if not specs:
        return Plan(())
    kafka = cfg.require_kafka()
    settings = _admin_settings(cfg)
    actual = describe_topics(kafka.bootstrap_servers, [s.name for s in specs], settings, timeout_s)
    brokers = broker_count(kafka.bootstrap_servers, settings, timeout_s) if None in actual.values() else None
    plan = plan_topics(specs, actual, brokers)
    if not (acls and cfg.topics.acls):
        return plan
    bindings = describe_acls(kafka.bootstrap_servers, settings, timeout_s)
    fresh = all(state is None for state in actual.values())
    return Plan(plan.topics, plan_acls(declared_acls(cfg), bindings, set(actual), fresh))


@dataclass
class ApplyResult:
    created: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    granted: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.refused


def apply_plan(cfg: PipelineConfig, plan: Plan, timeout_s: float = 30.0) -> ApplyResult:
    """Create missing topics, grow partitions, set configs; report (and skip) what the plan marked refused."""
    kafka = cfg.require_kafka()
    settings = _admin_settings(cfg)
    result = ApplyResult()
    for t in plan.topics:
        spec = t.spec
        result.refused.extend(t.refusals())
        if t.action is Action.CREATE:
            create_topic(kafka.bootstrap_servers, spec.name, spec.partitions, spec.replication, spec.configs,
                         settings, timeout_s)
            result.created.append(spec.name)
            continue
        if not t.exists:
            continue
        if any(c.setting == "partitions" and c.action is Action.ALTER for c in t.changes):
            grow_partitions(kafka.bootstrap_servers, spec.name, spec.partitions, settings, timeout_s)
            result.altered.append(f"{spec.name}: partitions -> {spec.partitions}")
        configs = {c.setting: c.declared for c in t.changes
                   if c.action is Action.ALTER and c.setting not in ("partitions", "replication")}
        if configs:
            set_topic_configs(kafka.bootstrap_servers, spec.name, configs, settings, timeout_s)
            result.altered.append(f"{spec.name}: " + ", ".join(f"{k}={v}" for k, v in configs.items()))
    if plan.acls is not None:
        create_acls(kafka.bootstrap_servers, plan.acls.missing, settings, timeout_s)
        result.granted.extend(map(str, plan.acls.missing))
        delete_acls(kafka.bootstrap_servers, plan.acls.deletable, settings, timeout_s)
        result.revoked.extend(map(str, plan.acls.deletable))
        result.refused.extend(plan.acls.refusals())
    return result


class TopicDrift(RuntimeError):
    """Declared topics are missing or differ from the broker; the message lists each difference."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        problems = []
        for t in plan.topics:
            if t.action is Action.CREATE:
                problems.append(f"  {t.spec.name}: missing")
            for c in t.changes:
                if c.action is not Action.OK:
                    problems.append(f"  {t.spec.name}: {c.setting} is {c.actual}, declared {c.declared}")
        super().__init__("the Kafka topics do not match the pipeline config:\n" + "\n".join(problems) +
                         "\nRun `sptk topics plan --config <file>` to review and `sptk topics apply --config "
                         "<file>` to fix what can be fixed, or set topics.allow_drift = true to start anyway.")


def check_drift(cfg: PipelineConfig, read: Callable[[PipelineConfig], Plan] = read_plan) -> Plan:
    """Called at pipeline start: raise :class:`TopicDrift` unless topics match (or drift is allowed).

    Missing topics are never allowed, since producing to them would fail on every
    message; with ``topics.allow_drift`` other differences are logged as warnings.
    """
    plan = read(cfg)
    if plan.missing or (plan.has_drift and not cfg.topics.allow_drift):
        raise TopicDrift(plan)
    for t in plan.topics:
        for c in t.changes:
            if c.action is not Action.OK:
                log.warning("topic %s: %s is %s, declared %s (allowed by topics.allow_drift)", t.spec.name,
                            c.setting, c.actual, c.declared)
    return plan
