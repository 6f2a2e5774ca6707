"""The audit as one self-contained page (inline CSS and SVG, no script), drawn from the ``sptk-audit/1`` document
with the shared page parts of :mod:`migration.reports.html_page`."""

from __future__ import annotations

from html import escape
from typing import Any

from migration.reports.audit_terminal import percent, type_name
from migration.reports.html_page import Bar, Series, badge, bar_chart, page, table

#: event types drawn in the chart (the table lists them all)
CHARTED = 20
#: characters of an event name under its bar (the tooltip and the table give it whole)
LABEL = 14
EVENTS = (Series("events", "#54aeff"),)
FINDING, CLEAN = "#cf222e", "#1a7f37"


def _short(name: str) -> str:
    return name if len(name) <= LABEL else name[:LABEL - 1] + "\u2026"


def _count_badge(label: str, count: int) -> str:
    return badge(f"{count} {label}", FINDING if count else CLEAN) + " "


def _types(doc: dict[str, Any]) -> list[str]:
    types = doc["event_types"]
    if not types:
        return ["<h2>Event types</h2><p class='muted'>The source holds no events.</p>"]
    bars = [Bar(_short(t["name"] or "-"), type_name(t), {"events": t["events"]}) for t in types[:CHARTED]]
    shown = f"the {len(bars)} most frequent of {len(types)}" if len(types) > len(bars) else f"all {len(types)}"
    return ["<h2>Event types</h2>", f"<p class='muted'>Events per type, {escape(shown)}.</p>",
            bar_chart(f"events per event type, {shown}", bars, EVENTS, "events", "event name"),
            table(["vendor", "name", "format", "version", "events", "first seen", "last seen"],
                  [[t["vendor"], t["name"], t["format"], t["version"], t["events"], t["first_seen"], t["last_seen"]]
                   for t in types])]


def _entities(doc: dict[str, Any]) -> list[str]:
    entities = doc["entities"]
    if not entities:
        return ["<h2>Entities</h2><p class='muted'>No context columns.</p>"]
    rows = [[e["column"] if i == 0 else "", e["schema"] if i == 0 else "", e["status"] if i == 0 else "",
             type_name(t), t["events"], percent(t["events"] / t["of"]) if t["of"] else "-"]
            for e in entities for i, t in enumerate(e["by_event_type"])]
    return ["<h2>Entities per event type</h2>",
            table(["column", "schema (model)", "status", "event type", "events with it", "share of the type"], rows)]


def _fill(doc: dict[str, Any]) -> list[str]:
    fill = doc["fill_rates"]
    types = fill["by_event_type"]
    fields = sorted(fill["fields"], key=lambda f: (-fill["fields"][f], f))
    rows = [[f, percent(fill["fields"][f]), *(percent(t["fields"][f]) if f in t["fields"] else "-" for t in types)]
            for f in fields if fill["fields"][f]]
    empty = [f for f in fields if not fill["fields"][f]]
    out = ["<h2>Field fill rates</h2>",
           "<p class='muted'>Share of events with a non-empty value; per event type for the most frequent types.</p>",
           table(["field", "all events", *(type_name(t) for t in types)], rows)]
    if empty:
        out.append(f"<details><summary>{len(empty)} fields never filled</summary><p>{escape(', '.join(empty))}"
                   "</p></details>")
    return out


