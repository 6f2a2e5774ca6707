"""The HTML report: one self-contained page (inline SVG, no scripts, no network) a team can attach to a ticket.

Built from the JSON report's document, so the page never shows what the JSON does not hold; the shared page
parts (shell, tables, charts with axes) are in :mod:`migration.reports.html_page`.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from migration.reconcile.result import Reconciliation
from migration.reports.html_page import Bar, Series, bar_chart, page, table, verdict_badge
from migration.reports.json_report import report_document

#: At most this many bars per chart: more windows are summed into bins of consecutive windows.
MAX_BARS = 120
SIDES = (Series("legacy", "#54aeff"), Series("new", "#8250df"))
DIFFERENCES = (Series("only_legacy", "#cf222e"), Series("only_new", "#fb8f44"), Series("modified", "#8250df"),
               Series("rejected", "#57606a"), Series("pending", "#d4a72c"), Series("null_only", "#a8b1ba"))
DIFF_BAND = "#ffebe9"


def _when(stamp: str) -> str:
    """``2024-05-01T10:00:00Z`` as ``2024-05-01 10:00`` (axis labels and tables)."""
    return stamp.replace("T", " ")[:16]


def _differs(window: dict[str, Any]) -> bool:
    return bool(window["differences"]) or not window["checksum_match"]


def _bins(windows: list[dict[str, Any]]) -> tuple[list[list[dict[str, Any]]], str]:
    """Consecutive windows grouped so a chart has at most MAX_BARS bars, and the sentence saying so."""
    size = max(1, math.ceil(len(windows) / MAX_BARS))
    bins = [windows[i:i + size] for i in range(0, len(windows), size)]
    if size == 1:
        return bins, f"{len(windows)} window{'s' * (len(windows) != 1)}, one bar each"
    return bins, f"{len(windows)} windows in {len(bins)} bins of {size} windows (each bar sums its windows)"


def _tip(group: list[dict[str, Any]]) -> str:
    return _when(group[0]["start"]) + ("" if len(group) == 1 else f" .. {_when(group[-1]['end'])}")


def _charts(windows: list[dict[str, Any]]) -> list[str]:
    if not windows:
        return ["<p class='muted'>No windows: neither side holds events.</p>"]
    bins, note = _bins(windows)
    events = [Bar(_when(g[0]["start"]), _tip(g), {s: sum(w[s]["event_ids"] for w in g) for s in ("legacy", "new")},
                  DIFF_BAND if any(_differs(w) for w in g) else None) for g in bins]
    diffs = [Bar(_when(g[0]["start"]), _tip(g), {s.name: sum(w["differences"].get(s.name, 0) for w in g)
                                                  for s in DIFFERENCES}) for g in bins]
    total = sum(sum(b.values.values()) for b in diffs)
    return [
        "<h2>Differences per window</h2>", f"<p class='muted'>{escape(note)}; {total:g} differing events.</p>",
        bar_chart(f"differences per window: {note}", diffs, DIFFERENCES, "events", "window start (UTC)"),
        "<h2>Events per window</h2>", f"<p class='muted'>{escape(note)}; a red band marks a bar with a window that "
        "differs.</p>",
        bar_chart(f"event ids per window, legacy and new: {note}", events, SIDES, "event ids", "window start (UTC)",
                  stacked=False),
    ]


def _explain(window: dict[str, Any]) -> str:
    """Why a window differs, in words: its buckets, or what else the checksum saw."""
    notes = [f"{k} {v}" for k, v in window["differences"].items()]
    for side in ("legacy", "new"):
        extra = window[side]["rows"] - window[side]["event_ids"]
        if extra:
            notes.append(f"{side} has {extra} more row{'s' * (extra != 1)} than event ids (duplicates)")
    if not notes:
        notes.append("rows differ in raw values, but every event matched under the comparison rules")
    return "; ".join(notes)


def _differing_windows(windows: list[dict[str, Any]]) -> list[str]:
    differing = [w for w in windows if _differs(w)]
    if not differing:
        return ["<h2>Windows that differ</h2>", "<p>None: every window matches.</p>"]
    rows = [[f"{_when(w['start'])} .. {_when(w['end'])}",
             f"{w['legacy']['event_ids']} events / {w['legacy']['rows']} rows",
             f"{w['new']['event_ids']} events / {w['new']['rows']} rows", "yes" if w["open"] else "", _explain(w)]
            for w in differing]
    return ["<h2>Windows that differ</h2>",
            table(["window", "legacy", "new", "open", "why"], rows, ["bad" if w["differences"] else "warn"
                                                                    for w in differing])]


def _modified_values(values: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    if not values:
        return []
    rows = [[event_id if i == 0 else "", column, pair["legacy"], pair["new"]]
            for event_id, columns in values.items() for i, (column, pair) in enumerate(columns.items())]
    return ["<h2>Sample modified events</h2>",
            "<p class='muted'>Values as compared (after the comparison rules).</p>",
            table(["event id", "column", "legacy", "new"], rows)]


def render_html(rec: Reconciliation) -> str:
    doc = report_document(rec)
    settings = doc["settings"]
    out = ["<h1>Legacy vs Kafka path reconciliation</h1>",
           f"<p>{verdict_badge(rec.verdict)} exit code {rec.exit_code}</p>"]
    if rec.reasons:
        out.append("<ul>" + "".join(f"<li>{escape(r)}</li>" for r in rec.reasons) + "</ul>")
    out.append(table(["", "source", "events", "rows"], [
        [name, source, totals.event_ids if totals else "-", totals.rows if totals else "-"]
        for name, source, totals in (("legacy", rec.legacy_source, rec.legacy), ("new", rec.new_source, rec.new))
    ]))
    out.append(f"<p class='muted'>window {escape(str(settings['window']))}, lookback "
               f"{escape(str(settings['lookback']))}, as of {escape(str(rec.as_of))}; rules: "
               + escape(", ".join(f"{k} {'on' if v is True else 'off' if v is False else v}"
                                  for k, v in settings["rules"].items()))
               + f"; {rec.columns_compared} columns compared</p>")
    scope = settings.get("scope")
    if scope:
        out.append("<p class='muted'>scope: " + escape(", ".join(f"{k} {v}" for k, v in scope.items() if v))
                   + "</p>")
    out += _charts(doc["windows"])
    out.append("<h2>Differences</h2>")
    rows, classes = [], []
    for name in ("only_legacy", "only_new", "modified", "null_only", "pending", "rejected"):
        bucket = doc[name]
        rows.append([name, bucket["count"], " ".join(bucket["sample"])])
        severe = name in ("only_legacy", "only_new", "modified")
        classes.append(("bad" if severe else "warn") if bucket["count"] else "")
    out.append(table(["bucket", "count", "sample event ids"], rows, classes))
    out += _differing_windows(doc["windows"])
    out += _modified_values(doc["modified"]["values"])
    for title, counts, header in (("Modified columns", rec.modified_columns, "column"),
                                  ("Null vs value only", rec.null_only_columns, "column"),
                                  ("Rejected by bad-row type", rec.rejected_types, "bad-row type")):
        if counts:
            out.append(f"<h2>{title}</h2>" + table([header, "events"], [[c, n] for c, n in counts.items()]))
    dup = doc["duplicates"]
    out.append("<h2>Duplicates</h2>" + table(["side", "natural (extra rows)", "synthetic (event ids)"], [
        [side, (dup[side] or {}).get("natural", "-"), (dup[side] or {}).get("synthetic_event_ids", "-")]
        for side in ("legacy", "new")]))
    out.append("<h2>Per event type</h2>" + table(
        ["vendor", "name", "version", "app_id", "platform", "legacy", "new", "differences", "status"],
        [[t.event_vendor, t.event_name, t.event_version, t.app_id, t.platform, t.legacy, t.new,
          ", ".join(f"{k} {v}" for k, v in t.differences.items()), t.status] for t in rec.by_event_type],
        ["bad" if t.status == "fail" else "warn" if t.status == "warn" else "" for t in rec.by_event_type]))
    metric_rows = [(m, g) for m in rec.metrics for g in (m.groups or (m,))]
    out.append("<h2>Parity metrics (settled time only)</h2>" + table(
        ["metric", "group", "aggregation", "legacy", "new", "difference", "warn / fail level", "status"],
        [[m.name, ", ".join(f"{f}={v}" for f, v in g.group or ()), m.aggregation, f"{g.legacy:g}", f"{g.new:g}",
          f"{g.relative_difference:.4%}" if m.kind == "relative" else f"{g.absolute_difference:g}",
          f"{'-' if m.warn is None else f'{m.warn:g}'} / {m.tolerance:g} ({m.kind})", g.status]
         for m, g in metric_rows],
        [{"fail": "bad", "warn": "warn"}.get(g.status, "") for _, g in metric_rows]))
    fresh = doc["freshness"]
    out.append("<h2>Freshness (load_tstamp - collector_tstamp, seconds)</h2>" + table(
        ["side", "p50", "p95", "p99"],
        [[side, *((fresh[side] or {}).get(k, "-") for k in ("p50_s", "p95_s", "p99_s"))]
         for side in ("legacy", "new")]))
    out.append(f"<h2>All windows</h2><details><summary>{len(rec.windows)} windows</summary>" + table(
        ["start", "legacy events / rows", "new events / rows", "checksum", "open", "differences",
         "p95 freshness legacy / new (s)"],
        [[_when(w.start), f"{w.legacy_ids} / {w.legacy_rows}", f"{w.new_ids} / {w.new_rows}",
          "match" if w.checksum_match else "differs", "yes" if w.open else "",
          ", ".join(f"{k} {v}" for k, v in w.differences.items()),
          " / ".join("-" if f is None else f"{f.p95:g}" for f in (w.freshness.get("legacy"), w.freshness.get("new")))]
         for w in rec.windows],
        ["bad" if w.differences or not w.checksum_match else "" for w in rec.windows]) + "</details>")
    if rec.error:
        out.append(f"<h2>Error</h2><pre>{escape(rec.error)}</pre>")
    return page(f"sptk reconcile: {rec.verdict}", out)
