"""Wiring a whole pipeline from its config: topics check, producer or files, source, runner and sidecar.

``sptk pipeline run`` and ``sptk pipeline replay-bad`` are this module plus argument
parsing; tests use it to run a pipeline in-process. The order matters and is fixed here
once: the topics are checked before anything is read (a pipeline refuses to start on
drift unless told), the producer learns each topic's real ``max.message.bytes`` before
the first record (so oversized messages become ``size_violation`` bad rows), and the
source gets the tracker so it commits only confirmed positions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.collector.adapter import adapt
from connectors.collector.source import CollectorSource
from connectors.replay import DEFAULT_GROUP, UntilCurrentEnd
from connectors.runner import DiscardOutputs, KafkaOutputs, Outputs, PipelineRunner, report_observer
from connectors.sidecar import ListenError, PipelineMetrics, Sidecar, http_probe, kafka_probe
from connectors.sidecar.health import Probe
from connectors.sinks.files import FilesOutputs
from connectors.sources import FileSource, HttpSource, Record, open_source
from connectors.sources.kafka import KafkaSource
from connectors.sources.kafka_range import KafkaRangeSource
from toolkit.config.identity import config_hash, toolkit_version
from toolkit.config.inputs import FileSourceConfig, KafkaSourceConfig, SourceConfig
from toolkit.config.models import PipelineConfig
from toolkit.config.values import OutputTarget
from toolkit.kafka import DeliveryProducer, KafkaUnavailable, stats_settings
from toolkit.kafka.admin import describe_topics
from toolkit.kafka.producing import DEFAULT_MESSAGE_MAX_BYTES
from toolkit.kafka.ranges import RangeBounds, RangeError, read_to_end
from toolkit.kafka.topics import Plan, TopicDrift, apply_plan, bad_topic, check_drift, read_plan
from toolkit.pipeline.consent import ConsentLedger, LedgerFull
from toolkit.pipeline.delivery import DeliveryTracker
from toolkit.pipeline.diversion import Diversion, derived_budgets
from toolkit.pipeline.fanout import Pipeline, stream_topics
from toolkit.pipeline.outcomes import BAD, CONSENT, ENRICHED, RAW, Outcome, Output
from toolkit.pipeline.stream_budgets import StreamBudgets

log = logging.getLogger(__name__)

#: sees each record and its outcome (``build(observe=...)``)
Observer = Callable[[Record, Outcome], None]

#: sampled delivery reports (produce latency); every failure is reported regardless
REPORT_EVERY = 64
#: librdkafka's default batch.size, and what a record batch's own framing may add to its messages
DEFAULT_BATCH_SIZE = 1_000_000
BATCH_FRAMING = 512


class StartupError(RuntimeError):
    """The pipeline cannot start (topics, broker, registry config); the message says what to do.

    ``retryable`` when nothing needs changing and a later start can succeed (the broker did not
    answer), so the command exits 3 rather than 2 (docs/cli.md) and a supervisor can tell them apart.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class ReplayOptions:
    """What ``replay-bad`` reads: bad ``.jsonl`` files, or the bad topic with a consumer group."""

    inputs: tuple[Path, ...] = ()
    group_id: str = DEFAULT_GROUP
    include_all: bool = False


@dataclass
class App:
    cfg: PipelineConfig
    pipeline: Pipeline
    runner: PipelineRunner
    sidecar: Sidecar
    outputs: Outputs
    tracker: DeliveryTracker
    metrics: PipelineMetrics

    def run(self, install_signals: bool = True) -> int:
        """Run until the input ends (or SIGTERM/SIGINT), drain, and return the exit code (0 or 1)."""
        return self.sidecar.run(self.runner, install_signals=install_signals)

    @property
    def summary(self) -> dict[str, Any]:
        """The run's counts; a bounded replay adds what it covered per partition (``replayed``)."""
        summary = self.runner.summary.to_dict()
        if isinstance(self.runner.source, KafkaRangeSource):
            summary["replayed"] = self.runner.source.report()
        if self.runner.diversion is not None:
            summary["diverted"] = dict(sorted(self.runner.diversion.budgets.diverted_records.items()))
        return summary