def _schemas(doc: dict[str, Any]) -> list[str]:
    s = doc["schemas"]
    out = ["<h2>Schemas used vs registered</h2>"]
    if not s["checked"]:
        out.append("<p class='muted'>No resolver given: the schemas were not checked against a registry.</p>")
    else:
        out.append("<p>" + _count_badge("unknown", len(s["unknown"])) + _count_badge("unresolved",
                                                                                    len(s["unresolved"]))
                   + _count_badge("unused", len(s["unused"])) + _count_badge("deprecated", len(s["deprecated"]))
                   + "</p>")
    out.append(table(["schema", "kind", "events", "status", "deprecated"],
                     [[u["schema"], u["kind"], u["events"], u["status"],
                       (u["deprecation"] or {}).get("deprecated")] for u in s["used"]],
                     ["bad" if u["status"] == "unknown" else "warn" if u["deprecation"] or u["status"] == "unresolved"
                      else "" for u in s["used"]]))
    if s["unused"]:
        out.append("<h3>Registered but never used</h3>" + table(["schema"], [[k] for k in s["unused"]]))
    if s["deprecated"]:
        out.append("<h3>Deprecated and still used</h3>" + table(
            ["schema", "events", "deprecated", "sunset", "replacement", "reason"],
            [[d["schema"], d["events"], d["deprecated"], d["sunset"], d["replacement"], d["reason"]]
             for d in s["deprecated"]], ["warn"] * len(s["deprecated"])))
    if s["unlisted_repositories"]:
        out.append("<p class='muted'>Not listed (their unused schemas cannot be told): " + escape("; ".join(
            f"{k}: {v}" for k, v in s["unlisted_repositories"].items())) + "</p>")
    return out


def render_audit_html(doc: dict[str, Any]) -> str:
    totals, bad, dup = doc["totals"], doc["bad_rows"], doc["duplicates"]
    violations = doc["naming"]["violations"]
    out = ["<h1>Event estate audit</h1>", f"<p>{escape(doc['source'])}</p>",
           "<p>" + _count_badge("unknown schemas", len(doc["schemas"]["unknown"]))
           + _count_badge("naming violations", len(violations))
           + _count_badge("bad rows", bad["total"]) + _count_badge("repeated event ids",
                                                                    dup["event_id"]["repeated_ids"]) + "</p>",
           table(["rows", "event ids", "first seen", "last seen", "bad rows"],
                 [[totals[k] for k in ("rows", "event_ids", "first_seen", "last_seen", "bad_rows")]])]
    out += _types(doc)
    out += ["<h2>Apps</h2>", table(["app_id", "events", "first seen", "last seen"],
                                   [[a["app_id"], a["events"], a["first_seen"], a["last_seen"]] for a in doc["apps"]]),
            "<h2>Platforms and trackers</h2>",
            table(["platform", "events"], [[p["platform"], p["events"]] for p in doc["platforms"]]),
            table(["name_tracker", "v_tracker", "events"],
                  [[t["name_tracker"], t["v_tracker"], t["events"]] for t in doc["trackers"]])]
    out += _entities(doc)
    out += _fill(doc)
    out += _schemas(doc)
    out.append("<h2>Naming conventions</h2>")
    rows = [[v["rule"], v["value"], v["events"], v["expected"]] for v in violations]
    out.append(table(["rule", "value", "events", "expected"], rows, ["bad"] * len(rows))
               if rows else "<p>No violations.</p>")
    out.append("<h2>Bad rows</h2>")
    if not bad["present"]:
        out.append("<p class='muted'>The source holds no bad rows (no bad_rows table, no bad=).</p>")
    else:
        out.append(f"<p>{bad['total']} bad rows, {percent(bad['rate'])} of events and bad rows together.</p>"
                   + table(["type", "count", "rate"],
                           [[b["type"], b["count"], percent(b["rate"])] for b in bad["by_type"]]))
    pairs = dup["event_id_fingerprint"]
    out.append("<h2>Duplicates</h2>" + table(
        ["repeated", "keys repeated", "extra rows", "share of rows"],
        [["event_id", dup["event_id"]["repeated_ids"], dup["event_id"]["extra_rows"], percent(dup["event_id"]["rate"])]]
        + ([["event_id + fingerprint", pairs["repeated_pairs"], pairs["extra_rows"], percent(pairs["rate"])]]
           if pairs else [])))
    if dup["synthetic_event_ids"]:
        out.append(f"<p>{dup['synthetic_event_ids']} event ids carry two or more fingerprints (synthetic "
                   "duplicates).</p>")
    return page(f"sptk audit: {doc['source']}", out)
