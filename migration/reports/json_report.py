"""The JSON report: byte-identical for identical inputs (sorted keys, no run time, sorted samples)."""

from __future__ import annotations

from typing import Any

import orjson

from migration.reconcile.result import Bucket, Freshness, MetricResult, Reconciliation, SideTotals

#: /2 added (additively) settings.scope/metrics/freshness, metrics' status/groups, freshness, windows[].freshness.
FORMAT = "sptk-reconcile/2"


def _bucket(bucket: Bucket, **extra: Any) -> dict[str, Any]:
    return {"count": bucket.count, "sample": sorted(bucket.sample), **extra}


def _side(totals: SideTotals | None) -> dict[str, Any] | None:
    if totals is None:
        return None
    return {"rows": totals.rows, "event_ids": totals.event_ids, "latest_collector_tstamp":
            totals.latest_collector_tstamp}


def _freshness(value: Freshness | None) -> dict[str, float] | None:
    return None if value is None else {"p50_s": value.p50, "p95_s": value.p95, "p99_s": value.p99}


def _metric(m: MetricResult) -> dict[str, Any]:
    document: dict[str, Any] = {
        "legacy": m.legacy, "new": m.new, "relative_difference": m.relative_difference,
        "absolute_difference": m.absolute_difference, "tolerance": m.tolerance, "warn": m.warn, "kind": m.kind,
        "aggregation": m.aggregation, "ok": m.ok, "status": m.status}
    if m.group is not None:
        document["group"] = dict(m.group)
    if m.groups:
        document["groups"] = [{**_metric(g), "group": dict(g.group or ())} for g in m.groups]
    return document


def report_document(rec: Reconciliation) -> dict[str, Any]:
    """The report as plain data (the JSON report is exactly this)."""
    duplicates = {
        name: None if t is None else {"natural": t.natural_duplicates, "synthetic_event_ids": t.synthetic_event_ids}
        for name, t in (("legacy", rec.legacy), ("new", rec.new))
    }
    return {
        "format": FORMAT,
        "verdict": rec.verdict,
        "exit_code": rec.exit_code,
        "reasons": rec.reasons,
        "error": rec.error,
        "sources": {"legacy": rec.legacy_source, "new": rec.new_source},
        "settings": rec.settings,
        "as_of": rec.as_of,
        "pending_after": rec.cutoff,
        "totals": {
            "legacy": _side(rec.legacy),
            "new": _side(rec.new),
            "columns_compared": rec.columns_compared,
            "columns_only_in_legacy": list(rec.columns_only_in_legacy),
            "columns_only_in_new": list(rec.columns_only_in_new),
            "windows": len(rec.windows),
            "windows_diffed": rec.windows_diffed,
        },
        "only_legacy": _bucket(rec.bucket("only_legacy")),
        "only_new": _bucket(rec.bucket("only_new")),
        "modified": _bucket(rec.bucket("modified"), columns=rec.modified_columns, values={
            event_id: {c: {"legacy": pair[0], "new": pair[1]} for c, pair in columns.items()}
            for event_id, columns in rec.modified_values.items()}),
        "null_only": _bucket(rec.bucket("null_only"), columns=rec.null_only_columns),
        "pending": _bucket(rec.bucket("pending")),
        "rejected": _bucket(rec.bucket("rejected"), by_type=rec.rejected_types),
        "bad_rows": rec.bad_rows,
        "duplicates": duplicates,
        "by_event_type": [
            {"event_vendor": t.event_vendor, "event_name": t.event_name, "event_version": t.event_version,
             "app_id": t.app_id, "platform": t.platform, "legacy": t.legacy, "new": t.new,
             "differences": t.differences, "status": t.status}
            for t in rec.by_event_type
        ],
        "metrics": {m.name: _metric(m) for m in rec.metrics},
        "freshness": {side: _freshness(rec.freshness.get(side)) for side in ("legacy", "new")},
        "windows": [
            {"start": w.start, "end": w.end, "legacy": {"rows": w.legacy_rows, "event_ids": w.legacy_ids},
             "new": {"rows": w.new_rows, "event_ids": w.new_ids}, "checksum_match": w.checksum_match,
             "open": w.open, "differences": w.differences,
             "freshness": {side: _freshness(w.freshness.get(side)) for side in ("legacy", "new")}}
            for w in rec.windows
        ],
    }


def render_json(rec: Reconciliation) -> bytes:
    return orjson.dumps(report_document(rec), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
