"""`sptk reconcile history` as a table for people and as a JSON document for gates and the HTML page.

Neither carries a run time: the same reports and sign-off log give the same document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from migration.cutover import History, Report, report_entry

FORMAT = "sptk-reconcile-history/1"


def _streak(history: History) -> dict[str, Any]:
    streak, last = history.streak, history.last_report
    return {"days": len(streak), "first_day": streak[0].day.isoformat() if streak else None,
            "last_day": streak[-1].day.isoformat() if streak else None,
            "last_report": str(last.path) if last else None, "last_report_sha256": last.sha256 if last else None}


def history_document(history: History, require_streak: int | None, require_signoff: Sequence[str]) -> dict[str, Any]:
    unmet = history.unmet(require_streak, require_signoff)
    return {
        "format": FORMAT,
        "allow_warn": history.allow_warn,
        "days": [{"day": d.day.isoformat(), "verdict": d.verdict, "passing": d.passing(history.allow_warn),
                  "reports": [report_entry(r) for r in d.reports]} for d in history.days],
        "undated": [report_entry(r) for r in history.undated],
        "streak": _streak(history),
        "gate": {"require_streak": require_streak, "require_signoff": list(require_signoff), "met": not unmet,
                 "unmet": unmet},
        "signoff_logs": [str(p) for p in history.logs],
        "problems": history.problems,
        "skipped": [{"path": str(p), "why": why} for p, why in history.skipped],
    }


def render_history_json(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def _metrics(metrics: dict[str, Any]) -> str:
    """``4/5 ok (page_views off; revenue warn)``: ``ok`` is the report's own (not failing; sptk-reconcile/1 and /2
    alike); a /2 metric whose ``status`` is ``warn`` is still ok but named, so a warn day shows which metric warned."""
    if not metrics:
        return "-"
    entries = {name: m for name, m in metrics.items() if isinstance(m, dict)}
    off = sorted(name for name, m in entries.items() if m.get("ok") is False)
    warned = sorted(name for name, m in entries.items() if m.get("ok") is not False and m.get("status") == "warn")
    text = f"{len(metrics) - len(off)}/{len(metrics)} ok"
    notes = [f"{', '.join(names)} {what}" for names, what in ((off, "off"), (warned, "warn")) if names]
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _first_reason(report: Report, limit: int = 48) -> str:
    """What a warn or fail without differing events is about (duplicates, a metric, a source error)."""
    reasons = report.document.get("reasons") or []
    if report.verdict == "parity" or not reasons:
        return "-"
    text = str(reasons[0])
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _row(day: str, passing: str, report: Report) -> list[str]:
    """One report's cells of the history table (day, pass, verdict, compared, differences, metrics, file, owners)."""
    entry = report_entry(report)
    differences = ", ".join(f"{k} {v}" for k, v in entry["buckets"].items() if v) or _first_reason(report)
    owners = ", ".join(sorted({s.owner for s in report.signoffs})) or "-"
    windows = entry["windows"]
    return [day, passing, report.verdict, f"{windows['total']} windows, {windows['diffed']} diffed", differences,
            _metrics(entry["metrics"]), report.path.name, owners]


def table_rows(history: History) -> list[tuple[list[str], Report | None]]:
    """The table's rows, grouped by day (the day and pass on its first row), each with its report (None: no report)."""
    rows: list[tuple[list[str], Report | None]] = []
    for day in history.days:
        passing = "yes" if day.passing(history.allow_warn) else "no"
        if not day.reports:
            rows.append(([day.day.isoformat(), passing, "(no report)"], None))
        for i, report in enumerate(sorted(day.reports, key=Report.sort_key)):
            rows.append((_row(day.day.isoformat() if i == 0 else "", passing if i == 0 else "", report), report))
    rows += [(_row("(no date)", "", r), r) for r in sorted(history.undated, key=Report.sort_key)]
    return rows


def _table(rows: list[list[str]]) -> list[str]:
    header = ["day", "pass", "verdict", "compared", "differences", "metrics", "report", "signed off by"]
    full = [r + [""] * (len(header) - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in [header, *full]) for i in range(len(header))]
    lines = []
    for r in [header, *full]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip())
    return lines


def render_history_text(history: History, require_streak: int | None, require_signoff: Sequence[str]) -> str:
    rows = [cells for cells, _ in table_rows(history)]
    count = len(history.days)
    span = f"{history.days[0].day} .. {history.days[-1].day}" if history.days else "no dated report"
    reports = sum(len(d.reports) for d in history.days) + len(history.undated)
    logs = ", ".join(str(p) for p in history.logs) or "none found"
    lines = [f"reconcile history: {reports} report{'s' * (reports != 1)}, {count} day{'s' * (count != 1)} "
             f"({span}); sign-offs from {logs}", *_table(rows)]
    streak = history.streak
    counted = "parity and warn count" if history.allow_warn else "parity only; --allow-warn counts warn"
    if streak:
        when = (f"{streak[0].day}" if len(streak) == 1 else f"{streak[0].day} .. {streak[-1].day}")
        lines.append(f"streak: {len(streak)} passing day{'s' * (len(streak) != 1)} ({when}); {counted}")
    else:
        lines.append(f"streak: 0 passing days; {counted}")
    lines += [f"skipped {path.name}: {why}" for path, why in history.skipped]
    lines += [f"problem: {problem}" for problem in history.problems]
    if require_streak is not None or require_signoff:
        unmet = history.unmet(require_streak, require_signoff)
        lines.append("gate: met" if not unmet else "gate: not met: " + "; ".join(unmet) + " (exit 1)")
    return "\n".join(lines) + "\n"