def registry_probes(cfg: PipelineConfig) -> dict[str, Probe]:
    """One readiness probe per HTTP repository of the resolver config (embedded ones cannot be down)."""
    from iglu_registry.resolver_config import ResolverConfigError, load_resolver_config

    try:
        rc = load_resolver_config(cfg.iglu.resolver_config)
    except (ResolverConfigError, OSError, ValueError) as exc:
        raise StartupError(f"iglu.resolver_config: {exc}") from None
    probes: dict[str, Probe] = {}
    for repo in rc.repositories:
        if repo.http_uri:
            uri = repo.http_uri.rstrip("/")
            probes[f"registry:{repo.name}"] = http_probe(f"{uri}/meta/health" if uri.endswith("/api") else uri)
    return probes


def streams_of(cfg: PipelineConfig) -> list[str]:
    return [RAW, ENRICHED, BAD, *(s for s in stream_topics(cfg) if s not in (RAW, ENRICHED, BAD))]


def prepare_topics(cfg: PipelineConfig, *, create_missing: bool, allow_drift: bool) -> None:
    """Create missing topics if asked, then refuse to start on drift unless it is allowed."""
    if cfg.output.target.kind != "kafka":
        return
    if allow_drift and not cfg.topics.allow_drift:
        cfg = cfg.model_copy(update={"topics": cfg.topics.model_copy(update={"allow_drift": True})})
    try:
        if create_missing:
            plan = read_plan(cfg)
            missing = Plan(tuple(plan.missing))  # with those apply refuses, so their reason is reported
            if missing.topics:
                result = apply_plan(cfg, missing)
                if result.refused:
                    raise StartupError("cannot create the missing topics:\n  " + "\n  ".join(result.refused))
                log.info("created topics %s", ", ".join(result.created))
                _wait_until_visible(cfg)
        check_drift(cfg)
    except TopicDrift as exc:
        raise StartupError(str(exc)) from None
    except RuntimeError as exc:
        if isinstance(exc, StartupError):
            raise
        raise StartupError(f"cannot check the topics on {cfg.require_kafka().bootstrap_servers}: {exc}",
                           retryable=True) from exc


def _wait_until_visible(cfg: PipelineConfig, timeout_s: float = 15.0) -> None:
    """A created topic takes a moment to appear in every broker's metadata; the drift check must not race it."""
    deadline = time.monotonic() + timeout_s
    while read_plan(cfg).missing and time.monotonic() < deadline:
        time.sleep(0.2)


def build(cfg: PipelineConfig, *, serve: bool = True, create_topics: bool = False, allow_drift: bool = False,
          replay: ReplayOptions | None = None, metrics: PipelineMetrics | None = None,
          only: tuple[str, ...] = (), install_signals: bool = False, bounds: RangeBounds | None = None,
          observe: Observer | None = None, keep_outputs: bool = True) -> App:
    """Everything a run needs, checked; :class:`StartupError` or :class:`~toolkit.config.errors.ConfigError` if not.

    ``only`` restricts what is written to those streams (``derived.checkout.v2``), for rebuilding
    one stream from a replay without repeating the others. ``bounds`` turns a Kafka source into a
    bounded replay of that range (:mod:`connectors.sources.kafka_range`). The sidecar comes first: with
    ``install_signals`` a SIGTERM during the slow steps (topics, producer, schemas) ends the run
    the way a drain does, reading nothing, and with ``serve`` a port in use stops the start
    before those steps; without ``serve`` no port is opened at all. ``observe`` sees every record
    with its outcome before its outputs are sent (``sptk micro`` keeps them to show), and
    ``keep_outputs=False`` confirms outputs without writing them anywhere (``sptk micro`` without
    ``--output``): the target in the config is then never opened.
    """
    unknown = sorted(set(only) - set(streams_of(cfg)))
    if unknown:
        raise StartupError(f"--only {', '.join(unknown)}: no such stream; this config has "
                           f"{', '.join(streams_of(cfg))}")
    metrics = metrics or PipelineMetrics()
    sidecar = _sidecar(cfg, serve, metrics)
    if install_signals:
        sidecar.install_signal_handlers()
    try:
        return _build(cfg, sidecar, metrics, create_topics=create_topics, allow_drift=allow_drift, replay=replay,
                      only=only, bounds=bounds, observe=observe, keep_outputs=keep_outputs)
    except BaseException:
        sidecar.stop()
        raise


