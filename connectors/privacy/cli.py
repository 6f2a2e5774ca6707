"""``sptk privacy forget|retain``: serve a data subject request, or a retention run, and audit it.

Exit codes (docs/cli.md): ``0`` every target done (or counted, with ``--dry-run``); ``1`` a target
failed: the others stay done, the table says which failed and why, and the same command with the
printed ``--request-id`` resumes; ``2`` the command line or the config must change, nothing was done;
``3`` the audit table could not be opened (nothing was done: no change is made that cannot be audited).
"""

from __future__ import annotations

import getpass
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import orjson

from toolkit.cli.conventions import CommandFailed, Exit, emit, json_option

_config = click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                       help="The privacy operations file (mode, keys, audit salt, retention windows; "
                            "docs/privacy.md).")
_warehouse = click.option("--warehouse", metavar="URL",
                          help="duckdb:PATH or postgresql://... (?schema=S, default atomic), as kafka-load writes it.")
_lake = click.option("--lake", metavar="URL", help="parquet:PATH, delta:PATH or iceberg:PATH that kafka-load writes.")
_dry_run = click.option("--dry-run", is_flag=True, help="Count per target and change nothing (audited as a dry run).")
_actor = click.option("--actor", help="Who runs this, for the audit table (default: the operating-system user).")
_audit = click.option("--audit", "audit_at", metavar="LOCATION",
                      help="Where the audit table is: a warehouse URL or jsonl:PATH (default: --warehouse, else "
                           "jsonl:<lake>/_sptk_audit/privacy_requests.jsonl).")


@click.group()
def privacy() -> None:
    """Data subject requests and retention over the warehouse, the lake and the compacted topics."""


def _load(path: Path | None) -> Any:
    from connectors.privacy.config import PrivacyOpsConfig
    from toolkit.config.errors import ConfigError
    from toolkit.config.loading import load_settings

    if path is None:
        return None
    try:
        return load_settings(path, PrivacyOpsConfig)
    except ConfigError as exc:
        raise CommandFailed(str(exc)) from None


def _stores(warehouse: str | None, lake: str | None) -> list[Any]:
    from connectors.privacy.stores import LakeStore, WarehouseStore
    from connectors.warehouse.lakes import parse_lake_url
    from connectors.warehouse.url import BadWarehouseURL, parse_warehouse_url

    try:
        stores: list[Any] = [WarehouseStore(parse_warehouse_url(warehouse))] if warehouse else []
        if lake:
            stores.append(LakeStore(parse_lake_url(lake)[0]))
    except BadWarehouseURL as exc:
        raise CommandFailed(str(exc)) from None
    return stores


def _open_audit(audit_at: str | None, warehouse: str | None, lake: str | None) -> Any:
    from connectors.privacy.audit import JSONL_PREFIX, open_audit
    from connectors.warehouse.backends import WarehouseUnavailable
    from connectors.warehouse.lakes import parse_lake_url
    from connectors.warehouse.url import BadWarehouseURL

    location = audit_at or warehouse
    if location is None and lake:
        location = f"{JSONL_PREFIX}{Path(parse_lake_url(lake)[0].path) / '_sptk_audit' / 'privacy_requests.jsonl'}"
    if location is None:
        raise CommandFailed("give --audit LOCATION (a warehouse URL or jsonl:PATH): with only --kafka there is no "
                            "warehouse or lake to keep the audit table in")
    try:
        return open_audit(location)
    except BadWarehouseURL as exc:
        raise CommandFailed(f"--audit: {exc}") from None
    except WarehouseUnavailable as exc:
        raise CommandFailed(f"cannot open the audit table, so nothing was done: {exc}", Exit.UNDECIDED) from None


