"""From findings to a verdict a team can cut over on (pure).

``fail`` means data differs in a way nothing explains; ``warn`` means every
difference is explained (pending inside the lookback, rejected into bad rows,
null-only, duplicate handling) and a person should look; ``parity`` means no
difference at all; ``undecided`` means a source failed or there was nothing to
compare, so the tool refuses to say parity.
"""

from __future__ import annotations

from migration.reconcile.config import ReconcileConfig, format_duration
from migration.reconcile.result import MetricResult, Reconciliation, TypeResult

UNEXPLAINED = ("only_legacy", "only_new", "modified")


def type_status(legacy: int, differences: dict[str, int], tolerance: float) -> str:
    unexplained = sum(differences.get(b, 0) for b in UNEXPLAINED)
    if unexplained and unexplained > tolerance * max(legacy, 1):
        return "fail"
    return "warn" if any(differences.values()) else "parity"


def _events(n: int) -> str:
    return f"{n} event{'' if n == 1 else 's'}"


def _type_label(t: TypeResult) -> str:
    name = "/".join(str(v) for v in (t.event_vendor, t.event_name, t.event_version) if v is not None) or "(no type)"
    return f"{name} [{t.app_id}, {t.platform}]"


def _amount(m: MetricResult, value: float) -> str:
    return f"{value:.4%}" if m.kind == "relative" else f"{value:g}"


def metric_reason(m: MetricResult) -> str:
    where = (" in " + ", ".join(f"{f}={v}" for f, v in m.group)) if m.group else ""
    level = m.tolerance if m.status == "fail" else (m.warn or 0.0)
    return (f"metric {m.name}{where}: {m.legacy:g} legacy vs {m.new:g} new ({_amount(m, m.difference)} > "
            f"{m.status} level {_amount(m, level)})")


def freshness_findings(rec: Reconciliation, config: ReconcileConfig) -> list[tuple[str, str]]:
    """The new side's p95 against its limits, and how much slower than legacy it is."""
    limits, new, legacy = config.freshness, rec.freshness.get("new"), rec.freshness.get("legacy")
    if new is None:
        if any(v is not None for v in (limits.p95_warn, limits.p95_fail, limits.gap_warn, limits.gap_fail)):
            return [("warn", "freshness limits are set but the new side has no load_tstamp to measure")]
        return []
    found: list[tuple[str, str]] = []
    checks = [("p95", new.p95, limits.p95_warn, limits.p95_fail)]
    if legacy is not None:
        checks.append(("p95 gap (new - legacy)", new.p95 - legacy.p95, limits.gap_warn, limits.gap_fail))
    for label, seconds, warn, fail in checks:
        for status, level in (("fail", fail), ("warn", warn)):
            if level is not None and seconds * 1e6 > level:
                found.append((status, f"freshness of the new side: {label} {seconds:g}s > {status} level "
                                      f"{format_duration(level)}"))
                break
    return found


def decide(rec: Reconciliation, config: ReconcileConfig) -> tuple[str, list[str]]:
    if rec.error:
        return "undecided", [rec.error]
    if rec.legacy is None or rec.new is None:
        return "undecided", ["the comparison did not run to the end"]
    if rec.legacy.event_ids == 0 and rec.new.event_ids == 0:
        return "undecided", ["neither side holds any event: there is nothing to compare (check the sources)"]
    fails: list[str] = []
    warns: list[str] = []
    wording = {"only_legacy": "only in legacy", "only_new": "only in new", "modified": "modified",
               "null_only": "differ only by NULL vs value", "pending": "pending (inside the lookback)",
               "rejected": "rejected into bad rows on one side"}
    for name in UNEXPLAINED:
        if rec.bucket(name).count:
            fails.append(f"{_events(rec.bucket(name).count)} {wording[name]}")
    for name in ("pending", "rejected", "null_only"):
        if rec.bucket(name).count:
            target = fails if (name in config.fail_on or "warn" in config.fail_on) else warns
            target.append(f"{_events(rec.bucket(name).count)} {wording[name]}")
    for t in rec.by_event_type:
        if t.status == "fail":
            unexplained = sum(t.differences.get(b, 0) for b in UNEXPLAINED)
            share = unexplained / t.legacy * 100 if t.legacy else 100.0
            fails.append(f"event type {_type_label(t)}: {t.legacy} legacy vs {t.new} new, {_events(unexplained)} "
                         f"differ ({share:.1f}% of the type)")
    for m in rec.metrics:
        if m.status != "parity":
            (fails if m.status == "fail" else warns).append(metric_reason(m))
    for status, reason in freshness_findings(rec, config):
        (fails if status == "fail" else warns).append(reason)
    dup_l, dup_n = rec.legacy, rec.new
    if (dup_l.natural_duplicates, dup_l.synthetic_event_ids) != (dup_n.natural_duplicates, dup_n.synthetic_event_ids):
        target = fails if ("duplicates" in config.fail_on or "warn" in config.fail_on) else warns
        target.append(f"duplicates differ: natural {dup_l.natural_duplicates} vs {dup_n.natural_duplicates}, "
                      f"synthetic event ids {dup_l.synthetic_event_ids} vs {dup_n.synthetic_event_ids}")
    if fails:
        return "fail", fails + warns
    if warns:
        return "warn", warns
    return "parity", []
