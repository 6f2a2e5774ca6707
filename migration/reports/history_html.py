"""`sptk reconcile history --html FILE`: the cutover history as one self-contained page.

It shows what the text table shows (the same cells, from :mod:`migration.reports.history`) plus a verdict strip
and the sign-offs in full, on the page base the reconcile report uses. The strip wraps days into one row per
calendar month, so a day keeps the same width whether the history holds a week or a year: a long history grows
down, never into slivers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from migration.cutover import Day, History, Report
from migration.reports.history import table_rows
from migration.reports.html_page import VERDICT_COLOURS, badge, page, table, verdict_badge

NO_REPORT, STREAK = "#d0d7de", "#1f2328"
#: the strip's geometry (viewBox units): a label column, 31 day slots per month row
STRIP_W, LABEL_W, SLOT, CELL_H, ROW_H, AXIS_H = 640, 72, 18.0, 16, 26, 20


def duration(seconds: float) -> str:
    """A p95 in the unit a person reads it in: ``61.5 s``, ``12.5 min``, ``3.2 h``, ``950.1 d``."""
    for unit, size, up_to in (("s", 1, 120), ("min", 60, 7200), ("h", 3600, 172800)):
        if abs(seconds) < up_to:
            return f"{seconds / size:.1f} {unit}".replace(".0 ", " ")
    return f"{seconds / 86400:.1f} d".replace(".0 ", " ")


def _freshness(report: Report) -> str:
    """``legacy p95 / new p95``, ``-`` for a side the report has no freshness for (jsonl/tsv sides, /1 reports)."""
    fresh = report.document.get("freshness") or {}
    values = [(fresh.get(side) or {}).get("p95_s") if isinstance(fresh, dict) else None for side in ("legacy", "new")]
    return " / ".join("-" if v is None else duration(float(v)) for v in values)


def _rows(history: History) -> tuple[list[list[str]], list[str]]:
    """The text table's rows with each report's freshness, and a CSS class per row."""
    rows, classes = [], []
    for cells, report in table_rows(history):
        cells = cells + [""] * (8 - len(cells))
        rows.append([*cells[:6], _freshness(report) if report else "", *cells[6:]])
        classes.append({"fail": "bad", "undecided": "bad", "warn": "warn"}.get(report.verdict if report else "", ""))
    return rows, classes


def _months(days: Sequence[Day]) -> list[tuple[int, int]]:
    months: list[tuple[int, int]] = []
    for day in days:
        if not months or months[-1] != (day.day.year, day.day.month):
            months.append((day.day.year, day.day.month))
    return months


def strip(history: History) -> str:
    """One cell per day coloured by its verdict, in a row per month; the streak's days underlined."""
    months = _months(history.days)
    row_of = {month: n for n, month in enumerate(months)}
    streak = {d.day for d in history.streak}
    height = AXIS_H + ROW_H * max(len(months), 1) + 4
    label = f"verdict per day: {len(history.days)} days, streak {len(streak)}"
    parts = [f'<svg viewBox="0 0 {STRIP_W} {height}" role="img" aria-label="{escape(label)}" '
             f'preserveAspectRatio="xMinYMin meet" class="strip">']
    for dom in (1, 5, 10, 15, 20, 25, 30):
        x = LABEL_W + (dom - 0.5) * SLOT
        parts.append(f'<text x="{x:.1f}" y="{AXIS_H - 6}" text-anchor="middle">{dom}</text>')
    for (year, month), n in row_of.items():
        y = AXIS_H + n * ROW_H
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + CELL_H - 4}" text-anchor="end">{year:04d}-{month:02d}</text>')
    for day in history.days:
        when: date = day.day
        x, y = LABEL_W + (when.day - 1) * SLOT, AXIS_H + row_of[(when.year, when.month)] * ROW_H
        verdict = day.verdict
        colour = VERDICT_COLOURS.get(verdict, NO_REPORT) if verdict else NO_REPORT
        reports = len(day.reports)
        tip = (f"{when}: {verdict}, {'passes' if day.passing(history.allow_warn) else 'does not pass'} "
               f"({reports} report{'s' * (reports != 1)})" if verdict else f"{when}: no report, does not pass")
        parts.append(f'<rect data-day="{when}" data-verdict="{verdict or "none"}" x="{x + 1:.1f}" y="{y}" '
                     f'width="{SLOT - 2:.1f}" height="{CELL_H}" rx="2" fill="{colour}"><title>{escape(tip)}'
                     f'</title></rect>')
        if when in streak:
            parts.append(f'<rect data-streak="{when}" x="{x + 1:.1f}" y="{y + CELL_H + 2}" width="{SLOT - 2:.1f}" '
                         f'height="3" fill="{STREAK}"/>')
    parts.append("</svg>")
    legend = "".join(f'<span style="background:{colour}"></span>{name}' for name, colour in
                     [*VERDICT_COLOURS.items(), ("no report", NO_REPORT), ("streak (underlined)", STREAK)])
    return "".join(parts) + f"<p class='legend'>{legend}</p>"