def _render(title: str, records: list[Any], audit: Any) -> str:
    rows = [("target", "outcome", "affected")]
    for r in records:
        counts = ", ".join(f"{k} {v}" for k, v in r.counts.items()) or "-"
        why = f" ({r.detail['error']})" if "error" in r.detail else f" ({r.detail['note']})" if "note" in r.detail \
            else ""
        rows.append((r.target, r.outcome, counts + why))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [title, *(f"  {a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in rows)]
    lines.append(f"audit: {len(records)} row(s) appended to {audit.location}")
    return "\n".join(lines)


def _finish(json_to: str | None, title: str, head: dict[str, Any], records: list[Any], audit: Any) -> None:
    from connectors.privacy.audit import FAILED

    failed = [r.target for r in records if r.outcome == FAILED]
    document = {**head, "audit": audit.location, "complete": not failed,
                "targets": [{"target": r.target, "outcome": r.outcome, "affected": r.affected, "counts": r.counts,
                             "detail": r.detail} for r in records]}
    emit(json_to, orjson.dumps(document, option=orjson.OPT_INDENT_2), _render(title, records, audit))
    if failed:
        click.echo(f"{len(failed)} target(s) failed ({', '.join(failed)}); the others are done. Fix the cause and "
                   f"run the same command with --request-id {head['request_id']} to finish only those.", err=True)
        click.get_current_context().exit(Exit.FOUND)


@privacy.command()
@click.option("--user-id", help="The person's user_id (set by the tracker's setUserId).")
@click.option("--domain-userid", help="The person's domain_userid (first-party cookie id).")
@click.option("--network-userid", help="The person's network_userid (collector cookie id).")
@_warehouse
@_lake
@click.option("--kafka", "kafka_config", type=click.Path(dir_okay=False, path_type=Path),
              help="A pipeline config: tombstones go to its <prefix>.consent topic and its compacted streams keyed "
                   "by this identifier.")
@_config
@click.option("--mode", type=click.Choice(["delete", "pseudonymise"]), help="Override [requests] mode.")
@_dry_run
@click.option("--request-id", help="Name the request (a ticket id); the same id again resumes it. Default: a new id.")
@_actor
@_audit
@json_option("the per-target outcome")
def forget(user_id: str | None, domain_userid: str | None, network_userid: str | None, warehouse: str | None,
           lake: str | None, kafka_config: Path | None, config_path: Path | None, mode: str | None, dry_run: bool,
           request_id: str | None, actor: str | None, audit_at: str | None, json_to: str | None) -> None:
    """Delete (or pseudonymise) one person's rows and tombstone their keys; append the outcome to the audit table."""
    from connectors.privacy import requests
    from connectors.privacy.subject import Subject
    from toolkit.pipeline.policy import Pseudonymiser

    cfg = _load(config_path)  # the config first: a broken file is the first thing to say
    given = [(k, v) for k, v in (("user_id", user_id), ("domain_userid", domain_userid),
                                 ("network_userid", network_userid)) if v is not None]
    if len(given) != 1:
        raise CommandFailed("name the person with exactly one of --user-id, --domain-userid, --network-userid")
    try:
        subject = Subject(*given[0])
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None
    if not (warehouse or lake or kafka_config):
        raise CommandFailed("give at least one of --warehouse, --lake, --kafka: where the person's data is")
    if cfg is None or cfg.requests is None:
        raise CommandFailed("give --config FILE with a [requests] table: its audit_salt_env (or _file) hashes the "
                            "identifier for the audit table (see docs/privacy.md)")
    mode = mode or cfg.requests.mode
    pseudonym = None
    if mode == "pseudonymise":
        if cfg.requests.pseudonymisation_key is None:
            raise CommandFailed(f"{config_path}: mode pseudonymise needs [requests] pseudonymisation_key_env or "
                                f"pseudonymisation_key_file")
        pseudonym = Pseudonymiser(cfg.requests.pseudonymisation_key.reveal().encode())(subject.value)
    targets: list[Any] = [*_stores(warehouse, lake), *_topic_targets(kafka_config, subject)]
    audit = _open_audit(audit_at, warehouse, lake)
    request = requests.Request(request_id or str(uuid.uuid4()), "forget", actor or getpass.getuser(), mode, dry_run,
                               subject.kind, subject.audit_hash(cfg.requests.audit_salt.reveal()))
    try:
        records = requests.forget(request, subject, pseudonym, targets, audit)
    except requests.RequestRefused as exc:
        raise CommandFailed(str(exc)) from None
    finally:
        audit.close()
    title = (f"forget request {request.request_id}: {subject.kind} sha256 {request.subject_hash[:12]}..., "  # type: ignore[index]
             f"{mode}{', dry run: nothing changed' if dry_run else ''}")
    head = {"request_id": request.request_id, "action": "forget", "mode": mode, "dry_run": dry_run,
            "subject": {"kind": subject.kind, "hash": request.subject_hash}}
    _finish(json_to, title, head, records, audit)


def _topic_targets(kafka_config: Path | None, subject: Any) -> list[Any]:
    if kafka_config is None:
        return []
    from connectors.privacy.topics import TopicTarget, user_topics
    from toolkit.config.errors import ConfigError
    from toolkit.config.loading import load_config

    try:
        cfg = load_config(kafka_config)
        kafka = cfg.require_kafka()
    except ConfigError as exc:
        raise CommandFailed(str(exc)) from None
    return [TopicTarget(topic, key, kafka.bootstrap_servers, kafka.admin_settings())
            for topic, key in user_topics(cfg, subject).items()]


@privacy.command()
@click.option("--older-than", metavar="DURATION",
              help="Remove rows older than this (e.g. 400d) from every table without its own window in --config.")
@_warehouse
@_lake
@_config
@_dry_run
@_actor
@_audit
@json_option("the per-target outcome")
def retain(older_than: str | None, warehouse: str | None, lake: str | None, config_path: Path | None,
           dry_run: bool, actor: str | None, audit_at: str | None, json_to: str | None) -> None:
    """Remove events and bad rows older than their retention window; append the run to the audit table.

    Topic retention is not done here: it is the topics' retention.ms, declared in the pipeline config and
    applied by `sptk topics plan|apply`.
    """
    from connectors.privacy import requests
    from connectors.privacy.config import RETAINED_TABLES
    from toolkit.durations import parse_duration

    cfg = _load(config_path)
    if not (warehouse or lake):
        raise CommandFailed("give --warehouse URL and/or --lake URL: the tables to apply retention to")
    windows = dict(cfg.retention.windows) if cfg is not None else {}
    missing = [t for t in RETAINED_TABLES if t not in windows]
    if missing and older_than is None:
        raise CommandFailed(f"no retention window for {', '.join(missing)}: give --older-than DURATION or set "
                            f"[retention] windows in --config")
    windows.update({t: older_than for t in missing if older_than is not None})
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        cutoffs = {t: now - timedelta(microseconds=parse_duration(w)) for t, w in windows.items()}
    except ValueError as exc:
        raise CommandFailed(f"--older-than: {exc}") from None
    targets = _stores(warehouse, lake)
    audit = _open_audit(audit_at, warehouse, lake)
    request = requests.Request(str(uuid.uuid4()), "retain", actor or getpass.getuser(), "delete", dry_run)
    try:
        records = requests.retain(request, cutoffs, targets, audit)
    finally:
        audit.close()
    title = (f"retain run {request.request_id}: " + ", ".join(f"{t} older than {w}" for t, w in windows.items())
             + (", dry run: nothing changed" if dry_run else ""))
    head = {"request_id": request.request_id, "action": "retain", "dry_run": dry_run, "windows": windows,
            "cutoffs": {t: c.isoformat(sep=" ") for t, c in cutoffs.items()}}
    _finish(json_to, title, head, records, audit)
