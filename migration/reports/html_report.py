"""The HTML report: one self-contained page (inline SVG, no scripts, no network) a team can attach to a ticket."""

from __future__ import annotations

from html import escape
from typing import Any

from migration.reconcile.result import Reconciliation
from migration.reports.json_report import report_document

COLOURS = {"parity": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "undecided": "#57606a"}
LEGACY, NEW, DIFF = "#54aeff", "#8250df", "#ffebe9"
CHART_W, CHART_H, PAD = 960, 260, 40

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328;max-width:1100px}
h1{margin:0 0 4px}h2{margin-top:28px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.verdict{display:inline-block;color:#fff;padding:4px 12px;border-radius:6px;font-weight:600}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}
th{background:#f6f8fa}tr.bad td{background:#ffebe9}tr.warn td{background:#fff8c5}
code{font-size:12px}.muted{color:#57606a}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px}
"""


def _table(headers: list[str], rows: list[list[Any]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        css = f' class="{classes[index]}"' if classes and classes[index] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _chart(windows: list[dict[str, Any]]) -> str:
    """Grouped bars of event ids per window (legacy, new); windows with differences on a red band."""
    if not windows:
        return "<p class='muted'>No windows: neither side holds events.</p>"
    top = max(max(w["legacy"]["event_ids"], w["new"]["event_ids"]) for w in windows) or 1
    slot = (CHART_W - 2 * PAD) / len(windows)
    bar = max(slot * 0.4, 0.5)
    parts = [f'<svg width="{CHART_W}" height="{CHART_H + PAD}" role="img" '
             f'aria-label="event ids per window, legacy and new">']
    for i, w in enumerate(windows):
        x = PAD + i * slot
        differs = bool(w["differences"]) or not w["checksum_match"]
        if differs:
            parts.append(f'<rect x="{x:.2f}" y="{PAD / 2}" width="{slot:.2f}" height="{CHART_H - PAD / 2}" '
                         f'fill="{DIFF}"><title>{escape(w["start"])}: differences {escape(str(w["differences"]))}'
                         f'</title></rect>')
        for offset, side, colour in ((0, "legacy", LEGACY), (bar, "new", NEW)):
            value = w[side]["event_ids"]
            height = (CHART_H - PAD) * value / top
            parts.append(f'<rect x="{x + offset + slot * 0.1:.2f}" y="{CHART_H - height:.2f}" width="{bar:.2f}" '
                         f'height="{height:.2f}" fill="{colour}"><title>{escape(w["start"])} {side}: {value}'
                         f'</title></rect>')
    parts.append(f'<line x1="{PAD}" y1="{CHART_H}" x2="{CHART_W - PAD}" y2="{CHART_H}" stroke="#57606a"/>')
    parts.append(f'<text x="{PAD}" y="{CHART_H + 16}" font-size="11">{escape(windows[0]["start"])}</text>')
    parts.append(f'<text x="{CHART_W - PAD}" y="{CHART_H + 16}" font-size="11" text-anchor="end">'
                 f'{escape(windows[-1]["end"])}</text>')
    parts.append(f'<text x="4" y="{PAD / 2}" font-size="11">{top}</text></svg>')
    legend = (f'<p class="legend"><span style="background:{LEGACY}"></span>legacy '
              f'<span style="background:{NEW}"></span>new <span style="background:{DIFF}"></span>window differs</p>')
    return "".join(parts) + legend


def render_html(rec: Reconciliation) -> str:
    doc = report_document(rec)
    colour = COLOURS[rec.verdict]
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>sptk reconcile: {rec.verdict}</title>"
           f"<style>{CSS}</style></head><body>",
           "<h1>Legacy vs Kafka path reconciliation</h1>",
           f"<p><span class='verdict' style='background:{colour}'>{rec.verdict.upper()}</span> "
           f"exit code {rec.exit_code}</p>"]
    if rec.reasons:
        out.append("<ul>" + "".join(f"<li>{escape(r)}</li>" for r in rec.reasons) + "</ul>")
    settings = doc["settings"]
    out.append(_table(["", "source", "events", "rows"], [
        [name, source, totals.event_ids if totals else "-", totals.rows if totals else "-"]
        for name, source, totals in (("legacy", rec.legacy_source, rec.legacy), ("new", rec.new_source, rec.new))
    ]))
    out.append(f"<p class='muted'>window {escape(str(settings['window']))}, lookback "
               f"{escape(str(settings['lookback']))}, as of {escape(str(rec.as_of))}; rules: "
               + escape(", ".join(f"{k} {'on' if v is True else 'off' if v is False else v}"
                                  for k, v in settings["rules"].items()))
               + f"; {rec.columns_compared} columns compared</p>")
    out.append("<h2>Events per window</h2>" + _chart(doc["windows"]))
    out.append("<h2>Differences</h2>")
    rows, classes = [], []
    for name in ("only_legacy", "only_new", "modified", "null_only", "pending", "rejected"):
        bucket = doc[name]
        rows.append([name, bucket["count"], " ".join(bucket["sample"])])
        severe = name in ("only_legacy", "only_new", "modified")
        classes.append(("bad" if severe else "warn") if bucket["count"] else "")
    out.append(_table(["bucket", "count", "sample event ids"], rows, classes))
    if rec.modified_columns:
        out.append("<h2>Modified columns</h2>" + _table(["column", "events"], [[c, n] for c, n in
                                                                              rec.modified_columns.items()]))
    if rec.null_only_columns:
        out.append("<h2>Null vs value only</h2>" + _table(["column", "events"], [[c, n] for c, n in
                                                                                rec.null_only_columns.items()]))
    if rec.rejected_types:
        out.append("<h2>Rejected by bad-row type</h2>" + _table(["bad-row type", "events"],
                                                              [[t, n] for t, n in rec.rejected_types.items()]))
    dup = doc["duplicates"]
    out.append("<h2>Duplicates</h2>" + _table(["side", "natural (extra rows)", "synthetic (event ids)"], [
        [side, (dup[side] or {}).get("natural", "-"), (dup[side] or {}).get("synthetic_event_ids", "-")]
        for side in ("legacy", "new")]))
    out.append("<h2>Per event type</h2>" + _table(
        ["vendor", "name", "version", "app_id", "platform", "legacy", "new", "differences", "status"],
        [[t.event_vendor, t.event_name, t.event_version, t.app_id, t.platform, t.legacy, t.new,
          ", ".join(f"{k} {v}" for k, v in t.differences.items()), t.status] for t in rec.by_event_type],
        ["bad" if t.status == "fail" else "warn" if t.status == "warn" else "" for t in rec.by_event_type]))
    metric_rows = [(m, g) for m in rec.metrics for g in (m.groups or (m,))]
    out.append("<h2>Parity metrics (settled time only)</h2>" + _table(
        ["metric", "group", "aggregation", "legacy", "new", "difference", "warn / fail level", "status"],
        [[m.name, ", ".join(f"{f}={v}" for f, v in g.group or ()), m.aggregation, f"{g.legacy:g}", f"{g.new:g}",
          f"{g.relative_difference:.4%}" if m.kind == "relative" else f"{g.absolute_difference:g}",
          f"{'-' if m.warn is None else f'{m.warn:g}'} / {m.tolerance:g} ({m.kind})", g.status]
         for m, g in metric_rows],
        [{"fail": "bad", "warn": "warn"}.get(g.status, "") for _, g in metric_rows]))
    fresh = doc["freshness"]
    out.append("<h2>Freshness (load_tstamp - collector_tstamp, seconds)</h2>" + _table(
        ["side", "p50", "p95", "p99"],
        [[side, *((fresh[side] or {}).get(k, "-") for k in ("p50_s", "p95_s", "p99_s"))]
         for side in ("legacy", "new")]))
    scope = settings.get("scope")
    if scope:
        out.append("<p class='muted'>scope: " + escape(", ".join(f"{k} {v}" for k, v in scope.items() if v))
                   + "</p>")
    out.append("<h2>Windows</h2>" + _table(
        ["start", "legacy events", "new events", "checksum", "open", "differences", "p95 freshness legacy / new (s)"],
        [[w.start, w.legacy_ids, w.new_ids, "match" if w.checksum_match else "differs", "yes" if w.open else "",
          ", ".join(f"{k} {v}" for k, v in w.differences.items()),
          " / ".join("-" if f is None else f"{f.p95:g}" for f in (w.freshness.get("legacy"), w.freshness.get("new")))]
         for w in rec.windows],
        ["bad" if w.differences or not w.checksum_match else "" for w in rec.windows]))
    if rec.error:
        out.append(f"<h2>Error</h2><pre>{escape(rec.error)}</pre>")
    out.append("</body></html>\n")
    return "\n".join(out)
