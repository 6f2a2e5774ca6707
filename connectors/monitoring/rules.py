"""Prometheus recording and alerting rules from the ``[slo]`` section: ``sptk monitor rules``.

SLO alerts follow the Google SRE workbook's multi-window, multi-burn-rate method: a page when
the error budget burns 14.4x too fast over 1 h (and still over 5 m) or 6x over 6 h (and 30 m),
a ticket at 3x over 1 d (and 2 h) or 1x over 3 d (and 6 h). The short window makes an alert
resolve soon after the burn stops; the long one keeps a blip from paging. Error ratios are
recorded once per window and read by every alert (docs/adr/0008).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from connectors.monitoring.alerts import BY_NAME
from connectors.sidecar.metrics import FRESHNESS_BUCKETS
from connectors.sidecar.volume import DEFAULT_THRESHOLD as VOLUME_SCORE
from toolkit.config.models import SloConfig

#: (severity, long window, short window, burn factor), from the SRE workbook's table
BURN_WINDOWS: tuple[tuple[str, str, str, float], ...] = (
    ("page", "1h", "5m", 14.4),
    ("page", "6h", "30m", 6.0),
    ("ticket", "1d", "2h", 3.0),
    ("ticket", "3d", "6h", 1.0),
)
WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
#: a topic's lag must exceed this many messages before its growth alerts (a few batches are normal)
LAG_FLOOR = 1000
RULES_FILE = "sptk.rules.yml"
DEFAULT_RUNBOOKS = "docs/runbooks"


class RulesError(ValueError):
    """The objectives cannot be turned into rules (the message says which key to change)."""


@dataclass(frozen=True)
class _Slice:
    """Streams sharing one set of objectives: the defaults (``stream!~...``) or one named stream."""

    matcher: str
    slo: SloConfig


def _slices(slo: SloConfig) -> list[_Slice]:
    named = sorted(slo.streams)
    rest = f'stream!~"{_escape("|".join(re.escape(s) for s in named))}"' if named else ""
    return [_Slice(rest, slo), *(_Slice(f'stream="{_escape(s)}"', slo.for_stream(s)) for s in named)]


def _escape(value: str) -> str:
    """A label value inside a PromQL double-quoted string."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _sel(*matchers: str) -> str:
    return "{" + ",".join(m for m in matchers if m) + "}"


def _le(threshold_s: float) -> str:
    if threshold_s not in FRESHNESS_BUCKETS:
        bounds = ", ".join(f"{b:g}" for b in FRESHNESS_BUCKETS)
        raise RulesError(f"slo freshness_threshold_s = {threshold_s:g} is not a bucket bound of "
                         f"sptk_freshness_seconds; choose one of: {bounds}")
    # Prometheus' client writes bucket bounds as floats: le="300.0"
    return repr(float(threshold_s))


def _union(exprs: list[str]) -> str:
    return exprs[0] if len(exprs) == 1 else " or ".join(f"({e})" for e in exprs)


def recording_rules(slo: SloConfig) -> list[dict[str, str]]:
    """One error ratio per SLO and window; the alerts compare these with their burn thresholds."""
    s = slo.selector
    rules: list[dict[str, str]] = []
    for w in WINDOWS:
        slow, failed_share = [], []
        for part in _slices(slo):
            le = _le(part.slo.freshness_threshold_s)
            sel, fast = _sel(s, part.matcher), _sel(s, part.matcher, f'le="{le}"')
            slow.append(f"1 - sum by (stream) (rate(sptk_freshness_seconds_bucket{fast}[{w}])) / sum by (stream) "
                        f"(rate(sptk_freshness_seconds_count{sel}[{w}]))")
            failed = f"sum by (stream) (rate(sptk_delivery_errors_total{sel}[{w}]))"
            confirmed = f"sum by (stream) (rate(sptk_records_out_total{sel}[{w}]))"
            failed_share.append(f"{failed} / ({failed} + ({confirmed} or {failed} * 0))")
        # one rule per window: the slices select disjoint streams, so `or` only joins them
        rules.append({"record": f"sptk:freshness_slow:ratio_rate{w}", "expr": _union(slow)})
        rules.append({"record": f"sptk:delivery_failed:ratio_rate{w}", "expr": _union(failed_share)})
        rules.append({"record": f"sptk:invalid:ratio_rate{w}", "expr": (
            f"sum(rate(sptk_bad_records_total{_sel(s)}[{w}])) / sum(rate(sptk_records_in_total{_sel(s)}[{w}]))")})
        rules.append({"record": f"sptk:unavailable:ratio_rate{w}",
                      "expr": f"1 - avg(avg_over_time(up{_sel(s)}[{w}]))"})
    return rules