def _sidecar(cfg: PipelineConfig, serve: bool, metrics: PipelineMetrics) -> Sidecar:
    """The sidecar with its probes, its port claimed when it serves."""
    probes = {}
    if cfg.kafka is not None:
        probes["kafka"] = kafka_probe(cfg.kafka.bootstrap_servers, cfg.kafka.admin_settings())
    probes.update(registry_probes(cfg))
    sidecar = Sidecar(cfg.sidecar.host, cfg.sidecar.port, metrics=metrics, probes=probes,
                      drain_timeout_s=cfg.delivery.drain_timeout_s, serve=serve)
    try:
        sidecar.bind()
    except ListenError as exc:
        raise StartupError(f"sidecar: {exc}; the port is sidecar.port in the config (or SPTK_SIDECAR__PORT)") \
            from None
    return sidecar


def _build(cfg: PipelineConfig, sidecar: Sidecar, metrics: PipelineMetrics, *, create_topics: bool,
           allow_drift: bool, replay: ReplayOptions | None, only: tuple[str, ...],
           bounds: RangeBounds | None = None, observe: Observer | None = None, keep_outputs: bool = True) -> App:
    bounded = bounds is not None and bounds.bounded
    if bounded and (replay is not None or cfg.source.kind != "kafka"):
        raise StartupError("--from-time/--to-time/--from-offset/--to-offset replay a range of a Kafka source; "
                           f"this config's source is {cfg.source.kind!r}: set [source] kind = \"kafka\"")
    if keep_outputs:
        prepare_topics(cfg, create_missing=create_topics, allow_drift=allow_drift)
    metrics.set_build(toolkit_version(), config_hash(cfg))
    tracker = DeliveryTracker(cfg.delivery.max_in_flight)
    topics = stream_topics(cfg)
    outputs: Outputs
    limits: dict[str, int] | None = None
    diversion: Diversion | None = None
    if not keep_outputs:
        outputs = DiscardOutputs(tracker)
    elif cfg.output.target.kind == "kafka":
        kafka = cfg.require_kafka()
        transactional = cfg.delivery.transactional and replay is None and not bounded
        topic_limits = _topic_limits(cfg, topics)
        if not transactional and cfg.derived:  # a failed message aborts a transaction: nothing to divert there
            def bad_row(out: Output, line: bytes | None, reason: str) -> Output:
                return pipeline.diverted(out, line, reason)

            diversion = Diversion(StreamBudgets(derived_budgets(cfg)), topics, bad_row)
        producer = DeliveryProducer(
            kafka.bootstrap_servers, {**stats_settings(metrics.observe_kafka_stats),
                                      **_producer_settings(cfg, topic_limits)}, tracker=tracker,
            transactional_id=cfg.delivery.transactional_id if transactional else None,
            enqueue_timeout_s=cfg.delivery.enqueue_timeout_s, max_attempts=cfg.delivery.max_delivery_attempts,
            topic_limits=topic_limits, on_report=report_observer(metrics, topics), report_every=REPORT_EVERY,
            admin_settings=kafka.admin_settings(), guard=diversion)
        limits = {stream: producer.limit_for(topic) for stream, topic in topics.items()}
        outputs = KafkaOutputs(producer, topics)
    else:
        assert cfg.output.target.directory is not None
        checkpoint = (cfg.source.dir.checkpoint if cfg.source.kind == "dir" and cfg.source.dir is not None else
                      cfg.source.file.checkpoint if cfg.source.kind == "file" and cfg.source.file is not None else None)
        resuming = replay is None and checkpoint is not None and checkpoint.exists()
        outputs = FilesOutputs(cfg.output.target.directory, streams_of(cfg), tracker, append=resuming)
    pipeline = Pipeline.from_config(cfg, limits=limits)
    if pipeline.ledger is not None and keep_outputs and cfg.output.target.kind == "kafka":
        rebuild_consent(cfg, pipeline.ledger, topics[CONSENT])
        metrics.consent_users.set(len(pipeline.ledger.states))
    runners: list[PipelineRunner] = []  # the source's rebalance hook needs the runner built after it
    stats = stats_settings(metrics.observe_kafka_stats)
    if bounded:
        assert cfg.source.kafka is not None and bounds is not None
        source: Any = _range_source(cfg, bounds, stats)
        label = "kafka"
    else:
        source, label = _source(cfg, tracker, outputs, replay, runners, only, stats)
    # a bounded replay commits no offsets, so there is nothing for a transaction to make atomic
    transactional = (cfg.delivery.transactional and replay is None and cfg.output.target.kind == "kafka"
                     and not bounded and keep_outputs)
    if isinstance(source, CollectorSource):
        validator = pipeline.validator.validator  # the pipeline's own: the adapter runs on the pipeline's thread
        source.bind(lambda payload: adapt(payload, validator))

        def handle(record: Any) -> Any:
            return pipeline.collected(record.raw if record.bad is None else None, record.bad, record.payload,
                                      record.source, record.trace_id)
    elif replay is None:
        def handle(record: Any) -> Any:
            return pipeline.process(record.raw, record.source, record.trace_id, record.size, record.truncated)
    else:
        include_all = replay.include_all

        def handle(record: Any) -> Any:
            return pipeline.replay(record.raw, f"replay of {record.source}", record.trace_id,
                                   include_all=include_all)
    if observe is not None:
        plain, seen = handle, observe

        def handle(record: Any) -> Any:
            outcome = plain(record)
            seen(record, outcome)
            return outcome
    runner = PipelineRunner(source, handle, outputs, tracker, metrics=metrics, source_label=label,
                            pipeline=pipeline, transactional=transactional,
                            commit_interval_s=cfg.delivery.commit_interval_s, only=frozenset(only) or None,
                            diversion=diversion)
    runners.append(runner)
    if isinstance(source, HttpSource | CollectorSource):
        if not sidecar.serving:
            raise StartupError(f"source.kind = \"{cfg.source.kind}\" receives requests on the sidecar's port; run "
                               "with --serve")
        sidecar.mount(source)
    log.info("pipeline %s: reading %s, writing %s (%s)%s", pipeline.pipeline_id, getattr(source, "description", label),
             cfg.output.target if keep_outputs else "nowhere (confirmed at once)", ", ".join(only or streams_of(cfg)),
             " (replay)" if replay else "")
    return App(cfg, pipeline, runner, sidecar, outputs, tracker, metrics)


