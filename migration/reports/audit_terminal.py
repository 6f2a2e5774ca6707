"""The audit's terminal summary: the estate in a screenful, the findings (unknown schemas, naming, bad rows,
duplicates) each on a line of its own; the JSON and HTML reports hold every row."""

from __future__ import annotations

from typing import Any

#: rows of a list shown before "+N more"
SHOWN = 8


def percent(rate: float) -> str:
    return f"{rate:.2%}"


def _more(items: list[str], limit: int = SHOWN) -> str:
    return ", ".join(items[:limit]) + (f", +{len(items) - limit} more" if len(items) > limit else "")


def type_name(t: dict[str, Any]) -> str:
    return "/".join(str(t[k]) for k in ("vendor", "name", "format", "version") if t.get(k)) or "(no event type)"


def render_audit_terminal(doc: dict[str, Any], json_path: str | None = None, html_path: str | None = None) -> str:
    totals = doc["totals"]
    lines = [f"audit of {doc['source']}: {totals['rows']:,} rows, {totals['event_ids']:,} event ids, "
             f"{totals['first_seen'] or '-'} .. {totals['last_seen'] or '-'}"]
    types = doc["event_types"]
    lines.append(f"event types: {len(types)}")
    width = max((len(f"{t['events']:,}") for t in types[:SHOWN]), default=1)
    lines += [f"  {t['events']:>{width},}  {type_name(t)}  ({t['first_seen']} .. {t['last_seen']})"
              for t in types[:SHOWN]]
    if len(types) > SHOWN:
        lines.append(f"  ... and {len(types) - SHOWN} more")
    lines.append("apps: " + _more([f"{a['app_id']} ({a['events']:,})" for a in doc["apps"]]))
    lines.append("platforms: " + _more([f"{p['platform']} ({p['events']:,})" for p in doc["platforms"]]))
    lines.append("trackers: " + _more([f"{t['name_tracker']} {t['v_tracker']} ({t['events']:,})"
                                       for t in doc["trackers"]]))
    entities = doc["entities"]
    lines.append(f"entities: {len(entities)}" + (": " if entities else "") + _more(
        [f"{e['column']} on {e['events']:,} events of {len(e['by_event_type'])} type(s)" for e in entities], 4))
    fields = doc["fill_rates"]["fields"]
    filled = sorted((rate, name) for name, rate in fields.items() if rate)
    lines.append(f"fields: {len(filled)} of {len(fields)} hold values; least filled: "
                 + _more([f"{name} {percent(rate)}" for rate, name in filled], 5))
    schemas = doc["schemas"]
    used = schemas["used"]
    text = f"schemas: {len(used)} used"
    if schemas["checked"]:
        text += (f", {len(schemas['unknown'])} unknown, {len(schemas['unresolved'])} unresolved, "
                 f"{len(schemas['unused'])} registered but unused")
    else:
        text += " (no --resolver: not checked against a registry)"
    lines.append(text + f", {len(schemas['deprecated'])} deprecated")
    for label, items in (("unknown", schemas["unknown"]), ("unresolved", schemas["unresolved"]),
                         ("unused", schemas["unused"])):
        if items:
            lines.append(f"  {label}: {_more(items, 5)}")
    for d in schemas["deprecated"]:
        lines.append(f"  deprecated: {d['schema']} on {d['events']:,} events (since {d['deprecated']}"
                     + (f", sunset {d['sunset']}" if d["sunset"] else "") + ")")
    for name, why in schemas["unlisted_repositories"].items():
        lines.append(f"  not listed: {name}: {why}")
    violations = doc["naming"]["violations"]
    lines.append(f"naming: {len(violations)} violation(s)")
    lines += [f"  {v['rule']} {v['value']!r} ({v['events']:,} events): expected {v['expected']}"
              for v in violations[:SHOWN]]
    bad = doc["bad_rows"]
    if bad["present"]:
        kinds = ", ".join(f"{b['type']} {b['count']:,}" for b in bad["by_type"])
        lines.append(f"bad rows: {bad['total']:,} ({percent(bad['rate'])} of events + bad rows)"
                     + (f": {kinds}" if kinds else ""))
    else:
        lines.append("bad rows: the source holds none (no bad_rows table, no bad=)")
    dup = doc["duplicates"]
    text = (f"duplicates: {dup['event_id']['repeated_ids']:,} event ids repeated "
            f"({dup['event_id']['extra_rows']:,} extra rows, {percent(dup['event_id']['rate'])})")
    pairs = dup["event_id_fingerprint"]
    if pairs is not None:
        text += (f"; {pairs['repeated_pairs']:,} event id + fingerprint pairs repeated ({pairs['extra_rows']:,} extra "
                 f"rows, {percent(pairs['rate'])}); {dup['synthetic_event_ids']:,} ids with two fingerprints")
    lines.append(text)
    for label, path in (("json report", json_path), ("html report", html_path)):
        if path:
            lines.append(f"{label}: {path}")
    return "\n".join(lines) + "\n"