def _alert(name: str, expr: str, severity: str, runbooks: str, for_: str | None = None,
           **labels: str) -> dict[str, Any]:
    alert = BY_NAME[name]
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity, "impact": alert.impact, **labels}
    rule["annotations"] = {"summary": alert.summary, "runbook_url": f"{runbooks.rstrip('/')}/{name}.md"}
    return rule


def _burn(name: str, ratio: str, budgets: list[tuple[str, float]], runbooks: str) -> list[dict[str, Any]]:
    """The four burn-rate rules of one SLO: per (streams matcher, error budget = 1 - target) slice, joined by `or`."""
    out = []
    for severity, long_w, short_w, factor in BURN_WINDOWS:
        parts = []
        for matcher, budget in budgets:
            limit = f"{factor * budget:.6g}"
            parts.append(f"{ratio}{long_w}{_sel(matcher) if matcher else ''} > {limit} and "
                         f"{ratio}{short_w}{_sel(matcher) if matcher else ''} > {limit}")
        out.append(_alert(name, _union(parts), severity, runbooks, window=long_w))
    return out


def alerting_rules(slo: SloConfig, runbooks: str = DEFAULT_RUNBOOKS) -> list[dict[str, Any]]:
    """Burn-rate alerts on each SLO, then the symptom alerts every deployment needs."""
    s = _sel(slo.selector)
    rules: list[dict[str, Any]] = []
    parts = _slices(slo)
    rules += _burn("SptkFreshnessBudgetBurn", "sptk:freshness_slow:ratio_rate",
                   [(p.matcher, 1 - p.slo.freshness_target) for p in parts], runbooks)
    rules += _burn("SptkDeliveryFailures", "sptk:delivery_failed:ratio_rate",
                   [(p.matcher, 1 - p.slo.delivery_target) for p in parts], runbooks)
    rules += _burn("SptkInvalidBudgetBurn", "sptk:invalid:ratio_rate", [("", slo.invalid_rate_max)], runbooks)
    rules += _burn("SptkAvailabilityBudgetBurn", "sptk:unavailable:ratio_rate",
                   [("", 1 - slo.availability_target)], runbooks)
    rules += [
        _alert("SptkPipelineDown", f"up{s} == 0", "page", runbooks, "2m"),
        _alert("SptkNotReady", f"sptk_ready{s} == 0", "page", runbooks, "5m"),
        _alert("SptkHighInvalidRate", (
            f"sum by (app_id, schema) (rate(sptk_invalid_records_total{s}[15m])) / scalar(sum(rate("
            f"sptk_records_in_total{s}[15m]))) > {slo.invalid_rate_max:g}"), "ticket", runbooks, "15m"),
        _alert("SptkConsumerLagGrowing", (
            f"sum by (topic) (sptk_consumer_lag{s}) > {LAG_FLOOR} and sum by (topic) "
            f"(deriv(sptk_consumer_lag{s}[15m])) > 0"), "ticket", runbooks, "15m"),
        _alert("SptkRegistryUnavailable", f"sptk_registry_available{s} == 0", "page", runbooks, "1m"),
        _alert("SptkQuarantineGrowing", f"increase(sptk_quarantined_records_total{s}[10m]) > 0", "ticket",
               runbooks, "10m"),
        _alert("SptkVolumeDrop", f"sptk_volume_anomaly_score{s} <= -{VOLUME_SCORE:g}", "page", runbooks, "15m"),
        _alert("SptkVolumeSpike", f"sptk_volume_anomaly_score{s} >= {VOLUME_SCORE:g}", "ticket", runbooks, "15m"),
    ]
    return rules


def rules_document(slo: SloConfig, runbooks: str = DEFAULT_RUNBOOKS) -> dict[str, Any]:
    """The rule file Prometheus loads (``rule_files``), as a mapping."""
    return {"groups": [
        {"name": "sptk-slo-ratios", "rules": recording_rules(slo)},
        {"name": "sptk-alerts", "rules": alerting_rules(slo, runbooks)},
    ]}


def render(slo: SloConfig, runbooks: str = DEFAULT_RUNBOOKS) -> str:
    """The rule file as YAML: deterministic, so a diff in review shows what changed."""
    header = "# Generated by `sptk monitor rules` from the [slo] section; edit the config, not this file.\n"
    return header + yaml.safe_dump(rules_document(slo, runbooks), sort_keys=False, width=100_000)