def rebuild_consent(cfg: PipelineConfig, ledger: ConsentLedger, topic: str) -> None:
    """Read the compacted consent topic to its end into ``ledger``, before the first record is processed."""
    kafka = cfg.require_kafka()
    started = time.monotonic()
    try:
        users = ledger.load(read_to_end(kafka.bootstrap_servers, topic, kafka.consumer_settings(),
                                        timeout_s=cfg.consent.rebuild_timeout_s), topic)
    except LedgerFull as exc:
        raise StartupError(str(exc)) from None
    except RangeError as exc:
        raise StartupError(f"{exc}; the consent topic is created by `sptk topics apply` (or --create-topics)") \
            from None
    except KafkaUnavailable as exc:
        raise StartupError(f"cannot rebuild the consent state: {exc}", retryable=True) from None
    log.info("consent: %d users with a restriction in force, read from %s in %.1fs", users, topic,
             time.monotonic() - started, extra={"suppressed_users": users})


def _range_source(cfg: PipelineConfig, bounds: RangeBounds, stats: dict[str, Any]) -> KafkaRangeSource:
    assert cfg.source.kafka is not None
    kafka = cfg.require_kafka()
    try:
        return KafkaRangeSource(kafka.bootstrap_servers, cfg.source.kafka.topics, bounds,
                                {**stats, **kafka.consumer_settings()})
    except RangeError as exc:
        raise StartupError(str(exc)) from None
    except KafkaUnavailable as exc:
        raise StartupError(str(exc), retryable=True) from None


def _topic_limits(cfg: PipelineConfig, topics: dict[str, str]) -> dict[str, int]:
    """Each output topic's ``max.message.bytes`` as the broker has it (what it will enforce)."""
    kafka = cfg.require_kafka()
    states = describe_topics(kafka.bootstrap_servers, list(topics.values()), kafka.admin_settings())
    missing = [t for t, state in states.items() if state is None]
    if missing:
        raise StartupError(f"topics {missing} do not exist on {kafka.bootstrap_servers}; create them with `sptk "
                           "topics apply --config <file>` (or run with --create-topics)")
    return {t: int(state.configs.get("max.message.bytes", DEFAULT_MESSAGE_MAX_BYTES))  # type: ignore[union-attr]
            for t, state in states.items()}


