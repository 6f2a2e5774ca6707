"""The terminal summary: what a person needs in ten seconds (verdict first, then only what differs)."""

from __future__ import annotations

from migration.reconcile.config import METRICS as BUILT_IN
from migration.reconcile.result import MetricResult, Reconciliation

LABELS = (("only_legacy", "only in legacy"), ("only_new", "only in new"), ("modified", "modified"),
          ("null_only", "null vs value only"), ("pending", "pending (lookback)"), ("rejected", "rejected (bad rows)"))
MAX_TYPES_SHOWN = 5


def _top(counts: dict[str, int], limit: int = 4) -> str:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{name} ({n})" for name, n in ranked[:limit])
    return text + (f", +{len(ranked) - limit} more" if len(ranked) > limit else "")


def _difference(m: MetricResult) -> str:
    if m.kind == "relative":
        return f"{m.relative_difference:.3%}, tolerance {m.tolerance:.3%}"
    return f"{m.absolute_difference:g} apart, tolerance {m.tolerance:g}"


def render_terminal(rec: Reconciliation, json_path: str | None = None, html_path: str | None = None) -> str:
    lines = [f"verdict: {rec.verdict.upper()} (exit {rec.exit_code})"]
    settings = rec.settings
    if rec.legacy is not None and rec.new is not None:
        width = max(len(rec.legacy_source), len(rec.new_source))
        lines += [
            f"  legacy  {rec.legacy_source:<{width}}  {rec.legacy.event_ids} events, {rec.legacy.rows} rows",
            f"  new     {rec.new_source:<{width}}  {rec.new.event_ids} events, {rec.new.rows} rows",
            f"  window {settings['window']}, lookback {settings['lookback']}, as of {rec.as_of}: "
            f"{len(rec.windows)} windows, {rec.windows_diffed} compared key by key",
        ]
        for name, label in LABELS:
            bucket = rec.bucket(name)
            if not bucket.count:
                continue
            detail = ""
            if name == "modified":
                detail = "  columns: " + _top(rec.modified_columns)
            elif name == "null_only":
                detail = "  columns: " + _top(rec.null_only_columns)
            elif name == "rejected":
                detail = "  as: " + _top(rec.rejected_types)
            lines.append(f"  {label:<20} {bucket.count:>8}  e.g. {bucket.sample[0]}{detail}")
        if not any(rec.bucket(n).count for n, _ in LABELS):
            lines.append("  every event matches on every compared column "
                         f"({rec.columns_compared} columns)")
        failing = [t for t in rec.by_event_type if t.status != "parity"]
        for t in failing[:MAX_TYPES_SHOWN]:
            name = "/".join(str(v) for v in (t.event_vendor, t.event_name, t.event_version) if v) or "(no type)"
            lines.append(f"  type {t.status:<5} {name} [{t.app_id}, {t.platform}]: {t.legacy} -> {t.new}  "
                         + ", ".join(f"{k} {v}" for k, v in t.differences.items()))
        if len(failing) > MAX_TYPES_SHOWN:
            lines.append(f"  ... and {len(failing) - MAX_TYPES_SHOWN} more event types differ (see the reports)")
        for m in rec.metrics:
            if m.status != "parity" or m.name not in BUILT_IN:
                where = (" [" + ", ".join(f"{f}={v}" for f, v in m.group) + "]") if m.group else ""
                lines.append(f"  metric {m.status:<6} {m.name}{where}: {m.legacy:g} -> {m.new:g} "
                             f"({_difference(m)})")
        for side in ("legacy", "new"):
            f = rec.freshness.get(side)
            if f is not None:
                lines.append(f"  freshness {side:<6} p50 {f.p50:g}s  p95 {f.p95:g}s  p99 {f.p99:g}s")
    if rec.reasons:
        lines.append("why:")
        lines += [f"  - {reason}" for reason in rec.reasons]
    for label, path in (("json report", json_path), ("html report", html_path)):
        if path:
            lines.append(f"{label}: {path}")
    return "\n".join(lines) + "\n"