def _signoffs(history: History) -> list[str]:
    """Every sign-off attached to a report here, by the report's day, then time, then owner."""
    entries = [(report, s) for day in history.days for report in day.reports for s in report.signoffs]
    entries += [(report, s) for report in history.undated for s in report.signoffs]
    if not entries:
        return ["<p>None yet: <code>sptk reconcile signoff --report FILE --owner NAME</code> records one.</p>"]
    entries.sort(key=lambda e: (e[0].as_of or "", str(e[0].path), e[1].signed_at, e[1].owner))
    rows = [[s.owner, s.note, s.signed_at, e.path.name, e.day.isoformat() if e.day else "(no date)",
             s.verdict + (" (forced)" if s.forced else ""), s.sha256] for e, s in entries]
    return [table(["owner", "note", "signed at (UTC)", "report", "report's day", "verdict", "report sha256"], rows,
                  ["warn" if s.forced else "" for _, s in entries])]


def _gate(history: History, require_streak: int | None, require_signoff: Sequence[str]) -> list[str]:
    streak = history.streak
    span = f" ({streak[0].day} .. {streak[-1].day})" if streak else ""
    required = f" of {require_streak} required" if require_streak is not None else ""
    counted = "parity and warn count" if history.allow_warn else "parity only (--allow-warn counts warn)"
    out = [f"<p>streak: {len(streak)} passing day{'s' * (len(streak) != 1)}{escape(span)}{required}; "
           f"{counted}</p>"]
    if require_streak is None and not require_signoff:
        latest = history.days[-1].verdict if history.days else None
        if latest:
            out.insert(0, f"<p>{verdict_badge(latest, f' latest day, {history.days[-1].day}')}</p>")
        return out
    unmet = history.unmet(require_streak, require_signoff)
    met = badge("gate met", VERDICT_COLOURS["parity"]) if not unmet else badge("gate not met", VERDICT_COLOURS["fail"])
    asked = [f"--require-streak {require_streak}"] if require_streak is not None else []
    asked += [f"--require-signoff {owner}" for owner in require_signoff]
    out.insert(0, f"<p>{met} {escape(' '.join(asked))}</p>")
    if unmet:
        out.insert(1, "<ul>" + "".join(f"<li>{escape(reason)}</li>" for reason in unmet) + "</ul>")
    return out


def render_history_html(history: History, require_streak: int | None, require_signoff: Sequence[str]) -> str:
    reports = sum(len(d.reports) for d in history.days) + len(history.undated)
    span = f"{history.days[0].day} .. {history.days[-1].day}" if history.days else "no dated report"
    logs = ", ".join(str(p) for p in history.logs) or "none found"
    out = ["<h1>Cutover history</h1>", *_gate(history, require_streak, require_signoff),
           f"<p class='muted'>{reports} report{'s' * (reports != 1)}, {len(history.days)} days ({escape(span)}); "
           f"sign-offs from {escape(logs)}</p>",
           "<h2>Verdict per day</h2>", strip(history) if history.days else "<p>No dated report.</p>"]
    rows, classes = _rows(history)
    out += ["<h2>Days</h2>", table(["day", "pass", "verdict", "compared", "differences", "metrics",
                                    "freshness p95 legacy / new", "report", "signed off by"], rows, classes, "history")]
    out += ["<h2>Sign-offs</h2>", *_signoffs(history)]
    notes: list[str] = [f"skipped {p.name}: {why}" for p, why in history.skipped] + list(history.problems)
    if notes:
        out += ["<h2>Problems</h2>", "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"]
    return page("sptk reconcile history", out)