def _producer_settings(cfg: PipelineConfig, topic_limits: dict[str, int]) -> dict[str, Any]:
    """``[kafka.producer]``, with ``batch.size`` no larger than the smallest topic's ``max.message.bytes``.

    The broker applies ``max.message.bytes`` to a whole record batch, and librdkafka fills
    batches up to ``batch.size`` (1 MB by default): a topic declared smaller than that would
    refuse full batches as "message too large" although every message fits. So batches are
    capped at the smallest limit, with room for the batch framing.
    """
    settings = dict(cfg.require_kafka().producer_settings())
    smallest = min(topic_limits.values(), default=DEFAULT_MESSAGE_MAX_BYTES)
    cap = max(1024, smallest - BATCH_FRAMING)
    configured = int(settings.get("batch.size", DEFAULT_BATCH_SIZE))
    if configured > cap:
        if "batch.size" in settings:
            log.warning("kafka.producer batch.size = %d is larger than the smallest output topic's max.message.bytes "
                        "(%d); batches are capped at %d bytes so the broker never refuses one", configured, smallest,
                        cap)
        settings["batch.size"] = cap
    return settings


def _source(cfg: PipelineConfig, tracker: DeliveryTracker, outputs: Outputs, replay: ReplayOptions | None,
            runners: list[PipelineRunner], only: tuple[str, ...], stats: dict[str, Any]) -> tuple[Any, str]:
    def before_revoke(keys: list[str]) -> None:
        if runners and runners[0].transactional:
            runners[0].commit_before_revoke(keys)  # outputs and offsets of the revoked partitions, atomically
        else:
            outputs.flush(5.0)  # confirm what is in flight so the revoked partitions commit as far as possible

    if replay is None:
        return (open_source(cfg, tracker=tracker, before_revoke=before_revoke, only=only, client_settings=stats),
                cfg.source.kind)
    if replay.inputs:
        return FileSource(replay.inputs), "file"
    kafka = cfg.require_kafka()
    source_cfg = cfg.model_copy(update={"source": SourceConfig(
        kind="kafka", kafka=KafkaSourceConfig(topics=(bad_topic(kafka.topic_prefix),), group_id=replay.group_id))})
    inner = open_source(source_cfg, tracker=tracker, before_revoke=before_revoke, client_settings=stats)
    assert isinstance(inner, KafkaSource)
    return UntilCurrentEnd(inner), "kafka"


def quick_config(inputs: tuple[str, ...], resolver: str, output: str, *, topic_prefix: str = "sptk",
                 profile: str | None = None, environ: Any = None) -> PipelineConfig:
    """The config of ``sptk pipeline run --input PATH --resolver FILE --output files:DIR|kafka:BOOTSTRAP``."""
    from toolkit.config.loading import parse_config

    data: dict[str, Any] = {
        "source": {"kind": "stdin"} if inputs == ("-",) else {"kind": "file", "file": {"paths": list(inputs)}},
        "iglu": {"resolver_config": resolver},
        "output": {"target": "kafka" if output.startswith("kafka:") else output},
        # a quick run creates its missing topics on whatever broker it is given: one replica works everywhere
        "topics": {"defaults": {"replication": 1}},
        "sidecar": {"log_format": "text"},
    }
    if profile:
        data["output"]["enriched_profile"] = profile
    if output.startswith("kafka:"):
        data["kafka"] = {"bootstrap_servers": output[len("kafka:"):], "topic_prefix": topic_prefix}
    import os

    cfg = parse_config(data, origin="command line", base_dir=Path.cwd(),
                       environ=os.environ if environ is None else environ)
    # SPTK_* variables fill in what the command line leaves open; what it names wins (docs/cli.md)
    return override(cfg, inputs=inputs, output=output)


def override(cfg: PipelineConfig, *, inputs: tuple[str, ...] = (), output: str | None = None) -> PipelineConfig:
    """``--input``/``--output`` given with ``--config``: the file's settings with another source or target."""
    if inputs:
        source = SourceConfig(kind="stdin") if inputs == ("-",) else SourceConfig(
            kind="file", file=FileSourceConfig(paths=tuple(Path(p).resolve() for p in inputs)))
        cfg = cfg.model_copy(update={"source": source})
    if output:
        if output.startswith("files:") and len(output) > len("files:"):
            target = OutputTarget("files", Path(output[len("files:"):]).resolve())
        elif output == "kafka" or output.startswith("kafka:"):
            target = OutputTarget("kafka")
            if output.startswith("kafka:"):
                kafka = cfg.require_kafka()
                cfg = cfg.model_copy(update={"kafka": kafka.model_copy(
                    update={"bootstrap_servers": output[len("kafka:"):]})})
        else:
            raise ValueError(f"--output {output!r}: expected files:DIR, kafka or kafka:BOOTSTRAP")
        cfg = cfg.model_copy(update={"output": cfg.output.model_copy(update={"target": target})})
    return cfg
