"""A shadow run: one input through both paths into two warehouse schemas, then a reconciliation.

The legacy path loads the archive the way the batch loaders did; the Kafka path runs
the real pipeline (validation, fan-out) over the same files into Kafka and loads its
enriched and bad topics. Only when both are caught up (the legacy load finished, the
pipeline drained, the Kafka loader reached the end of every partition) does the
reconciliation run, so a late path can never read as lost data.

The shadow config is YAML or TOML::

    input: archive/2024-05-01/          # enriched TSV (gzip too), a file or a directory (as legacy-load reads it)
    pipeline: pipeline.yaml             # the Kafka path's pipeline config; its [source] is replaced by the input
    legacy:
      warehouse: duckdb:shadow.duckdb?schema=legacy
      dedup: in-batch                   # none | in-batch | cross-batch
    kafka:
      warehouse: duckdb:shadow.duckdb?schema=kafka
      group: sptk-shadow                # consumer group of the Kafka loader
    reconcile:
      window: 1h
      lookback: 0s                      # the archive is complete: nothing is late
      json: shadow-report.json
      html: shadow-report.html
      fail_on: []
      rules: []                         # e.g. ["timestamp_precision=us"]
      tolerances: []                    # e.g. ["users=0.001"]
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.pipeline_app import build
from connectors.sources.kafka import KafkaSource
from connectors.warehouse.loader import Dedup, Warehouse
from migration.kafka_load import KafkaLoader, KafkaLoadReport
from migration.legacy import LegacyLoadReport, legacy_load, tsv_files
from migration.reconcile.config import ReconcileConfig, Rules, parse_duration, parse_tolerances
from migration.reconcile.engine import failed
from migration.reconcile.engine import reconcile as run_reconcile
from migration.reconcile.result import Reconciliation
from migration.reconcile.workspace import SourceFailed
from migration.sources import open_workspace, parse_source
from toolkit.config.inputs import FileSourceConfig, SourceConfig
from toolkit.config.loading import load_config
from toolkit.pipeline.fanout import stream_topics
from toolkit.pipeline.outcomes import BAD, ENRICHED
from toolkit.progress import stages


class ShadowConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ShadowConfig:
    input: Path
    pipeline: Path
    legacy_warehouse: str
    kafka_warehouse: str
    legacy_dedup: Dedup = Dedup.IN_BATCH
    group: str = "sptk-shadow"
    reconcile: ReconcileConfig = field(default_factory=ReconcileConfig)
    json_path: Path | None = None
    html_path: Path | None = None


def _section(data: Mapping[str, Any], name: str, origin: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ShadowConfigError(f"{origin}: '{name}' must be a table of settings, not {type(value).__name__}")
    return value


def _known(data: Mapping[str, Any], keys: set[str], where: str) -> None:
    unknown = set(data) - keys
    if unknown:
        raise ShadowConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}; "
                                f"known: {', '.join(sorted(keys))}")


def load_shadow_config(path: str | Path) -> ShadowConfig:
    origin = Path(path)
    try:
        text = origin.read_text(encoding="utf-8")
        data = tomllib.loads(text) if origin.suffix == ".toml" else yaml.safe_load(text)
    except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ShadowConfigError(f"cannot read the shadow config {origin}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ShadowConfigError(f"{origin}: a shadow config is a table with input, pipeline, legacy, kafka")
    _known(data, {"input", "pipeline", "legacy", "kafka", "reconcile"}, str(origin))
    legacy, kafka, rec = (_section(data, n, str(origin)) for n in ("legacy", "kafka", "reconcile"))
    _known(legacy, {"warehouse", "dedup"}, f"{origin}: legacy")
    _known(kafka, {"warehouse", "group"}, f"{origin}: kafka")
    _known(rec, {"window", "lookback", "json", "html", "fail_on", "rules", "tolerances"}, f"{origin}: reconcile")
    base = origin.parent
    try:
        config = ReconcileConfig(
            window_us=parse_duration(str(rec.get("window", "1h"))),
            lookback_us=parse_duration(str(rec.get("lookback", "0s"))),
            rules=Rules().with_settings(rec.get("rules", [])),
            tolerances=parse_tolerances(rec.get("tolerances", [])),
            fail_on=frozenset(rec.get("fail_on", [])),
        )
        return ShadowConfig(
            input=base / str(data["input"]),
            pipeline=base / str(data["pipeline"]),
            legacy_warehouse=str(legacy["warehouse"]),
            kafka_warehouse=str(kafka["warehouse"]),
            legacy_dedup=Dedup(legacy.get("dedup", Dedup.IN_BATCH.value)),
            group=str(kafka.get("group", "sptk-shadow")),
            reconcile=config,
            json_path=base / rec["json"] if rec.get("json") else None,
            html_path=base / rec["html"] if rec.get("html") else None,
        )
    except KeyError as exc:
        raise ShadowConfigError(f"{origin}: {exc.args[0]} is required") from None
    except ValueError as exc:
        raise ShadowConfigError(f"{origin}: {exc}") from None


@dataclass(slots=True)
class ShadowResult:
    legacy: LegacyLoadReport
    pipeline_exit: int
    pipeline_summary: dict[str, Any]
    kafka: KafkaLoadReport
    reconciliation: Reconciliation


def run_shadow(config: ShadowConfig) -> ShadowResult:
    """Legacy path, Kafka path, then reconcile once both are caught up (see the module docstring)."""
    files = tuple(tsv_files(config.input))
    with Warehouse.open(config.legacy_warehouse) as warehouse:
        legacy = legacy_load(files, warehouse, config.legacy_dedup, progress_mode="auto")

    pipeline_cfg = load_config(config.pipeline)
    pipeline_cfg = pipeline_cfg.model_copy(
        update={"source": SourceConfig(kind="file", file=FileSourceConfig(paths=files))})
    app = build(pipeline_cfg, serve=False, create_topics=True)
    pipeline_exit = app.run(install_signals=False)

    topics = stream_topics(pipeline_cfg)
    bootstrap = pipeline_cfg.require_kafka().bootstrap_servers
    with Warehouse.open(config.kafka_warehouse) as warehouse:
        source = KafkaSource(bootstrap, [topics[ENRICHED], topics[BAD]], config.group,
                             pipeline_cfg.require_kafka().consumer_settings())
        loader = KafkaLoader(source, warehouse, bad_topics=[topics[BAD]], until_caught_up=True, progress_mode="auto")
        try:
            loader.run(threading.Event())
            loader.drain(30.0)
        finally:
            source.close()

    legacy_source = parse_source(f"duckdb:{_duck(config.legacy_warehouse)}" if _duck(config.legacy_warehouse)
                                 else config.legacy_warehouse)
    new_source = parse_source(f"duckdb:{_duck(config.kafka_warehouse)}" if _duck(config.kafka_warehouse)
                              else config.kafka_warehouse)
    if pipeline_exit != 0:
        result = failed(str(legacy_source), str(new_source), config.reconcile,
                        f"the Kafka path's pipeline did not drain cleanly (exit {pipeline_exit}): "
                        f"it may not have caught up")
    elif loader.gave_up:
        result = failed(str(legacy_source), str(new_source), config.reconcile,
                        f"the Kafka path's topics could not be loaded: {loader.gave_up}")
    else:
        try:
            with stages("reconcile") as step, open_workspace(legacy_source, new_source, on_step=step) as workspace:
                result = run_reconcile(workspace, config.reconcile, step)
        except SourceFailed as exc:
            result = failed(str(legacy_source), str(new_source), config.reconcile, f"a source could not be read: {exc}")
    return ShadowResult(legacy, pipeline_exit, app.summary, loader.report, result)


def _duck(url: str) -> str | None:
    """The ``PATH?schema=S`` part of a DuckDB warehouse URL (reconcile sources spell it the same way)."""
    if url.startswith("duckdb:"):
        return url.removeprefix("duckdb:")
    if url.endswith((".duckdb", ".db")) or ".duckdb?" in url:
        return url
    return None
